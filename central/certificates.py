"""Which certificates the centre issued to which device, which it revoked, and the enrolment log.

The fleet database's ``certificates`` table has one row per certificate the
CA (central/ca.py) signed for a device: ``how`` it came (``enrolled``,
``renewed``), its dates, and ``revoked_at`` once revoked. ``enrolment_log``
keeps every enrolment, refusal, renewal and revocation as a timestamped fact
(:data:`LOG_KINDS`); the dashboard's office page reads both.

Functions that change rows take a cursor (``c``) so they join the caller's
unit of work (``db.write(work)``); the ones named ``*_in`` read by cursor too.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from cryptography import x509

from central.ca import Revoked, fingerprint, serial_text
from central.status import parse_time
from pishkhan.protocol.payloads import format_time

#: How a certificate came to a device.
HOW = ("enrolled", "renewed")
#: What ``enrolment_log`` records.
LOG_KINDS = ("claim_made", "enrolled", "enrolment_repeated", "enrolment_refused", "renewed", "renewal_refused",
             "revoked")
#: A certificate's state as the dashboard shows it.
STATES = ("valid", "expiring", "expired", "revoked", "none")

_MAX_TEXT = 300


def _at(now: dt.datetime | None) -> str:
    return format_time(now or dt.datetime.now(dt.timezone.utc))


def _short(value) -> str:
    text = "" if value is None else str(value)
    return text[:_MAX_TEXT]


def record_issued(c, cert: x509.Certificate, *, device_id: str, how: str, now: dt.datetime | None = None):
    """Add the row of a certificate just signed for *device_id*."""
    assert how in HOW, how
    c.execute("INSERT INTO certificates(serial, device_id, fingerprint, not_before, not_after, issued_at, how) "
              "VALUES (?,?,?,?,?,?,?)",
              (serial_text(cert), device_id, fingerprint(cert), format_time(cert.not_valid_before_utc),
               format_time(cert.not_valid_after_utc), _at(now), how))


def log(c, kind: str, *, device_id: str = "", office_id: str = "", reason: str = "", address: str = "",
        detail: dict | None = None, now: dt.datetime | None = None):
    """Append one fact to ``enrolment_log`` (every text bounded)."""
    assert kind in LOG_KINDS, kind
    c.execute("INSERT INTO enrolment_log(at, device_id, office_id, kind, reason, address, detail) "
              "VALUES (?,?,?,?,?,?,?)",
              (_at(now), _short(device_id), _short(office_id), kind, _short(reason), _short(address),
               _detail(detail)))


def _detail(detail: dict | None) -> str:
    text = json.dumps(detail or {}, ensure_ascii=False, default=str)
    return text if len(text) <= 4000 else json.dumps({"truncated": len(text)})


def revoke_in(c, device_id: str, *, reason: str, now: dt.datetime | None = None) -> list[str]:
    """Mark every unrevoked certificate of *device_id* revoked; returns their serials."""
    rows = c.execute("SELECT serial FROM certificates WHERE device_id = ? AND revoked_at IS NULL",
                     (device_id,)).fetchall()
    serials = [r[0] for r in rows]
    if serials:
        c.execute("UPDATE certificates SET revoked_at = ?, revoked_reason = ? WHERE device_id = ? "
                  "AND revoked_at IS NULL", (_at(now), _short(reason), device_id))
    return serials


def revoked_in(c) -> list[Revoked]:
    """Every revoked certificate, for the CRL."""
    out = []
    for serial, at in c.execute("SELECT serial, revoked_at FROM certificates WHERE revoked_at IS NOT NULL "
                                "ORDER BY serial").fetchall():
        out.append(Revoked(int(serial, 16), dt.datetime.fromisoformat(at.replace("Z", "+00:00"))))
    return out


def is_revoked_in(c, cert: x509.Certificate) -> bool:
    row = c.execute("SELECT revoked_at FROM certificates WHERE serial = ?", (serial_text(cert),)).fetchone()
    return bool(row and row[0])


@dataclass(frozen=True)
class CertState:
    """A device's newest certificate, as the dashboard shows it."""

    state: str
    serial: str = ""
    not_after: str = ""
    how: str = ""
    revoked_at: str = ""


EXPIRING_DAYS = 14


def state_in(c, device_id: str, *, now: dt.datetime | None = None) -> CertState:
    """The state of *device_id*'s newest certificate (one of :data:`STATES`)."""
    row = c.execute("SELECT serial, not_after, how, revoked_at FROM certificates WHERE device_id = ? "
                    "ORDER BY not_after DESC, issued_at DESC LIMIT 1", (device_id,)).fetchone()
    if not row:
        return CertState("none")
    serial, not_after, how, revoked_at = row
    now = now or dt.datetime.now(dt.timezone.utc)
    end = parse_time(not_after) or now  # the project's one bounded reading of a stored time; unreadable: ended
    if revoked_at:
        state = "revoked"
    elif end <= now:
        state = "expired"
    elif end - now <= dt.timedelta(days=EXPIRING_DAYS):
        state = "expiring"
    else:
        state = "valid"
    return CertState(state, serial, str(not_after), how, str(revoked_at or ""))
