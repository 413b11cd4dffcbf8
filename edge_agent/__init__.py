"""The MQTT agent: session, telemetry, compliance, config sync, outbox."""

__version__ = "0.1.0"
