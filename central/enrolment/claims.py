"""Claims: one-time, expiring codes that let one device enrol for one office.

A claim names the office (id, province, name, licence) the device will
serve. The code itself (:mod:`pishkhan.claimcode`) is shown once, when it
is made, and never stored: the table ``enrolment_claims`` keeps its SHA-256
(:func:`code_hash`) and a short ``claim_id`` by which people and logs name
the claim. A claim is used by the first enrolment that succeeds with it;
it then remembers the device id, the public key's fingerprint and the
certificate, so the same device asking again (same claim, same key) gets the
same answer and any other key is refused (``claim_used``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from central import certificates
from central.registry import check as check_identity
from pishkhan import claimcode
from pishkhan.exc import CentralError
from pishkhan.protocol.payloads import format_time

#: Longest a claim may live.
MAX_EXPIRY = dt.timedelta(days=90)
DEFAULT_EXPIRY = dt.timedelta(days=7)
_DURATION = re.compile(r"([1-9][0-9]{0,4})([mhd])")


@dataclass(frozen=True)
class Claim:
    """One claim as stored (the code itself is never kept)."""

    claim_id: str
    office_id: str
    province: str
    office_name: str
    licence: str
    created_at: str
    expires_at: str
    used_at: str | None = None
    device_id: str = ""
    key_fingerprint: str = ""
    hardware_serial: str = ""
    certificate: str = ""

    def state(self, now: dt.datetime) -> str:
        """``open``, ``used`` or ``expired``."""
        if self.used_at:
            return "used"
        return "expired" if _parse(self.expires_at) <= now else "open"


_COLUMNS = ("claim_id, office_id, province, office_name, licence, created_at, expires_at, used_at, device_id, "
            "key_fingerprint, hardware_serial, certificate")


def code_hash(normalised: str) -> str:
    """What the table keeps of a code (:func:`pishkhan.claimcode.normalise`-d)."""
    return hashlib.sha256(f"pishkhan-claim/1:{normalised}".encode()).hexdigest()


def duration(text: str) -> dt.timedelta:
    """``30m``, ``12h``, ``7d`` as a time span (at most :data:`MAX_EXPIRY`); :exc:`CentralError` otherwise."""
    m = _DURATION.fullmatch(str(text).strip())
    if not m:
        raise CentralError(f"--expires: expected a number and m, h or d (e.g. 7d), got {text!r}")
    span = dt.timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]: int(m.group(1))})
    if span > MAX_EXPIRY:
        raise CentralError(f"--expires: at most {MAX_EXPIRY.days} days, got {text!r}")
    return span


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _now(now):
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)


def new_claim(db, *, office_id: str, province: str, office_name: str = "", licence: str = "",
              expires: dt.timedelta = DEFAULT_EXPIRY, now: dt.datetime | None = None) -> tuple[str, Claim]:
    """Make a claim; returns ``(code, claim)`` — the code is shown once and kept nowhere.

    An office name or licence not given is the one the office's newest earlier claim gave (a replacement
    device shows the same name on its board); an office never named before keeps them empty.
    """
    check_identity(office_id=office_id, province=province, office_name=office_name or None)
    if not (office_name and licence):
        known = _known_office(db, office_id=office_id, province=province)
        office_name, licence = office_name or known[0], licence or known[1]
    from pishkhan.config import SETTINGS

    licence_rule = next(s.kind for s in SETTINGS if s.name == "office.licence")
    problems = licence_rule.check(licence, "licence") if licence else []
    if problems:
        raise CentralError(problems[0])
    now = _now(now)
    code = claimcode.new_code()
    claim = Claim(secrets.token_hex(4), office_id, province, office_name, licence, format_time(now),
                  format_time(now + expires))

    def work(c):
        c.execute(f"INSERT INTO enrolment_claims(code_hash, {_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,NULL,'','','','')",
                  (code_hash(claimcode.normalise(code)), claim.claim_id, office_id, province, office_name, licence,
                   claim.created_at, claim.expires_at))
        certificates.log(c, "claim_made", office_id=office_id, now=now,
                         detail={"claim": claim.claim_id, "province": province, "expires_at": claim.expires_at})

    db.write(work)
    return code, claim


def _known_office(db, *, office_id: str, province: str) -> tuple[str, str]:
    """``(name, licence)`` the newest earlier claim gave the office (each the newest not empty), or ``("", "")``."""
    def newest(column):
        row = db.read(lambda c: c.execute(
            f"SELECT {column} FROM enrolment_claims WHERE office_id = ? AND province = ? AND {column} <> '' "
            "ORDER BY created_at DESC, claim_id LIMIT 1", (office_id, province)).fetchone())
        return row[0] if row else ""
    return newest("office_name"), newest("licence")


def find_in(c, normalised: str, *, lock: bool = False) -> Claim | None:
    """The claim of a (normalised, checked) code, or None; *c* is a cursor."""
    row = c.execute(f"SELECT {_COLUMNS} FROM enrolment_claims WHERE code_hash = ?" + (" FOR UPDATE" if lock else ""),
                    (code_hash(normalised),)).fetchone()
    return Claim(*row) if row else None


def use_in(c, normalised: str, *, device_id: str, key_fingerprint: str, hardware_serial: str, certificate: str,
           now: dt.datetime):
    """Mark the claim used by *device_id* (only if still unused; returns whether it was)."""
    return c.execute("UPDATE enrolment_claims SET used_at = ?, device_id = ?, key_fingerprint = ?, "
                     "hardware_serial = ?, certificate = ? WHERE code_hash = ? AND used_at IS NULL",
                     (format_time(now), device_id, key_fingerprint, hardware_serial[:200], certificate,
                      code_hash(normalised))).rowcount == 1


def list_claims(db, *, office_id: str | None = None, limit: int = 500) -> list[Claim]:
    """Claims, newest first (of *office_id*)."""
    sql, params = f"SELECT {_COLUMNS} FROM enrolment_claims", []
    if office_id:
        sql += " WHERE office_id = ?"
        params.append(office_id)
    rows = db.read(lambda c: c.execute(sql + " ORDER BY created_at DESC, claim_id LIMIT ?",
                                       (*params, limit)).fetchall())
    return [Claim(*row) for row in rows]
