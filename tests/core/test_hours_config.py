"""Weekly working hours and the configuration file."""

from __future__ import annotations

import datetime as dt

import pytest

from pishkhan.config import load_config, parse_config
from pishkhan.exc import ConfigError
from pishkhan.schedule.hours import AlwaysOpen, hours_from_config
from pishkhan.text.jalali import TEHRAN


def at(y, m, d, hh, mm):
    return dt.datetime(y, m, d, hh, mm, tzinfo=TEHRAN)


def test_weekly_hours_from_the_default_config():
    hours = hours_from_config(parse_config({}))
    saturday = at(2026, 11, 28, 10, 0)
    assert hours.is_open(saturday)
    assert hours.closes_at(saturday) == at(2026, 11, 28, 14, 30)
    assert not hours.is_open(at(2026, 11, 28, 7, 29))
    assert not hours.is_open(at(2026, 11, 28, 14, 30))
    # Thursday afternoon -> next opening is Saturday morning (Friday closed).
    thursday = at(2026, 12, 3, 13, 0)
    assert not hours.is_open(thursday)
    assert hours.next_open(thursday) == at(2026, 12, 5, 7, 30)
    assert hours.describe_next_open(thursday) == "شنبه ۱۴ آذر، ساعت ۰۷:۳۰"
    assert hours.describe_day(dt.date(2026, 12, 4)) == "تعطیل"
    assert hours.describe_day(dt.date(2026, 12, 3)) == "۰۷:۳۰ تا ۱۲:۳۰"
    # for the English screens: no Persian words or digits
    assert hours.describe_next_open(thursday, "en") == "Saturday 05 December, 07:30"
    assert hours.describe_day(dt.date(2026, 12, 4), "en") == "Closed"
    assert hours.describe_day(dt.date(2026, 12, 3), "en") == "07:30-12:30"


def test_always_open():
    cfg = parse_config({"hours": {"always_open": True}})
    assert isinstance(hours_from_config(cfg), AlwaysOpen)
    assert hours_from_config(cfg).is_open(at(2026, 12, 4, 3, 0))


def test_bad_hours_are_named():
    with pytest.raises(ConfigError, match='hours must look like "07:30-14:30", got \'7.30 to 2\''):
        hours_from_config(parse_config({"hours": {"monday": ["7.30 to 2"]}}))
    with pytest.raises(ConfigError, match="closing must be after opening"):
        hours_from_config(parse_config({"hours": {"monday": ["14:00-08:00"]}}))


def test_config_errors_are_all_listed(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[office]\ncurrency_unit = "usd"\nname = 5\n[kiosk]\nnope = 1\n[[lanes]]\ncode = "A"\n'
                    '[[counters]]\nnumber = 1\nlanes = ["Z"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    for part in ("office.name: must be str", "kiosk.nope: unknown setting", "lanes[0]: give exactly one of prefix or range",
                 "counters[0].lanes: unknown or empty lanes", "office.currency_unit"):
        assert part in text


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[office\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_state_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PISHKHAN_STATE_DIR", str(tmp_path / "st"))
    assert load_config().store_path == tmp_path / "st" / "pishkhan.db"
