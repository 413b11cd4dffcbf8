"""Telling a person: each alert that opened or resolved is POSTed as JSON to a webhook, and tried again if it failed.

:class:`Webhook` sends one :class:`central.alerts.Change` (the body: :func:`body`; with a secret, the header
``X-Pishkhan-Signature: sha256=<HMAC-SHA256 of the body>`` lets the receiver check it came from the centre).
A failed delivery is data, not an exception: a :class:`Delivery` with ``reason`` from :data:`REASONS`.

:class:`AlertWatcher` is what the dashboard runs (never the monitor: a slow receiver cannot hold up ingest):
every ``every`` seconds it evaluates the rules (:meth:`central.alerts.Alerting.evaluate`), sends each change,
then tries again the deliveries that are due. Each notification (one alert's one event) is one row of
``alert_notifications``, a timestamped fact kept up to date: ``at`` (first try), ``attempts``, ``last_at``,
``reason``/``status``/``detail`` of the last try, ``next_try_at`` (when it is tried again; NULL: not again) and
``gave_up`` (:data:`GAVE_UP`; ``''`` while delivered or still trying).

When a failure is tried again (:class:`RetryPolicy`): the receiver unreachable, a timeout, a 5xx answer or 429
(too many requests; its ``Retry-After`` is honoured up to the longest wait). Any other refusal (a 4xx, a
redirect) is given up at once (``rejected``): sending the same body again would get the same answer. The waits
double from ``first`` (30 s) up to ``longest`` (an hour); after ``attempts`` tries (6) the notification is given
up (``attempts_exhausted``). A retry sends the alert as it stands then, under the event it was for (an
``opened`` retried after the alert resolved carries ``state: resolved``; its ``resolved`` is a notification of
its own). Two dashboards on one database do not send one retry twice: each takes a due row by moving its
``next_try_at`` on (a lease) in one conditional update, so a dashboard that dies mid-send leaves it due again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass

from central.alerts import Alerting, Change
from pishkhan import provinces
from pishkhan.text.persian import to_persian_digits

log = logging.getLogger("pishkhan.central.alerts")

#: Why a delivery failed (``sent`` when it did not).
REASONS = ("sent", "refused", "unreachable", "timeout")
#: Why a notification is not tried again: the receiver refused it for good, or every try failed.
GAVE_UP = ("rejected", "attempts_exhausted")
#: At most this many due retries are sent in one round of the watcher (the rest wait for the next).
RETRIES_PER_ROUND = 20
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
    "circular_unacknowledged": ("بخشنامهٔ دیده‌نشده", "circular not acknowledged"),
}
FIELDS = ("id", "kind", "severity", "province", "device_id", "office_id", "office_name", "grouped", "devices",
          "state", "since", "opened_at", "acknowledged_by", "acknowledged_at", "resolved_at")


@dataclass(frozen=True)
class Delivery:
    """One attempt: ``reason`` is one of :data:`REASONS` (``sent``: the receiver answered 2xx)."""

    reason: str
    status: int | None = None
    detail: str = ""
    retry_after: float | None = None  # seconds, from a 429 or 503 answer's Retry-After

    @property
    def ok(self) -> bool:
        return self.reason == "sent"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how soon a failed delivery is tried again (the module's docstring says when)."""

    attempts: int = 6
    first: float = 30.0
    factor: float = 2.0
    longest: float = 3600.0

    def __post_init__(self):
        if self.attempts < 1 or self.first <= 0 or self.factor < 1 or self.longest < self.first:
            raise ValueError("retry policy: attempts >= 1, first > 0, factor >= 1, longest >= first")

    @staticmethod
    def retryable(delivery: Delivery) -> bool:
        """Whether *delivery* failed in a way another try may mend."""
        if delivery.reason in ("unreachable", "timeout"):
            return True
        return delivery.reason == "refused" and delivery.status is not None and \
            (delivery.status == 429 or 500 <= delivery.status <= 599)

    def after(self, delivery: Delivery, *, attempts: int) -> tuple[float | None, str]:
        """After try number *attempts* ended in *delivery*: (seconds until the next try, None: no more;
        the :data:`GAVE_UP` reason, ``''`` when delivered or tried again)."""
        if delivery.ok:
            return None, ""
        if not self.retryable(delivery):
            return None, "rejected"
        if attempts >= self.attempts:
            return None, "attempts_exhausted"
        wait = min(self.longest, self.first * self.factor ** (attempts - 1))
        if delivery.retry_after is not None:
            wait = min(self.longest, max(wait, delivery.retry_after))
        return wait, ""


