"""What the centre knows of every device, kept from the messages the fleet sends.

:meth:`Fleet.ingest` takes a batch of ``(topic, payload, received_at)`` as
the monitor's MQTT client hands them on, and applies the whole batch in one
transaction of a few set statements (:meth:`~central.db.FleetDB.values`):
one insert into ``seen`` that returns the new sequence numbers, one read of
the batch's devices, and one update each for their counters, telemetry and
compliance — each device's messages applied in order in memory between
them. That is what lets one core keep up with a national fleet
(bench/fleet.py; its figures are in docs/scale.md).

For each message, in order:

1. The topic must be a device stream (``dev/{id}/{stream}``) and the payload
   a JSON object that follows its schema (:mod:`pishkhan.protocol.payloads`),
   with the same device id as the topic. Anything else is refused: counted,
   logged with the reason, and dropped — the batch goes on.
2. Its sequence number is looked up in ``seen``: already there is a
   duplicate (at-least-once delivery, or a resend after a reconnect) and
   changes nothing more; new, it raises the device's ``received`` count and,
   if higher, its ``highest_seq``. A birth's ``will_seq`` not received yet is
   kept in ``wills`` (a hole by design until its will comes, if ever), and a
   telemetry's ``agent.outbox.dropped`` (``telemetry.*``) in
   ``telemetry_dropped`` (:meth:`_Batch.account`). ``highest_seq − received −
   seq_skipped − unsent wills − telemetry_dropped`` is the number of messages
   the centre never got and the device never accounted for: a loss
   (:func:`central.queries.unexplained_gaps`; docs/mqtt.md, "Gaps and duplicates").
3. Its stream updates the device: ``status`` (online with the birth's
   versions, or offline by Last Will or clean stop, and since when — an
   offline also becomes an alert), ``telemetry`` (the latest readings by group: a
   full message replaces them, a change-only one is merged over them), ``event`` (kept, and
   shown as an alert), ``report`` (the daily report, one per device and
   date), ``reported`` (applied versions; refusals become alerts),
   ``result`` (command results, kept as events; a snapshot's PNG goes to ``snapshots``).
   An ``update`` event and ``reported.applied.release`` are also kept per rollout and device
   (:mod:`central.releases.ingest`), their fields checked first (:mod:`central.releases.wire`).

What a device sends is bounded and checked before anything is stored
(:meth:`Fleet.parse`): the payload's size by kind, strict JSON (a key twice
in one object is refused, as at the device), the schema's types and bounds,
no control or bidi character in any string (:mod:`pishkhan.text.safety`),
report minutes that add up, every stored time within :data:`TIME_BEHIND` /
:data:`TIME_AHEAD` of the centre's receive time (which is kept beside it and
orders the alerts), and a snapshot's PNG against its hash. A refusal is a
:exc:`~pishkhan.exc.ProtocolError` whose ``reason`` is a code of
:data:`pishkhan.protocol.payloads.REFUSALS`; it is counted by reason, and by
device in ``refusals`` (:meth:`Fleet.refusals`). What one device stores is
bounded over time too: at most :data:`EVENTS_PER_DAY` events of one Tehran
day and reports of the last :data:`REPORT_DAYS` dates; more is refused
(``over_budget``), and a device's first such refusal of a day raises an
``over_budget`` alert (once a device and day; the counts are kept in
``budgets``, read and written once a batch). A ``seq`` more than
:data:`SEQ_JUMP` above the device's highest is flagged once (a ``seq_jumped``
alert) and the numbers it skipped are kept in ``devices.seq_skipped``, not
counted as lost; so is a smaller hole that would take the device's lost
messages past :data:`SEQ_JUMP` (holes just under the bound would otherwise
add up to any number). Every alert a device's message makes the centre write (a jump, an offline, a birth
claiming another identity, a refusal in a ``reported``) and every result are charged to the device's events of the
centre's day (:data:`EVENTS_PER_DAY`), or a device could make the centre write a row a message. ``full: true``
telemetry replaces the stored readings; a change-only one is merged over them, and refused (``too_large``) if the
readings kept would pass :data:`MAX_TELEMETRY_BYTES`. A report or event that
comes before the device's province is known (it is not registered yet) is
stored under ``''`` and filed under the province when the device is
registered (:meth:`Fleet.province_of`, :func:`central.registry.settle_province`).

A device's province, office and office name come from the registry
(:mod:`central.registry`), never from its birth: a birth claiming another
identity raises an ``identity_mismatch`` alert and changes nothing, and a
device not in the registry is quarantined (its ``province`` stays empty).

A status message older than the one already applied (by ``sent_at``) does
not overwrite it: a retained birth delivered late must not undo a Last Will.
The one exception is the Last Will of the connection whose birth is applied
(its ``seq`` is the birth's ``will_seq``): it was made at connect time, so it
is older than the birth by nature, and it is the news that this connection
died. An offline device counts as offline from when the centre received
that news.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

from central import codec, health_history, history, registry, verification
from central.circulars import ingest as circular_ingest
from central.circulars import wire as circular_wire
from central.queries import UNSENT_WILLS, unexplained_gaps
from central.releases import ingest as release_ingest
from central.releases import wire as release_wire
from pishkhan.exc import ProtocolError
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics

log = logging.getLogger(__name__)

ALERT_EVENTS = ("late_opening", "closed_during_hours", "early_closing", "printer_out", "display_off",
                "board_not_current", "schedule_not_current", "clock_not_synchronised", "clock_jumped", "outage")


#: The alerts the centre raises itself (a Last Will or clean stop seen, a birth that disagrees with the registry,
#: a ``seq`` jump, a refusal in a ``reported``): a device's event of one of these names is refused (``wrong_kind``),
#: or it would read as the centre's own finding.
CENTRE_ALERTS = ("offline", registry.MISMATCH, "seq_jumped", "document_refused", "over_budget")

#: How far a device's times may lie from the centre's receive time: a clock a little fast, and a message held
#: in the outbox (``mqtt.outbox_max_age_days`` is at most 365) or a report sent again.
TIME_AHEAD = dt.timedelta(days=1)
TIME_BEHIND = dt.timedelta(days=366)
#: A ``seq`` further than this above the device's highest is a jump: flagged once, its hole not counted as lost
#: (a year of one message a minute is 525,600).
SEQ_JUMP = 1_000_000
#: The most bytes of readings the centre keeps for one device.
MAX_TELEMETRY_BYTES = 65_536
#: The largest snapshot PNG kept (as the agent's ``edge_agent.commands.MAX_SNAPSHOT_BYTES``).
MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: The longest sentence kept with a refusal.
MAX_REFUSAL_TEXT = 300
#: The most events the centre stores of one device for one Tehran day (the day of the event's ``at``); more are
#: refused (``over_budget``). A real agent sends each of its judge's events once, ever (edge_agent/compliance.py):
#: a late opening, an early closing, and runs of at least 5–10 minutes closed, printer out, display off or outage
#: within the day's hours — a bad day has a dozen or two. A hundred is several times any real day, and keeps a
#: flooding credential to 100 × 16 KiB (1.6 MB) a day, where the broker's speed would store gigabytes. Counted by
#: the event's own day, not the day it arrives, so a device back after weeks offline sends its whole outbox.
EVENTS_PER_DAY = 100
#: How many days before the centre's Tehran day a report's date may be; an older one is refused
#: (``over_budget``). The agent sends a day's report that evening or the next morning, and its outbox keeps it
#: ``mqtt.outbox_max_age_days`` (14 by default) while the broker cannot be reached: 14 + 1, and a day for the clocks.
#: Without it one device could store a 512 KiB report for each of the ~367 dates the time window allows (188 MB).
REPORT_DAYS = 16
#: The most outbox epochs the centre meets of one device in 24 hours; a message of one more new epoch is refused
#: (``over_budget``). A real device starts one when its outbox file is made again (a re-imaged card, a simulator
#: run): a few a year. Without it each message could name a new epoch, and ``epochs`` (never pruned) grow a row a
#: message.
MAX_NEW_EPOCHS = 24
#: The most announced Last Wills the centre keeps waiting for of one device's epoch (``wills``); a birth announcing
#: one more excuses nothing (its hole counts as lost). A real device has one a connection whose will never came.
MAX_WILLS = 1000
TEHRAN = ZoneInfo("Asia/Tehran")


@dataclass
class IngestCounts:
    accepted: int = 0
    duplicates: int = 0
    refused: int = 0
    reasons: dict = field(default_factory=dict)

    def add(self, other: "IngestCounts"):
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.refused += other.refused
        for k, v in other.reasons.items():
            self.reasons[k] = self.reasons.get(k, 0) + v


class Fleet:
    """The fleet's state in a :class:`~central.db.FleetDB`.

    :param db: the fleet database.
    :param topics: the topic names (root ``pishkhan/v1`` by default).
    :param validate: check every message (its schema, text, times, snapshot); on by default, and in
        service always: off, only the topic, the device and the kind are checked (a measurement of the
        database alone).
    """

    def __init__(self, db, *, topics: Topics | None = None, validate: bool = True):
        self.db = db
        self.topics = topics or Topics()
        self.validate = validate
        self.totals = IngestCounts()

    # -- ingest ---------------------------------------------------------------
    def parse(self, topic: str, payload: bytes, *, received_at: str | None = None) -> dict:
        """The message on *topic*, checked; :exc:`ProtocolError` with a ``reason`` saying why not.

        *received_at*: the centre's receive time; every time the message
        carries must lie within the window around it.
        """
        try:
            info = self.topics.parse(topic)
        except ProtocolError as e:
            raise ProtocolError(str(e), reason="not_device_stream") from None
        if info.scope != "dev" or info.kind not in payloads.MAX_PAYLOAD_BYTES:
            raise ProtocolError(f"{topic}: not a device stream the centre reads", reason="not_device_stream")
        limit = payloads.MAX_PAYLOAD_BYTES[info.kind]
        if len(payload) > limit:
            raise ProtocolError(f"a {info.kind} payload of {len(payload):,} bytes; at most {limit:,} are allowed",
                                reason="too_large")
        if (b"\\u0000" if isinstance(payload, (bytes, bytearray)) else "\\u0000") in payload:
            raise ProtocolError("the payload carries a NUL character (\\u0000), which the fleet database "
                                "cannot store in text", reason="unsafe_text")
        message = codec.decode(payload)
        if self.validate:
            payloads.validate(message, raw=payload)
        if message.get("device") != info.device:
            raise ProtocolError(f"{topic}: message says device {message.get('device')!r}", reason="wrong_device")
        expected = payloads.schema_id(info.kind)
        if message.get("schema") != expected:
            raise ProtocolError(f"{topic}: a {info.kind} topic carries {expected}, got {message.get('schema')!r}",
                                reason="wrong_kind")
        if info.kind == "event" and message.get("event") in CENTRE_ALERTS:
            raise ProtocolError(f"{topic}: {message['event']!r} is an alert only the centre raises",
                                reason="wrong_kind")
        if self.validate and received_at is not None:
            _check_times(message, info.kind, received_at)
        if self.validate and info.kind == "result":
            _check_snapshot(message)
        if info.kind == "event":  # an update's step, bounded and checked (central.releases.wire)
            message["_update"] = release_wire.update_of(message)
            message["_circular"] = circular_wire.circular_of(message, received_at=received_at)
        elif info.kind == "reported":
            message["_release"] = release_wire.release_of(message)
        message["_stream"], message["_bytes"] = info.kind, len(payload)
        return message

    def ingest(self, batch) -> IngestCounts:
        """Apply ``(topic, payload, received_at)`` messages in one transaction."""
        counts = IngestCounts()
        messages, refusals = [], []
        for topic, payload, received_at in batch:
            try:
                messages.append((self.parse(topic, payload, received_at=received_at), received_at))
            except ProtocolError as e:
                refusals.append(Refusal(_topic_device(self.topics, topic), e.reason, str(e), received_at))
                log.warning("refused a message on %s (%s): %s", topic, e.reason, e)
        if messages or refusals:
            self.db.write(lambda c: self._apply(c, messages, counts, refusals))
        self.totals.add(counts)
        return counts

    def _apply(self, c, messages, counts: IngestCounts, refusals: list):
        db = self.db
        devices = list(dict.fromkeys(m["device"] for m, _ in messages))
        _in_chunks(db, c, registry.NEW_DEVICE_ROWS, [(d,) for d in devices], ("text",))
        fresh = _first_seen(db, c, messages)
        batch = _Batch(db, c, devices, [m["device"] for m, _ in messages if m["_stream"] == "telemetry"],
                       _budget_keys(messages), epoch_keys=[(m["device"], payloads.epoch_of(m)) for m, _ in messages])
        for message, received_at in messages:
            key = (message["device"], payloads.epoch_of(message), message["seq"])
            if key not in fresh:
                counts.duplicates += 1
                batch.duplicate(key[0])
                continue
            fresh.discard(key)  # a second copy later in the same batch is a duplicate
            if not batch.may_meet(c, key[0], key[1], received_at):
                self._over_budget(c, message, received_at, batch, {"stream": "epoch", "limit": MAX_NEW_EPOCHS})
                refusals.append(Refusal(key[0], "over_budget", f"more than {MAX_NEW_EPOCHS} new outbox epochs in "
                                        f"24 hours from this device; the centre meets no more", received_at))
                continue
            if not batch.in_current_epoch(c, key[0], key[1], received_at, birth=_is_birth(message)):
                if message["_stream"] in ("status", "telemetry"):  # an earlier epoch's news is not the device's now
                    counts.accepted += 1
                    continue
            else:
                jump = batch.received(key[0], key[2], received_at, heard=not _is_will(message))
                if jump:
                    self._charged_alert(c, message, "seq_jumped", received_at, received_at, batch,
                                        {"from": jump[0], "to": jump[1], "skipped": jump[1] - jump[0] - 1})
                batch.account(message, key)
            try:
                getattr(self, f"_on_{message['_stream']}")(c, message, received_at, batch)
            except ProtocolError as e:  # what it would leave stored is refused (received, not applied)
                refusals.append(Refusal(key[0], e.reason, str(e), received_at))
                log.warning("refused %s seq %s (%s): %s", key[0], key[2], e.reason, e)
                continue
            counts.accepted += 1
        batch.flush()
        _record_refusals(db, c, refusals, counts)

    def province_of(self, c, device: str) -> str:
        """The province the centre files *device*'s rows (events, reports) under; ``''`` while unknown.

        The one place that decides it: the device row's province, which only the
        registry sets; rows filed under ``''`` are moved by
        :func:`central.registry.settle_province` when the device is registered.
        """
        row = c.execute("SELECT province FROM devices WHERE device_id = ?", (device,)).fetchone()
        return row[0] if row else ""

    def _alert(self, c, message, kind, at, received_at, detail):
        device = message["device"]
        c.execute("INSERT INTO events(device_id, province, seq, kind, at, received_at, detail) VALUES (?,?,?,?,?,?,?)",
                  (device, self.province_of(c, device), message["seq"], kind, at, received_at,
                   codec.dumps(detail)))

    def _charged_alert(self, c, message, kind, at, received_at, batch, detail) -> bool:
        """Write a centre alert that *message* raises, charged to its device's events of the centre's Tehran day;
        past :data:`EVENTS_PER_DAY` none is written (the ``over_budget`` alert, once a day): False. A device must not
        make the centre write a row a message (a result nobody asked for, a birth claiming another office …)."""
        day = tehran_day(received_at, "?")
        if not batch.charge_event(message["device"], day):
            self._over_budget(c, message, received_at, batch, {"stream": message["_stream"], "alert": kind, "day": day,
                                                               "limit": EVENTS_PER_DAY})
            return False
        self._alert(c, message, kind, at, received_at, detail)
        return True

    def _on_status(self, c, m, received_at, batch):
        verification.record_presence(c, m, received_at)
        row = c.execute("SELECT status_sent, will_seq FROM devices WHERE device_id = ?", (m["device"],)).fetchone()
        last_sent, will_seq = (row[0], row[1]) if row else (None, None)
        online = m["state"] == "online"
        this_connections_will = not online and will_seq is not None and m["seq"] == will_seq
        if last_sent and last_sent > m["sent_at"] and not this_connections_will:
            return  # an older status delivered late
        if online:
            c.execute("UPDATE devices SET online = 1, status_since = ?, status_sent = ?, status_reason = ?, "
                      "will_seq = ?, boot_id = ?, agent_version = ?, software_version = ?, board = ?, schedule = ?, "
                      "clock = ?, booted_at = ? WHERE device_id = ?",
                      (received_at, m["sent_at"], m["reason"], m["will_seq"], m["boot_id"], m["agent_version"],
                       m["software_version"], _json(m.get("board")), _json(m.get("schedule")), _json(m.get("clock")),
                       _booted_at(m, received_at), m["device"]))
            self._check_identity(c, m, received_at, batch)
        else:
            # A Last Will was made at connect time and is sent by the broker up to 1.5 keepalives after the
            # device fell silent: the device is offline since the last message the centre had from it.
            since = (batch.last_heard(m["device"]) or received_at) if m["reason"] == "lost" else received_at
            c.execute("UPDATE devices SET online = 0, status_since = ?, status_sent = ?, status_reason = ?, "
                      "will_seq = NULL WHERE device_id = ?",
                      (since, max(m["sent_at"], last_sent or ""), m["reason"], m["device"]))
            self._charged_alert(c, m, "offline", received_at, received_at, batch,
                                {"reason": m["reason"], "since": since})

    def _check_identity(self, c, m, received_at, batch):
        """Keep what the birth claims; a registered device claiming another identity is an alert, nothing more."""
        claim = registry.claim_of(m)
        registry.record_claim(c, m["device"], claim, received_at)
        registered = registry.identity(c, m["device"])
        differs = registered and registry.mismatch(registered, claim)
        if differs:
            log.warning("device %s claims %s, the registry says %s", m["device"], differs["claimed"],
                        differs["registered"])
            self._charged_alert(c, m, registry.MISMATCH, received_at, received_at, batch, differs)

    def _on_telemetry(self, c, m, received_at, batch):
        old, old_at = batch.telemetry(m["device"])
        if old_at and old_at > m["sent_at"]:
            return
        readings = {k: v for k, v in m.items() if k not in ("schema", "device", "seq", "sent_at") and k[0] != "_"}
        groups = readings.pop("readings", None)
        if isinstance(groups, dict):  # the agent's readings by group (device, office, ...), kept at the top
            readings.update(groups)
        if m.get("full") is True:  # every group and key: what is not here any more is gone
            kept, size = readings, m["_bytes"]
        else:  # the merge is at most as large as both together; measured only when that passes the bound
            kept, size = _merge(old, readings), batch.telemetry_size(m["device"]) + m["_bytes"]
            if size > MAX_TELEMETRY_BYTES:
                size = len(codec.dumps(kept).encode("utf-8"))
                if size > MAX_TELEMETRY_BYTES:
                    raise ProtocolError(f"the readings kept would pass {MAX_TELEMETRY_BYTES:,} bytes; a full "
                                        f"telemetry replaces them", reason="too_large")
        batch.set_telemetry(m["device"], kept, m["sent_at"], size=size)
        compliance = readings.get("compliance")
        if isinstance(compliance, dict):
            batch.set_compliance(m["device"], compliance, m["sent_at"])

    def _on_event(self, c, m, received_at, batch):
        if m.get("_circular"):  # kept per office and bounded there (central.circulars.ingest), not against the
            # day's event budget: a new office receives a whole index of circulars at once
            circular_ingest.record(c, device=m["device"], province=self.province_of(c, m["device"]),
                                   circular=m["_circular"], received_at=received_at)
            return
        day = _event_day(m, received_at)
        if not batch.charge_event(m["device"], day):
            self._over_budget(c, m, received_at, batch, {"stream": "event", "day": day, "limit": EVENTS_PER_DAY})
            raise ProtocolError(f"more than {EVENTS_PER_DAY} events of {day} (Tehran) from this device; the centre "
                                f"stores no more of that day", reason="over_budget")
        self._alert(c, m, m["event"], m.get("at", m["sent_at"]), received_at, m.get("detail") or {})
        if m.get("_update"):
            release_ingest.record_step(c, device=m["device"], province=self.province_of(c, m["device"]),
                                       update=m["_update"], at=m.get("at", m["sent_at"]), received_at=received_at)
        if m["event"] in ("compliance", "compliance_state"):
            batch.set_compliance(m["device"], m.get("detail") or {}, m["sent_at"])

    def _over_budget(self, c, m, received_at, batch, detail):
        """Raise the device's ``over_budget`` alert, if it has not been raised on the centre's Tehran day yet."""
        if batch.first_alert(m["device"], tehran_day(received_at)):  # once: the flood shows, the list stays
            log.warning("device %s is over its budget (%s); what passes it is refused", m["device"], detail)
            self._alert(c, m, "over_budget", received_at, received_at, detail)

    def _on_report(self, c, m, received_at, batch):
        oldest = _oldest_report_day(received_at)
        if isinstance(m.get("date"), str) and m["date"] < oldest:
            self._over_budget(c, m, received_at, batch, {"stream": "report", "day": m["date"], "oldest": oldest})
            raise ProtocolError(f"date: a report of {m['date']} is more than {REPORT_DAYS} days before the centre's "
                                f"day; the centre stores reports from {oldest} on", reason="over_budget")
        province = self.province_of(c, m["device"])
        c.execute("INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?) "
                  "ON CONFLICT (device_id, date) DO UPDATE SET report = excluded.report, "
                  "received_at = excluded.received_at, province = excluded.province",
                  (m["device"], m["date"], province, codec.dumps(m["report"]), received_at))
        history.record(c, device_id=m["device"], date=m["date"], province=province, report=m["report"],
                       received_at=received_at)

    def _on_reported(self, c, m, received_at, batch):
        applied = m.get("applied") or {}
        if isinstance(applied.get("board"), dict):
            c.execute("UPDATE devices SET board = ? WHERE device_id = ?", (_json(applied["board"]), m["device"]))
        if isinstance(applied.get("schedule"), dict):
            c.execute("UPDATE devices SET schedule = ? WHERE device_id = ?", (_json(applied["schedule"]), m["device"]))
        for refusal in m.get("refused") or []:
            if not self._charged_alert(c, m, "document_refused", m["sent_at"], received_at, batch, refusal):
                break
        if m.get("_release"):
            release_ingest.record_reported(c, device=m["device"], province=self.province_of(c, m["device"]),
                                           release=m["_release"], at=m["sent_at"], received_at=received_at)

    def _on_facts(self, c, m, received_at, batch):
        verification.apply_facts(c, m, received_at)

    def _on_result(self, c, m, received_at, batch):
        day = tehran_day(received_at, "?")
        if not batch.charge_event(m["device"], day):  # a result is kept as an event: charged as one, first
            self._over_budget(c, m, received_at, batch, {"stream": "result", "day": day, "limit": EVENTS_PER_DAY})
            raise ProtocolError(f"more than {EVENTS_PER_DAY} events and results of {day} (Tehran) from this device; "
                                f"the centre stores no more of that day", reason="over_budget")
        detail = m.get("detail")
        png = m.get("_png")
        if png is not None:  # the snapshot goes to its table; the event keeps what it says of it
            detail = {k: v for k, v in detail.items() if k != "png_base64"}
            c.execute("INSERT INTO snapshots(device_id, at, sha256, board_version, png) VALUES (?,?,?,?,?) "
                      "ON CONFLICT (device_id) DO UPDATE SET at = excluded.at, sha256 = excluded.sha256, "
                      "board_version = excluded.board_version, png = excluded.png",
                      (m["device"], detail.get("at") if isinstance(detail.get("at"), str) else received_at,
                       detail["sha256"], _text_or_none(detail.get("board_version")), png))
        self._alert(c, m, "command_result", m["sent_at"], received_at,
                    {"correlation_id": m.get("correlation_id"), "command": m.get("command"), "ok": m.get("ok"),
                     "reason": m.get("reason"), "detail": detail})

    # -- reading ----------------------------------------------------------------
    def device(self, device_id: str) -> dict | None:
        row = self.db.query_one(f"SELECT *, {UNSENT_WILLS} FROM devices WHERE device_id = ?", (device_id,))
        return _decode_device(row) if row else None

    def devices(self, *, province: str | None = None) -> list[dict]:
        if province:
            rows = self.db.query(f"SELECT *, {UNSENT_WILLS} FROM devices WHERE province = ? ORDER BY device_id",
                                 (province,))
        else:
            rows = self.db.query(f"SELECT *, {UNSENT_WILLS} FROM devices ORDER BY device_id")
        return [_decode_device(r) for r in rows]

    def events(self, *, device: str | None = None, province: str | None = None, limit: int = 100) -> list[dict]:
        sql, params = "SELECT * FROM events", []
        where = []
        if device:
            where.append("device_id = ?")
            params.append(device)
        if province:
            where.append("province = ?")
            params.append(province)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.db.query(sql + " ORDER BY received_at DESC, id DESC LIMIT ?", (*params, limit))
        return [r | {"detail": json.loads(r["detail"])} for r in rows]

    def refusals(self, *, device: str | None = None) -> list[dict]:
        """Each device's refused messages: ``device_id``, ``refused`` (in all), ``last_reason``, ``last_at``,
        ``last_message`` and ``by_reason`` ``{reason: count}``; most recently refused first."""
        sql, params = "SELECT * FROM refusals", ()
        if device is not None:
            sql, params = sql + " WHERE device_id = ?", (device,)
        out: dict[str, dict] = {}
        for r in self.db.query(sql + " ORDER BY last_at DESC, reason", params):
            d = out.setdefault(r["device_id"], {"device_id": r["device_id"], "refused": 0, "last_reason": r["reason"],
                                                "last_at": r["last_at"], "last_message": r["last_message"],
                                                "by_reason": {}})
            d["refused"] += int(r["refused"])
            d["by_reason"][r["reason"]] = int(r["refused"])
        return list(out.values())

    def prune_budgets(self, before: str) -> int:
        """Forget the event counts of Tehran days before *before* (ISO date); events that old are refused anyway
        (:data:`TIME_BEHIND`)."""
        return self.db.write(lambda c: c.execute("DELETE FROM budgets WHERE day < ?", (before,)).rowcount)

    def prune_seen(self, before: str) -> int:
        """Forget sequence numbers received before *before* (ISO); duplicates older than that go uncounted."""
        return self.db.write(lambda c: c.execute("DELETE FROM seen WHERE at < ?", (before,)).rowcount)


@dataclass(frozen=True)
class Refusal:
    """One refused message: the device its topic names (``''`` if none), the reason code, the sentence, when."""

    device: str
    reason: str
    message: str
    at: str


def _topic_device(topics: Topics, topic: str) -> str:
    try:
        info = topics.parse(topic)
    except ProtocolError:
        return ""
    return info.device if info.scope == "dev" and info.device else ""


def _record_refusals(db, c, refusals: list[Refusal], counts: IngestCounts):
    """Count *refusals* by reason in *counts*, and by device and reason in ``refusals``."""
    per: dict[tuple, list] = {}
    for r in refusals:
        counts.refused += 1
        counts.reasons[r.reason] = counts.reasons.get(r.reason, 0) + 1
        if r.device:
            row = per.setdefault((_safe_sentence(r.device)[:200], r.reason), [0, r.at, r.message])
            row[0] += 1
            if r.at >= row[1]:
                row[1:] = [r.at, r.message]
    _in_chunks(db, c, "INSERT INTO refusals(device_id, reason, refused, last_at, last_message) "
                      "SELECT column1, column2, column3, column4, column5 FROM {rows} AS v WHERE true "
                      "ON CONFLICT (device_id, reason) DO UPDATE SET refused = refusals.refused + excluded.refused, "
                      "last_at = excluded.last_at, last_message = excluded.last_message",
               [(d, reason, n, at, _safe_sentence(text)) for (d, reason), (n, at, text) in per.items()],
               ("text", "text", "bigint", "text", "text"))


def _safe_sentence(text: str) -> str:
    """*text* cut to :data:`MAX_REFUSAL_TEXT` characters, controls and bidi characters escaped."""
    from pishkhan.text.safety import terminal_safe

    return terminal_safe(text.replace("\x00", ""), newlines=False)[:MAX_REFUSAL_TEXT]


@lru_cache(maxsize=4096)
def _tehran_day_of_minute(minute: str) -> str | None:
    try:
        moment = dt.datetime.fromisoformat(minute).replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    return moment.astimezone(TEHRAN).date().isoformat()


def tehran_day(text, default: str = "") -> str:
    """The Tehran date (ISO) of the UTC time *text* (``YYYY-MM-DDTHH:MM…``); *default* if it is not one."""
    if not isinstance(text, str) or len(text) < 16:
        return default
    return _tehran_day_of_minute(text[:16]) or default


def _budget_keys(messages) -> list[tuple[str, str]]:
    """The ``budgets`` rows a batch may read: ``(device, day)`` of each event's day and of the day it arrived."""
    keys = []
    for m, at in messages:
        if m["_stream"] == "event":
            keys.append((m["device"], _event_day(m, at)))
        if m["_stream"] in ("event", "report"):
            keys.append((m["device"], tehran_day(at, "?")))
    return keys


