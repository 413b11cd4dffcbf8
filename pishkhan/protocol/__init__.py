"""The MQTT protocol between an office's device and the centre: topic names,
message payloads and their JSON Schemas (docs/mqtt.md). Shared by the edge
agent and the centre's tools."""
