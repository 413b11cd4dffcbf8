"""The 31 provinces: every code has its Persian name, and a code typed any way names its province."""

from __future__ import annotations

import pytest

from pishkhan import provinces
from pishkhan.config import SETTINGS


def test_every_code_of_the_31_provinces_has_a_persian_name():
    assert len(provinces.CODES) == 31 == len(set(provinces.NAMES.values()))
    assert provinces.CODES == tuple(f"{n:02d}" for n in range(31))
    for code, name in provinces.NAMES.items():
        assert name.strip() == name and name and not any(c.isascii() and c.isalpha() for c in name), code
    assert provinces.NAMES["23"] == "تهران" and provinces.NAMES["30"] == "البرز"


def test_every_code_passes_the_offices_own_rule():
    """A code of the table is one an office may be configured with (``office.province``)."""
    rule = next(s for s in SETTINGS if s.name == "office.province").kind
    assert not [c for c in provinces.CODES if rule.check(c, "province")]


@pytest.mark.parametrize("typed", ["06", "6", "۰۶", "۶", "٠٦", " 06 ", "006"])
def test_a_code_typed_any_way_names_its_province(typed):
    assert provinces.normalise(typed) == "06" and provinces.name(typed) == "خوزستان"
    assert provinces.resolve(typed, ["23", "6"]) == "6"  # as the fleet stores it
    assert provinces.resolve(typed, ["23", "06"]) == "06"


def test_what_is_not_a_code_names_nothing():
    for typed in ("", "abc", "1234", "6a", None, 6, "٣١"):
        assert provinces.name(typed) is None
    assert provinces.normalise("abc ") == "abc" and provinces.resolve("x", ["23"]) == "x"
    assert not provinces.same("", "") and provinces.same("۲۳", "23")
