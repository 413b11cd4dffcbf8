"""The staff PIN: what a PIN may be, its stored form, and which PIN is in force.

Used by the kiosk (checking a PIN), ``pishkhan kiosk set-pin`` (a new PIN)
and ``pishkhan config check`` (the configured hash, the default PIN).

**A PIN** is what the kiosk's keypad can type: :data:`MIN_LENGTH` to
:data:`MAX_LENGTH` ASCII digits. Persian (``۰``–``۹``) and Arabic-Indic
(``٠``–``٩``) digits are read as the same ASCII digits (:func:`normalise_pin`);
anything else — superscript or other digits, letters, spaces — is refused.
A PIN is *checked* up to :data:`KEYPAD_DIGITS` long, so one set when the limit
was 12 still opens staff mode.

**A new PIN** must also not be trivial (:func:`trivial_reason`): the default
``1234``; one digit repeated (``0000``); a run of consecutive digits up or down
(``4567``, ``9876``, also across ``9``/``0`` as in ``8901``); a short block
repeated (``1212``, ``123123``); or one of :data:`COMMON_PINS`.

**The stored form** is ``scrypt$N$r$p$SALT$HASH``: ``N`` a power of two from
2^10 to 2^20, ``r`` 1–32, ``p`` 1–16, with ``128·N·r`` at most
:data:`MAX_MEMORY` (what the kiosk can check); ``SALT`` and ``HASH`` standard
base64 of 16–64 bytes each. :func:`hash_problem` names what is wrong with a
string not of that form. :func:`hash_pin` writes N=2^14, r=8, p=1, a 16-byte
salt and a 32-byte hash.

**The PIN in force** (:func:`pin_in_force`) is the store setting
``kiosk.staff_pin_hash`` (written by ``set-pin``), else the configuration's
``kiosk.staff_pin_hash``, else :data:`DEFAULT_PIN` — which the kiosk and
``config check`` then warn about.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from functools import lru_cache

from pishkhan.exc import ConfigError, PinRefused

SETTING_HASH = "kiosk.staff_pin_hash"
CONFIG_HASH = "kiosk.staff_pin_hash"
DEFAULT_PIN = "1234"
MIN_LENGTH = 4
MAX_LENGTH = 8
#: The keypad takes this many digits, so a PIN set before the limit was 8 still opens.
KEYPAD_DIGITS = 12
N, R, P = 2 ** 14, 8, 1
MAX_MEMORY = 64 * 1024 * 1024
SALT_BYTES = 16
#: Well-known PINs that no rule below already refuses.
COMMON_PINS = frozenset({"1004", "2000", "2001", "2580", "0852", "1122", "1313", "4444", "6969",
                         "1010", "7777", "1999", "2020", "1379", "1400"})

_DIGITS = {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
_DIGITS |= {ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")}
_ASCII_DIGITS = re.compile(r"[0-9]+")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def normalise_pin(text, *, max_length: int = MAX_LENGTH) -> str:
    """*text* as keypad digits (Persian and Arabic-Indic digits become ASCII); refuses anything else.

    :raises PinRefused: not a string of 4 to *max_length* digits the keypad can type.
    """
    if not isinstance(text, str):
        raise PinRefused(f"a staff PIN must be text of digits, got {type(text).__name__}")
    pin = text.translate(_DIGITS)
    bad = next((ch for ch in pin if not ("0" <= ch <= "9")), None)
    if bad is not None:
        raise PinRefused(f"a staff PIN may hold only the digits 0-9 the kiosk keypad has "
                         f"(Persian and Arabic-Indic digits are read as 0-9); found {_name(bad)}")
    if not MIN_LENGTH <= len(pin) <= max_length:
        raise PinRefused(f"a staff PIN must be {MIN_LENGTH} to {max_length} digits, got {len(pin)}")
    return pin


def _name(ch: str) -> str:
    import unicodedata

    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"


def trivial_reason(pin: str) -> str | None:
    """Why the normalised *pin* is too easy to guess, or None when it is not."""
    if pin == DEFAULT_PIN:
        return f"{DEFAULT_PIN} is the default PIN everyone knows"
    if len(set(pin)) == 1:
        return "it is one digit repeated"
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:])}
    if steps == {1}:
        return "its digits run upwards (like 1234)"
    if steps == {9}:
        return "its digits run downwards (like 4321)"
    for size in range(1, len(pin) // 2 + 1):
        if len(pin) % size == 0 and pin[:size] * (len(pin) // size) == pin:
            return f"it repeats {pin[:size]!r}"
    if pin in COMMON_PINS:
        return "it is one of the most common PINs"
    return None


def check_new_pin(text) -> str:
    """The normalised PIN, when *text* may become the staff PIN.

    :raises PinRefused: not 4-8 keypad digits, or trivial (the reason is in the message).
    """
    pin = normalise_pin(text)
    reason = trivial_reason(pin)
    if reason:
        raise PinRefused(f"this PIN is too easy to guess: {reason}; choose {MIN_LENGTH} to {MAX_LENGTH} "
                         f"digits without a pattern")
    return pin


def hash_pin(pin, *, salt: bytes | None = None, n: int = N, r: int = R, p: int = P) -> str:
    """The scrypt hash of *pin* (normalised first) in the stored form."""
    pin = normalise_pin(pin)
    salt = salt or os.urandom(SALT_BYTES)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${n}${r}${p}${b64(salt)}${b64(digest)}"


def _parse(hashed) -> tuple[int, int, int, bytes, bytes]:
    """The parts of a stored hash; raises ValueError naming the first problem."""
    if not isinstance(hashed, str):
        raise ValueError(f"must be text, got {type(hashed).__name__}")
    parts = hashed.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("must look like scrypt$N$r$p$SALT$HASH (as `pishkhan kiosk set-pin` writes it)")
    numbers = []
    for label, text, low, high in (("N", parts[1], 2 ** 10, 2 ** 20), ("r", parts[2], 1, 32),
                                   ("p", parts[3], 1, 16)):
        if not _ASCII_DIGITS.fullmatch(text) or len(text) > 8 or not low <= int(text) <= high:
            raise ValueError(f"{label} must be a whole number from {low} to {high}, got {text[:20]!r}")
        numbers.append(int(text))
    n, r, p = numbers
    if n & (n - 1):
        raise ValueError(f"N must be a power of two, got {n}")
    if 128 * n * r > MAX_MEMORY:
        raise ValueError(f"N={n} with r={r} needs more than {MAX_MEMORY // 2 ** 20} MiB to check")
    raw = []
    for label, text in (("salt", parts[4]), ("hash", parts[5])):
        try:
            if not _B64.fullmatch(text):
                raise binascii.Error
            value = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"the {label} must be base64, got {text[:20]!r}") from None
        if not 16 <= len(value) <= 64:
            raise ValueError(f"the {label} must be 16 to 64 bytes, got {len(value)}")
        raw.append(value)
    return n, r, p, raw[0], raw[1]


def hash_problem(hashed) -> str | None:
    """What is wrong with a stored PIN hash, or None when it has the stored form."""
    try:
        _parse(hashed)
    except ValueError as e:
        return str(e)
    return None


def check_pin(pin, hashed: str) -> bool:
    """True when *pin* matches the stored *hashed* string (False for a malformed one)."""
    try:
        pin = normalise_pin(pin, max_length=KEYPAD_DIGITS)
        n, r, p, salt, expected = _parse(hashed)
    except (PinRefused, ValueError):
        return False
    got = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=len(expected))
    return hmac.compare_digest(got, expected)


@lru_cache(maxsize=1)
def default_hash() -> str:
    return hash_pin(DEFAULT_PIN)


def pin_in_force(store, config) -> tuple[str, str]:
    """``(hash, source)`` of the PIN the kiosk accepts; source is ``store``, ``config`` or ``default``.

    *store* may be None (no store file yet).
    """
    stored = store.get_setting(SETTING_HASH) if store is not None else None
    if stored:
        return stored, "store"
    configured = config.kiosk.staff_pin_hash
    if configured:
        return configured, "config"
    return default_hash(), "default"


def default_pin_in_use(store, config) -> bool:
    """True when neither the store nor the configuration holds a PIN hash: the PIN is 1234."""
    stored = store.get_setting(SETTING_HASH) if store is not None else None
    return not stored and not config.kiosk.staff_pin_hash


def check_configured_pin(config, *, store=None) -> list[str]:
    """For ``config check``: warnings about the staff PIN (the default in use, a damaged stored hash).

    *store* is the device store when its file exists, else None.

    :raises ConfigError: the configuration's ``kiosk.staff_pin_hash`` is not of the stored form.
    """
    configured = config.kiosk.staff_pin_hash
    if configured:
        problem = hash_problem(configured)
        if problem:
            raise ConfigError(f"{CONFIG_HASH}: {problem}; no PIN could ever match it. Leave it empty and "
                              "set the PIN with `pishkhan kiosk set-pin`")
    warnings = []
    stored = store.get_setting(SETTING_HASH) if store is not None else None
    if stored and hash_problem(stored):
        warnings.append(f"WARNING: the staff PIN hash in the device store is damaged ({hash_problem(stored)}); "
                        "no PIN opens staff mode until one is set with `pishkhan kiosk set-pin`")
    if default_pin_in_use(store, config):
        warnings.append(DEFAULT_PIN_WARNING)
    return warnings


DEFAULT_PIN_WARNING = (f"WARNING: the staff PIN is the default {DEFAULT_PIN}, which anyone can look up; "
                       "set one with `pishkhan kiosk set-pin` on the device")
