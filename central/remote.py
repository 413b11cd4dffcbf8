"""Remote actions from the dashboard: a national user asks one office's device to ``ping``, send its
``snapshot`` or resend the day's report (``resend_report``), each a signed command sent the one way the
centre sends commands (:func:`central.publish.send_command`), and each audited in ``remote_actions``:
who asked, when, and the result.

The dashboard holds a :class:`Commander` (``create_app(commander=…)``): :class:`BrokerCommander` sends
through the broker with the centre's command key; with none, an action is refused (``not_configured``)
and still audited. A province user may not ask (``not_national``).

A ``snapshot``'s answer becomes the office's snapshot (the ``snapshots`` row the office page shows): the
result message goes through :meth:`central.fleet.Fleet.ingest`, the path every message the monitor hears
takes — its size, schema, times and the PNG against its ``sha256`` checked, at most
``central.fleet.MAX_SNAPSHOT_BYTES`` — so it is stored exactly as if the monitor had heard it (and, when the
monitor hears it too, the second copy is a duplicate). The audit row's result says what came of it:
``snapshot: {"stored": true}`` or ``{"stored": false, "reason": <a refusal code of
pishkhan.protocol.payloads.REFUSALS>}``; the PNG itself is never kept in the audit.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

from central.errors import ActionRefused, CentralError, NoAnswer
from pishkhan.protocol.payloads import format_time
from pishkhan.protocol.topics import Topics

#: The actions the office page offers, each a command name.
ACTIONS = ("ping", "snapshot", "resend_report")
#: How an asked action ended.
OUTCOMES = ("pending", "ok", "refused", "no_answer", "not_sent")
#: The most characters of a device's answer the audit keeps (its JSON); a larger detail is kept as its size only.
MAX_RESULT_CHARS = 4000


class Commander:
    """Sends one command to a device and returns its result message (raises :class:`NoAnswer` without one).

    :attr:`topics`: the topic names its devices answer on (a snapshot's answer is ingested as on them)."""

    topics = Topics()

    def send(self, *, device: str, name: str, args: dict) -> dict:
        raise NotImplementedError


class BrokerCommander(Commander):
    """Through *broker* (:class:`central.publish.Broker`), signed with *key* (the centre's command key)."""

    def __init__(self, broker, *, key, timeout: float = 10.0):
        self.broker, self.key, self.timeout = broker, key, timeout
        self.topics = broker.topics

    def send(self, *, device: str, name: str, args: dict) -> dict:
        from central.publish import send_command

        try:
            return send_command(self.broker, device, name, args, key=self.key, timeout=self.timeout)
        except CentralError as e:
            if str(e).startswith("no result from"):
                raise NoAnswer(str(e)) from None
            raise


def _kept(result: dict) -> dict:
    """What of a result is stored: its outcome and detail, a snapshot's picture by size only; what the device
    sent is bounded (:func:`central.stored.loads`: no NaN, short texts) and the whole at most
    :data:`MAX_RESULT_CHARS` (a larger detail is kept as its size)."""
    from central import stored

    detail = result.get("detail") if isinstance(result.get("detail"), dict) else {}
    if isinstance(detail.get("png_base64"), str):
        chars = len(detail["png_base64"])
        detail = {k: v for k, v in detail.items() if k != "png_base64"} | {"png_base64_chars": chars}
    detail = stored.loads(detail) or {}
    text = lambda v: v[:200] if isinstance(v, str) else None  # noqa: E731
    kept = {"ok": result.get("ok") is True, "reason": text(result.get("reason")), "detail": detail,
            "correlation_id": text(result.get("correlation_id"))}
    size = len(json.dumps(kept, ensure_ascii=False))
    if size > MAX_RESULT_CHARS:
        kept["detail"] = {"too_large_chars": size}
    return kept


def ask(db, commander: Commander | None, *, device_id: str, action: str, user, day: dt.date,
        now: dt.datetime) -> dict:
    """Send *action* to *device_id* for *user* (a national user) and audit it; returns the audit row.

    Raises :class:`ActionRefused` for a province user, an unknown action or device (nothing audited: nothing
    was asked of a device), and audits ``not_configured`` before raising it when there is no commander.
    """
    if getattr(user, "province", None):
        raise ActionRefused("only a national user may ask an office's device to act", reason="not_national")
    if action not in ACTIONS:
        raise ActionRefused(f"action: expected one of {', '.join(ACTIONS)}", reason="unknown_action")
    device = db.query_one("SELECT device_id, province FROM devices WHERE device_id = ? AND province <> ''",
                          (device_id,))
    if device is None:
        raise ActionRefused(f"no registered device {device_id[:80]!r}", reason="unknown_device")
    args = {"date": day.isoformat()} if action == "resend_report" else {}
    row = {"id": secrets.token_hex(8), "device_id": device_id, "province": device["province"], "action": action,
           "args": json.dumps(args), "asked_by": user.username, "asked_at": format_time(now)}
    db.execute("INSERT INTO remote_actions(id, device_id, province, action, args, asked_by, asked_at) "
               "VALUES (?,?,?,?,?,?,?)", tuple(row.values()))
    if commander is None:
        _answer(db, row["id"], outcome="not_sent", reason="not_configured", result=None)
        raise ActionRefused("the dashboard has no broker and command key to send commands",
                            reason="not_configured")
    try:
        result = commander.send(device=device_id, name=action, args=args)
    except NoAnswer:
        return _answer(db, row["id"], outcome="no_answer", reason="no_answer", result=None)
    except CentralError as e:
        return _answer(db, row["id"], outcome="not_sent", reason="broker", result={"error": str(e)[:300]})
    kept = _kept(result)
    if action == "snapshot" and kept["ok"]:
        kept["snapshot"] = store_snapshot(db, result, device_id=device_id, topics=commander.topics)
    return _answer(db, row["id"], outcome="ok" if kept["ok"] else "refused",
                   reason="" if kept["ok"] else str(kept["reason"] or "")[:60], result=kept)


def store_snapshot(db, result: dict, *, device_id: str, topics: Topics) -> dict:
    """*result* (a snapshot command's answer from *device_id*) stored as the office's snapshot through the
    monitor's own ingest; ``{"stored": True}`` (stored now, or already by the monitor), or ``{"stored": False,
    "reason": …}``."""
    from central.fleet import Fleet

    if not isinstance(result, dict) or result.get("device") != device_id:
        return {"stored": False, "reason": "wrong_device"}
    detail = result.get("detail")
    if not isinstance(detail, dict) or "png_base64" not in detail:
        return {"stored": False, "reason": "snapshot"}  # an answer without a picture: nothing to store
    try:
        payload = json.dumps(result, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):
        return {"stored": False, "reason": "not_json"}
    received_at = format_time(dt.datetime.now(dt.timezone.utc))
    counts = Fleet(db, topics=topics).ingest([(topics.result(device_id), payload, received_at)])
    if counts.refused or not (counts.accepted or counts.duplicates):
        return {"stored": False, "reason": next(iter(counts.reasons), "refused")}
    return {"stored": True}


def _answer(db, action_id: str, *, outcome: str, reason: str, result) -> dict:
    assert outcome in OUTCOMES, outcome
    db.execute("UPDATE remote_actions SET outcome = ?, reason = ?, result = ?, answered_at = ? WHERE id = ?",
               (outcome, reason, None if result is None else json.dumps(result, ensure_ascii=False),
                format_time(dt.datetime.now(dt.timezone.utc)), action_id))
    return db.query_one("SELECT * FROM remote_actions WHERE id = ?", (action_id,))


def history(db, device_id: str, *, limit: int = 20) -> list[dict]:
    """The newest actions asked of *device_id*, newest first."""
    return db.query("SELECT * FROM remote_actions WHERE device_id = ? ORDER BY asked_at DESC, id DESC LIMIT ?",
                    (device_id, limit))
