"""The MQTT protocol the edge agent and the centre both speak."""