def _event_day(message: dict, received_at: str) -> str:
    """The Tehran day an event counts against: its ``at`` (else ``sent_at``), else the day it was received."""
    return tehran_day(message.get("at", message.get("sent_at")), tehran_day(received_at, "?"))


@lru_cache(maxsize=4096)
def _window(received_at: str) -> tuple[str, str]:
    """The earliest and latest time a message received at *received_at* may carry, as ``YYYY-MM-DDTHH:MM:SS``."""
    now = _parse_time(received_at)
    if now is None:
        raise ProtocolError(f"the receive time {received_at!r} is not a time", reason="time")
    now = now.astimezone(dt.timezone.utc)
    return ((now - TIME_BEHIND).strftime("%Y-%m-%dT%H:%M:%S"), (now + TIME_AHEAD).strftime("%Y-%m-%dT%H:%M:%S"))


def _parse_time(text) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _stored_times(message: dict, kind: str) -> list[tuple[str, object]]:
    """``(path, text)`` of every time of *message* the centre stores or draws."""
    out = [("sent_at", message.get("sent_at"))]
    if kind == "telemetry":
        groups = message.get("readings") or {}
        for name, fact in (groups.get("peripherals") or {}).items():
            if isinstance(fact, dict):
                out.append((f"readings/peripherals/{name}/at", fact.get("at")))
        since = (groups.get("compliance") or {}).get("since")
        if since is not None:
            out.append(("readings/compliance/since", since))
    elif kind == "event":
        out.append(("at", message.get("at")))
        detail = message.get("detail") or {}
        inner = detail.get("detail")
        for path, holder, key in (("detail/start", detail, "start"), ("detail/end", detail, "end"),
                                  ("detail/opened_at", detail, "opened_at"),
                                  ("detail/detail/opened_at", inner if isinstance(inner, dict) else {}, "opened_at")):
            if isinstance(holder.get(key), str):
                out.append((path, holder[key]))
    elif kind == "report":
        report = message.get("report") or {}
        if "judged_until" in report:
            out.append(("report/judged_until", report["judged_until"]))
        for key in ("periods", "timeline", "outages", "events"):
            for i, item in enumerate(report.get(key) or []):
                if isinstance(item, dict):
                    out += [(f"report/{key}/{i}/{end}", item[end]) for end in ("start", "end")
                            if item.get(end) is not None]
    elif kind == "result":
        detail = message.get("detail") or {}
        if isinstance(detail.get("at"), str):
            out.append(("detail/at", detail["at"]))
    return out


