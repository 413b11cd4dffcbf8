"""The registry: which office, in which province, each device belongs to — as the centre says.

A device's birth names its province, office and office name, but the device
is in the hands of the office being judged: the centre does not believe it.
The registry (the ``registry`` table of the fleet database) is the one
source of a device's identity:

- :func:`register` puts a device in it (``pishkhan central devices add``;
  enrolment calls the same function), :func:`move` gives it another office,
  :func:`retire` takes it out. Each copies the identity onto the device's row
  in ``devices`` (``province``, ``office_id``, ``office_name``), which every
  page, report and metric reads; a device first seen later takes its
  identity from here (:data:`NEW_DEVICE_ROWS`).
- A device not in the registry (never registered, or retired) keeps an
  empty ``province``: it is **quarantined**, counted nowhere (the queries of
  ``central/status.py``, ``report.py`` and ``metrics.py`` read
  ``province <> ''``) and listed apart by :func:`quarantined`.
- What a birth claims is kept in ``claims`` (:func:`record_claim`); when a
  registered device claims another identity, the monitor raises an
  ``identity_mismatch`` alert (:func:`mismatch`) and changes nothing.

A province is stored normalised (``6``, ``06`` and ``۰۶`` are stored ``06``:
:func:`pishkhan.provinces.normalise`), and one that is none of the 31 is
refused (``unknown_province``). A birth claiming ``6`` for a device registered
in ``06`` claims the same province (no ``identity_mismatch``).

A refusal is :exc:`RegistryRefused` with a ``reason`` from :data:`REASONS`.
Ids are checked by the rules of the device's own configuration
(:data:`pishkhan.config.SETTINGS`: ``device.id``, ``office.office_id``,
``office.province``, ``office.name``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from central.errors import RegistryRefused
from pishkhan import provinces
from pishkhan.config import SETTINGS
from pishkhan.protocol.payloads import format_time

#: Why the registry refused.
REASONS = RegistryRefused.reasons

#: The alert a birth raises when it claims an identity other than the registry's.
MISMATCH = "identity_mismatch"

#: How a device first seen takes its identity: ``{rows}`` is the batch's device ids (see central/fleet.py).
NEW_DEVICE_ROWS = ("INSERT INTO devices(device_id, province, office_id, office_name) "
                   "SELECT v.column1, COALESCE(r.province, ''), COALESCE(r.office_id, ''), "
                   "COALESCE(r.office_name, '') FROM {rows} AS v LEFT JOIN registry r "
                   "ON r.device_id = v.column1 AND r.retired_at IS NULL WHERE true "
                   "ON CONFLICT (device_id) DO NOTHING")

_RULES = {s.name: s.kind for s in SETTINGS}
_FIELDS = (("device_id", "device.id", "bad_device_id"), ("office_id", "office.office_id", "bad_office_id"),
           ("province", "office.province", "bad_province"), ("office_name", "office.name", "bad_office_name"))


@dataclass(frozen=True)
class Entry:
    """One device's row in the registry."""

    device_id: str
    province: str
    office_id: str
    office_name: str
    registered_at: str
    changed_at: str
    retired_at: str | None = None

    @property
    def active(self) -> bool:
        return self.retired_at is None


def check(*, device_id: str | None = None, office_id: str | None = None, province: str | None = None,
          office_name: str | None = None):
    """Raise :exc:`RegistryRefused` for the first value that breaks its rule (None: not checked)."""
    if province is not None:  # typed any way (۰۶, 6, 06): checked as it will be stored
        province = provinces.normalise(province)
    values = {"device_id": device_id, "office_id": office_id, "province": province, "office_name": office_name}
    for name, setting, reason in _FIELDS:
        value = values[name]
        if value is None:
            continue
        problems = _RULES[setting].check(value, name)
        if problems:
            raise RegistryRefused(problems[0], reason=reason)
    if province is not None and provinces.known(province) is None:
        raise RegistryRefused(f"province: {province!r} is none of the 31 provinces (codes {provinces.CODES[0]} to "
                              f"{provinces.CODES[-1]})", reason="unknown_province")


