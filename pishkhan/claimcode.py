"""Claim codes: what a person reads over the phone to enrol a device.

A code is 12 characters in three groups, ``XXXX-XXXX-XXXX``, from Crockford's
base32 alphabet (``0-9`` and ``A-Z`` without ``I L O U``): 11 random
characters (55 bits) and a check character last.

**Reading a code back** (:func:`normalise`): lower case is upper case,
spaces and dashes are ignored, ``O`` is read as ``0`` and ``I``/``L`` as
``1`` (the characters people confuse). Anything else outside the alphabet,
or a length other than 12, is not a code.

**The check character** is Damm's algorithm over GF(32): the quasigroup
``x∘y = 2·x ⊕ y`` (multiplication in GF(2⁵) modulo ``x⁵+x²+1``) is totally
anti-symmetric, so the check catches every single wrong character and every
two neighbouring characters swapped — before the code is sent anywhere.
"""

from __future__ import annotations

import secrets

from pishkhan.exc import CodeUnreadable

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_READ_AS = {"O": "0", "I": "1", "L": "1"}
_POLY = 0b100101  # x^5 + x^2 + 1


def _times2(x: int) -> int:
    x <<= 1
    return x ^ _POLY if x & 0b100000 else x


def _damm(values) -> int:
    interim = 0
    for v in values:
        interim = _times2(interim) ^ v
    return interim


def check_character(body: str) -> str:
    """The check character for *body* (characters of :data:`ALPHABET`)."""
    return ALPHABET[_times2(_damm(_VALUE[ch] for ch in body))]


def new_code(*, rng=secrets.choice) -> str:
    """A new random code, grouped ``XXXX-XXXX-XXXX``."""
    body = "".join(rng(ALPHABET) for _ in range(LENGTH - 1))
    return grouped(body + check_character(body))


def grouped(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalise(text: str) -> str:
    """*text* as the 12 characters of a code whose check character holds; else :exc:`CodeUnreadable`."""
    if not isinstance(text, str) or len(text) > 64:
        raise CodeUnreadable("a claim code is 12 characters, XXXX-XXXX-XXXX", reason="malformed")
    chars = [_READ_AS.get(ch, ch) for ch in text.upper() if ch not in " -\t"]
    bad = sorted({ch for ch in chars if ch not in _VALUE})
    if bad:
        raise CodeUnreadable(f"a claim code has no {''.join(bad)!r} (letters and digits except I, L, O, U)",
                             reason="malformed")
    if len(chars) != LENGTH:
        raise CodeUnreadable(f"a claim code has {LENGTH} characters, got {len(chars)}", reason="malformed")
    if _damm(_VALUE[ch] for ch in chars) != 0:
        raise CodeUnreadable("the claim code's check character does not match: a character is mistyped",
                             reason="mistyped")
    return "".join(chars)