def _check_times(message: dict, kind: str, received_at: str):
    """:exc:`ProtocolError` (``time``) if a time the centre keeps is not a time or lies outside the window.

    The schemas give every time the form ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` (UTC), so its first 19
    characters compare as text.
    """
    low, high = _window(received_at)
    for path, text in _stored_times(message, kind):
        if type(text) is not str or len(text) < 20 or text[-1] != "Z" or not low <= text[:19] <= high:
            if _real_time(text):
                raise ProtocolError(f"{path}: {text} is more than {TIME_AHEAD.days} day ahead of or "
                                    f"{TIME_BEHIND.days} days behind the centre's clock ({received_at})",
                                    reason="time")
            raise ProtocolError(f"{path}: {text!r} is not a UTC time", reason="time")
        if (text[8:10] > "28" or text[11:13] > "23" or text[14:16] > "59" or text[17:19] > "59") \
                and not _real_time(text):  # the pattern's digits: 31 February, 99:99, a leap second
            raise ProtocolError(f"{path}: {text!r} is not a UTC time", reason="time")
    if kind == "report":
        for key, day in (("date", message.get("date")), ("report/date", (message.get("report") or {}).get("date"))):
            if day is None:
                continue
            if not isinstance(day, str) or not _real_time(f"{day}T00:00:00Z"):
                raise ProtocolError(f"{key}: {day!r} is not a date", reason="time")
            if not low[:10] <= day <= high[:10]:
                raise ProtocolError(f"{key}: {day} is outside the window around the centre's clock "
                                    f"({received_at})", reason="time")
        inner = (message.get("report") or {}).get("date")
        if inner is not None and inner != message.get("date"):  # stored as one day's, judged as another's
            raise ProtocolError(f"report/date: {inner} is not the message's date {message.get('date')}",
                                reason="malformed")


