"""Message payloads: builders, encoding, and validation against the JSON Schemas.

Every message a device publishes is one JSON object (UTF-8, compact) that
carries the envelope:

``schema``   the message kind and its version, ``status/1``, ``event/1`` …
``device``   the device id (the same as in the topic)
``seq``      the per-device sequence number, one counter over every stream,
             given when the message enters the outbox; a repeat is a
             duplicate of at-least-once delivery, a hole a message dropped
             (counted in telemetry) or never sent (a Last Will, see
             ``will_seq`` in the birth)
``sent_at``  when the device made the message, UTC, ``…T08:30:00.123Z``
``epoch``    the outbox epoch (optional): a random id drawn when the device's
             outbox file is made; ``seq`` counts within it, so a new outbox
             (a re-imaged card, a deleted file, a simulator run) starts again
             at 1 in a new epoch. A message without one is of the epoch ``''``
             (devices from before epochs). The centre keys duplicates on
             device, epoch and seq (docs/mqtt.md, Sequence numbers and epochs)

The rest is the body of the kind. The schemas are data files in
``pishkhan/protocol/schemas/`` (``KIND.json``, plus ``envelope.json`` that
each refers to, and ``document.json`` for the centre's signed documents);
``docs/mqtt.md`` documents them. :func:`validate` checks a message against
its schema, so the agent's tests and the centre's tools use the same rules.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from importlib import resources

from pishkhan.exc import ProtocolError
from pishkhan.text.safety import quoted, refused_character

#: Message kinds a device publishes, with their schema version.
VERSIONS = {"status": 1, "telemetry": 1, "event": 1, "report": 1, "reported": 1, "result": 1, "facts": 1}

#: Why a message is refused: the ``reason`` of a :exc:`ProtocolError`, with what it means.
REFUSALS = {
    "malformed": "a message that cannot be built or read as the protocol says",
    "not_device_stream": "the topic is not a device stream the centre reads",
    "too_large": "larger than its kind allows (the payload, or the readings it would leave stored)",
    "not_json": "not one UTF-8 JSON object",
    "too_deep": "nested deeper than the documents' depth limit (pishkhan.boards.jsonlimits)",
    "duplicate_key": "a key twice in one object",
    "schema": "breaks its kind's JSON Schema (types, bounds, lengths)",
    "unsafe_text": "a string holds a control character or a bidi control (pishkhan.text.safety)",
    "wrong_device": "the message names another device than its topic",
    "wrong_kind": "the message's kind is not its topic's",
    "time": "a time outside the window around the centre's clock",
    "minutes": "compliance minutes that do not add up or exceed what was scheduled",
    "snapshot": "a snapshot that is not a PNG, too large, or not the bytes its sha256 names",
    "over_budget": "more than the centre stores of one device: events of one day, a report of a date too long ago, "
                   "or new outbox epochs of one day",
}

#: The largest payload of each kind, in bytes (a snapshot's PNG rides in a ``result``).
MAX_PAYLOAD_BYTES = {"status": 16_384, "telemetry": 65_536, "event": 16_384, "report": 524_288,
                     "reported": 65_536, "result": 3_145_728, "facts": 65_536}

#: The compliance minutes of a day's report, by state: they add up to ``judged_minutes``.
STATE_MINUTES = ("serving_minutes", "degraded_minutes", "closed_minutes", "unknown_minutes")
#: Every schema file, by name (without .json).
SCHEMA_FILES = tuple(VERSIONS) + ("envelope", "document")


def schema_id(kind: str) -> str:
    if kind not in VERSIONS:
        raise ProtocolError(f"unknown message kind {kind!r}; known: {sorted(VERSIONS)}")
    return f"{kind}/{VERSIONS[kind]}"


def format_time(moment: dt.datetime | float) -> str:
    """UTC, millisecond precision: ``2026-12-01T08:30:00.123Z``."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.fromtimestamp(moment, dt.timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def envelope(kind: str, *, device: str, seq: int, sent_at, **body) -> dict:
    """The message of *kind*: the envelope fields, then *body*."""
    if not isinstance(seq, int) or seq < 1:
        raise ProtocolError(f"seq must be a positive integer, got {seq!r}")
    clash = {"schema", "device", "seq", "sent_at", "epoch"} & set(body)
    if clash:
        raise ProtocolError(f"a message body may not set envelope fields {sorted(clash)}")
    sent = sent_at if isinstance(sent_at, str) else format_time(sent_at)
    return {"schema": schema_id(kind), "device": device, "seq": seq, "sent_at": sent, **body}


def in_epoch(message: dict, epoch: str | None) -> dict:
    """*message* carrying the outbox *epoch* (after ``seq``); unchanged when *epoch* is empty (the old epoch)."""
    if not epoch:
        return message
    out = {}
    for key, value in message.items():
        out[key] = value
        if key == "seq":
            out["epoch"] = epoch
    return out


def epoch_of(message: dict) -> str:
    """The outbox epoch *message* belongs to: its ``epoch``, ``''`` without one."""
    epoch = message.get("epoch")
    return epoch if isinstance(epoch, str) else ""


