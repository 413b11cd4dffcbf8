"""What the centre knows of every device, kept from the messages the fleet sends.

:meth:`Fleet.ingest` takes a batch of ``(topic, payload, received_at)`` as
the monitor's MQTT client hands them on, and applies the whole batch in one
transaction of a few set statements (:meth:`~central.db.FleetDB.values`):
one insert into ``seen`` that returns the new sequence numbers, one read of
the batch's devices, and one update each for their counters, telemetry and
compliance — each device's messages applied in order in memory between
them. That is what lets one core keep up with a national fleet
(bench/fleet.py: 13,000–15,000 messages per CPU second on SQLite or
PostgreSQL, without MQTT).

For each message, in order:

1. The topic must be a device stream (``dev/{id}/{stream}``) and the payload
   a JSON object that follows its schema (:mod:`pishkhan.protocol.payloads`),
   with the same device id as the topic. Anything else is refused: counted,
   logged with the reason, and dropped — the batch goes on.
2. Its sequence number is looked up in ``seen``: already there is a
   duplicate (at-least-once delivery, or a resend after a reconnect) and
   changes nothing more; new, it raises the device's ``received`` count and,
   if higher, its ``highest_seq``. ``highest_seq − received`` is the number
   of messages the centre never got (a gap).
3. Its stream updates the device: ``status`` (online with the birth's
   versions, or offline by Last Will or clean stop, and since when — an
   offline also becomes an alert), ``telemetry`` (the latest readings by group, merged
   over the previous ones: devices send what changed), ``event`` (kept, and
   shown as an alert), ``report`` (the daily report, one per device and
   date), ``reported`` (applied versions; refusals become alerts),
   ``result`` (command results, kept as events).

A status message older than the one already applied (by ``sent_at``) does
not overwrite it: a retained birth delivered late must not undo a Last Will.
The one exception is the Last Will of the connection whose birth is applied
(its ``seq`` is the birth's ``will_seq``): it was made at connect time, so it
is older than the birth by nature, and it is the news that this connection
died. An offline device counts as offline from when the centre received
that news.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from central import codec, verification
from pishkhan.exc import ProtocolError
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics

log = logging.getLogger(__name__)

ALERT_EVENTS = ("late_opening", "closed_during_hours", "early_closing", "printer_out", "display_off",
                "board_not_current", "schedule_not_current", "clock_not_synchronised", "clock_jumped", "outage")


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
    :param validate: check every message against its JSON Schema (on by default).
    """

    def __init__(self, db, *, topics: Topics | None = None, validate: bool = True):
        self.db = db
        self.topics = topics or Topics()
        self.validate = validate
        self.totals = IngestCounts()

    # -- ingest ---------------------------------------------------------------
    def parse(self, topic: str, payload: bytes) -> dict:
        """The message on *topic*, checked; :exc:`ProtocolError` saying why not."""
        info = self.topics.parse(topic)
        if info.scope != "dev" or info.kind not in ("status", "telemetry", "event", "report", "reported", "result",
                                                  "facts"):
            raise ProtocolError(f"{topic}: not a device stream the centre reads")
        if (b"\\u0000" if isinstance(payload, (bytes, bytearray)) else "\\u0000") in payload:
            raise ProtocolError("the payload carries a NUL character (\\u0000), which the fleet database "
                                "cannot store in text")
        message = codec.decode(payload)
        if self.validate:
            payloads.validate(message)
        if message.get("device") != info.device:
            raise ProtocolError(f"{topic}: message says device {message.get('device')!r}")
        expected = payloads.schema_id(info.kind)
        if message.get("schema") != expected:
            raise ProtocolError(f"{topic}: a {info.kind} topic carries {expected}, got {message.get('schema')!r}")
        message["_stream"] = info.kind
        return message

    def ingest(self, batch) -> IngestCounts:
        """Apply ``(topic, payload, received_at)`` messages in one transaction."""
        counts = IngestCounts()
        messages = []
        for topic, payload, received_at in batch:
            try:
                messages.append((self.parse(topic, payload), received_at))
            except ProtocolError as e:
                counts.refused += 1
                key = str(e).split(":")[0] if ":" in str(e) else str(e)
                counts.reasons[key[:80]] = counts.reasons.get(key[:80], 0) + 1
                log.warning("refused a message on %s: %s", topic, e)
        if messages:
            self.db.write(lambda c: self._apply(c, messages, counts))
        self.totals.add(counts)
        return counts

    def _apply(self, c, messages, counts: IngestCounts):
        db = self.db
        devices = list(dict.fromkeys(m["device"] for m, _ in messages))
        _in_chunks(db, c, "INSERT INTO devices(device_id) SELECT column1 FROM {rows} AS v WHERE true "
                          "ON CONFLICT (device_id) DO NOTHING", [(d,) for d in devices], ("text",))
        fresh = _first_seen(db, c, messages)
        batch = _Batch(db, c, [m["device"] for m, _ in messages if m["_stream"] == "telemetry"])
        for message, received_at in messages:
            key = (message["device"], message["seq"])
            if key not in fresh:
                counts.duplicates += 1
                batch.duplicate(key[0])
                continue
            fresh.discard(key)  # a second copy later in the same batch is a duplicate
            counts.accepted += 1
            batch.received(key[0], key[1], received_at)
            getattr(self, f"_on_{message['_stream']}")(c, message, received_at, batch)
        batch.flush()

    def _province(self, c, device) -> str:
        row = c.execute("SELECT province FROM devices WHERE device_id = ?", (device,)).fetchone()
        return row[0] if row else ""

    def _alert(self, c, message, kind, at, received_at, detail):
        device = message["device"]
        c.execute("INSERT INTO events(device_id, province, seq, kind, at, received_at, detail) VALUES (?,?,?,?,?,?,?)",
                  (device, self._province(c, device), message["seq"], kind, at, received_at,
                   codec.dumps(detail)))

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
                      "clock = ?, province = CASE WHEN ? != '' THEN ? ELSE province END, "
                      "office_id = CASE WHEN ? != '' THEN ? ELSE office_id END, "
                      "office_name = CASE WHEN ? != '' THEN ? ELSE office_name END WHERE device_id = ?",
                      (received_at, m["sent_at"], m["reason"], m["will_seq"], m["boot_id"], m["agent_version"],
                       m["software_version"], _json(m.get("board")), _json(m.get("schedule")), _json(m.get("clock")),
                       m.get("province", ""), m.get("province", ""), m.get("office", ""), m.get("office", ""),
                       m.get("office_name", ""), m.get("office_name", ""), m["device"]))
        else:
            # A Last Will was made at connect time: its sent_at is old, so the
            # centre dates the device offline from when the broker sent it.
            c.execute("UPDATE devices SET online = 0, status_since = ?, status_sent = ?, status_reason = ?, "
                      "will_seq = NULL WHERE device_id = ?",
                      (received_at, max(m["sent_at"], last_sent or ""), m["reason"], m["device"]))
            self._alert(c, m, "offline", received_at, received_at, {"reason": m["reason"]})

    def _on_telemetry(self, c, m, received_at, batch):
        old, old_at = batch.telemetry(m["device"])
        if old_at and old_at > m["sent_at"]:
            return
        readings = {k: v for k, v in m.items() if k not in ("schema", "device", "seq", "sent_at", "_stream")}
        groups = readings.pop("readings", None)
        if isinstance(groups, dict):  # the agent's readings by group (device, office, ...), kept at the top
            readings.update(groups)
        batch.set_telemetry(m["device"], _merge(old, readings), m["sent_at"])
        compliance = readings.get("compliance")
        if isinstance(compliance, dict):
            batch.set_compliance(m["device"], compliance, m["sent_at"])

    def _on_event(self, c, m, received_at, batch):
        self._alert(c, m, m["event"], m.get("at", m["sent_at"]), received_at, m.get("detail") or {})
        if m["event"] in ("compliance", "compliance_state"):
            batch.set_compliance(m["device"], m.get("detail") or {}, m["sent_at"])

    def _on_report(self, c, m, received_at, batch):
        province = self._province(c, m["device"])
        c.execute("INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?) "
                  "ON CONFLICT (device_id, date) DO UPDATE SET report = excluded.report, "
                  "received_at = excluded.received_at, province = excluded.province",
                  (m["device"], m["date"], province, codec.dumps(m["report"]), received_at))

    def _on_reported(self, c, m, received_at, batch):
        applied = m.get("applied") or {}
        if isinstance(applied.get("board"), dict):
            c.execute("UPDATE devices SET board = ? WHERE device_id = ?", (_json(applied["board"]), m["device"]))
        if isinstance(applied.get("schedule"), dict):
            c.execute("UPDATE devices SET schedule = ? WHERE device_id = ?", (_json(applied["schedule"]), m["device"]))
        for refusal in m.get("refused") or []:
            self._alert(c, m, "document_refused", m["sent_at"], received_at, refusal)

    def _on_facts(self, c, m, received_at, batch):
        verification.apply_facts(c, m, received_at)

    def _on_result(self, c, m, received_at, batch):
        self._alert(c, m, "command_result", m["sent_at"], received_at,
                    {k: m.get(k) for k in ("correlation_id", "command", "ok", "reason", "detail")})

    # -- reading ----------------------------------------------------------------
    def device(self, device_id: str) -> dict | None:
        row = self.db.query_one("SELECT * FROM devices WHERE device_id = ?", (device_id,))
        return _decode_device(row) if row else None

    def devices(self, *, province: str | None = None) -> list[dict]:
        if province:
            rows = self.db.query("SELECT * FROM devices WHERE province = ? ORDER BY device_id", (province,))
        else:
            rows = self.db.query("SELECT * FROM devices ORDER BY device_id")
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

    def prune_seen(self, before: str) -> int:
        """Forget sequence numbers received before *before* (ISO); duplicates older than that go uncounted."""
        return self.db.write(lambda c: c.execute("DELETE FROM seen WHERE at < ?", (before,)).rowcount)


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
    """Record each message's (device, seq) in ``seen``; the pairs that were not there before."""
    pairs = {}
    for m, at in messages:
        pairs.setdefault((m["device"], m["seq"]), at)
    rows = _in_chunks(db, c, "INSERT INTO seen(device_id, seq, at) SELECT column1, column2, column3 FROM {rows} AS v "
                             "WHERE true ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id, seq",
                      [(d, s, at) for (d, s), at in pairs.items()], ("text", "bigint", "text"), fetch=True)
    return {(d, int(s)) for d, s in rows}


