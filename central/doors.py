"""The dashboard's doors in the fleet database: who may try a password now, and every refusal as a fact.

The login form and ``/metrics``' HTTP basic auth both go through
:meth:`Doors.attempt`. Each attempt counts against two keys, the address it
came from (``address:A``) and the user name it tried (``user:U``), under the
kiosk PIN's rule (:mod:`pishkhan.lockout`): 5 wrong passwords in a row lock
the key for a minute, each further lock-out doubles that up to 15 minutes,
30 quiet minutes or a right password start the count again. While either key
is locked every attempt is refused without looking at the password.

**The real user is not locked out for long.** An address where *U* logged in
within :data:`KNOWN_DAYS` (table ``door_known``) is not held by *U*'s user
key: someone guessing *U*'s password from elsewhere cannot keep *U* out of
their usual network. It is still held by its own address key, so guessing
from a known address is no faster. And no lock lasts beyond 15 minutes.

The attempt is counted *before* the password is checked, in one
transaction, so many attempts at once cannot all slip in before the first
one is counted; a right password then takes the count back.

**Facts** (table ``door_failures``): every wrong password (reason
``wrong_password``) and every lock-out as it begins (``locked``), with the
time, the door (``login``, ``metrics``), the address and the user name as
typed (cut to :data:`MAX_NAME` characters). Attempts refused while locked are
not written one by one (a flood would fill the table); the lock-out is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pishkhan.lockout import Count, Lockout

#: The doors.
DOORS = ("login", "metrics")
#: Why a fact was written.
REASONS = ("wrong_password", "locked")
#: How long an address stays known for a user after a right password there.
KNOWN_DAYS = 30
MAX_NAME = 64


@dataclass(frozen=True)
class Attempt:
    """What a password attempt gave: ``ok`` (with the user), ``wrong``, or ``locked`` (seconds left)."""

    result: str
    user: object = None
    locked_seconds: float = 0.0


class Doors:
    """The lock-outs and facts of the dashboard's doors, in the fleet database.

    :param db: the fleet database.
    :param clock: a function returning the current aware time.
    :param rule: the lock-out rule (default: the kiosk's).
    """

    def __init__(self, db, *, clock, rule: Lockout | None = None):
        self.db = db
        self.clock = clock
        self.rule = rule or Lockout()

    def attempt(self, *, door: str, address: str, username: str, check) -> Attempt:
        """Try *check()* (the password check: the user, or None) unless *address* or *username* is locked."""
        address, username = _bound(address or "unknown"), _bound(username)
        counted = self.db.write(lambda c: self._count(c, address, username))
        if isinstance(counted, float):
            return Attempt("locked", locked_seconds=counted)
        user = check()
        now = self.clock()
        if user is not None:
            self.db.write(lambda c: self._right(c, counted, username, address, now))
            return Attempt("ok", user=user)
        locked = max(self.rule.locked_for(count, now) for count in counted.values())
        self.db.write(lambda c: self._wrong(c, door, address, username, now, locked=locked > 0))
        return Attempt("locked", locked_seconds=locked) if locked else Attempt("wrong")

    def locked_for(self, *, address: str, username: str) -> float:
        """Seconds an attempt from *address* at *username* would be refused (0: it would be tried)."""
        address, username = _bound(address or "unknown"), _bound(username)
        now = self.clock()
        return self.db.read(lambda c: max(self.rule.locked_for(_read(c, key), now)
                                          for key in self._keys(c, address, username, now)))

    def failures(self, *, since: dt.datetime | None = None) -> list[dict]:
        """The recorded facts, oldest first."""
        since = since or dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        return self.db.query("SELECT at, door, address, username, reason FROM door_failures WHERE at >= ? "
                             "ORDER BY id", (_iso(since),))

    # -- one transaction each ------------------------------------------------------
    def _keys(self, c, address: str, username: str, now) -> list[str]:
        keys = [f"address:{address}"]
        if not _known(c, username, address, now - dt.timedelta(days=KNOWN_DAYS)):
            keys.append(f"user:{username}")
        return keys

    def _count(self, c, address: str, username: str):
        """Locked: the seconds left (float). Else the attempt, counted as wrong: {key: count after}."""
        now = self.clock()
        keys = {key: _read(c, key, lock=self.db.dialect != "?") for key in self._keys(c, address, username, now)}
        locked = max(self.rule.locked_for(count, now) for count in keys.values())
        if locked > 0:
            return locked
        counted = {key: self.rule.wrong(count, now) for key, count in keys.items()}
        for key, count in counted.items():
            _write(c, key, count)
        return counted

    def _right(self, c, keys, username: str, address: str, now):
        for key in keys:
            _write(c, key, self.rule.right())
        c.execute("INSERT INTO door_known(username, address, last_ok) VALUES (?, ?, ?) ON CONFLICT (username, address) "
                  "DO UPDATE SET last_ok = excluded.last_ok", (username, address, _iso(now)))

    @staticmethod
    def _wrong(c, door: str, address: str, username: str, now, *, locked: bool):
        fact = "INSERT INTO door_failures(at, door, address, username, reason) VALUES (?, ?, ?, ?, ?)"
        c.execute(fact, (_iso(now), door, address, username, "wrong_password"))
        if locked:  # this wrong password began a lock-out
            c.execute(fact, (_iso(now), door, address, username, "locked"))


def _bound(text: str) -> str:
    return str(text)[:MAX_NAME]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat()


def _moment(text) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _known(c, username: str, address: str, since: dt.datetime) -> bool:
    c.execute("SELECT last_ok FROM door_known WHERE username = ? AND address = ?", (username, address))
    row = c.fetchone()
    last = _moment(row[0]) if row else None
    return last is not None and last >= since


def _read(c, key: str, *, lock: bool = False) -> Count:
    c.execute("SELECT failures, lockouts, locked_until, last_wrong FROM door_locks WHERE lock_key = ?"
              + (" FOR UPDATE" if lock else ""), (key,))
    row = c.fetchone()
    if row is None:
        return Count()
    return Count(int(row[0] or 0), int(row[1] or 0), _moment(row[2]), _moment(row[3]))


def _write(c, key: str, count: Count):
    c.execute("INSERT INTO door_locks(lock_key, failures, lockouts, locked_until, last_wrong) VALUES (?, ?, ?, ?, ?) "
              "ON CONFLICT (lock_key) DO UPDATE SET failures = excluded.failures, lockouts = excluded.lockouts, "
              "locked_until = excluded.locked_until, last_wrong = excluded.last_wrong",
              (key, count.failures, count.lockouts, count.locked_until and _iso(count.locked_until),
               count.last_wrong and _iso(count.last_wrong)))
