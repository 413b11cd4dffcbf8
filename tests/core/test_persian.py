"""Persian digits, money, search normalisation and Jalali dates."""

from __future__ import annotations

import datetime as dt

import pytest

from pishkhan.text import jalali
from pishkhan.text.persian import format_money, matches, normalise, parse_int, to_persian_digits


@pytest.mark.parametrize("text", ["1250000", "۱۲۵۰۰۰۰", "١٢٥٠٠٠٠", "۱٬۲۵۰٬۰۰۰", "1,250,000", " ۱۲۵0000 "])
def test_every_digit_system_is_accepted_on_input(text):
    assert parse_int(text) == 1250000


@pytest.mark.parametrize("text", ["12a", "", "۱۲.۵", "--1"])
def test_non_numbers_are_refused_by_name(text):
    with pytest.raises(ValueError, match="not a whole number"):
        parse_int(text)


def test_output_digits_are_persian():
    assert to_persian_digits("A012 - 2026") == "A۰۱۲ - ۲۰۲۶"


def test_money_is_grouped_with_arabic_thousands_separator():
    assert format_money(12500000) == "۱۲\u066c۵۰۰\u066c۰۰۰ ریال"
    assert format_money(0) == "۰ ریال"
    assert format_money(999) == "۹۹۹ ریال"


def test_money_unit_is_configuration():
    assert format_money(12500000, unit="toman") == "۱\u066c۲۵۰\u066c۰۰۰ تومان"
    assert format_money(12500000, with_unit=False) == "۱۲\u066c۵۰۰\u066c۰۰۰"
    with pytest.raises(ValueError, match="unknown currency unit 'dollar'"):
        format_money(1, unit="dollar")


def test_normalise_folds_arabic_letters_zwnj_diacritics_and_digits():
    assert normalise("كارت ملي") == normalise("کارت ملی") == "کارت ملی"
    assert normalise("ثبت\u200cنام") == "ثبت نام"
    assert normalise("گذرنامهٔ   عادی") == "گذرنامه عادی"
    assert normalise("مُدارِک") == "مدارک"
    assert normalise("پایه ۲") == normalise("پایه 2") == "پایه 2"
    assert normalise("SANA ثنا") == "sana ثنا"


def test_search_finds_across_spellings():
    title = "ثبت‌نام در سامانه ثنا (SANA)"
    for query in ("ثبت نام", "ثبتنام", "ثبت‌نام", "ثنا", "sana", "سامانه ثبت", "ثبت نام ثنا"):
        assert matches(query, title), query
    assert not matches("گذرنامه", title)
    assert not matches("", title)


def test_jalali_dates_in_persian():
    day = dt.date(2026, 11, 28)
    assert jalali.format_date(day) == "شنبه ۷ آذر ۱۴۰۵"
    assert jalali.format_numeric(dt.date(2026, 3, 21)) == "۱۴۰۵/۰۱/۰۱"
    assert jalali.from_jalali(1405, 1, 1) == dt.date(2026, 3, 21)
    assert jalali.weekday_name(dt.date(2026, 11, 27)) == "جمعه"
    assert jalali.format_time(dt.datetime(2026, 11, 28, 4, 0, tzinfo=dt.timezone.utc)) == "۰۷:۳۰"


def test_ltr_keeps_an_id_in_order_inside_persian_text():
    from PIL import Image, ImageChops, ImageDraw, ImageOps

    from pishkhan.render import typeset
    from pishkhan.text.persian import ltr

    f = typeset.font(40)

    def ink(text, direction):
        im = Image.new("L", (900, 80), 255)
        ImageDraw.Draw(im).text((10, 10), text, font=f, fill=0, direction=direction)
        box = ImageOps.invert(im).getbbox()
        return im.crop((box[0], 0, box[2], im.height))

    alone = ink("1234-23", "ltr")

    def id_part(im):  # in right-to-left text the id ends up at the left
        return im.crop((0, 0, alone.width, im.height))

    assert ImageChops.difference(id_part(ink("دفتر " + ltr("1234-23"), "rtl")), alone).getbbox() is None
    assert ImageChops.difference(id_part(ink("دفتر 1234-23", "rtl")), alone).getbbox() is not None  # 23-1234