def register(db, *, device_id: str, office_id: str, province: str, office_name: str = "",
             now: dt.datetime | None = None) -> Entry:
    """Put *device_id* in the registry under *office_id* of *province*; returns its entry.

    Registering it again with the same identity changes nothing (enrolment
    may repeat); with another identity it is refused (``already_registered``:
    :func:`move` it). A retired device may be registered again.
    """
    check(device_id=device_id, office_id=office_id, province=province,
          office_name=office_name if office_name else None)
    province = provinces.normalise(province)
    at = format_time(now or dt.datetime.now(dt.timezone.utc))

    def work(c):
        old = _entry(c, device_id)
        if old and old.active:
            if (old.office_id, old.province, old.office_name) == (office_id, province, office_name):
                return old
            raise RegistryRefused(f"device {device_id} is already registered to office {old.office_id} in province "
                                  f"{old.province}; move it instead", reason="already_registered")
        c.execute("INSERT INTO registry(device_id, province, office_id, office_name, registered_at, changed_at, "
                  "retired_at) VALUES (?,?,?,?,?,?,NULL) ON CONFLICT (device_id) DO UPDATE SET "
                  "province = excluded.province, office_id = excluded.office_id, office_name = excluded.office_name, "
                  "registered_at = excluded.registered_at, changed_at = excluded.changed_at, retired_at = NULL",
                  (device_id, province, office_id, office_name, at, at))
        _copy_to_device(c, device_id, province, office_id, office_name)
        return _entry(c, device_id)

    return db.write(work)


def move(db, *, device_id: str, office_id: str, province: str, office_name: str | None = None,
         now: dt.datetime | None = None) -> Entry:
    """Give a registered device another office (and province); *office_name* None keeps its name."""
    check(device_id=device_id, office_id=office_id, province=province,
          office_name=office_name if office_name else None)
    province = provinces.normalise(province)
    at = format_time(now or dt.datetime.now(dt.timezone.utc))

    def work(c):
        old = _active(c, device_id)
        name = old.office_name if office_name is None else office_name
        c.execute("UPDATE registry SET province = ?, office_id = ?, office_name = ?, changed_at = ? "
                  "WHERE device_id = ?", (province, office_id, name, at, device_id))
        _copy_to_device(c, device_id, province, office_id, name)
        return _entry(c, device_id)

    return db.write(work)


def retire(db, *, device_id: str, now: dt.datetime | None = None) -> Entry:
    """Take a device out of the registry: from now on it is quarantined, counted nowhere."""
    check(device_id=device_id)
    at = format_time(now or dt.datetime.now(dt.timezone.utc))

    def work(c):
        _active(c, device_id)
        c.execute("UPDATE registry SET retired_at = ?, changed_at = ? WHERE device_id = ?", (at, at, device_id))
        _copy_to_device(c, device_id, "", "", "")
        return _entry(c, device_id)

    return db.write(work)


def entries(db, *, province: str | None = None, retired: bool = False) -> list[Entry]:
    """The registry's devices (of *province*, typed any way), by device id; retired ones too when *retired*."""
    sql, where, params = "SELECT * FROM registry", [], []
    if province:  # as stored: a registry from before normalising may hold 6 beside 06
        stored = [r["province"] for r in db.query("SELECT DISTINCT province FROM registry")]
        codes = [code for code in stored if provinces.same(code, province)] or [provinces.normalise(province)]
        where.append(f"province IN ({', '.join('?' for _ in codes)})")
        params.extend(codes)
    if not retired:
        where.append("retired_at IS NULL")
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [Entry(**r) for r in db.query(sql + " ORDER BY device_id", params)]


def entry(db, device_id: str) -> Entry | None:
    """*device_id*'s entry (retired or not), or None."""
    row = db.query_one("SELECT * FROM registry WHERE device_id = ?", (device_id,))
    return Entry(**row) if row else None


