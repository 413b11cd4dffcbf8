"""The webhook the dashboard calls on a new or resolved alert, against a real local HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from central.alert_notify import AlertWatcher, Webhook
from central.alerts import Alerting
from central.db import open_db
from tests.central.test_alerts import NOW, device, later


class Receiver:
    """A local HTTP server keeping every POST (headers and JSON body); answers *status*."""

    def __init__(self, status=200):
        self.status = status
        self.got: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                data = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append({"path": self.path, "headers": dict(self.headers), "raw": data,
                                     "json": json.loads(data)})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_a_new_and_a_resolved_alert_reach_the_receiver_signed_and_recorded(tmp_path, receiver):
    db = open_db(str(tmp_path / "fleet.db"))
    Alerting(db).rules.add(kind="offline", severity="critical", minutes=5, now=NOW)
    clock = [NOW]
    watcher = AlertWatcher(db, webhook=Webhook(receiver.url, secret=b"s3cret"), clock=lambda: clock[0])
    device(db, "dev-1", online=False, last_seen=later(-6))
    [(change, delivery)] = watcher.once()
    assert delivery.ok and delivery.status == 200
    [got] = receiver.got
    assert got["path"] == "/hook"
    expected = "sha256=" + hmac.new(b"s3cret", got["raw"], hashlib.sha256).hexdigest()
    assert got["headers"]["X-Pishkhan-Signature"] == expected
    sent = got["json"]
    assert (sent["event"], sent["alert"]["kind"], sent["alert"]["device_id"], sent["alert"]["state"]) == \
        ("opened", "offline", "dev-1", "open")
    assert sent["summary"] == "هشدار: خاموش یا قطع در ساعت کار — دفتر dev-1، استان خوزستان (۰۶)"
    assert sent["summary_en"] == "alert: offline during announced hours — office o-dev-1 (province 06)"
    assert watcher.once() == [] and len(receiver.got) == 1  # still dark: nothing new to tell
    device(db, "dev-1", last_seen=later(1))
    clock[0] = later(1)
    watcher.once()
    assert [g["json"]["event"] for g in receiver.got] == ["opened", "resolved"]
    assert receiver.got[1]["json"]["alert"]["resolved_at"] == "2026-12-01T07:01:00.000Z"
    facts = db.query("SELECT alert_id, event, reason, status FROM alert_notifications ORDER BY id")
    assert [(f["event"], f["reason"], f["status"]) for f in facts] == [("opened", "sent", 200), ("resolved", "sent", 200)]


def test_a_failed_delivery_is_a_recorded_reason_not_an_exception(tmp_path, receiver):
    db = open_db(str(tmp_path / "fleet.db"))
    Alerting(db).rules.add(kind="offline", severity="critical", minutes=0, now=NOW)
    device(db, "dev-1", online=False, last_seen=later(-1))
    device(db, "dev-2", online=False, last_seen=later(-1))
    receiver.status = 503
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    refused = AlertWatcher(db, webhook=Webhook(receiver.url), clock=lambda: NOW).once()
    assert [(d.reason, d.status) for _, d in refused] == [("refused", 503)] * 2
    device(db, "dev-1", last_seen=later(1))
    gone = AlertWatcher(db, webhook=Webhook(closed, timeout=2), clock=lambda: later(1)).once()
    assert [(c.event, d.reason) for c, d in gone] == [("resolved", "unreachable")] + [("opened", "unreachable")] * 2
    facts = db.query("SELECT event, reason, attempts FROM alert_notifications ORDER BY id")
    assert [(f["event"], f["reason"], f["attempts"]) for f in facts] == \
        [("opened", "unreachable", 2), ("opened", "unreachable", 2), ("resolved", "unreachable", 1)]


def test_the_dashboard_command_posts_a_new_alert_to_its_webhook(tmp_path, receiver):
    """``pishkhan central dashboard --alert-webhook URL --alert-secret-file F``: its watcher's first evaluation
    reaches the receiver, signed."""
    import datetime as dt
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from services import free_port

    db = open_db(str(tmp_path / "fleet.db"))
    now = dt.datetime.now(dt.timezone.utc)
    Alerting(db).rules.add(kind="offline", severity="critical", minutes=0, now=now)
    device(db, "dev-9", online=False, last_seen=now - dt.timedelta(minutes=3))
    db.close()
    (tmp_path / "hook.secret").write_bytes(b"k3y\n")
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "central", "dashboard", "--db",
                             str(tmp_path / "fleet.db"), "--listen", f"127.0.0.1:{free_port()}", "--alert-webhook",
                             receiver.url, "--alert-secret-file", str(tmp_path / "hook.secret")],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not receiver.got and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert receiver.got, err.decode(errors="replace")[-2000:]
    got = receiver.got[0]
    assert (got["json"]["event"], got["json"]["alert"]["device_id"]) == ("opened", "dev-9")
    assert got["headers"]["X-Pishkhan-Signature"] == \
        "sha256=" + hmac.new(b"k3y", got["raw"], hashlib.sha256).hexdigest()
