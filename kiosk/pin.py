"""The staff PIN on the kiosk: checking it, and a lock-out that stays short.

What a PIN may be, its scrypt hash and which PIN is in force are the core's
(:mod:`pishkhan.staff_pin`): the store setting ``kiosk.staff_pin_hash``
(written by ``pishkhan kiosk set-pin``), else the configuration's
``kiosk.staff_pin_hash``, else ``1234`` — which the kiosk then warns about.

Lock-out rules, so that nobody at the kiosk can keep staff out for long:

- :data:`MAX_TRIES` wrong PINs in a row lock staff mode for :data:`FIRST_LOCK`
  seconds; each further lock-out doubles that, but never beyond
  :data:`MAX_LOCK` (15 minutes). While locked every PIN, the right one too,
  is refused.
- After :data:`QUIET` seconds (30 minutes) without a wrong PIN, the count of
  wrong PINs and of lock-outs starts again from zero. A right PIN resets them too.
- Every lock-out is a fact in the state log (component ``staff_pin``, state
  ``locked`` with the time it ends; ``unlocked`` once it is seen to have
  ended — reason ``expired``, or ``unlock`` for ``pishkhan kiosk unlock``) and
  is audited.
- The counters live in the store (setting ``kiosk.pin_guard``), so a restart
  does not reset them; a lock set longer than :data:`MAX_LOCK` (by an older
  version, or a clock set back) is cut to :data:`MAX_LOCK` from now, and that
  too is a ``locked`` fact (reason ``capped``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pishkhan.lockout import Count, Lockout
from pishkhan.staff_pin import (DEFAULT_PIN, SETTING_HASH, check_new_pin, check_pin, default_pin_in_use, hash_pin,
                                hash_problem, pin_in_force)
from pishkhan.store.database import iso, parse_iso

__all__ = ["Attempt", "PinGuard", "set_pin", "hash_pin", "check_pin", "DEFAULT_PIN", "SETTING_HASH",
           "SETTING_GUARD", "MAX_TRIES", "FIRST_LOCK", "MAX_LOCK", "QUIET", "COMPONENT"]

SETTING_GUARD = "kiosk.pin_guard"
#: The state log's component for lock-outs.
COMPONENT = "staff_pin"
#: The lock-out rule, shared with the centre dashboard's doors.
RULE = Lockout()
MAX_TRIES, FIRST_LOCK, MAX_LOCK, QUIET = RULE.max_tries, RULE.first_lock, RULE.max_lock, RULE.quiet
_RESET = {"failures": 0, "lockouts": 0, "locked_until": None}


def set_pin(store, pin: str, *, actor: str) -> None:
    """Store the hash of a new PIN (audited; the PIN itself is never stored).

    :raises PinRefused: the keypad cannot type it, or it is trivial (the message says why).
    """
    store.set_setting(SETTING_HASH, hash_pin(check_new_pin(pin)))
    store.audit(actor, "staff.pin_set", "kiosk")


@dataclass(frozen=True)
class Attempt:
    """What a PIN attempt gave: ``ok``, ``wrong`` (tries left) or ``locked`` (seconds left)."""

    result: str
    tries_left: int = 0
    locked_seconds: float = 0.0


def _moment(text) -> dt.datetime | None:
    try:
        return parse_iso(text) if text else None
    except (TypeError, ValueError):
        return None


class PinGuard:
    """Checks PINs and keeps the lock-out state in the store.

    :param store: the device store (settings, audit and state log).
    :param config: for ``kiosk.staff_pin_hash``.
    """

    def __init__(self, store, *, config):
        self.store = store
        self.config = config

    def _hash(self) -> str:
        return pin_in_force(self.store, self.config)[0]

    @property
    def default_in_use(self) -> bool:
        """True when the PIN is still the default 1234."""
        return default_pin_in_use(self.store, self.config)

    @property
    def hash_problem(self) -> str | None:
        """What is wrong with the PIN hash in force (no PIN can match it), or None."""
        return hash_problem(self._hash())

    def state(self) -> dict:
        state = self.store.get_setting(SETTING_GUARD, {})
        return state if isinstance(state, dict) else {}

    def _save(self, **state):
        self.store.set_setting(SETTING_GUARD, state)

    def locked_for(self) -> float:
        """Seconds staff mode stays locked (0 when not locked); notes a lock-out that has ended."""
        state = self.state()
        until = _moment(state.get("locked_until"))
        if until is None:
            return 0.0
        now = self.store.now()
        left = (until - now).total_seconds()
        if left > MAX_LOCK:
            until = now + dt.timedelta(seconds=MAX_LOCK)
            self._save(**(state | {"locked_until": iso(until)}))
            self.store.record_state(COMPONENT, "locked", "capped", until=iso(until), seconds=MAX_LOCK,
                                    lockouts=state.get("lockouts", 0))
            return MAX_LOCK
        if left > 0:
            return left
        self._save(**(state | {"locked_until": None}))
        self._ended("expired", "kiosk", locked_until=iso(until))
        return 0.0

    def _ended(self, reason: str, actor: str, **detail):
        last = self.store.last_state(COMPONENT)
        if last is not None and last["state"] == "locked":
            self.store.record_state(COMPONENT, "unlocked", reason, **detail)
            self.store.audit(actor, "staff.pin_unlocked", "kiosk", reason=reason, **detail)

    def attempt(self, pin: str) -> Attempt:
        """Check *pin*; every attempt is audited (never the PIN)."""
        left = self.locked_for()
        if left > 0:
            self.store.audit("staff", "staff.pin_refused_locked", "kiosk", seconds_left=round(left))
            return Attempt("locked", locked_seconds=left)
        state = self.state()
        now = self.store.now()
        if check_pin(pin, self._hash()):
            self._save(**_RESET)
            self.store.audit("staff", "staff.enter", "kiosk")
            return Attempt("ok")
        count = RULE.wrong(Count(_count(state.get("failures")), _count(state.get("lockouts")), None,
                                 _moment(state.get("last_wrong"))), now)
        if count.locked_until is not None:
            until, lockouts = count.locked_until, count.lockouts
            seconds = RULE.lock_seconds(lockouts - 1)
            self._save(failures=0, lockouts=lockouts, locked_until=iso(until), last_wrong=iso(now))
            self.store.record_state(COMPONENT, "locked", "wrong_pins", until=iso(until), seconds=seconds,
                                    lockouts=lockouts)
            self.store.audit("staff", "staff.locked", "kiosk", seconds=seconds, lockouts=lockouts,
                             until=iso(until))
            return Attempt("locked", locked_seconds=seconds)
        self._save(failures=count.failures, lockouts=count.lockouts, locked_until=None, last_wrong=iso(now))
        self.store.audit("staff", "staff.pin_wrong", "kiosk", failures=count.failures)
        return Attempt("wrong", tries_left=MAX_TRIES - count.failures)

    def unlock(self, *, actor: str) -> dict:
        """End any lock-out and forget the wrong PINs (``pishkhan kiosk unlock``); audited.

        Returns what was cleared: ``was_locked``, ``seconds_left``, ``failures``, ``lockouts``.
        """
        left = self.locked_for()  # notes a lock-out that already ended, cuts one too long
        state = self.state()
        cleared = {"was_locked": left > 0, "seconds_left": round(left),
                   "failures": _count(state.get("failures")), "lockouts": _count(state.get("lockouts"))}
        self._save(**_RESET)
        self.store.audit(actor, "staff.pin_unlock", "kiosk", **cleared)
        if left > 0:
            self._ended("unlock", actor, by=actor)
        return cleared


def _count(value) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0