@lru_cache(maxsize=1024)
def _oldest_report_day(received_at: str) -> str:
    """The earliest report date the centre stores when it receives a report at *received_at* (``''``: not a time)."""
    today = tehran_day(received_at)
    return (dt.date.fromisoformat(today) - dt.timedelta(days=REPORT_DAYS)).isoformat() if today else ""


def _real_time(text) -> bool:
    """Whether *text* is ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z`` naming a moment that exists (not 31 February)."""
    if type(text) is not str or len(text) < 20 or text[-1] != "Z" or text[10] != "T":
        return False
    try:
        dt.datetime.fromisoformat(text[:19])
    except ValueError:
        return False
    return True


def _check_snapshot(message: dict):
    """A snapshot's PNG (``detail.png_base64``), checked, as ``message['_png']``; :exc:`ProtocolError`
    (``snapshot``) if it is not base64, too large, not a PNG, or not what its ``sha256`` says."""
    detail = message.get("detail")
    if not isinstance(detail, dict) or "png_base64" not in detail:
        return
    if message.get("command") != "snapshot" or message.get("ok") is not True:
        raise ProtocolError("a png_base64 in a result that is not a successful snapshot", reason="snapshot")
    text = detail["png_base64"]
    if not isinstance(text, str) or len(text) > (MAX_SNAPSHOT_BYTES + 2) // 3 * 4:
        raise ProtocolError(f"snapshot: the PNG is larger than {MAX_SNAPSHOT_BYTES:,} bytes", reason="snapshot")
    try:
        png = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("snapshot: png_base64 is not base64", reason="snapshot") from None
    if len(png) > MAX_SNAPSHOT_BYTES:
        raise ProtocolError(f"snapshot: the PNG is larger than {MAX_SNAPSHOT_BYTES:,} bytes", reason="snapshot")
    if not png.startswith(PNG_MAGIC):
        raise ProtocolError("snapshot: the bytes are not a PNG (no PNG signature)", reason="snapshot")
    said = detail.get("sha256")
    digest = hashlib.sha256(png).hexdigest()
    if said != digest:
        raise ProtocolError(f"snapshot: the PNG's sha256 is {digest[:12]}…, the device said {str(said)[:12]}…",
                            reason="snapshot")
    message["_png"] = png


