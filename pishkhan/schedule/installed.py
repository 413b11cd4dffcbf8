"""Installed schedules and holiday lists: install a signed one, keep history.

:func:`install_schedule` installs both kinds of document
(``pishkhan.schedule/1`` and ``pishkhan.holidays/1``) by the one install
path of every signed document (:func:`pishkhan.boards.install.install_signed`),
for every source — the CLI, a USB stick in staff mode, and the centre
through the agent: signature, schema, the key's scope, the office's
province and office id and the version (newer than every installed version
of the same kind and scope, at most 10,000 above it), and only then the
envelope is written exactly as received, with an audit entry. A refusal
leaves everything as it was, is audited (``schedule.refused``) and raised as
a :exc:`~pishkhan.exc.ScheduleError` whose ``reason`` says why.
"""

from __future__ import annotations

import datetime as dt

from pishkhan.boards.install import Installed, Kind, TableShelf, check_signed, install_signed
from pishkhan.exc import ScheduleRefused
from pishkhan.schedule.calendar import OfficeCalendar
from pishkhan.schedule.document import HOLIDAYS_FORMAT, HolidayList, Schedule, parse_document
from pishkhan.store.database import Store
from pishkhan.text import jalali


class InstalledSchedule(Installed):
    """A schedule or holiday list as installed: the document and where it came from."""

    @property
    def kind(self) -> str:
        return self.document.kind

    def to_json(self) -> dict:
        d = self.document
        return {"kind": d.kind, "scope": d.scope.key, "version": d.version,
                "effective_from": d.effective_from.isoformat(), "issuer": d.issuer, "source": self.source,
                "installed_at": self.installed_at, "verification_code": self.verification_code,
                "key": self.key_fingerprint}


def _kind(name: str) -> Kind:
    return Kind(name=name, parse=parse_document, shelf=TableShelf("schedule_documents", by_kind=True),
                refused=ScheduleRefused, refused_action="schedule.refused", result=InstalledSchedule)


#: Schedules and holiday lists, to :func:`~pishkhan.boards.install.install_signed`.
SCHEDULE, HOLIDAYS = _kind("schedule"), _kind("holidays")


def kind_of(envelope) -> Kind:
    """:data:`HOLIDAYS` for a signed holiday list, else :data:`SCHEDULE` (whose parser names a wrong format)."""
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    return HOLIDAYS if isinstance(payload, dict) and payload.get("format") == HOLIDAYS_FORMAT else SCHEDULE


def check_signed_schedule(store: Store, envelope: dict) -> tuple[Schedule | HolidayList, str]:
    """Verify and validate *envelope* against the store's trust list: ``(document, key_fingerprint)``,
    or a :exc:`~pishkhan.exc.Refused` schedule error."""
    return check_signed(store, envelope, kind_of(envelope))


def install_schedule(store: Store, envelope: dict, *, source: str, actor: str,
                     province: str | None = None, office: str | None = None) -> InstalledSchedule:
    """Install a signed schedule or holiday list for good (:func:`~pishkhan.boards.install.install_signed`),
    or raise a :exc:`ScheduleError` saying why not."""
    return install_signed(store, envelope, kind_of(envelope), source=source, actor=actor, province=province,
                          office=office)


def _row(row) -> InstalledSchedule:
    return InstalledSchedule.from_row(row, parse_document)


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
