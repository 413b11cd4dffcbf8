"""The agent's tests: a real Mosquitto (tests/mqtt_broker.py), real `pishkhan agent` processes."""

from __future__ import annotations

import pytest
from agent_helpers import AgentProcess, write_config
from mqtt_broker import mqtt_broker  # noqa: F401  (the shared fixture)


@pytest.fixture
def agent_config(tmp_path, mqtt_broker):
    """``agent_config(device="dev-0001", **mqtt)`` writes a config file for an agent of that device; returns its path."""
    def make(device: str = "dev-0001", *, broker=None, **mqtt) -> Path:
        broker = broker or mqtt_broker
        state = tmp_path / f"state-{device}"
        sections = {"device": {"id": device, "state_dir": str(state)},
                    "hours": {"always_open": True},
                    "mqtt": broker.agent_settings(device, **({"telemetry_seconds": 3600} | mqtt))}
        return write_config(tmp_path / f"{device}.toml", sections)
    return make


@pytest.fixture
def start_agent():
    """``start_agent(config_path, env=None)``: a running :class:`AgentProcess`, killed after the test."""
    started = []

    def start(config, **kwargs) -> AgentProcess:
        agent = AgentProcess(config, **kwargs)
        started.append(agent)
        return agent
    yield start
    for agent in started:
        agent.close()