def _text_or_none(value) -> str | None:
    return value[:200] if isinstance(value, str) else None


#: Rows per statement: SQLite takes at most 32,766 parameters, one a value.
ROWS_PER_STATEMENT = 500


def _in_chunks(db, c, statement, rows, types, *, fetch=False) -> list:
    """Run *statement*, ``{rows}`` in it standing for *rows* as a table (:meth:`FleetDB.values`), per chunk."""
    out = []
    for i in range(0, len(rows), ROWS_PER_STATEMENT):
        table, params = db.values(rows[i:i + ROWS_PER_STATEMENT], types)
        c.execute(statement.format(rows=table), params)
        if fetch:
            out += c.fetchall()
    return out


def _first_seen(db, c, messages) -> set:
    """Record each message's (device, epoch, seq) in ``seen``; the keys that were not there before."""
    keys = {}
    for m, at in messages:
        keys.setdefault((m["device"], payloads.epoch_of(m), m["seq"]), at)
    rows = _in_chunks(db, c, "INSERT INTO seen(device_id, epoch, seq, at) SELECT column1, column2, column3, column4 "
                             "FROM {rows} AS v WHERE true ON CONFLICT (device_id, epoch, seq) DO NOTHING "
                             "RETURNING device_id, epoch, seq",
                      [(d, e, s, at) for (d, e, s), at in keys.items()], ("text", "text", "bigint", "text"), fetch=True)
    return {(d, e, int(s)) for d, e, s in rows}


