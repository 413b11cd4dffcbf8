"""The MQTT agent: session, telemetry, compliance, config sync, outbox."""
