"""The monitor as a systemd service: the unit verifies and is hardened like the agent's; READY=1 once
started; WATCHDOG=1 only while the network and writer threads are alive and the writer is not stuck."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mqtt_broker import mqtt_broker  # noqa: F401  (the shared fixture)
from required_tools import require_tool

from central.db import open_db
from central.fleet import Fleet as FleetState
from central.monitor import Monitor
from central.trust import TrustList
from cli.central_monitor import Watchdog
from pishkhan.boards.signing import SigningKey
from pishkhan.notify import Notifier
from pishkhan.protocol import payloads

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))
from agent_helpers import wait_until  # noqa: E402
from test_notify import NotifyListener  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"


def _settings(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    return {line.split("=", 1)[0]: line.split("=", 1)[1] for line in text.splitlines()
            if "=" in line and not line.lstrip().startswith("#")}


def test_the_unit_is_type_notify_with_a_watchdog_and_hardened_like_the_agent():
    unit, agent = _settings(UNITS / "pishkhan-monitor.service"), _settings(UNITS / "pishkhan-agent.service")
    assert unit["Type"] == "notify" and unit["NotifyAccess"] == "main"
    assert int(unit["WatchdogSec"]) >= 10 and unit["Restart"] == "always"
    command = unit["ExecStart"].split()
    assert command[1:3] == ["central", "monitor"]
    assert "--trust" in command and "--client-id" in command  # official documents verify; a session at the broker
    hardening = [k for k in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
                             "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                             "ProtectControlGroups", "ProtectClock", "ProtectHostname", "RestrictAddressFamilies",
                             "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality",
                             "SystemCallArchitectures", "SystemCallFilter", "CapabilityBoundingSet",
                             "AmbientCapabilities", "UMask")]
    assert {k: unit.get(k) for k in hardening} == {k: agent[k] for k in hardening}
    assert "MemoryMax" in unit


def test_systemd_analyze_verifies_the_unit(tmp_path):
    require_tool("systemd-analyze")
    text = (UNITS / "pishkhan-monitor.service").read_text(encoding="utf-8")
    assert "/opt/pishkhan/.venv/bin/pishkhan " in text
    unit = tmp_path / "pishkhan-monitor.service"  # the installed binary stands in for /opt/pishkhan's
    unit.write_text(text.replace("/opt/pishkhan/.venv/bin/pishkhan ", f"{os.path.realpath(sys.executable)} "))
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr
    broken = tmp_path / "broken" / "pishkhan-monitor.service"  # the check itself can fail
    broken.parent.mkdir()
    broken.write_text(unit.read_text().replace("Type=notify", "Type=notifyy"))
    proc = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "notifyy" in proc.stderr


@pytest.fixture
def listener(tmp_path):
    box = NotifyListener(tmp_path / "notify.sock")
    yield box
    box.close()


def test_ready_then_watchdog_only_while_the_writer_is_not_stuck(mqtt_broker, tmp_path, listener, monkeypatch):
    release = threading.Event()
    real = FleetState.ingest

    def held(self, batch):
        release.wait(30)
        return real(self, batch)
    db = open_db(str(tmp_path / "fleet.db"))
    monitor = Monitor(db, host=mqtt_broker.host, port=mqtt_broker.port, username="centre",
                      password=mqtt_broker.passwords["centre"], batch_ms=20, stuck_after=1.0,
                      trust=TrustList.of((SigningKey.generate().public, "national")))
    notifier = Notifier(environ={"NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "400000"})
    watchdog = Watchdog(monitor, notifier)
    stop = threading.Event()

    def tend():
        while not stop.is_set():
            assert watchdog.tend() is None
            time.sleep(watchdog.every)
    with monitor:
        tending = threading.Thread(target=tend, daemon=True)
        tending.start()
        try:
            assert wait_until(lambda: listener.times("WATCHDOG=1"), 5)
            monkeypatch.setattr(FleetState, "ingest", held)
            centre = mqtt_broker.client("centre")
            telemetry = payloads.telemetry(device="dev-0001", seq=1, sent_at=time.time(), agent={"uptime_s": 1})
            centre.publish("pishkhan/v1/dev/dev-0001/telemetry", payloads.encode(telemetry), qos=1)
            assert wait_until(lambda: monitor.problems(), 5)
            assert [reason for reason, _ in monitor.problems()] == ["writer_stuck"]
            stuck = time.monotonic()
            time.sleep(1.0)
            assert [t for t in listener.times("WATCHDOG=1") if t > stuck + 0.3] == []
            assert any(line.startswith("STATUS=unhealthy: the writer has been on one write")
                       for line in listener.lines("STATUS="))
            release.set()
            assert wait_until(lambda: [t for t in listener.times("WATCHDOG=1") if t > stuck + 1.0], 5)
        finally:
            release.set()
            stop.set()
            tending.join(5)
    db.close()


def test_the_monitor_process_says_ready_and_feeds_the_watchdog(mqtt_broker, tmp_path, listener):
    trust = tmp_path / "trust.pem"
    trust.write_text(TrustList.entry(SigningKey.generate().public, "national"))
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               NOTIFY_SOCKET=listener.path, WATCHDOG_USEC="1000000")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "central", "monitor", "--broker",
                             f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}", "--db", str(tmp_path / "fleet.db"),
                             "--username", "centre", "--password-file", str(mqtt_broker.password_file("centre")),
                             "--trust", str(trust), "--seconds", "4"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    lines = [line for _, line in listener.received]
    assert lines.index("READY=1") < lines.index("WATCHDOG=1"), lines
    assert len(listener.times("WATCHDOG=1")) >= 3 and lines[-2:][0] == "STOPPING=1", lines