def _booted_at(message: dict, received_at: str) -> str | None:
    """A birth's ``booted_at`` when it is a time within the window around *received_at*, else None (optional:
    a device whose clock was wrong at its birth says nothing of its uptime, and is not refused for it)."""
    text = message.get("booted_at")
    if not _real_time(text):
        return None
    low, high = _window(received_at)
    return text if low <= text[:19] <= high else None


def _is_birth(message: dict) -> bool:
    return message["_stream"] == "status" and message.get("state") == "online"


def _is_will(message: dict) -> bool:
    """A Last Will: sent by the broker, not by the device, so it is not news that the device was heard."""
    return message["_stream"] == "status" and message.get("state") == "offline" and message.get("reason") == "lost"


class _Batch:
    """What one ingest batch changes in ``devices`` and ``budgets``, written once a row at the end."""

    def __init__(self, db, c, devices, telemetry_devices, budget_keys=(), *, epoch_keys=()):
        self.db, self.c = db, c
        # (device, Tehran day) -> [events stored, over_budget alert raised], as stored then changed; and the change
        self.budgets: dict[tuple, list] = {}
        self.budget_changes: dict[tuple, list] = {}
        keys = list(dict.fromkeys(budget_keys))
        for device, day, events, alerted in _in_chunks(
                db, c, "SELECT b.device_id, b.day, b.events, b.alerted FROM budgets b JOIN {rows} AS v "
                       "ON b.device_id = v.column1 AND b.day = v.column2", keys, ("text", "text"), fetch=True):
            self.budgets[(device, day)] = [int(events), int(alerted)]
        # device -> [received, highest seq, last seen, duplicates, seq skipped by jumps]
        self.counters: dict[str, list] = {}
        self.highest: dict[str, int] = {}  # device -> its highest seq, as stored then raised by this batch
        self.readings: dict[str, tuple] = {}  # device -> (merged telemetry, telemetry_at), as stored or changed
        self.sizes: dict[str, int] = {}  # device -> bytes of its stored telemetry
        self.changed: set[str] = set()
        self.compliance: dict[str, tuple] = {}
        wanted = set(telemetry_devices)
        self.lost: dict[str, int] = {}  # device -> messages it has not sent (its holes less flagged jumps)
        self.epoch: dict[str, str] = {}  # device -> its current epoch
        self.seen_at: dict[str, str | None] = {}  # device -> when it was last heard, as stored
        self.epochs: set[tuple[str, str]] = set()  # (device, epoch) the centre has met
        self.new_epochs: dict[tuple[str, str], str] = {}  # (device, epoch) met first in this batch -> when
        self.dropped: dict[str, int] = {}  # device -> telemetry its outbox dropped in the current epoch, as known
        self.dropped_changed: set[str] = set()
        for device, top, text, at, received, skipped, epoch, seen_at, dropped, unsent in _in_chunks(
                db, c, "SELECT d.device_id, d.highest_seq, CASE WHEN v.column2 = 1 THEN d.telemetry END, "
                       "d.telemetry_at, d.received, d.seq_skipped, d.epoch, d.last_seen, d.telemetry_dropped, "
                       f"{UNSENT_WILLS.replace('devices.', 'd.')} FROM devices d "
                       "JOIN {rows} AS v ON d.device_id = v.column1",
                [(d, int(d in wanted)) for d in devices], ("text", "bigint"), fetch=True):
            self.epoch[device], self.seen_at[device] = epoch or "", seen_at
            self.highest[device] = int(top or 0)
            self.dropped[device] = int(dropped or 0)
            self.lost[device] = max(0, int(top or 0) - int(received or 0) - int(skipped or 0) - int(unsent or 0)
                                    - self.dropped[device])
            if device in wanted:
                self.readings[device] = (codec.loads(text) if text else {}, at)
                self.sizes[device] = len(text or "")
        # only the batch's own (device, epoch) pairs: a device's every epoch would be read on each of its batches
        self.epochs.update(_in_chunks(db, c, "SELECT e.device_id, e.epoch FROM epochs e JOIN {rows} AS v "
                                             "ON e.device_id = v.column1 AND e.epoch = v.column2",
                                      list(dict.fromkeys(epoch_keys)), ("text", "text"), fetch=True))
        self.recent_epochs: dict[str, int] = {}  # device -> epochs met in the 24 hours before the batch, and in it

    def may_meet(self, c, device, epoch, at) -> bool:
        """Whether a message of *device* in *epoch* may be taken: its epoch is current or met already, or the device
        has met fewer than :data:`MAX_NEW_EPOCHS` new ones in the 24 hours before *at*."""
        if epoch == self.epoch.get(device, "") or (device, epoch) in self.epochs:
            return True
        if device not in self.recent_epochs:
            moment = _parse_time(at)
            since = (moment - dt.timedelta(days=1)).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") \
                if moment else ""
            self.recent_epochs[device] = int(c.execute("SELECT COUNT(*) FROM epochs WHERE device_id = ? AND "
                                                       "first_at >= ?", (device, since)).fetchone()[0])
        if self.recent_epochs[device] >= MAX_NEW_EPOCHS:
            return False
        self.recent_epochs[device] += 1
        return True

    def in_current_epoch(self, c, device, epoch, at, *, birth: bool) -> bool:
        """Whether a new message of *device* in *epoch* counts in its current epoch; it becomes current when the
        centre never met it (a new outbox) or it is a birth's (the device connected with it). False: a late
        message of an earlier epoch."""
        if epoch == self.epoch.get(device, ""):
            self._meet(device, epoch, at)
            return True
        if (device, epoch) in self.epochs and not birth:
            return False
        self._switch(c, device, epoch, at)
        return True

    def _meet(self, device, epoch, at):
        if (device, epoch) not in self.epochs:
            self.epochs.add((device, epoch))
            self.new_epochs[(device, epoch)] = at

    def _switch(self, c, device, epoch, at):
        """*device*'s sequence starts again in *epoch*: what its old epoch lost is kept in ``lost_before``; its
        status and telemetry are ordered afresh (a re-imaged card's clock may be behind the old one's)."""
        log.info("device %s: a new outbox epoch %r (was %r); its sequence numbers start again", device, epoch,
                 self.epoch.get(device, ""))
        c.execute("UPDATE devices SET epoch = ?, lost_before = lost_before + ?, highest_seq = 0, received = 0, "
                  "seq_skipped = 0, will_seq = NULL, status_sent = NULL, telemetry_at = NULL, telemetry_dropped = 0 "
                  "WHERE device_id = ?", (epoch, self.lost.get(device, 0), device))
        c.execute("DELETE FROM wills WHERE device_id = ? AND epoch <> ?", (device, epoch))
        self.epoch[device] = epoch
        self.highest[device], self.lost[device], self.dropped[device] = 0, 0, 0
        self.dropped_changed.discard(device)
        row = self._counter(device)
        row[0], row[1], row[4] = 0, 0, 0
        if device in self.readings:
            self.readings[device] = (self.readings[device][0], None)
        self._meet(device, epoch, at)

    def last_heard(self, device) -> str | None:
        """When the centre last had a message from *device* (not a Last Will), this batch's included."""
        stored_at, here = self.seen_at.get(device), self._counter(device)[2]
        return max(t for t in (stored_at, here) if t) if stored_at or here else None

    def _counter(self, device):
        return self.counters.setdefault(device, [0, 0, None, 0, 0])

    def duplicate(self, device):
        self._counter(device)[3] += 1

    def received(self, device, seq, at, *, heard: bool = True) -> tuple[int, int] | None:
        """Count a new message; ``(highest before, seq)`` when *seq* jumps: more than :data:`SEQ_JUMP` above
        the highest, or a hole that would take the device's lost messages past :data:`SEQ_JUMP` (holes just
        under the bound, one after another, would add up to any number). *heard*: the device sent it (not a
        Last Will), so it moves ``last_seen``."""
        row = self._counter(device)
        row[0] += 1
        row[1] = max(row[1], seq)
        if heard:
            row[2] = at if row[2] is None else max(row[2], at)
        top = self.highest.get(device, 0)
        lost = self.lost.get(device, 0)
        if seq <= top:
            self.lost[device] = max(0, lost - 1)  # a hole filled
            return None
        self.highest[device] = seq
        hole = seq - top - 1
        if hole >= SEQ_JUMP or lost + hole > SEQ_JUMP:
            row[4] += hole
            return top, seq
        self.lost[device] = lost + hole
        return None

    def account(self, message: dict, key: tuple):
        """What a new message of the current epoch says of the device's holes (docs/mqtt.md, "Gaps and
        duplicates"): a birth's ``will_seq`` not received yet is a hole by design (kept in ``wills`` until its
        will or clean offline comes, if ever); telemetry's ``agent.outbox.dropped`` counts the telemetry its
        outbox dropped (cumulative in the epoch: the largest count known is kept)."""
        device, epoch, _ = key
        stream = message["_stream"]
        if stream == "status":
            will = message.get("will_seq")
            if _is_birth(message) and type(will) is int:
                if self.c.execute("INSERT INTO wills(device_id, epoch, seq) SELECT ?, ?, CAST(? AS BIGINT) WHERE NOT EXISTS "
                                  "(SELECT 1 FROM seen WHERE device_id = ? AND epoch = ? AND seq = ?) "
                                  "AND (SELECT COUNT(*) FROM wills WHERE device_id = ? AND epoch = ?) < ? "
                                  "ON CONFLICT (device_id, epoch, seq) DO NOTHING RETURNING seq",
                                  (device, epoch, will, device, epoch, will, device, epoch, MAX_WILLS)).fetchall():
                    self.lost[device] = max(0, self.lost.get(device, 0) - 1)
            elif message.get("state") == "offline":
                if self.c.execute("DELETE FROM wills WHERE device_id = ? AND epoch = ? AND seq = ? RETURNING seq",
                                  key).fetchall():
                    self.lost[device] = self.lost.get(device, 0) + 1  # its hole was counted as excused
        elif stream == "telemetry":
            dropped = telemetry_dropped(message)
            if dropped > self.dropped.get(device, 0):
                self.lost[device] = max(0, self.lost.get(device, 0) - (dropped - self.dropped.get(device, 0)))
                self.dropped[device] = dropped
                self.dropped_changed.add(device)

    def _budget(self, device, day) -> list:
        """*device*'s ``[events, alerted]`` of Tehran *day*: as read with the batch, else read now (a key the batch
        did not foresee: a seq jump's alert, an epoch refused)."""
        if (device, day) not in self.budgets:
            found = self.c.execute("SELECT events, alerted FROM budgets WHERE device_id = ? AND day = ?",
                                   (device, day)).fetchone()
            self.budgets[(device, day)] = [int(found[0]), int(found[1])] if found else [0, 0]
        return self.budgets[(device, day)]

    def charge_event(self, device, day) -> bool:
        """Count one event of *device* for Tehran *day*; False, counting nothing, once it has :data:`EVENTS_PER_DAY`."""
        row = self._budget(device, day)
        if row[0] >= EVENTS_PER_DAY:
            return False
        row[0] += 1
        self.budget_changes.setdefault((device, day), [0, 0])[0] += 1
        return True

    def first_alert(self, device, day) -> bool:
        """Whether *device*'s ``over_budget`` alert is still to be raised on Tehran *day*; it is then marked raised."""
        row = self._budget(device, day)
        if row[1]:
            return False
        row[1] = 1
        self.budget_changes.setdefault((device, day), [0, 0])[1] = 1
        return True

    def telemetry(self, device) -> tuple[dict, str | None]:
        return self.readings.get(device, ({}, None))

    def telemetry_size(self, device) -> int:
        """At least the bytes of the device's readings as they stand (stored, or changed by this batch)."""
        return self.sizes.get(device, 0)

    def set_telemetry(self, device, readings, at, *, size: int):
        self.readings[device] = (readings, at)
        self.sizes[device] = size
        self.changed.add(device)

    def set_compliance(self, device, state, at):
        self.compliance[device] = (codec.dumps(state), at)

    def flush(self):
        db, c = self.db, self.c
        _in_chunks(db, c, "UPDATE devices SET received = received + v.column2, duplicates = duplicates + v.column3, "
                          "highest_seq = CASE WHEN highest_seq < v.column4 THEN v.column4 ELSE highest_seq END, "
                          "last_seen = CASE WHEN last_seen IS NULL OR last_seen < v.column5 THEN v.column5 "
                          "ELSE last_seen END, seq_skipped = seq_skipped + v.column6 "
                          "FROM {rows} AS v WHERE devices.device_id = v.column1",
                   [(d, n, dup, top, seen, skipped) for d, (n, top, seen, dup, skipped) in self.counters.items()],
                   ("text", "bigint", "bigint", "bigint", "text", "bigint"))
        _in_chunks(db, c, "UPDATE devices SET telemetry = v.column2, telemetry_at = v.column3 "
                          "FROM {rows} AS v WHERE devices.device_id = v.column1",
                   [(d, codec.dumps(self.readings[d][0]), self.readings[d][1]) for d in self.changed],
                   ("text", "text", "text"))
        health_history.record(db, c, [(d, *self.readings[d]) for d in self.changed])
        _in_chunks(db, c, "UPDATE devices SET compliance = v.column2, compliance_at = v.column3 "
                          "FROM {rows} AS v WHERE devices.device_id = v.column1",
                   [(d, text, at) for d, (text, at) in self.compliance.items()], ("text", "text", "text"))
        _in_chunks(db, c, "UPDATE devices SET telemetry_dropped = CASE WHEN telemetry_dropped < v.column2 "
                          "THEN v.column2 ELSE telemetry_dropped END FROM {rows} AS v WHERE devices.device_id = v.column1",
                   [(d, self.dropped[d]) for d in self.dropped_changed], ("text", "bigint"))
        _in_chunks(db, c, "INSERT INTO epochs(device_id, epoch, first_at) SELECT column1, column2, column3 "
                          "FROM {rows} AS v WHERE true ON CONFLICT (device_id, epoch) DO NOTHING",
                   [(d, e, at) for (d, e), at in self.new_epochs.items()], ("text", "text", "text"))
        _in_chunks(db, c, "INSERT INTO budgets(device_id, day, events, alerted) "
                          "SELECT column1, column2, column3, column4 FROM {rows} AS v WHERE true "
                          "ON CONFLICT (device_id, day) DO UPDATE SET events = budgets.events + excluded.events, "
                          "alerted = CASE WHEN excluded.alerted > budgets.alerted THEN excluded.alerted "
                          "ELSE budgets.alerted END",
                   [(d, day, n, alerted) for (d, day), (n, alerted) in self.budget_changes.items()],
                   ("text", "text", "bigint", "bigint"))


