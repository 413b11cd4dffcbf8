"""The office's library: every circular, instruction, regulation and tariff list ever communicated to it.

:class:`Library` reads the ``circulars`` rows the install path filed
(:mod:`pishkhan.circulars.installed`) and the acknowledgements staff gave
(``circular_acks``), and finds the kept attachments in the state folder
(``<state>/circulars/<sha256>.pdf``, written by :mod:`pishkhan.circulars.files`).

- :meth:`Library.entries` lists newest issued first (Jalali issue date, then
  receipt); superseded ones are included and carry ``superseded_by``.
- :meth:`Library.unread_count` counts what was received and not acknowledged,
  leaving out the superseded.
- :meth:`Library.acknowledge` records who acknowledged a circular and when:
  the first acknowledgement wins, a second is a no-op returning the first;
  a new one is an audited fact, ``circular.acknowledged``.
- :meth:`Library.tariff_history` lists the boards ever installed (the
  tariff lists the office already keeps), oldest first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pishkhan.circulars.document import KINDS
from pishkhan.exc import CircularRefused
from pishkhan.store.database import Store, iso
from pishkhan.text.safety import text_problems

#: The longest name an acknowledgement may carry.
MAX_WHO = 60


@dataclass(frozen=True)
class Entry:
    """One circular of the library, as received, with its fetch and acknowledgement."""

    scope_key: str
    number: str
    kind: str
    title: str
    issuer: str
    issued_on: str        # Jalali YYYY-MM-DD
    effective_on: str     # Jalali YYYY-MM-DD
    summary: str
    urgent: bool
    sha256: str
    size: int
    received_at: str      # ISO UTC
    fetched_at: str | None
    superseded_by: str | None
    acknowledged_by: str | None
    acknowledged_at: str | None

    @property
    def kind_fa(self) -> str:
        """The kind in Persian (بخشنامه, دستورالعمل, آیین‌نامه, فهرست تعرفه)."""
        return KINDS.get(self.kind, self.kind)

    @property
    def file_name(self) -> str:
        return f"{self.sha256}.pdf"

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


_SELECT = ("SELECT c.*, a.who AS acknowledged_by, a.at AS acknowledged_at FROM circulars c "
           "LEFT JOIN circular_acks a ON a.scope_key = c.scope_key AND a.number = c.number")
_ORDER = " ORDER BY c.issued_on DESC, c.received_at DESC, c.scope_key, c.number DESC"


def _entry(row) -> Entry:
    return Entry(row["scope_key"], row["number"], row["kind"], row["title"], row["issuer"], row["issued_on"],
                 row["effective_on"], row["summary"], bool(row["urgent"]), row["sha256"], row["size"],
                 row["received_at"], row["fetched_at"], row["superseded_by"], row["acknowledged_by"],
                 row["acknowledged_at"])


class Library:
    """The office's circulars, read from *store*; attachments kept in *files_dir* (``<state>/circulars``)."""

    def __init__(self, store: Store, files_dir):
        self.store = store
        self.files_dir = Path(files_dir)

    def entries(self, *, kind: str | None = None) -> list[Entry]:
        """Every circular ever received (of *kind*, when given), newest issued first, superseded ones marked."""
        if kind is None:
            return [_entry(r) for r in self.store.query(_SELECT + _ORDER)]
        return [_entry(r) for r in self.store.query(_SELECT + " WHERE c.kind = ?" + _ORDER, (kind,))]

    def entry(self, scope_key: str, number: str) -> Entry | None:
        """One circular by its scope and number, or None."""
        row = self.store.query_one(_SELECT + " WHERE c.scope_key = ? AND c.number = ?", (scope_key, number))
        return _entry(row) if row else None

    def unread_count(self) -> int:
        """Circulars received and not acknowledged (superseded ones left out)."""
        return self.store.query_one(
            "SELECT COUNT(*) FROM circulars c WHERE c.superseded_by IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM circular_acks a WHERE a.scope_key = c.scope_key AND a.number = c.number)")[0]

    def acknowledge(self, scope_key: str, number: str, *, who: str, now: dt.datetime) -> Entry:
        """Record that *who* read the circular at *now* (audited ``circular.acknowledged``); the first
        acknowledgement wins and a second returns it unchanged. Raises
        :exc:`~pishkhan.exc.CircularRefused` (``invalid``) for an unknown circular or an unfit *who*."""
        problems = text_problems(who, max_len=MAX_WHO)
        if problems:
            raise CircularRefused(f"who: {problems[0]}"[:300], reason="invalid")
        at = iso(now)

        def ack(c):
            if c.execute("SELECT 1 FROM circulars WHERE scope_key = ? AND number = ?",
                         (scope_key, number)).fetchone() is None:
                raise CircularRefused(f"no circular {number!r} of {scope_key!r} in the library"[:300],
                                      reason="invalid")
            cur = c.execute("INSERT OR IGNORE INTO circular_acks(scope_key, number, who, at) VALUES (?,?,?,?)",
                            (scope_key, number, who, at))
            if cur.rowcount:
                self.store.audit(who, "circular.acknowledged", f"{scope_key}/{number}", scope=scope_key,
                                 number=number, who=who, at=at)
            return _entry(c.execute(_SELECT + " WHERE c.scope_key = ? AND c.number = ?",
                                    (scope_key, number)).fetchone())

        return self.store.write(ack)

    def file(self, entry: Entry) -> Path | None:
        """The kept attachment of *entry*, or None while it is not fetched."""
        if not entry.fetched_at:
            return None
        path = self.files_dir / entry.file_name
        return path if path.is_file() else None

    def tariff_history(self) -> list[dict]:
        """The boards ever installed that still verify, oldest first: scope, version, effective date, issuer,
        verification code, source, installed_at."""
        from pishkhan.boards.installed import history

        return [{"scope": b.board.scope.key, "version": b.board.version,
                 "effective_from": b.board.effective_from.isoformat(), "issuer": b.board.issuer,
                 "verification_code": b.verification_code, "source": b.source, "installed_at": b.installed_at}
                for b in history(self.store)]
