"""The journal: one SQLite row per step of each update attempt (docs/updates-on-device.md).

Written by the updater only (root), read by the agent with a read-only connection
(``sqlite3.connect("file:…?mode=ro", uri=True)``): so ``journal_mode=DELETE`` (no -wal/-shm a reader of
another user would have to create), the file 0644 in a 0755 folder, and every row committed with
``synchronous=FULL`` before the updater takes its next step.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass, fields
from pathlib import Path

STEPS = ("requested", "refused", "downloading", "downloaded", "kept", "installing", "installed", "healthy",
         "unhealthy", "rolling_back", "rolled_back", "failed", "recovered")
#: Each step in Persian, for a technician reading ``pishkhan-update status``.
STEP_WORDS = {"requested": "درخواست شد", "refused": "پذیرفته نشد", "downloading": "در حال دریافت",
              "downloaded": "دریافت شد", "kept": "نگه داشته شد", "installing": "در حال نصب", "installed": "نصب شد",
              "healthy": "سالم", "unhealthy": "ناسالم", "rolling_back": "در حال بازگشت",
              "rolled_back": "به نسخهٔ پیشین بازگشت", "failed": "ناموفق", "recovered": "پس از قطع برق کامل شد"}
#: An attempt whose last row is one of these is over; any other last row means it was cut short.
FINAL = frozenset({"refused", "healthy", "rolled_back", "failed", "recovered"})
DETAIL_MAX = 4000

SCHEMA = """
CREATE TABLE IF NOT EXISTS update_steps (id INTEGER PRIMARY KEY, at TEXT NOT NULL, attempt TEXT NOT NULL,
  rollout TEXT NOT NULL DEFAULT '', document_code TEXT NOT NULL DEFAULT '', from_version TEXT NOT NULL DEFAULT '',
  to_version TEXT NOT NULL DEFAULT '', step TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS update_steps_attempt ON update_steps (attempt, id);
"""


def utc_now() -> str:
    """Now as ISO UTC with Z, to the second."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Row:
    """One step of one attempt, as stored."""

    id: int
    at: str
    attempt: str
    rollout: str
    document_code: str
    from_version: str
    to_version: str
    step: str
    reason: str
    detail: str

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_COLUMNS = ", ".join(f.name for f in fields(Row))


class Journal:
    """The journal file at *path*; made (0644, folder 0755) on first use."""

    def __init__(self, path, *, clock=utc_now):
        self.path = Path(path)
        self._clock = clock
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            fresh = not self.path.exists()
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            db.execute("PRAGMA journal_mode=DELETE")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(SCHEMA)
            if fresh:
                os.chmod(self.path, 0o644)
            self._db = db
        return self._db

    def record(self, *, attempt: str, step: str, rollout: str = "", document_code: str = "",
               from_version: str = "", to_version: str = "", reason: str = "", detail: str = "") -> Row:
        """Append one step (committed and synced on return)."""
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}; one of {', '.join(STEPS)}")
        detail = detail if len(detail) <= DETAIL_MAX else detail[:DETAIL_MAX - 1] + "…"
        at = self._clock()
        db = self._connection()
        cur = db.execute(f"INSERT INTO update_steps ({_COLUMNS.replace('id, ', '', 1)}) VALUES (?,?,?,?,?,?,?,?,?)",
                         (at, attempt, rollout, document_code, from_version, to_version, step, reason, detail))
        return Row(cur.lastrowid, at, attempt, rollout, document_code, from_version, to_version, step, reason,
                   detail)

    def last_attempt(self) -> list[Row]:
        """Every row of the most recent attempt, in order (empty when there is none)."""
        if not self.path.exists():
            return []
        db = self._connection()
        last = db.execute("SELECT attempt FROM update_steps ORDER BY id DESC LIMIT 1").fetchone()
        if last is None:
            return []
        return [Row(*r) for r in db.execute(f"SELECT {_COLUMNS} FROM update_steps WHERE attempt = ? ORDER BY id",
                                            (last[0],))]

    def rows(self) -> list[Row]:
        """Every row, oldest first."""
        if not self.path.exists():
            return []
        return [Row(*r) for r in self._connection().execute(f"SELECT {_COLUMNS} FROM update_steps ORDER BY id")]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
