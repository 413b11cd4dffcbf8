"""Iran's 31 provinces: their codes, their Persian names, and how a typed code is read.

The codes are the two-digit province codes of the national division
(ISO 3166-2:IR, the Statistical Centre of Iran's numbering: ``23`` is Tehran).
A code is stored as text (``office.province``: 1-3 digits), and people type
it in many ways: ``۰۶``, ``٠٦``, ``6``, ``06`` and `` 06 `` all name the same
province. :func:`normalise` is the one place that reads them: digits of any
script to Latin, surrounding spaces dropped, a number written with two
digits. Anything else is returned stripped, as it was (it matches nothing
and a checker refuses it).

Everything a person types goes through it: :func:`known` (the code, or None
when it is none of the 31), :func:`option` (the ``--province`` of every
command), the dashboard's ``?province=`` (``central.web.site.province_of``),
and the centre's registry, which stores a code only normalised and refuses
one that is none of the 31 (``unknown_province``).
"""

from __future__ import annotations

import argparse

from pishkhan.text.persian import to_latin_digits

#: The 31 provinces, code → Persian name.
NAMES = {
    "00": "مرکزی",
    "01": "گیلان",
    "02": "مازندران",
    "03": "آذربایجان شرقی",
    "04": "آذربایجان غربی",
    "05": "کرمانشاه",
    "06": "خوزستان",
    "07": "فارس",
    "08": "کرمان",
    "09": "خراسان رضوی",
    "10": "اصفهان",
    "11": "سیستان و بلوچستان",
    "12": "کردستان",
    "13": "همدان",
    "14": "چهارمحال و بختیاری",
    "15": "لرستان",
    "16": "ایلام",
    "17": "کهگیلویه و بویراحمد",
    "18": "بوشهر",
    "19": "زنجان",
    "20": "سمنان",
    "21": "یزد",
    "22": "هرمزگان",
    "23": "تهران",
    "24": "اردبیل",
    "25": "قم",
    "26": "قزوین",
    "27": "گلستان",
    "28": "خراسان شمالی",
    "29": "خراسان جنوبی",
    "30": "البرز",
}

#: The codes, in order.
CODES = tuple(NAMES)

def normalise(text) -> str:
    """The province code *text* names: ``"۰۶"``, ``"6"`` and ``" 06 "`` all give ``"06"``; text that is
    not a number of 1-3 digits comes back stripped, as it was; anything not text gives ``""``."""
    if not isinstance(text, str):
        return ""
    code = to_latin_digits(text.strip())
    if code.isascii() and code.isdigit() and len(code) <= 3:
        return f"{int(code):02d}"
    return text.strip()


def known(text) -> str | None:
    """The code of the province *text* names, if it is one of the 31 (:data:`NAMES`), else None."""
    code = normalise(text)
    return code if code in NAMES else None


def option(text) -> str:
    """A command's ``--province`` (an :mod:`argparse` type): the code of one of the 31, normalised; ``""``
    stays ``""`` (no province); anything else is refused with the codes it expected."""
    if isinstance(text, str) and not text.strip():
        return ""
    code = known(text)
    if code is None:
        raise argparse.ArgumentTypeError(f"{str(text)[:40]!r} is not a province code: expected one of the 31, "
                                         f"{CODES[0]} to {CODES[-1]} (ISO 3166-2:IR; 6, 06 and ۰۶ are the same)")
    return code


def same(a, b) -> bool:
    """Whether *a* and *b* name the same province (:func:`normalise`)."""
    return bool(normalise(a)) and normalise(a) == normalise(b)


def name(code) -> str | None:
    """The Persian name of the province *code* names (any way it is written), or None."""
    return NAMES.get(normalise(code))


def resolve(typed, known) -> str:
    """The stored code among *known* that *typed* names (a registry may hold ``"6"`` or ``"06"``),
    else *typed* normalised."""
    code = normalise(typed)
    for stored in known:
        if normalise(stored) == code:
            return stored
    return code