def quarantined(db, *, limit: int = 500) -> list[dict]:
    """Devices the centre hears from but that are not in the registry, newest heard first.

    Each: ``device_id``, ``online``, ``last_seen``, ``status_since``, what its
    last birth claimed (``claimed_province``, ``claimed_office_id``,
    ``claimed_office_name``, ``claimed_at``) and ``retired_at`` when it was
    retired. They are shown apart and counted nowhere.
    """
    rows = db.query(
        "SELECT d.device_id, d.online, d.last_seen, d.status_since, c.province AS claimed_province, "
        "c.office_id AS claimed_office_id, c.office_name AS claimed_office_name, c.at AS claimed_at, r.retired_at "
        "FROM devices d LEFT JOIN claims c ON c.device_id = d.device_id "
        "LEFT JOIN registry r ON r.device_id = d.device_id WHERE d.province = '' "
        "ORDER BY d.last_seen DESC, d.device_id LIMIT ?", (limit,))
    return [r | {"online": bool(r["online"])} for r in rows]


# -- what the monitor calls, inside its transaction ------------------------------
def identity(c, device_id: str) -> tuple[str, str, str] | None:
    """``(province, office_id, office_name)`` of a registered device, or None; *c* is a cursor."""
    row = c.execute("SELECT province, office_id, office_name FROM registry WHERE device_id = ? "
                    "AND retired_at IS NULL", (device_id,)).fetchone()
    return (row[0], row[1], row[2]) if row else None


#: Longest claimed value kept (a claim is shown, never trusted).
CLAIM_LIMIT = 120


def claim_of(message: dict) -> tuple[str, str, str]:
    """What a birth claims, ``(province, office_id, office_name)``: each checked, a bad one shown as ``?``."""
    out = []
    for key, setting in (("province", "office.province"), ("office", "office.office_id"),
                         ("office_name", "office.name")):
        value = message.get(key)
        if value is None or value == "":
            out.append("")
        elif not isinstance(value, str) or _RULES[setting].check(value, key):
            out.append("?")
        else:
            out.append(value[:CLAIM_LIMIT])
    return tuple(out)


def record_claim(c, device_id: str, claim: tuple[str, str, str], at: str):
    """Keep what *device_id*'s birth claimed (the quarantine list and the alerts show it)."""
    c.execute("INSERT INTO claims(device_id, province, office_id, office_name, at) VALUES (?,?,?,?,?) "
              "ON CONFLICT (device_id) DO UPDATE SET province = excluded.province, office_id = excluded.office_id, "
              "office_name = excluded.office_name, at = excluded.at", (device_id, *claim, at))


def mismatch(registered: tuple[str, str, str], claim: tuple[str, str, str]) -> dict | None:
    """The alert's detail when *claim* names another identity than *registered*, else None.

    A field the birth leaves empty claims nothing; the office name is
    compared only when the registry has one.
    """
    fields = ("province", "office_id", "office_name")
    differs = [f for f, mine, theirs in zip(fields, registered, claim)
               if theirs and theirs != mine and (f != "office_name" or mine)
               and not (f == "province" and provinces.same(mine, theirs))]
    if not differs:
        return None
    return {"fields": differs, "registered": dict(zip(fields, registered)), "claimed": dict(zip(fields, claim))}


def _copy_to_device(c, device_id, province, office_id, office_name):
    c.execute("UPDATE devices SET province = ?, office_id = ?, office_name = ? WHERE device_id = ?",
              (province, office_id, office_name, device_id))
    settle_province(c, [device_id])


def settle_province(c, devices) -> None:
    """File the events and reports of *devices* stored under ``''`` (before their province was known) under it."""
    for device in devices:
        for table in ("events", "reports"):
            c.execute(f"UPDATE {table} SET province = (SELECT province FROM devices WHERE device_id = ?) "
                      f"WHERE device_id = ? AND province = '' AND "
                      f"(SELECT province FROM devices WHERE device_id = ?) != ''", (device, device, device))


def _entry(c, device_id) -> Entry | None:
    row = c.execute("SELECT device_id, province, office_id, office_name, registered_at, changed_at, retired_at "
                    "FROM registry WHERE device_id = ?", (device_id,)).fetchone()
    return Entry(*row) if row else None


def _active(c, device_id) -> Entry:
    old = _entry(c, device_id)
    if old is None or not old.active:
        raise RegistryRefused(f"device {device_id} is not in the registry"
                              + (" (it was retired)" if old else ""), reason="not_registered")
    return old