# -- builders, one per kind ---------------------------------------------------
def birth(*, device, seq, sent_at, agent_version: str, software_version: str, boot_id: str,
          started_at, will_seq: int, protocol: str, board: dict | None, schedule: dict | None,
          clock: dict, **extra) -> dict:
    """The retained ``status`` published on every connect."""
    return envelope("status", device=device, seq=seq, sent_at=sent_at, state="online", reason="connected",
                    agent_version=agent_version, software_version=software_version, boot_id=boot_id,
                    started_at=started_at if isinstance(started_at, str) else format_time(started_at),
                    will_seq=will_seq, protocol=protocol, board=board, schedule=schedule, clock=clock, **extra)


def offline(*, device, seq, sent_at, reason: str, boot_id: str) -> dict:
    """The retained ``status`` saying offline: *reason* ``lost`` (the Last Will) or ``stopped``."""
    if reason not in ("lost", "stopped"):
        raise ProtocolError(f"offline reason must be 'lost' or 'stopped', got {reason!r}")
    return envelope("status", device=device, seq=seq, sent_at=sent_at, state="offline", reason=reason,
                    boot_id=boot_id)


def telemetry(*, device, seq, sent_at, agent: dict, readings: dict | None = None, full: bool | None = None) -> dict:
    """The agent's own figures, and the readings by group (``device``, ``peripherals``, ``office``, ``clock`` …).

    *full*: True when every group and key is there, False when only what
    changed is (``edge_agent.telemetry``); None leaves it unsaid.
    """
    body = {"agent": agent, "readings": readings or {}}
    if full is not None:
        body["full"] = full
    return envelope("telemetry", device=device, seq=seq, sent_at=sent_at, **body)


def event(*, device, seq, sent_at, event: str, at=None, detail: dict | None = None) -> dict:
    at = sent_at if at is None else at
    return envelope("event", device=device, seq=seq, sent_at=sent_at, event=event,
                    at=at if isinstance(at, str) else format_time(at), detail=detail or {})


def report(*, device, seq, sent_at, date: str, report: dict) -> dict:
    return envelope("report", device=device, seq=seq, sent_at=sent_at, date=date, report=report)


def reported(*, device, seq, sent_at, applied: dict, refused: list | None = None) -> dict:
    body = {"applied": applied}
    if refused:
        body["refused"] = refused
    return envelope("reported", device=device, seq=seq, sent_at=sent_at, **body)


def result(*, device, seq, sent_at, correlation_id: str, command: str, ok: bool,
           reason: str | None = None, detail: dict | None = None) -> dict:
    body = {"correlation_id": correlation_id, "command": command, "ok": ok}
    if reason is not None:
        body["reason"] = reason
    if detail is not None:
        body["detail"] = detail
    return envelope("result", device=device, seq=seq, sent_at=sent_at, **body)


def facts(*, device, seq, sent_at, chain: str, links: list[dict]) -> dict:
    """Links of the device's fact chain (:mod:`pishkhan.compliance.chain`), in order; a link's hash is not sent."""
    return envelope("facts", device=device, seq=seq, sent_at=sent_at, chain=chain,
                    links=[{"n": l["n"], "prev": l["prev"], "fact": l["fact"]} for l in links])


# -- wire format ----------------------------------------------------------------
def encode(message: dict) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def decode(data: bytes | str, *, loads=None) -> dict:
    """Parse a payload; :exc:`ProtocolError` if it is not one JSON object, or has a key twice in one object.

    *loads* may be a faster parser whose errors are ``json.JSONDecodeError``
    (orjson's are), as the centre's monitor uses; it must then check the keys
    itself (orjson keeps the last of two), as :func:`central.codec.decode` does.
    """
    try:
        value = json.loads(data, object_pairs_hook=_unique_keys) if loads is None else loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"payload is not UTF-8 JSON: {e}", reason="not_json") from None
    except _DuplicateKey as e:
        raise ProtocolError(f"payload has the key {quoted(str(e))} twice in one object; each key may appear once",
                            reason="duplicate_key") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"payload must be a JSON object, got {type(value).__name__}", reason="not_json")
    return value


class _DuplicateKey(Exception):
    """Raised by :func:`_unique_keys`; its argument is the key."""


