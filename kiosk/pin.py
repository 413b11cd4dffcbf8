"""The staff PIN: a slow scrypt hash, and a lock-out that grows.

The hash is kept as ``scrypt$N$r$p$salt$hash`` (base64) in the store setting
``kiosk.staff_pin_hash`` (written by ``pishkhan kiosk set-pin``), else in the
configuration's ``kiosk.staff_pin_hash``; with neither, the PIN is ``1234``.
Five wrong PINs in a row lock staff mode for :data:`FIRST_LOCK` seconds;
each further lock-out doubles that, up to :data:`MAX_LOCK`. The counters live
in the store (setting ``kiosk.pin_guard``), so a restart does not reset them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from pishkhan.exc import PishkhanError
from pishkhan.store.database import iso, parse_iso

SETTING_HASH = "kiosk.staff_pin_hash"
SETTING_GUARD = "kiosk.pin_guard"
DEFAULT_PIN = "1234"
MAX_TRIES = 5
FIRST_LOCK = 60.0
MAX_LOCK = 24 * 3600.0
N, R, P = 2 ** 14, 8, 1


def hash_pin(pin: str, *, salt: bytes | None = None, n: int = N, r: int = R, p: int = P) -> str:
    """The scrypt hash of *pin* as one string; a PIN is 4 to 12 digits."""
    pin = str(pin)
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise PishkhanError("a staff PIN must be 4 to 12 digits")
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${n}${r}${p}${b64(salt)}${b64(digest)}"


def check_pin(pin: str, hashed: str) -> bool:
    """True when *pin* matches the stored *hashed* string."""
    try:
        scheme, n, r, p, salt, digest = hashed.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(str(pin).encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=64 * 1024 * 1024, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def set_pin(store, pin: str, *, actor: str) -> None:
    """Store a new PIN hash (audited; the PIN itself is never stored)."""
    store.set_setting(SETTING_HASH, hash_pin(pin))
    store.audit(actor, "staff.pin_set", "kiosk")


@lru_cache(maxsize=1)
def _default_hash() -> str:
    return hash_pin(DEFAULT_PIN)


@dataclass(frozen=True)
class Attempt:
    """What a PIN attempt gave: ``ok``, ``wrong`` (tries left) or ``locked`` (seconds left)."""

    result: str
    tries_left: int = 0
    locked_seconds: float = 0.0


class PinGuard:
    """Checks PINs and keeps the lock-out state in the store.

    :param store: the device store (settings and audit log).
    :param config: for ``kiosk.staff_pin_hash``.
    """

    def __init__(self, store, *, config):
        self.store = store
        self.config = config

    def _hash(self) -> str:
        stored = self.store.get_setting(SETTING_HASH)
        if stored:
            return stored
        configured = self.config.get("kiosk.staff_pin_hash")
        if configured:
            return configured
        return _default_hash()

    def state(self) -> dict:
        return self.store.get_setting(SETTING_GUARD, {}) or {}

    def locked_for(self) -> float:
        """Seconds staff mode stays locked (0 when not locked)."""
        until = self.state().get("locked_until")
        if not until:
            return 0.0
        return max(0.0, (parse_iso(until) - self.store.now()).total_seconds())

    def attempt(self, pin: str) -> Attempt:
        """Check *pin*; every attempt is audited (never the PIN)."""
        left = self.locked_for()
        if left > 0:
            self.store.audit("staff", "staff.pin_refused_locked", "kiosk", seconds_left=round(left))
            return Attempt("locked", locked_seconds=left)
        state = self.state()
        if check_pin(pin, self._hash()):
            self.store.set_setting(SETTING_GUARD, {"failures": 0, "lockouts": 0, "locked_until": None})
            self.store.audit("staff", "staff.enter", "kiosk")
            return Attempt("ok")
        failures = int(state.get("failures", 0)) + 1
        lockouts = int(state.get("lockouts", 0))
        if failures >= MAX_TRIES:
            seconds = min(MAX_LOCK, FIRST_LOCK * 2 ** lockouts)
            until = self.store.now() + dt.timedelta(seconds=seconds)
            self.store.set_setting(SETTING_GUARD, {"failures": 0, "lockouts": lockouts + 1,
                                                   "locked_until": iso(until)})
            self.store.audit("staff", "staff.locked", "kiosk", seconds=seconds, lockouts=lockouts + 1)
            return Attempt("locked", locked_seconds=seconds)
        self.store.set_setting(SETTING_GUARD, {"failures": failures, "lockouts": lockouts,
                                               "locked_until": state.get("locked_until")})
        self.store.audit("staff", "staff.pin_wrong", "kiosk", failures=failures)
        return Attempt("wrong", tries_left=MAX_TRIES - failures)
