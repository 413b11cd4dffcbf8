"""What a device says of its circulars, checked before the centre keeps any of it.

A ``circular_received`` or ``circular_acknowledged`` event on ``dev/{id}/event`` carries in its ``detail``
``{"scope": "province:23", "number": "1405/123", "sha256": "…", "at": "ISO", "by": "…"}`` (``by`` only when
acknowledged). :func:`circular_of` bounds and checks each field: an unknown key, a scope that is not
``national`` or ``province:NN``, a number outside its pattern (Persian digits are taken, kept Latin), a hash
that is not 64 lowercase hex, a time that is not one or lies outside the centre's window around its receipt,
a ``by`` over 60 characters or holding a control or bidi character — each a
:exc:`~pishkhan.exc.ProtocolError` (``schema`` or ``unsafe_text``, or ``time``): refused and counted by the
monitor, never stored. That a device speaks only of its own office (the topic's device, a scope that is the
nation's or its own province's) is checked where its province is known (:mod:`central.circulars.ingest`).
"""

from __future__ import annotations

import datetime as dt

from central.circulars import EVENTS, MAX_BY, NUMBER, SCOPE, SHA256, latin_digits
from pishkhan.exc import ProtocolError
from pishkhan.text.safety import refused_character

FIELDS = ("scope", "number", "sha256", "at", "by")
#: How far from its receipt a device's time may lie (the fleet's own window: central.fleet).
AHEAD = dt.timedelta(days=1)
BEHIND = dt.timedelta(days=366)


def _refuse(message: str, reason: str = "schema") -> ProtocolError:
    return ProtocolError(message, reason=reason)


def _time(value, received_at: str | None) -> str:
    if type(value) is not str or len(value) > 40:
        raise _refuse("detail.at: an ISO time")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _refuse(f"detail.at: {value[:40]!r} is not an ISO time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    moment = moment.astimezone(dt.timezone.utc)
    if received_at:
        now = dt.datetime.fromisoformat(received_at.replace("Z", "+00:00"))
        now = now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
        if not now - BEHIND <= moment <= now + AHEAD:
            raise _refuse(f"detail.at: {value[:40]} lies outside the centre's window around {received_at}",
                          reason="time")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def circular_of(message: dict, *, received_at: str | None = None) -> dict | None:
    """The checked fields of a circular event (None for another event); :exc:`ProtocolError` if hostile."""
    event = message.get("event")
    if event not in EVENTS:
        return None
    detail = message.get("detail")
    if type(detail) is not dict:
        raise _refuse(f"{event}: detail must be an object")
    unknown = set(detail) - set(FIELDS)
    if unknown:
        raise _refuse(f"{event}: unknown field(s) {sorted(str(k)[:40] for k in unknown)[:5]}")
    scope = detail.get("scope")
    if type(scope) is not str or not SCOPE.fullmatch(latin_digits(scope)):
        raise _refuse(f"{event}.scope: national or province:NN, got {str(scope)[:40]!r}")
    number = detail.get("number")
    if type(number) is not str or not NUMBER.fullmatch(latin_digits(number)):
        raise _refuse(f"{event}.number: {str(number)[:40]!r} is not a circular number")
    sha = detail.get("sha256", "")
    if sha is None:
        sha = ""
    if type(sha) is not str or (sha and not SHA256.fullmatch(sha)):
        raise _refuse(f"{event}.sha256: 64 lowercase hex digits")
    at = detail.get("at", message.get("at"))
    by = detail.get("by")
    if event == "circular_received" and by is not None:
        raise _refuse(f"{event}.by: only an acknowledgement names who")
    if by is None:
        by = ""
    if type(by) is not str or len(by) > MAX_BY:
        raise _refuse(f"{event}.by: a name of at most {MAX_BY} characters")
    bad = refused_character(by)
    if bad:
        raise _refuse(f"{event}.by: {bad}", reason="unsafe_text")
    return {"event": event, "scope": latin_digits(scope), "number": latin_digits(number), "sha256": sha,
            "at": _time(at, received_at), "by": by.strip()}
