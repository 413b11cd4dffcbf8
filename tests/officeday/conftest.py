"""The office day: a real Mosquitto (tests/mqtt_broker.py) and the office's real processes."""

from mqtt_broker import mqtt_broker  # noqa: F401  (the shared fixture)
