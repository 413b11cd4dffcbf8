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

#: Message kinds a device publishes, with their schema version.
VERSIONS = {"status": 1, "telemetry": 1, "event": 1, "report": 1, "reported": 1, "result": 1, "facts": 1}
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
    clash = {"schema", "device", "seq", "sent_at"} & set(body)
    if clash:
        raise ProtocolError(f"a message body may not set envelope fields {sorted(clash)}")
    sent = sent_at if isinstance(sent_at, str) else format_time(sent_at)
    return {"schema": schema_id(kind), "device": device, "seq": seq, "sent_at": sent, **body}


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


def decode(data: bytes | str, *, loads=json.loads) -> dict:
    """Parse a payload; :exc:`ProtocolError` if it is not one JSON object.

    *loads* may be a faster parser whose errors are ``json.JSONDecodeError``
    (orjson's are), as the centre's monitor uses.
    """
    try:
        value = loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"payload is not UTF-8 JSON: {e}") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"payload must be a JSON object, got {type(value).__name__}")
    return value


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
    """The same schema compiled by jsonschema-rs (about 100 times faster), or None if it is not installed.

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


def validate(message: dict, name: str | None = None) -> dict:
    """*message* if it follows its schema, else :exc:`ProtocolError` listing every problem."""
    found = problems(message, name)
    if found:
        raise ProtocolError("message breaks its schema:\n  " + "\n  ".join(found))
    return message
