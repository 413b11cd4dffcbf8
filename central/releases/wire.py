"""What a device says of its updates, checked before the centre stores any of it.

Two things arrive (docs/updates.md, docs/mqtt.md):

- an ``update`` event on ``dev/{id}/event`` (``"event": "update"``), one per step of the device's update
  journal. Its fields — ``step``, ``rollout``, ``document_code``, ``from_version``, ``to_version``,
  ``reason``, ``detail`` — are read from the event's ``detail`` object when it holds a ``step``, else from
  the message's top level (both forms are taken; the event's own ``at`` is the step's time);
- ``reported.release``: ``{rollout, document_code, scope, package_version, state, reason, running_version}``.

Every field is bounded and checked here (:func:`update_of`, :func:`release_of`): a step or a state outside
its enumeration, a value of the wrong type, an unknown key, a code or version that is not one, a detail longer
than :data:`MAX_DETAIL` or holding a control or bidi character (a line feed is allowed) is a
:exc:`~pishkhan.exc.ProtocolError` with reason ``schema`` (or ``unsafe_text``) — refused, counted and logged
by the monitor, never stored, so a page only ever draws checked values.
"""

from __future__ import annotations

import re

from central.releases import REPORTED_STATES, STEPS
from pishkhan.exc import ProtocolError
from pishkhan.text.safety import refused_character

ROLLOUT = re.compile(r"[A-Za-z0-9._-]{1,32}")
CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
VERSION = re.compile(r"[A-Za-z0-9.+~:_-]{1,128}")
DOCUMENT_CODE = re.compile(r"[A-Z2-7]{4}-[A-Z2-7]{4}|[A-Za-z0-9._-]{1,64}")
SCOPE = re.compile(r"national|(province|office|device):[A-Za-z0-9._-]{1,32}")
#: The longest ``detail`` the centre keeps of one step (the wire allows 2,000 characters).
MAX_DETAIL = 2000
UPDATE_FIELDS = ("step", "rollout", "document_code", "from_version", "to_version", "reason", "detail")
RELEASE_FIELDS = ("rollout", "document_code", "scope", "package_version", "state", "reason", "running_version")
_PATTERNS = {"rollout": ROLLOUT, "document_code": DOCUMENT_CODE, "from_version": VERSION, "to_version": VERSION,
             "reason": CODE, "package_version": VERSION, "running_version": VERSION, "scope": SCOPE}


def _refuse(message: str, reason: str = "schema") -> ProtocolError:
    return ProtocolError(message, reason=reason)


def _field(where: str, name: str, value) -> str:
    """A checked optional field: ``''`` when absent or null, else a string matching its pattern."""
    if value is None or value == "":
        return ""
    if type(value) is not str:
        raise _refuse(f"{where}.{name}: a string, got {type(value).__name__}")
    if len(value) > 128 or not _PATTERNS[name].fullmatch(value):
        raise _refuse(f"{where}.{name}: {value[:40]!r}{'…' if len(value) > 40 else ''} is not a {name}")
    return value


def _detail(where: str, value) -> str:
    if value is None:
        return ""
    if type(value) is not str:
        raise _refuse(f"{where}.detail: a string, got {type(value).__name__}")
    if len(value) > MAX_DETAIL:
        raise _refuse(f"{where}.detail: {len(value):,} characters; at most {MAX_DETAIL:,}")
    bad = refused_character(value, lines=True)
    if bad:
        raise _refuse(f"{where}.detail: {bad}", reason="unsafe_text")
    return value


def update_of(message: dict) -> dict | None:
    """The checked fields of an ``update`` event (None for another event); :exc:`ProtocolError` if hostile."""
    if message.get("event") != "update":
        return None
    inner = message.get("detail")
    source = inner if isinstance(inner, dict) and "step" in inner else message
    where = "detail" if source is inner else "update"
    if source is inner:
        unknown = set(inner) - set(UPDATE_FIELDS) - {"at", "type"}
        if unknown:
            raise _refuse(f"detail: unknown update field(s) {sorted(unknown)[:5]}")
    step = source.get("step")
    if type(step) is not str or step not in STEPS:
        raise _refuse(f"{where}.step: one of {', '.join(STEPS)}; got {str(step)[:40]!r}")
    out = {"step": step, "detail": _detail(where, source.get("detail") if source is inner else
                                           (source.get("detail") if isinstance(source.get("detail"), str) else
                                            None))}
    for name in ("rollout", "document_code", "from_version", "to_version", "reason"):
        out[name] = _field(where, name, source.get(name))
    return out


def release_of(message: dict) -> dict | None:
    """The checked ``reported.release`` (None when there is none); :exc:`ProtocolError` if hostile."""
    if "release" not in message or message["release"] is None:
        return None
    release = message["release"]
    if type(release) is not dict:
        raise _refuse(f"release: an object, got {type(release).__name__}")
    unknown = set(release) - set(RELEASE_FIELDS)
    if unknown:
        raise _refuse(f"release: unknown field(s) {sorted(str(k)[:40] for k in unknown)[:5]}")
    state = release.get("state")
    if type(state) is not str or state not in REPORTED_STATES:
        raise _refuse(f"release.state: one of {', '.join(REPORTED_STATES)}; got {str(state)[:40]!r}")
    out = {"state": state}
    scope = release.get("scope")
    if isinstance(scope, dict):  # the document's scope object, as the device holds it
        from central.releases.document import scope_key

        scope = scope_key(scope)
        if scope is None:
            raise _refuse("release.scope: not a scope")
    for name in ("rollout", "document_code", "package_version", "reason", "running_version"):
        out[name] = _field("release", name, release.get(name))
    out["scope"] = _field("release", "scope", scope)
    return out