class _Batch:
    """What one ingest batch changes in ``devices``, written once a device at the end."""

    def __init__(self, db, c, telemetry_devices):
        self.db, self.c = db, c
        self.counters: dict[str, list] = {}  # device -> [received, highest seq, last seen, duplicates]
        self.readings: dict[str, tuple] = {}  # device -> (merged telemetry, telemetry_at), as stored or changed
        self.changed: set[str] = set()
        self.compliance: dict[str, tuple] = {}
        wanted = [(d,) for d in dict.fromkeys(telemetry_devices)]
        for device, text, at in _in_chunks(db, c, "SELECT d.device_id, d.telemetry, d.telemetry_at FROM devices d "
                                                  "JOIN {rows} AS v ON d.device_id = v.column1",
                                           wanted, ("text",), fetch=True):
            self.readings[device] = (codec.loads(text) if text else {}, at)

    def _counter(self, device):
        return self.counters.setdefault(device, [0, 0, None, 0])

    def duplicate(self, device):
        self._counter(device)[3] += 1

    def received(self, device, seq, at):
        row = self._counter(device)
        row[0] += 1
        row[1] = max(row[1], seq)
        row[2] = at if row[2] is None else max(row[2], at)

    def telemetry(self, device) -> tuple[dict, str | None]:
        return self.readings.get(device, ({}, None))

    def set_telemetry(self, device, readings, at):
        self.readings[device] = (readings, at)
        self.changed.add(device)

    def set_compliance(self, device, state, at):
        self.compliance[device] = (codec.dumps(state), at)

    def flush(self):
        db, c = self.db, self.c
        _in_chunks(db, c, "UPDATE devices SET received = received + v.column2, duplicates = duplicates + v.column3, "
                          "highest_seq = CASE WHEN highest_seq < v.column4 THEN v.column4 ELSE highest_seq END, "
                          "last_seen = CASE WHEN last_seen IS NULL OR last_seen < v.column5 THEN v.column5 "
                          "ELSE last_seen END FROM {rows} AS v WHERE devices.device_id = v.column1",
                   [(d, n, dup, top, seen) for d, (n, top, seen, dup) in self.counters.items()],
                   ("text", "bigint", "bigint", "bigint", "text"))
        _in_chunks(db, c, "UPDATE devices SET telemetry = v.column2, telemetry_at = v.column3 "
                          "FROM {rows} AS v WHERE devices.device_id = v.column1",
                   [(d, codec.dumps(self.readings[d][0]), self.readings[d][1]) for d in self.changed],
                   ("text", "text", "text"))
        _in_chunks(db, c, "UPDATE devices SET compliance = v.column2, compliance_at = v.column3 "
                          "FROM {rows} AS v WHERE devices.device_id = v.column1",
                   [(d, text, at) for d, (text, at) in self.compliance.items()], ("text", "text", "text"))


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


def _decode_device(row: dict) -> dict:
    out = dict(row)
    for key in ("board", "schedule", "clock", "telemetry", "compliance"):
        out[key] = json.loads(out[key]) if out.get(key) else None
    out["online"] = bool(out["online"])
    out["gaps"] = max(0, int(out["highest_seq"]) - int(out["received"]))
    return out
