"""A full disk does not stop the agent (a real small tmpfs as its state folder, a real Mosquitto).

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
