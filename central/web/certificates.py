"""What the dashboard shows of a device's certificates and enrolment, read as untrusted rows.

A device's **certificate state** is its newest certificate's (the one that ends
last; central/certificates.py): ``revoked`` if it has a ``revoked_at``, else
``expired`` once ``not_after`` has passed, ``expiring`` within
:data:`central.certificates.EXPIRING_DAYS`, else ``valid``; ``none`` when the
centre issued it none (a device on a password), ``unknown`` when the newest
end cannot be read. The office page lists its certificates and its
enrolment log (its own rows and the refused enrolments naming its office);
the fleet lists mark a revoked or expired device.

Every value is bounded and every time read by :func:`central.status.parse_time`;
what cannot be read is shown as unknown and counted in a :class:`~central.stored.Tally`.
"""

from __future__ import annotations

import datetime as dt
import json

from central import queries, stored
from central.certificates import EXPIRING_DAYS, HOW, LOG_KINDS
from central.status import parse_time
from central.web import strings

#: The most certificates and log rows an office page lists, and certificate rows a fleet list reads.
MAX_CERTIFICATES = 20
MAX_LOG_ROWS = 50
MAX_FLEET_ROWS = 200_000
#: States the fleet lists mark.
MARKED = ("revoked", "expired", "expiring")
_DETAIL_ITEMS = 12


def _text(value, limit: int = 300) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return value[:limit] if isinstance(value, str) else ""


def _time(value) -> str | None:
    """The stored time if readable (shown by ``fa_datetime``), else None."""
    return value if parse_time(value) else None


def state_of(not_after, revoked_at, *, now: dt.datetime) -> str:
    """A certificate's state from its stored ``not_after`` and ``revoked_at`` (see the module's docstring)."""
    if revoked_at not in (None, ""):
        return "revoked"
    end = parse_time(not_after)
    if end is None:
        return "unknown"
    if end <= now:
        return "expired"
    return "expiring" if end - now <= dt.timedelta(days=EXPIRING_DAYS) else "valid"


def _newest(rows):
    """The row whose ``not_after`` ends last (an unreadable end counts as the earliest)."""
    floor = dt.datetime(1900, 1, 2, tzinfo=dt.timezone.utc)
    return max(rows, key=lambda r: parse_time(r.get("not_after")) or floor)


def certificate(db, device_id: str, *, now: dt.datetime, tally: stored.Tally | None = None,
                province: str | None = "") -> dict:
    """*device_id*'s certificate state and its certificates (newest issued first)."""
    rows = queries.certificate_rows(db, device_id, limit=MAX_CERTIFICATES)
    listed = []
    for r in rows:
        state = state_of(r.get("not_after"), r.get("revoked_at"), now=now)
        if state == "unknown" and tally is not None:
            tally.add("certificates", province=province)
        how = r.get("how")
        listed.append({"serial": _text(r.get("serial"), 64), "how": how if how in HOW else _text(how, 40),
                       "how_label": strings.CERT_HOW.get(how) if how in HOW else None, "state": state,
                       "issued_at": _time(r.get("issued_at")), "not_after": _time(r.get("not_after")),
                       "revoked_at": _time(r.get("revoked_at")),
                       "revoked_reason": _text(r.get("revoked_reason"))})
    if not rows:
        return {"state": "none", "certificates": []}
    newest = listed[rows.index(_newest(rows))]
    return newest | {"certificates": listed}


def enrolment(db, device_id: str, office_id: str, *, tally: stored.Tally | None = None,
              province: str | None = "") -> dict:
    """The enrolment log of *device_id* and its office (``log``, newest first) and its last enrolment
    (``enrolled``: when, from which address, by which claim's office), or None."""
    log = []
    for r in queries.enrolment_rows(db, device_id, _text(office_id), limit=MAX_LOG_ROWS):
        kind = r.get("kind")
        detail = stored.loads(r.get("detail"), kind=dict, tally=tally, table="enrolment_log", province=province)
        log.append({"at": _time(r.get("at")), "kind": _text(kind, 40),
                    "label": strings.ENROLMENT_KINDS.get(kind) if kind in LOG_KINDS else None,
                    "device_id": _text(r.get("device_id"), 80), "office_id": _text(r.get("office_id"), 80),
                    "reason": _text(r.get("reason")), "address": _text(r.get("address"), 80),
                    "detail": _shown(detail)})
    enrolled = next((e for e in log if e["kind"] in ("enrolled", "enrolment_repeated") and e["device_id"] == device_id),
                    None)
    return {"enrolled": enrolled, "log": log}


def _shown(detail: dict | None) -> list[list[str]]:
    """A log row's detail as ``[key, value]`` pairs of bounded text."""
    pairs = []
    for key, value in list((detail or {}).items())[:_DETAIL_ITEMS]:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        pairs.append([_text(key, 40), _text(text, 120)])
    return pairs


def states(db, *, province: str | None = None, now: dt.datetime) -> dict[str, str]:
    """Each device's certificate state (of *province*), by device id; devices with none are left out."""
    by_device: dict[str, list] = {}
    for r in queries.certificate_ends(db, province=province, limit=MAX_FLEET_ROWS):
        if isinstance(r.get("device_id"), str):
            by_device.setdefault(r["device_id"], []).append(r)
    return {device: state_of((n := _newest(rows)).get("not_after"), n.get("revoked_at"), now=now)
            for device, rows in by_device.items()}


def with_states(db, devices: list[dict], *, province: str | None, now: dt.datetime) -> list[dict]:
    """*devices* each with ``certificate``: its certificate state (``none`` when it has no certificate)."""
    found = states(db, province=province, now=now) if devices else {}
    return [d | {"certificate": found.get(d.get("device_id"), "none")} for d in devices]
