"""A full disk does not stop the agent (a real small tmpfs as its state folder, a real Mosquitto).

No connection is made without a Last Will whose number is written; a birth that finds the disk full is
written when there is room, while its connection lives.

The agent keeps running and keeps what it has; telemetry it could not write is counted
(``telemetry.disk_full`` in ``agent.outbox.dropped`` of the next telemetry written, whose number comes after
exactly that many unused numbers, so the centre's gap accounting stays exact); the log says it once when the
disk fills and once when room is back; an outbox that cannot be opened at start is waited for.
"""

from __future__ import annotations

import threading
import time

from agent_helpers import write_config
from central.fleet import telemetry_dropped
from small_disk import fill, small_disk

DEVICE = "dev-0002"


def _telemetry(capture):
    return capture.decoded("telemetry")


def test_a_full_disk_keeps_the_agent_running_and_counts_the_telemetry_it_could_not_write(
        mqtt_broker, tmp_path, start_agent):
    with small_disk("4m") as disk:
        config = write_config(tmp_path / "agent.toml", {
            "device": {"id": DEVICE, "state_dir": str(disk / "state")}, "hours": {"always_open": True},
            "mqtt": mqtt_broker.agent_settings(DEVICE, telemetry_seconds=1)})
        capture = mqtt_broker.capture()
        agent = start_agent(config)
        assert capture.wait(lambda c: _telemetry(c), 30), agent.log()
        filler = fill(disk)
        filled = time.monotonic()
        time.sleep(3.5)  # three or so telemetry messages find the disk full
        assert agent.proc.poll() is None, agent.log()
        before = {m["seq"] for m in capture.decoded()}
        filler.unlink()
        assert capture.wait(lambda c: any(telemetry_dropped(m) for m in _telemetry(c)), 15), agent.log()
        assert agent.proc.poll() is None and time.monotonic() - filled > 3
        [first] = [m for m in _telemetry(capture) if telemetry_dropped(m)][:1]
        unwritten = first["agent"]["outbox"]["dropped"]["telemetry.disk_full"]
        assert unwritten >= 2 and telemetry_dropped(first) == unwritten
        # the numbers below it: every one received, or a Last Will a birth announced, or one of the unwritten
        received = {m["seq"] for m in capture.decoded()}
        announced = {m["will_seq"] for m in capture.decoded("status") if m.get("state") == "online"}
        missing = set(range(1, first["seq"])) - received - announced
        assert missing == set(range(first["seq"] - unwritten, first["seq"])) and not missing & before
        log = agent.log()
        assert log.count("the disk is full: the agent keeps running") == 1, log
        assert log.count("room on the disk again") == 1, log
        assert agent.terminate() == 0, agent.log()


def test_an_outbox_that_cannot_be_opened_on_a_full_disk_is_waited_for(tmp_path):
    from edge_agent.agent import wait_for_outbox
    from pishkhan.config import load_config
    from pishkhan.notify import Notifier

    with small_disk("1m") as disk:
        config = load_config(write_config(tmp_path / "agent.toml", {
            "device": {"id": DEVICE, "state_dir": str(disk / "state")}, "hours": {"always_open": True}}))
        filler = fill(disk)
        threading.Timer(1.0, filler.unlink).start()
        started = time.monotonic()
        outbox = wait_for_outbox(config, notifier=Notifier(environ={}), retry=0.2)
        try:
            assert outbox is not None and time.monotonic() - started >= 0.9
            assert outbox.depth() == 0
        finally:
            outbox.close()


class _Session:
    """The agent's MQTT session without a network: the test plays paho's callbacks."""

    def __init__(self, settings, **callbacks):
        self.settings, self.callbacks, self.connected = settings, callbacks, False

    def subscribe(self, topic_filter, qos=1):
        pass

    def describe(self) -> str:
        return "test session"

    def network_alive(self) -> bool:
        return True


def test_on_a_full_disk_no_will_is_made_and_a_birth_waits_for_room(tmp_path):
    import json

    import pytest

    from edge_agent.agent import Agent
    from pishkhan.config import load_config
    from pishkhan.exc import OutboxFull

    with small_disk("2m") as disk:
        config = load_config(write_config(tmp_path / "agent.toml", {
            "device": {"id": DEVICE, "state_dir": str(disk / "state")}, "hours": {"always_open": True},
            "mqtt": {"host": "127.0.0.1", "port": 9}}))
        agent = Agent(config, session_factory=_Session)
        session = agent.session
        try:
            first = json.loads(session.callbacks["will"]()[1])["seq"]
            session.callbacks["on_socket_open"]()
            session.connected = True
            filler = fill(disk)
            session.callbacks["on_connected"]()
            agent._tick()  # the birth cannot be written: the agent goes on
            assert agent.disk_full and "status" not in agent.outbox.streams()
            with pytest.raises(OutboxFull):  # a new attempt: no will, so no connection (the session shuts it)
                session.callbacks["will"]()
            filler.unlink()
            agent._birth_retry_at = 0.0
            agent._tick()  # that connection is gone: its birth is not written; its number is spent as its will
            assert "status" not in agent.outbox.streams() and agent.outbox.unannounced_wills() == [first]
            second = json.loads(session.callbacks["will"]()[1])["seq"]
            spent = [json.loads(p.payload) for p in agent.outbox.pending(10) if p.stream == "status"]
            assert second > first and [(m["seq"], m["reason"]) for m in spent] == [(first, "lost")]
            session.callbacks["on_socket_open"]()
            session.callbacks["on_connected"]()
            filler = fill(disk)
            agent._tick()
            assert agent.disk_full
            filler.unlink()
            agent._birth_retry_at = 0.0
            agent._tick()  # room again, the connection lives: its birth
            births = [json.loads(p.payload) for p in agent.outbox.pending(10) if p.stream == "status"][1:]
            assert [b["will_seq"] for b in births] == [second] and not agent.disk_full
        finally:
            agent.outbox.close()


def test_a_session_whose_will_cannot_be_made_does_not_connect_and_tries_again(mqtt_broker, tmp_path):
    from edge_agent.session import MqttSettings, Session
    from pishkhan.config import load_config

    config = load_config(write_config(tmp_path / "agent.toml", {
        "device": {"id": DEVICE, "state_dir": str(tmp_path / "state")}, "hours": {"always_open": True},
        "mqtt": mqtt_broker.agent_settings(DEVICE, reconnect_min_seconds=0.2, reconnect_max_seconds=1.0)}))
    full = threading.Event()
    full.set()
    connected = threading.Event()

    def will():
        if full.is_set():
            raise OSError("the disk is full")
        return f"{mqtt_broker.root}/dev/{DEVICE}/status", b'{"state": "offline"}'

    session = Session(MqttSettings.from_config(config), will=will, on_connected=connected.set)
    session.start()
    try:
        assert not connected.wait(2.0) and session.network_alive()  # attempts, each shut before its CONNECT
        full.clear()
        assert connected.wait(10.0) and session.network_alive()
    finally:
        session.stop()