def summary(change: Change) -> tuple[str, str]:
    """The change in one line: (Persian, English)."""
    a = change.alert
    fa, en = KIND_WORDS.get(a["kind"], (a["kind"], a["kind"]))
    where = _province_fa(a["province"])
    office = a.get("office_name") or a["device_id"]
    who_fa = f"{to_persian_digits(str(a['devices']))} دستگاه در استان {where}" if a["grouped"] else \
        f"{office if office.startswith('دفتر') else 'دفتر ' + office}، استان {where}"
    who_en = f"{a['devices']} devices of province {a['province']}" if a["grouped"] else \
        f"office {a.get('office_id') or a['device_id']} (province {a['province']})"
    if change.event == "resolved":
        return f"برطرف شد: {fa} — {who_fa}", f"resolved: {en} — {who_en}"
    return f"هشدار: {fa} — {who_fa}", f"alert: {en} — {who_en}"


def _province_fa(code) -> str:
    """«تهران (۲۳)» for one of the 31 provinces (any way written), else the code in Persian digits."""
    name = provinces.name(code) if isinstance(code, str) else None
    code = provinces.normalise(code) if name else str(code or "")
    return f"{name} ({to_persian_digits(code)})" if name else to_persian_digits(code)


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
        expired = threading.Event()
        try:
            with _opener(2 * self.timeout, expired).open(request, timeout=self.timeout) as answer:
                return Delivery("sent", status=answer.status)
        except urllib.error.HTTPError as e:
            return Delivery("refused", status=e.code, detail=str(e.reason)[:200],
                            retry_after=_seconds(e.headers.get("Retry-After") if e.headers else None))
        except TimeoutError as e:
            return Delivery("timeout", detail=str(e)[:200])
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:  # HTTPException: not HTTP
            reason = getattr(e, "reason", e)
            if expired.is_set():
                return Delivery("timeout", detail=f"no whole answer within {2 * self.timeout:g} s")
            return Delivery("timeout" if isinstance(reason, TimeoutError) else "unreachable", detail=str(reason)[:200])


