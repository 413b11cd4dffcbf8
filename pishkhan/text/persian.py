"""Persian text: digits, money, and search normalisation."""

from __future__ import annotations

import re
import unicodedata

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
LATIN_DIGITS = "0123456789"

#: Arabic thousands separator, used to group Persian numbers.
THOUSANDS_SEPARATOR = "\u066c"
ZWNJ = "\u200c"

_TO_LATIN = str.maketrans(PERSIAN_DIGITS + ARABIC_DIGITS, LATIN_DIGITS * 2)
_TO_PERSIAN = str.maketrans(LATIN_DIGITS + ARABIC_DIGITS, PERSIAN_DIGITS * 2)

#: Currency units the office may show; amounts are always stored in rials.
UNITS = {"rial": ("ریال", 1), "toman": ("تومان", 10)}


def to_latin_digits(text: str) -> str:
    """Return *text* with Persian and Arabic-Indic digits made ASCII."""
    return str(text).translate(_TO_LATIN)


def to_persian_digits(text) -> str:
    """Return *text* (or a number) with every digit written in Persian."""
    return str(text).translate(_TO_PERSIAN)


def parse_int(text) -> int:
    """Read an integer written with any digits and optional group separators.

    Raises :exc:`ValueError` naming the text when it is not a whole number.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    cleaned = to_latin_digits(str(text)).strip()
    cleaned = re.sub(r"[,\u066c\u060c_ ]", "", cleaned)
    if not re.fullmatch(r"-?\d+", cleaned):
        raise ValueError(f"not a whole number: {text!r}")
    return int(cleaned)


def ltr(text: str) -> str:
    """*text* kept left to right inside Persian text (an id, a code): ``1234-23`` stays
    ``1234-23`` instead of reading ``23-1234`` (Unicode isolates, drawn as nothing)."""
    return f"\u2066{text}\u2069"


def group_digits(number: int) -> str:
    """Group *number* by thousands with U+066C, in Persian digits."""
    sign = "-" if number < 0 else ""
    grouped = f"{abs(int(number)):,}".replace(",", THOUSANDS_SEPARATOR)
    return to_persian_digits(sign + grouped)


def format_money(rials: int, *, unit: str = "rial", with_unit: bool = True) -> str:
    """Format an amount held in rials for display in the configured *unit*.

    ``unit`` is ``"rial"`` or ``"toman"``; toman amounts are rounded down to
    a whole toman, which is how offices quote them. *rials* must be an
    ``int``: an amount is always drawn from the signed number, never from
    text, so a string, float or bool is a :exc:`TypeError`.
    """
    if isinstance(rials, bool) or not isinstance(rials, int):
        raise TypeError(f"an amount must be a whole number of rials (int), got {type(rials).__name__}")
    try:
        name, divisor = UNITS[unit]
    except KeyError:
        raise ValueError(f"unknown currency unit {unit!r}; expected one of {sorted(UNITS)}") from None
    text = group_digits(rials // divisor)
    return f"{text} {name}" if with_unit else text


def unit_name(unit: str) -> str:
    """The Persian name of a currency unit."""
    return UNITS[unit][0]


_DIACRITICS = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
_FOLD = str.maketrans({
    "ي": "ی", "ى": "ی", "ئ": "ی", "ك": "ک", "ۀ": "ه", "ة": "ه",
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ؤ": "و",
    "\u0640": None,  # tatweel
})


def normalise(text: str) -> str:
    """Fold *text* for searching.

    Arabic yeh and kaf become Persian, diacritics and tatweel go, hamza forms
    fold to their base letter, ZWNJ and runs of white space become one space,
    digits become ASCII and Latin letters lower case.
    """
    text = unicodedata.normalize("NFKC", str(text))
    text = _DIACRITICS.sub("", text)
    text = text.translate(_FOLD)
    text = to_latin_digits(text)
    text = text.replace(ZWNJ, " ")
    text = re.sub(r"[\s\u200d\u200e\u200f]+", " ", text)
    return text.strip().lower()


def matches(query: str, *texts: str) -> bool:
    """True when every word of *query* occurs in one of *texts*, normalised.

    Words are also compared with their spaces removed, so «ثبت نام»,
    «ثبت‌نام» and «ثبتنام» find each other.
    """
    words = normalise(query).split()
    if not words:
        return False
    haystack = " ".join(normalise(t) for t in texts if t)
    squashed = haystack.replace(" ", "")
    return all(w in haystack or w in squashed for w in words) or normalise(query).replace(" ", "") in squashed