def _json(value):
    return None if value is None else codec.dumps(value)


def _merge(old: dict, new: dict) -> dict:
    """*new* over *old*, dicts merged key by key; neither is changed (parts of them are shared)."""
    if not old:
        return new
    out = old.copy()
    for k, v in new.items():
        if type(v) is dict:
            was = out.get(k)
            if type(was) is dict and was:
                v = _merge(was, v)
        out[k] = v
    return out


#: The most a device's outbox can say it dropped (the envelope's ``seq`` bound).
MAX_DROPPED = 2 ** 63 - 1


def telemetry_dropped(message: dict) -> int:
    """How many telemetry messages the device's outbox dropped since it was made (coalesced, full, age), as
    this telemetry says (``agent.outbox.dropped``, ``telemetry.*``); 0 when it does not say."""
    agent = message.get("agent")
    outbox = agent.get("outbox") if isinstance(agent, dict) else None
    dropped = outbox.get("dropped") if isinstance(outbox, dict) else None
    if not isinstance(dropped, dict):
        return 0
    total = sum(n for k, n in dropped.items() if isinstance(k, str) and k.startswith("telemetry.")
                and type(n) is int and n > 0)
    return min(total, MAX_DROPPED)


def _decode_device(row: dict) -> dict:
    out = dict(row)
    for key in ("board", "schedule", "clock", "telemetry", "compliance"):
        out[key] = json.loads(out[key]) if out.get(key) else None
    out["online"] = bool(out["online"])
    out["gaps"] = unexplained_gaps(out) + int(out.get("lost_before") or 0)
    return out
