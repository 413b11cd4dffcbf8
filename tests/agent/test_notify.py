"""systemd notify: READY=1 without the network, WATCHDOG=1 only while every part is healthy, STATUS=, STOPPING=1."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from agent_helpers import wait_until

from edge_agent.agent import Agent
from pishkhan.notify import Notifier


class NotifyListener:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.received: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            for line in data.decode().splitlines():
                self.received.append((time.monotonic(), line))

    def lines(self, prefix: str = "") -> list[str]:
        return [line for _, line in list(self.received) if line.startswith(prefix)]

    def times(self, line: str) -> list[float]:
        return [t for t, text in list(self.received) if text == line]

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener(tmp_path):
    box = NotifyListener(tmp_path / "notify.sock")
    yield box
    box.close()


def test_notifier_sends_datagrams_and_reads_the_watchdog_interval(listener):
    notifier = Notifier(environ={"NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "3000000"})
    assert notifier.watchdog_interval == 1.5
    assert notifier.ready("starting")
    assert notifier.watchdog()
    assert notifier.status("connected") and not notifier.status("connected")  # unchanged: not sent again
    assert wait_until(lambda: len(listener.received) == 4, 2)
    assert listener.lines() == ["READY=1", "STATUS=starting", "WATCHDOG=1", "STATUS=connected"]


def test_notifier_without_systemd_does_nothing():
    notifier = Notifier(environ={})
    assert not notifier.enabled and not notifier.ready() and notifier.watchdog_interval is None
    assert Notifier(environ={"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert not Notifier(environ={"NOTIFY_SOCKET": "/nonexistent/socket"}).ready()  # a failed send is ignored


def test_notifier_reaches_an_abstract_socket():
    name = f"pishkhan-test-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert Notifier(environ={"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(100) == b"READY=1"


def test_agent_process_is_ready_offline_pets_the_watchdog_and_says_stopping(mqtt_broker, agent_config, start_agent,
                                                                          listener):
    config = agent_config("dev-0001")
    mqtt_broker.stop()  # the device boots without network
    agent = start_agent(config, env={"NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "1000000"})
    assert wait_until(lambda: "READY=1" in listener.lines(), 15), agent.log()
    assert wait_until(lambda: len(listener.times("WATCHDOG=1")) >= 3, 10), agent.log()
    assert any("not connected to mqtt://127.0.0.1" in s for s in listener.lines("STATUS="))
    mqtt_broker.start()
    assert wait_until(lambda: any(s.startswith("STATUS=connected to") for s in listener.lines("STATUS=")), 15)
    assert agent.terminate() == 0
    assert "STOPPING=1" in listener.lines()


@pytest.fixture
def agent_in_thread(make_config, mqtt_broker, listener):
    """A real Agent on a thread of this process, notifying *listener* with a 0.4 s watchdog interval."""
    cfg = make_config(device={"id": "dev-0001", "state_dir": str(mqtt_broker.dir.parent / "state")},
                      mqtt=mqtt_broker.agent_settings("dev-0001", telemetry_seconds=3600))
    agent = Agent(cfg, notifier=Notifier(environ={"NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "800000"}))
    thread = threading.Thread(target=agent.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    assert wait_until(lambda: agent.session.connected, 10)
    assert wait_until(lambda: len(listener.times("WATCHDOG=1")) >= 3, 10)
    yield agent
    agent.stop()
    thread.join(15)
    assert not thread.is_alive()


def watchdog_stops(listener, then: float) -> bool:
    time.sleep(1.5)  # over three watchdog intervals
    return not [t for t in listener.times("WATCHDOG=1") if t > then + 0.1]


def test_no_watchdog_once_the_network_thread_is_dead(agent_in_thread, listener):
    agent = agent_in_thread
    agent.session._client.loop_stop()  # paho's network thread ends, as if it had crashed
    assert wait_until(lambda: not agent.session.network_alive(), 5)
    assert watchdog_stops(listener, time.monotonic())
    assert any("UNHEALTHY: MQTT network thread stopped" in s for s in listener.lines("STATUS="))


def test_no_watchdog_once_the_outbox_writer_is_dead(agent_in_thread, listener):
    agent = agent_in_thread
    agent.drainer.stop()
    assert wait_until(lambda: not agent.drainer.alive(), 5)
    assert watchdog_stops(listener, time.monotonic())
    assert any("UNHEALTHY: outbox writer unhealthy" in s for s in listener.lines("STATUS="))


def test_no_watchdog_while_the_main_loop_is_stuck(agent_in_thread, listener):
    agent = agent_in_thread
    stuck = threading.Event()
    agent.every(0.1, lambda: stuck.wait(3))  # a task that blocks the main loop for 3 s
    started = time.monotonic()
    time.sleep(2.5)
    late = [t for t in listener.times("WATCHDOG=1") if started + 0.5 < t < started + 2.5]
    stuck.set()
    assert late == []
    assert wait_until(lambda: [t for t in listener.times("WATCHDOG=1") if t > started + 3], 5)  # back once it runs


def test_the_unit_file_is_type_notify_with_a_watchdog_and_needs_no_network():
    from pathlib import Path

    unit = (Path(__file__).resolve().parents[2] / "systemd" / "pishkhan-agent.service").read_text()
    lines = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in unit.splitlines()
             if "=" in line and not line.startswith("#")}
    assert lines["Type"] == "notify" and lines["NotifyAccess"] == "main"
    assert int(lines["WatchdogSec"]) >= 10
    assert lines["ExecStart"].endswith("pishkhan agent")
    assert "network-online" not in lines["After"]
    assert lines["ProtectSystem"] == "strict" and lines["NoNewPrivileges"] == "yes"
