"""How later parts plug into the agent: birth parts, telemetry readings, periodic tasks, handlers."""

from __future__ import annotations

import pytest

from edge_agent.agent import Agent
from pishkhan.protocol.payloads import decode, problems


@pytest.fixture
def agent(make_config):
    a = Agent(make_config(mqtt={"telemetry_seconds": 60}), validate=True)
    yield a
    a.outbox.close()


def sent(agent, stream):
    return [decode(m.payload) for m in agent.outbox.pending(100) if m.stream == stream]


def test_telemetry_readings_go_under_their_group_and_a_broken_one_is_absent(agent):
    agent.add_telemetry_part("device", lambda: {"cpu_temp_c": 51.2})
    agent.add_telemetry_part("office", lambda: 1 / 0)
    agent.send_telemetry()
    [message] = sent(agent, "telemetry")
    assert message["readings"] == {"device": {"cpu_temp_c": 51.2}}
    assert message["device"] == "dev-0001"  # the envelope's device id is not shadowed
    assert message["agent"]["outbox"]["depth"] == 0 and problems(message) == []


def test_birth_takes_the_schedule_and_clock_hooks(agent):
    agent.add_birth_part("schedule", lambda: {"version": 4, "verification_code": "AAAA-BBBB"})
    agent.add_birth_part("clock", lambda: {"synchronized": True, "source": "ntp"})
    agent.send_birth(will_seq=agent.outbox.reserve_seq())
    [birth] = sent(agent, "status")
    assert birth["schedule"] == {"version": 4, "verification_code": "AAAA-BBBB"}
    assert birth["clock"] == {"synchronized": True, "source": "ntp"}
    assert birth["board"] is None  # no board installed in this store
    assert problems(birth) == []


def test_a_failing_clock_hook_reports_unknown_not_invented(agent):
    agent.add_birth_part("clock", lambda: 1 / 0)
    agent.send_birth(will_seq=agent.outbox.reserve_seq())
    assert sent(agent, "status")[0]["clock"] == {"synchronized": None, "source": None}


def test_handlers_get_matching_messages_and_the_inbox_is_subscribed(agent):
    got = []
    agent.subscribe("pishkhan/v1/all/#", lambda topic, payload, retained: got.append((topic, payload)))
    assert set(agent.session.subscriptions) == {
        "pishkhan/v1/dev/dev-0001/cmd", "pishkhan/v1/dev/dev-0001/board", "pishkhan/v1/dev/dev-0001/schedule",
        "pishkhan/v1/dev/dev-0001/settings", "pishkhan/v1/dev/dev-0001/release", "pishkhan/v1/all/#",
        "pishkhan/v1/province/23/#"}
    agent._dispatch("pishkhan/v1/all/board", b"{}", True)
    agent._dispatch("pishkhan/v1/province/23/board", b"{}", True)
    assert got == [("pishkhan/v1/all/board", b"{}")]


def test_telemetry_interval_is_checked(make_config):
    from pishkhan.exc import ConfigError

    with pytest.raises(ConfigError, match="mqtt.telemetry_seconds"):
        Agent(make_config(mqtt={"telemetry_seconds": 0}))
