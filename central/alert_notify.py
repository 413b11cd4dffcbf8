"""Telling a person: each alert that opened or resolved is POSTed as JSON to a webhook.

:class:`Webhook` sends one :class:`central.alerts.Change` (the body: :func:`body`; with a secret, the header
``X-Pishkhan-Signature: sha256=<HMAC-SHA256 of the body>`` lets the receiver check it came from the centre).
A failed delivery is data, not an exception: a :class:`Delivery` with ``reason`` from :data:`REASONS`.

:class:`AlertWatcher` is what the dashboard runs: every ``every`` seconds it evaluates the rules
(:meth:`central.alerts.Alerting.evaluate`), sends each change and records each attempt in
``alert_notifications`` (a timestamped fact: which alert, which event, when, delivered or why not).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass

from central.alerts import Alerting, Change

log = logging.getLogger("pishkhan.central.alerts")

#: Why a delivery failed (``sent`` when it did not).
REASONS = ("sent", "refused", "unreachable", "timeout")
#: The kinds in words, Persian and English, for the message's summary.
KIND_WORDS = {
    "offline": ("خاموش یا قطع در ساعت کار", "offline during announced hours"),
    "late_opening": ("دیر باز شده", "late opening"),
    "closed_during_hours": ("بسته در ساعت کار", "closed during hours"),
    "printer_out": ("چاپگر از کار افتاده", "printer out"),
    "board_outdated": ("تابلوی کهنه", "board out of date"),
    "under_voltage": ("ولتاژ کم", "under-voltage"),
    "disk_low": ("دیسک تقریباً پر", "disk almost full"),
    "clock_unsynchronised": ("ساعت همگام نیست", "clock not synchronised"),
}
FIELDS = ("id", "kind", "severity", "province", "device_id", "office_id", "office_name", "grouped", "devices",
          "state", "since", "opened_at", "acknowledged_by", "acknowledged_at", "resolved_at")


@dataclass(frozen=True)
class Delivery:
    """One attempt: ``reason`` is one of :data:`REASONS` (``sent``: the receiver answered 2xx)."""

    reason: str
    status: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason == "sent"


def summary(change: Change) -> tuple[str, str]:
    """The change in one line: (Persian, English)."""
    a = change.alert
    fa, en = KIND_WORDS.get(a["kind"], (a["kind"], a["kind"]))
    who_fa = f"{a['devices']} دستگاه در استان {a['province']}" if a["grouped"] else \
        f"دفتر {a.get('office_name') or a['device_id']} (استان {a['province']})"
    who_en = f"{a['devices']} devices of province {a['province']}" if a["grouped"] else \
        f"office {a.get('office_id') or a['device_id']} (province {a['province']})"
    if change.event == "resolved":
        return f"برطرف شد: {fa} — {who_fa}", f"resolved: {en} — {who_en}"
    return f"هشدار: {fa} — {who_fa}", f"alert: {en} — {who_en}"


def body(change: Change) -> bytes:
    """The JSON a receiver gets: ``event``, ``alert`` (:data:`FIELDS`), ``summary`` and ``summary_en``."""
    fa, en = summary(change)
    alert = {k: change.alert.get(k) for k in FIELDS}
    alert["grouped"] = bool(alert["grouped"])
    return json.dumps({"event": change.event, "alert": alert, "summary": fa, "summary_en": en},
                      ensure_ascii=False, sort_keys=True).encode("utf-8")


class Webhook:
    """POSTs each change to *url*."""

    def __init__(self, url: str, *, secret: bytes | None = None, timeout: float = 5.0):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook: expected an http:// or https:// URL, got {url!r}")
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def send(self, change: Change) -> Delivery:
        data = body(change)
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "pishkhan-centre"}
        if self.secret:
            headers["X-Pishkhan-Signature"] = "sha256=" + hmac.new(self.secret, data, hashlib.sha256).hexdigest()
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return Delivery("sent", status=answer.status)
        except urllib.error.HTTPError as e:
            return Delivery("refused", status=e.code, detail=str(e.reason)[:200])
        except TimeoutError as e:
            return Delivery("timeout", detail=str(e)[:200])
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            return Delivery("timeout" if isinstance(reason, TimeoutError) else "unreachable", detail=str(reason)[:200])


class AlertWatcher:
    """Evaluates the alert rules every *every* seconds and sends what changed to *webhook*."""

    def __init__(self, db, *, webhook: Webhook | None, clock, every: float = 60.0):
        self.db = db
        self.alerting = Alerting(db)
        self.webhook = webhook
        self.clock = clock
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def once(self) -> list[tuple[Change, Delivery | None]]:
        """One evaluation and its deliveries (None: no webhook configured)."""
        now = self.clock()
        out = []
        for change in self.alerting.evaluate(now=now):
            delivery = self.webhook.send(change) if self.webhook else None
            if delivery is not None:
                self._record(change, delivery, now)
            out.append((change, delivery))
        return out

    def _record(self, change: Change, delivery: Delivery, now: dt.datetime):
        self.db.execute("INSERT INTO alert_notifications (alert_id, event, at, reason, status, detail) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (change.alert["id"], change.event, now.astimezone(dt.timezone.utc).isoformat(),
                         delivery.reason, delivery.status, delivery.detail))
        if not delivery.ok:
            log.warning("alert %s (%s) not delivered: %s %s", change.alert["id"], change.event, delivery.reason,
                        delivery.detail)

    def start(self):
        self._thread = threading.Thread(target=self._run, name="alert-watcher", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.once()
            except Exception:  # noqa: BLE001 — one bad evaluation must not end the watcher
                log.exception("alert evaluation failed")
            self._stop.wait(self.every)