def _unique_keys(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


# -- schemas --------------------------------------------------------------------
def schema(name: str) -> dict:
    """The JSON Schema *name* (a kind, ``envelope`` or ``document``) as data."""
    if name not in SCHEMA_FILES:
        raise ProtocolError(f"no schema {name!r}; known: {list(SCHEMA_FILES)}")
    return json.loads(_schema_text(name))


@lru_cache(maxsize=None)
def _schema_text(name: str) -> str:
    return resources.files("pishkhan.protocol.schemas").joinpath(f"{name}.json").read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _validator(name: str):
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry = Registry().with_resources(
        (schema(n)["$id"], Resource.from_contents(schema(n))) for n in SCHEMA_FILES)
    return Draft202012Validator(schema(name), registry=registry)


@lru_cache(maxsize=None)
def _fast_validator(name: str):
    """The same schema compiled by jsonschema-rs (far faster: docs/performance.md), or None if it is not installed.

    Used only to pass valid messages quickly (the centre checks thousands a
    second); a message it refuses is checked again by :func:`_validator`, whose
    error messages are the ones reported.
    """
    try:
        import jsonschema_rs
    except ImportError:
        return None
    registry = jsonschema_rs.Registry([(schema(n)["$id"], schema(n)) for n in SCHEMA_FILES])
    return jsonschema_rs.validator_for(schema(name), registry=registry)


def problems(message: dict, name: str | None = None) -> list[str]:
    """Every way *message* breaks its schema (by its ``schema`` field, or *name*)."""
    if name is None:
        kind = str(message.get("schema", "")).partition("/")[0] if isinstance(message, dict) else ""
        if kind not in VERSIONS:
            return [f"schema: unknown message kind {message.get('schema') if isinstance(message, dict) else message!r}"]
        name = kind
    fast = _fast_validator(name)
    try:
        if fast is not None and fast.is_valid(message):
            return []
    except Exception:  # noqa: BLE001 - a value it cannot take: the reference validator decides
        pass
    errors = sorted(_validator(name).iter_errors(message), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(message)'}: {e.message}" for e in errors]


def validate(message: dict, name: str | None = None, *, raw: bytes | str | None = None) -> dict:
    """*message* if it follows its schema and :func:`content_problem` finds nothing, else :exc:`ProtocolError`.

    *raw*: the payload *message* was read from, when there is one: its strings
    are then checked in one pass.
    """
    found = problems(message, name)
    if found:
        raise ProtocolError("message breaks its schema:\n  " + "\n  ".join(found), reason="schema")
    refusal = content_problem(message, raw=raw)
    if refusal:
        raise ProtocolError(refusal[1], reason=refusal[0])
    return message


# -- what a schema cannot say -----------------------------------------------------
def content_problem(message: dict, *, raw: bytes | str | None = None) -> tuple[str, str] | None:
    """``(reason, sentence)`` for the first rule *message* breaks beyond its schema, or None.

    - ``unsafe_text``: a string or key holds a character a text field may not
      (:func:`pishkhan.text.safety.refused_character`: control characters but
      the line feed, bidi controls and marks, invisible format characters);
    - ``minutes``: a report's minutes by state do not add up to its judged
      minutes, or exceed what was scheduled.
    """
    unsafe = unsafe_text(message, raw=raw)
    if unsafe:
        return "unsafe_text", unsafe
    if isinstance(message.get("report"), dict):
        wrong = report_minutes_problem(message["report"])
        if wrong:
            return "minutes", wrong
    return None


def unsafe_text(value, *, raw: bytes | str | None = None) -> str | None:
    """``path: why`` for the first string or key in *value* with a refused character, or None.

    With *raw* (the JSON text *value* was read from) and no escape in it, one
    pass over the text decides for every string at once; ASCII text without
    DEL needs none (JSON keeps raw control characters out of its strings, and
    every bidi or format character is beyond ASCII).
    """
    if raw is not None:
        data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
        if b"\\" not in data and ((data.isascii() and b"\x7f" not in data)
                                   or refused_character(data.decode("utf-8", "replace"), lines=True) is None):
            return None
    stack = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            why = refused_character(node, lines=True)
            if why:
                return f"{path or '(message)'}: {why}"
        elif isinstance(node, dict):
            for key, child in node.items():
                here = f"{path}/{key}" if path else str(key)
                why = refused_character(key, lines=False) if isinstance(key, str) else None
                if why:
                    return f"{here}: the key: {why}"
                stack.append((child, here))
        elif isinstance(node, list):
            stack.extend((child, f"{path}/{i}") for i, child in enumerate(node))
    return None


def report_minutes_problem(report: dict) -> str | None:
    """Why a day's report's minutes are impossible, or None.

    The minutes by state add up to ``judged_minutes`` (when it is given), and
    neither they nor the late-opening and early-closing minutes exceed
    ``scheduled_minutes`` (when it is given; a day has 1,440 minutes in any case).
    """
    def number(key):
        value = report.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    states = sum(number(k) for k in STATE_MINUTES)
    scheduled = report.get("scheduled_minutes")
    bound = number("scheduled_minutes") if isinstance(scheduled, int) else 1440
    judged = report.get("judged_minutes")
    if isinstance(judged, int) and not isinstance(judged, bool) and judged != states:
        return f"report: minutes by state add up to {states}, but judged_minutes is {judged}"
    if states > bound:
        return f"report: {states} minutes by state, more than the {bound} scheduled"
    for key in ("judged_minutes", "late_opening_minutes", "early_closing_minutes", "violation_minutes"):
        if number(key) > bound:
            return f"report: {key} is {number(key)}, more than the {bound} scheduled"
    if number("late_opening_minutes") + number("early_closing_minutes") > bound:
        return f"report: late opening and early closing minutes add up to more than the {bound} scheduled"
    return None
