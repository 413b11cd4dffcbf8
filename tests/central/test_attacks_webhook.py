"""Attacks on the alert webhook (central/alert_notify.py) from what reaches it: a receiver that answers one byte at a
time (each within the socket's timeout, so no read ever times out) must not hold the alert watcher, and a device's
office name with CR/LF and bidi characters stays inside the JSON body, never in a header."""

from __future__ import annotations

import json
import socket
import threading
import time

from central.alert_notify import AlertWatcher, Webhook, body
from central.alerts import Change
from central.db import open_db
from tests.central.test_alert_webhook_retry import _dark, rows
from tests.central.test_alerts import NOW


class Trickler:
    """A local TCP server that reads a request and answers ``HTTP/1.1 200 OK`` and a header one byte every *gap*
    seconds, for at most *lasting* seconds."""

    def __init__(self, *, gap: float, lasting: float, answer: bytes = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.gap, self.lasting, self.answer = gap, lasting, answer
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        with conn:
            conn.recv(65536)
            end = time.monotonic() + self.lasting
            answer = self.answer
            try:
                for i in range(len(answer)):
                    if time.monotonic() > end:
                        return
                    conn.sendall(answer[i:i + 1])
                    time.sleep(self.gap)
            except OSError:
                return

    def close(self):
        self.sock.close()


def test_a_receiver_answering_byte_by_byte_does_not_hold_the_watcher(tmp_path):
    db = _dark(open_db(str(tmp_path / "fleet.db")))
    receiver = Trickler(gap=0.05, lasting=6)
    try:
        watcher = AlertWatcher(db, webhook=Webhook(receiver.url, timeout=0.2), clock=lambda: NOW)
        started = time.monotonic()
        [(_, delivery)] = watcher.once()
        assert time.monotonic() - started < 3
        assert delivery.reason == "timeout" and rows(db)[0]["next_try_at"] is not None  # tried again later
    finally:
        receiver.close()
        db.close()


def test_a_receiver_answering_what_is_not_http_is_recorded_and_tried_again(tmp_path):
    db = _dark(open_db(str(tmp_path / "fleet.db")))
    receiver = Trickler(gap=0, lasting=1, answer=b"garbage\r\n\r\n")
    try:
        [(_, delivery)] = AlertWatcher(db, webhook=Webhook(receiver.url, timeout=0.4), clock=lambda: NOW).once()
        assert delivery.reason == "unreachable" and rows(db)[0]["next_try_at"] is not None
    finally:
        receiver.close()
        db.close()


def test_an_office_name_with_line_breaks_stays_in_the_body():
    alert = {"id": 1, "kind": "offline", "severity": "critical", "province": "23", "device_id": "dev-1",
             "office_id": "23-1\r\nX-Evil: 1", "office_name": "دفتر\r\n\u202eX-Evil: 1", "grouped": 0,
             "devices": 1, "state": "open"}
    data = body(Change("opened", alert))
    assert b"\r" not in data and b"\n" not in data
    assert json.loads(data)["alert"]["office_name"] == alert["office_name"]
