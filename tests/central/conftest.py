"""The centre's tests: a real Mosquitto (tests/mqtt_broker.py)."""

from mqtt_broker import mqtt_broker  # noqa: F401  (the shared fixture)
