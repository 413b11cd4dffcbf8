"""Installed schedules and holiday lists: install a signed one, keep history.

:func:`install_schedule` is the one path for every source — the CLI, a USB
stick in staff mode, and the centre through the agent — and for both kinds
of document (``pishkhan.schedule/1`` and ``pishkhan.holidays/1``). Like
:func:`pishkhan.boards.installed.install_board` it verifies the signature
against the trusted keys, validates the schema, checks the key's scope, the
office's province and office id and the version (newer than every installed
version of the same kind and scope), and only then writes the envelope
exactly as received, with an audit entry. A refusal leaves everything as it
was, is audited (``schedule.refused``) and raised as a
:exc:`~pishkhan.exc.ScheduleError` saying why.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from pishkhan.boards.signing import verification_code
from pishkhan.boards.trust import scope_allows, verify_trusted
from pishkhan.exc import ScheduleError, ScheduleRefused
from pishkhan.schedule.calendar import OfficeCalendar
from pishkhan.schedule.document import HolidayList, Schedule, parse_document
from pishkhan.store.database import Store
from pishkhan.text import jalali

SOURCES = ("cli", "usb", "centre")


@dataclass(frozen=True)
class InstalledSchedule:
    """A schedule or holiday list as installed: the document and where it came from."""

    id: int
    document: Schedule | HolidayList
    verification_code: str
    key_fingerprint: str
    source: str
    installed_at: str
    envelope: dict

    @property
    def kind(self) -> str:
        return self.document.kind

    def to_json(self) -> dict:
        d = self.document
        return {"kind": d.kind, "scope": d.scope.key, "version": d.version,
                "effective_from": d.effective_from.isoformat(), "issuer": d.issuer, "source": self.source,
                "installed_at": self.installed_at, "verification_code": self.verification_code,
                "key": self.key_fingerprint}


def check_signed_schedule(store: Store, envelope: dict) -> tuple[Schedule | HolidayList, str]:
    """Verify and validate *envelope* against the store's trust list.

    Returns ``(document, key_fingerprint)``; raises :exc:`~pishkhan.exc.SignatureInvalid`,
    :exc:`~pishkhan.exc.ScheduleInvalid` or :exc:`ScheduleRefused`.
    """
    payload, key, key_scope = verify_trusted(store, envelope)
    document = parse_document(payload)
    if not scope_allows(key_scope, document.scope.key):
        raise ScheduleRefused(f"key {key.fingerprint} may sign only {key_scope} documents, "
                              f"but this {document.kind} is for {document.scope.key}")
    return document, key.fingerprint


def install_schedule(store: Store, envelope: dict, *, source: str, actor: str,
                     province: str | None = None, office: str | None = None) -> InstalledSchedule:
    """Install a signed schedule or holiday list for good, or raise a :exc:`ScheduleError` saying why not.

    :param source: where it came from: ``cli``, ``usb`` or ``centre``.
    :param actor: who did it, for the audit log.
    :param province: this office's province; a document for another is refused.
    :param office: this office's id; a document for another office is refused.
    """
    try:
        if source not in SOURCES:
            raise ScheduleRefused(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        doc, fingerprint = check_signed_schedule(store, envelope)
        elsewhere = doc.scope.elsewhere(province=province, office=office)
        if elsewhere:
            raise ScheduleRefused(f"{doc.kind} is for {elsewhere}")
        code = verification_code(envelope)

        def install(c):
            row = c.execute("SELECT MAX(version) FROM schedule_documents WHERE kind = ? AND scope_key = ?",
                            (doc.kind, doc.scope.key)).fetchone()
            installed = row[0] or 0
            if doc.version <= installed:
                raise ScheduleRefused(f"{doc.kind} version {doc.version} for {doc.scope.key} is not newer than "
                                      f"the installed version {installed}; the installed {doc.kind} stays")
            now = store.now_iso()
            cur = c.execute(
                "INSERT INTO schedule_documents(kind, scope_key, version, effective_from, issuer, key_fingerprint, "
                "verification_code, envelope, source, installed_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (doc.kind, doc.scope.key, doc.version, doc.effective_from.isoformat(), doc.issuer, fingerprint,
                 code, json.dumps(envelope, ensure_ascii=False), source, now))
            store.audit(actor, f"{doc.kind}.install", doc.scope.key, version=doc.version, source=source,
                        effective_from=doc.effective_from.isoformat(), verification_code=code, key=fingerprint)
            return InstalledSchedule(cur.lastrowid, doc, code, fingerprint, source, now, envelope)

        return store.write(install)
    except ScheduleError as e:
        store.audit(actor, "schedule.refused", source, reason=str(e))
        raise


def _row(row) -> InstalledSchedule:
    envelope = json.loads(row["envelope"])
    return InstalledSchedule(row["id"], parse_document(envelope["payload"]), row["verification_code"],
                             row["key_fingerprint"], row["source"], row["installed_at"], envelope)


def history(store: Store, kind: str | None = None) -> list[InstalledSchedule]:
    """Every schedule and holiday list ever installed (or those of *kind*), oldest first."""
    if kind:
        rows = store.query("SELECT * FROM schedule_documents WHERE kind = ? ORDER BY id", (kind,))
    else:
        rows = store.query("SELECT * FROM schedule_documents ORDER BY id")
    return [_row(r) for r in rows]


def current(store: Store, kind: str, scope_key: str, on: dt.date | None = None) -> InstalledSchedule | None:
    """The highest version of *kind* for *scope_key* already in effect on *on* (Tehran date)."""
    on = on or jalali.today()
    row = store.query_one("SELECT * FROM schedule_documents WHERE kind = ? AND scope_key = ? AND effective_from <= ? "
                          "ORDER BY version DESC LIMIT 1", (kind, scope_key, on.isoformat()))
    return _row(row) if row else None


def pending(store: Store, on: dt.date | None = None) -> list[InstalledSchedule]:
    """Documents installed with a future effective date, soonest first."""
    on = on or jalali.today()
    rows = store.query("SELECT * FROM schedule_documents WHERE effective_from > ? ORDER BY effective_from, id",
                       (on.isoformat(),))
    return [_row(r) for r in rows]


def in_effect(store: Store, *, province: str | None, office: str | None,
              on: dt.date | None = None) -> list[InstalledSchedule]:
    """For this office, each kind's and scope's document in effect on *on*, most specific scope first."""
    on = on or jalali.today()
    scopes = ([f"office:{office}"] if office else []) + ([f"province:{province}"] if province else []) + ["national"]
    found = []
    for kind in ("schedule", "holidays"):
        for scope in scopes:
            doc = current(store, kind, scope, on)
            if doc:
                found.append(doc)
    return found


def generation(store: Store) -> tuple:
    """A value that changes whenever a schedule or holiday list is installed (one small query)."""
    return tuple(store.query_one("SELECT COUNT(*), MAX(id) FROM schedule_documents"))


def office_calendar(store: Store, *, province: str | None, office: str | None,
                    fallback_week: dict, defaults=None) -> OfficeCalendar:
    """The :class:`OfficeCalendar` of this office from every document installed."""
    scopes = ([f"office:{office}"] if office else []) + ([f"province:{province}"] if province else []) + ["national"]
    marks = ",".join("?" * len(scopes))
    rows = store.query(f"SELECT * FROM schedule_documents WHERE scope_key IN ({marks}) ORDER BY id", tuple(scopes))
    docs = [_row(r).document for r in rows]
    return OfficeCalendar(schedules=[d for d in docs if d.kind == "schedule"],
                          holiday_lists=[d for d in docs if d.kind == "holidays"],
                          province=province, office=office, fallback_week=fallback_week, defaults=defaults)
