"""A failed webhook delivery is tried again with backoff and given up after N tries, each try recorded in
``alert_notifications`` — against a real local HTTP receiver (and a port nobody listens on)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from central.alert_notify import AlertWatcher, Delivery, RetryPolicy, Webhook
from central.alerts import Alerting
from central.db import open_db
from tests.central.test_alerts import NOW, device, later


class Scripted:
    """A local HTTP server answering each POST with the next of *answers* (status, headers, delay s)."""

    def __init__(self, *answers):
        self.answers, self.got = list(answers), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                data = self.rfile.read(int(self.headers["Content-Length"]))
                status, headers, delay = receiver.answers.pop(0) if receiver.answers else (200, {}, 0)
                receiver.got.append({"headers": dict(self.headers), "raw": data, "json": json.loads(data)})
                time.sleep(delay)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _dark(db):
    Alerting(db).rules.add(kind="offline", severity="critical", minutes=0, now=NOW)
    device(db, "dev-1", online=False, last_seen=later(-1))
    return db


@pytest.fixture
def fleet(tmp_path):
    db = _dark(open_db(str(tmp_path / "fleet.db")))
    yield db
    db.close()


@pytest.fixture
def both(fleet_db):
    """As :func:`fleet`, once on SQLite and once on PostgreSQL."""
    return _dark(fleet_db)


def rows(db):
    return db.query("SELECT event, reason, status, attempts, last_at, next_try_at, gave_up FROM alert_notifications "
                    "ORDER BY id")


def at(seconds):
    return (NOW + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_a_5xx_is_tried_again_with_doubling_waits_until_it_is_delivered_signed(both):
    fleet = both
    receiver = Scripted((503, {}, 0), (500, {}, 0), (200, {}, 0))
    clock = [NOW]
    watcher = AlertWatcher(fleet, webhook=Webhook(receiver.url, secret=b"k"), clock=lambda: clock[0])
    try:
        [(_, first)] = watcher.once()
        assert (first.reason, first.status) == ("refused", 503)
        [row] = rows(fleet)
        assert (row["attempts"], row["next_try_at"], row["gave_up"]) == (1, at(30), "")
        clock[0] = NOW + dt.timedelta(seconds=29)
        assert watcher.once() == [] and len(receiver.got) == 1  # not due yet
        clock[0] = NOW + dt.timedelta(seconds=30)
        [(change, second)] = watcher.once()
        assert (change.event, second.status) == ("opened", 500)
        [row] = rows(fleet)
        assert (row["attempts"], row["last_at"], row["next_try_at"], row["status"]) == (2, at(30), at(90), 500)
        clock[0] = NOW + dt.timedelta(seconds=90)
        [(_, third)] = watcher.once()
        assert third.ok
        [row] = rows(fleet)
        assert (row["reason"], row["status"], row["attempts"], row["next_try_at"], row["gave_up"]) == \
            ("sent", 200, 3, None, "")
        assert [g["json"]["event"] for g in receiver.got] == ["opened"] * 3
        last = receiver.got[-1]
        assert last["headers"]["X-Pishkhan-Signature"] == \
            "sha256=" + hmac.new(b"k", last["raw"], hashlib.sha256).hexdigest()
        clock[0] = NOW + dt.timedelta(hours=2)
        assert watcher.once() == [] and len(receiver.got) == 3  # delivered: never again
    finally:
        receiver.close()


def test_a_4xx_is_given_up_at_once_and_a_429_waits_as_long_as_it_asks(fleet):
    device(fleet, "dev-2", online=False, last_seen=later(-1))
    receiver = Scripted((404, {}, 0), (429, {"Retry-After": "120"}, 0))
    try:
        AlertWatcher(fleet, webhook=Webhook(receiver.url), clock=lambda: NOW).once()
        got = {(r["status"], r["next_try_at"], r["gave_up"]) for r in rows(fleet)}
        assert got == {(404, None, "rejected"), (429, at(120), "")}
    finally:
        receiver.close()


def test_an_unreachable_receiver_is_given_up_after_the_last_try(fleet):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    clock = [NOW]
    watcher = AlertWatcher(fleet, webhook=Webhook(closed, timeout=2), clock=lambda: clock[0],
                           retry=RetryPolicy(attempts=3, first=10, longest=15))
    watcher.once()
    waits = []
    for _ in range(2):
        [row] = rows(fleet)
        waits.append(row["next_try_at"])
        clock[0] = dt.datetime.strptime(row["next_try_at"], "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=dt.timezone.utc)
        [(_, delivery)] = watcher.once()
        assert delivery.reason == "unreachable"
    assert waits == [at(10), at(25)]  # 10 s, then 20 s capped at 15
    [row] = rows(fleet)
    assert (row["attempts"], row["next_try_at"], row["gave_up"]) == (3, None, "attempts_exhausted")
    clock[0] += dt.timedelta(hours=1)
    assert watcher.once() == []


def test_a_timeout_is_tried_again_and_two_dashboards_take_a_due_retry_once(both):
    fleet = both
    receiver = Scripted((200, {}, 0.6), (200, {}, 0), (200, {}, 0))
    try:
        clock = [NOW]
        one = AlertWatcher(fleet, webhook=Webhook(receiver.url, timeout=0.2), clock=lambda: clock[0])
        [(_, delivery)] = one.once()
        assert delivery.reason == "timeout" and rows(fleet)[0]["next_try_at"] == at(30)
        clock[0] = NOW + dt.timedelta(seconds=31)
        two = AlertWatcher(fleet, webhook=Webhook(receiver.url, timeout=0.2), clock=lambda: clock[0])
        barrier = threading.Barrier(2)
        results = []

        def run(watcher):
            barrier.wait()
            results.append(watcher.retry_due(now=clock[0]))

        threads = [threading.Thread(target=run, args=(w,)) for w in (one, two)]
        [t.start() for t in threads]
        [t.join(10) for t in threads]
        assert sorted(len(r) for r in results) == [0, 1]  # one took it, the other found it leased
        assert len(receiver.got) == 2 and rows(fleet)[0]["reason"] == "sent"
    finally:
        receiver.close()


def test_the_policy_says_what_is_tried_again():
    policy = RetryPolicy(attempts=4, first=30, longest=100)
    assert [policy.after(Delivery("unreachable"), attempts=n) for n in (1, 2, 3, 4)] == \
        [(30, ""), (60, ""), (100, ""), (None, "attempts_exhausted")]
    assert policy.after(Delivery("refused", status=400), attempts=1) == (None, "rejected")
    assert policy.after(Delivery("refused", status=302), attempts=1) == (None, "rejected")
    assert policy.after(Delivery("refused", status=502), attempts=1) == (30, "")
    assert policy.after(Delivery("refused", status=429, retry_after=9999), attempts=1) == (100, "")
    assert policy.after(Delivery("sent", status=200), attempts=1) == (None, "")
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