def _opener(seconds: float, expired: threading.Event):
    """An opener whose connections are cut *seconds* after they connect (*expired* set): the socket's timeout
    bounds each read, not a receiver answering a byte at a time."""
    import socket

    def cut(cls):
        class Connection(cls):
            def connect(self):
                super().connect()
                self._timer = threading.Timer(seconds, self._expire)
                self._timer.daemon = True
                self._timer.start()

            def _expire(self):
                expired.set()
                try:
                    self.sock.shutdown(socket.SHUT_RDWR)
                except (OSError, AttributeError):
                    pass

            def close(self):
                if getattr(self, "_timer", None):
                    self._timer.cancel()
                super().close()
        return Connection

    class Plain(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(cut(http.client.HTTPConnection), req)

    class Secure(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(cut(http.client.HTTPSConnection), req, context=self._context)

    return urllib.request.build_opener(Plain(), Secure())


def _seconds(text) -> float | None:
    """A ``Retry-After`` of whole seconds (its date form is not read), or None."""
    text = (text or "").strip()
    return float(text) if text.isascii() and text.isdigit() and len(text) <= 7 else None


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class AlertWatcher:
    """Evaluates the alert rules every *every* seconds and sends what changed to *webhook*."""

    def __init__(self, db, *, webhook: Webhook | None, clock, every: float = 60.0,
                 retry: RetryPolicy = RetryPolicy()):
        self.db = db
        self.alerting = Alerting(db)
        self.webhook = webhook
        self.clock = clock
        self.every = every
        self.retry = retry
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def once(self) -> list[tuple[Change, Delivery | None]]:
        """One evaluation and its deliveries (None: no webhook configured), then the due retries'
        (:meth:`retry_due`)."""
        now = self.clock()
        out = []
        for change in self.alerting.evaluate(now=now):
            delivery = self.webhook.send(change) if self.webhook else None
            if delivery is not None:
                self._record(change, delivery, now)
            out.append((change, delivery))
        if self.webhook:
            out += self.retry_due(now=now)
        return out

    def retry_due(self, *, now: dt.datetime) -> list[tuple[Change, Delivery]]:
        """Try again the notifications whose ``next_try_at`` has come (at most :data:`RETRIES_PER_ROUND`)."""
        out = []
        due = self.db.query("SELECT id, alert_id, event, attempts, next_try_at FROM alert_notifications "
                            "WHERE next_try_at IS NOT NULL AND next_try_at <= ? ORDER BY next_try_at, id LIMIT ?",
                            (_stamp(now), RETRIES_PER_ROUND))
        lease = _stamp(now + dt.timedelta(seconds=self.webhook.timeout + 60))
        for row in due:
            taken = self.db.write(lambda c, row=row: c.execute(
                "UPDATE alert_notifications SET next_try_at = ? WHERE id = ? AND next_try_at = ?",
                (lease, row["id"], row["next_try_at"])).rowcount)
            alert = self.alerting.alert(row["alert_id"]) if taken == 1 else None
            if alert is None:
                if taken == 1:  # the alert is gone: nothing left to tell
                    self.db.execute("UPDATE alert_notifications SET next_try_at = NULL WHERE id = ?", (row["id"],))
                continue
            change = Change(row["event"], alert)
            delivery = self.webhook.send(change)
            self._update(row["id"], change, delivery, now, attempts=int(row["attempts"]) + 1)
            out.append((change, delivery))
        return out

    def _record(self, change: Change, delivery: Delivery, now: dt.datetime):
        wait, gave_up = self.retry.after(delivery, attempts=1)
        self.db.execute("INSERT INTO alert_notifications (alert_id, event, at, reason, status, detail, attempts, "
                        "last_at, next_try_at, gave_up) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                        (change.alert["id"], change.event, now.astimezone(dt.timezone.utc).isoformat(),
                         delivery.reason, delivery.status, delivery.detail, _stamp(now),
                         None if wait is None else _stamp(now + dt.timedelta(seconds=wait)), gave_up))
        self._log(change, delivery, wait, gave_up)

    def _update(self, row_id: int, change: Change, delivery: Delivery, now: dt.datetime, *, attempts: int):
        wait, gave_up = self.retry.after(delivery, attempts=attempts)
        self.db.execute("UPDATE alert_notifications SET reason = ?, status = ?, detail = ?, attempts = ?, "
                        "last_at = ?, next_try_at = ?, gave_up = ? WHERE id = ?",
                        (delivery.reason, delivery.status, delivery.detail, attempts, _stamp(now),
                         None if wait is None else _stamp(now + dt.timedelta(seconds=wait)), gave_up, row_id))
        self._log(change, delivery, wait, gave_up)

    @staticmethod
    def _log(change: Change, delivery: Delivery, wait: float | None, gave_up: str):
        if not delivery.ok:
            then = f"given up ({gave_up})" if gave_up else f"tried again in {wait:g} s"
            log.warning("alert %s (%s) not delivered: %s %s %s; %s", change.alert["id"], change.event,
                        delivery.reason, delivery.status or "", delivery.detail, then)

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
                try:  # nor hold up the retries already due
                    if self.webhook:
                        self.retry_due(now=self.clock())
                except Exception:  # noqa: BLE001
                    log.exception("alert retries failed")
            self._stop.wait(self.every)


def deliveries(db, alert_ids) -> dict[int, list[dict]]:
    """Each of *alert_ids*' notifications (oldest first): what the alerts page shows of their delivery."""
    ids = [int(i) for i in alert_ids][:500]
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    out: dict[int, list[dict]] = {}
    for row in db.query(f"SELECT id, alert_id, event, at, reason, status, detail, attempts, last_at, next_try_at, "
                        f"gave_up FROM alert_notifications WHERE alert_id IN ({marks}) ORDER BY id", ids):
        out.setdefault(int(row["alert_id"]), []).append(row)
    return out


def state_of(notifications: list[dict]) -> dict | None:
    """What a person is told of an alert's notifications (oldest first; None: none were sent): the newest one
    not delivered if any (``state``: ``retrying`` or ``gave_up``), else the newest (``sent``); with its row."""
    if not notifications:
        return None
    failed = [n for n in notifications if n["reason"] != "sent"]
    row = failed[-1] if failed else notifications[-1]
    state = "sent" if row["reason"] == "sent" else ("retrying" if row["next_try_at"] else "gave_up")
    return dict(row, state=state)
