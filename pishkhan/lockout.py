"""A lock-out after wrong secrets that stays short: the rule, without a store.

The kiosk's staff PIN (``kiosk/pin.py``) and the centre dashboard's doors
(``central/doors.py``) follow the same shape, so nobody guessing can keep the
real user out for long:

- :attr:`Lockout.max_tries` wrong secrets in a row lock for
  :attr:`Lockout.first_lock` seconds; each further lock-out doubles that, but
  never beyond :attr:`Lockout.max_lock` (15 minutes). While locked every
  attempt, the right one too, is refused (and is not counted).
- After :attr:`Lockout.quiet` seconds (30 minutes) without a wrong secret, the
  count of wrong secrets and of lock-outs starts again from zero. A right
  secret resets them too.
- A lock set longer than :attr:`Lockout.max_lock` from now (a clock set back,
  an older rule) counts as :attr:`Lockout.max_lock`.

A :class:`Count` is the state one key (one address, one user) is in; the
caller keeps it where it likes and hands it back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MAX_TRIES = 5
FIRST_LOCK = 60.0
MAX_LOCK = 15 * 60.0
QUIET = 30 * 60.0


@dataclass(frozen=True)
class Count:
    """Wrong secrets and lock-outs so far, the end of the current lock, and the last wrong secret."""

    failures: int = 0
    lockouts: int = 0
    locked_until: dt.datetime | None = None
    last_wrong: dt.datetime | None = None


@dataclass(frozen=True)
class Lockout:
    """The rule (the defaults are the kiosk's)."""

    max_tries: int = MAX_TRIES
    first_lock: float = FIRST_LOCK
    max_lock: float = MAX_LOCK
    quiet: float = QUIET

    def locked_for(self, count: Count, now: dt.datetime) -> float:
        """Seconds *count* stays locked at *now* (0 when not locked; never more than :attr:`max_lock`)."""
        if count.locked_until is None:
            return 0.0
        return max(0.0, min(self.max_lock, (count.locked_until - now).total_seconds()))

    def wrong(self, count: Count, now: dt.datetime) -> Count:
        """*count* after a wrong secret at *now* (a new lock-out when it is the :attr:`max_tries`-th)."""
        quiet = count.last_wrong is None or (now - count.last_wrong).total_seconds() >= self.quiet
        failures = 1 if quiet else max(0, count.failures) + 1
        lockouts = 0 if quiet else max(0, count.lockouts)
        if failures >= self.max_tries:
            seconds = self.lock_seconds(lockouts)
            return Count(0, lockouts + 1, now + dt.timedelta(seconds=seconds), now)
        return Count(failures, lockouts, None, now)

    def lock_seconds(self, lockouts: int) -> float:
        """How long the lock-out after *lockouts* earlier ones lasts."""
        return min(self.max_lock, self.first_lock * 2 ** min(max(0, lockouts), 32))

    def right(self) -> Count:
        """The count after a right secret: nothing counted."""
        return Count()
