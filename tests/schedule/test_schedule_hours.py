"""The Hours an installed schedule gives: holidays, closures, two shifts, versions, the built-in calendar."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from schedule_helpers import holidays_doc, schedule_doc, tehran

from pishkhan.config import parse_config
from pishkhan.schedule.hours import AlwaysOpen, ScheduleHours, WeeklyHours, hours_from_config
from pishkhan.store.database import Store

PERSIAN = re.compile("[\u0600-\u06ff]")
EXCEPTIONS = [
    {"kind": "hours", "date": "2026-12-06", "shifts": ["07:30-12:00", "16:00-19:00"], "reason": "دو نوبت کاری"},
    {"kind": "closure", "from": "2026-12-08", "to": "2026-12-09", "reason": "تعطیلی به دلیل آلودگی هوا"},
]


@pytest.fixture
def hours(sstore, office_config):
    return hours_from_config(office_config, store=sstore)


def test_which_hours_the_config_gives(sstore, office_config, config):
    assert isinstance(hours_from_config(office_config), WeeklyHours)
    assert isinstance(hours_from_config(office_config, store=sstore), ScheduleHours)
    assert isinstance(hours_from_config(config, store=sstore), AlwaysOpen)  # always_open wins (demos, tests)


def test_nothing_installed_answers_as_the_config_did(hours, office_config):
    weekly = hours_from_config(office_config)
    for day in (dt.date(2026, 12, 5) + dt.timedelta(days=n) for n in range(30)):
        assert hours.periods(day) == weekly.periods(day)
        assert hours.describe_day(day) == weekly.describe_day(day)
    # 2026-12-23 is a holiday in the built-in calendar, but before any document arrives the config rules
    assert hours.is_open(tehran(2026, 12, 23, 10, 0))
    assert hours.day(dt.date(2026, 12, 23)).source == "config"


def test_a_two_shift_day_a_closure_and_a_calendar_holiday(hours, install):
    install(schedule_doc(exceptions=EXCEPTIONS))
    # Saturday: the weekly shift
    assert hours.is_open(tehran(2026, 12, 5, 10, 0)) and hours.closes_at(tehran(2026, 12, 5, 10, 0)) == tehran(2026, 12, 5, 14, 30)
    # Sunday: two shifts
    assert hours.closes_at(tehran(2026, 12, 6, 11, 0)) == tehran(2026, 12, 6, 12, 0)
    assert not hours.is_open(tehran(2026, 12, 6, 12, 30))
    assert hours.next_open(tehran(2026, 12, 6, 12, 30)) == tehran(2026, 12, 6, 16, 0)
    assert hours.closes_at(tehran(2026, 12, 6, 17, 0)) == tehran(2026, 12, 6, 19, 0)
    assert hours.describe_day(dt.date(2026, 12, 6)) == "۰۷:۳۰ تا ۱۲:۰۰، ۱۶:۰۰ تا ۱۹:۰۰ (دو نوبت کاری)"
    assert hours.describe_day(dt.date(2026, 12, 6), "en") == "07:30-12:00, 16:00-19:00 (changed hours)"
    # Monday after closing: Tuesday and Wednesday are closed, Thursday opens
    assert hours.next_open(tehran(2026, 12, 7, 14, 30)) == tehran(2026, 12, 10, 7, 30)
    assert hours.describe_next_open(tehran(2026, 12, 7, 15, 0)) == "پنج‌شنبه ۱۹ آذر، ساعت ۰۷:۳۰"
    assert not hours.is_open(tehran(2026, 12, 8, 10, 0))
    assert hours.describe_day(dt.date(2026, 12, 9)) == "تعطیل (تعطیلی به دلیل آلودگی هوا)"
    assert hours.describe_day(dt.date(2026, 12, 9), "en") == "Closed (announced closure)"
    closure = hours.day(dt.date(2026, 12, 8))
    assert (closure.kind, closure.source) == ("closure", "schedule province:23 v1")
    # the built-in calendar closes 2026-12-23 now that the centre has spoken on hours but not on holidays
    holiday = hours.day(dt.date(2026, 12, 23))
    assert (holiday.kind, holiday.source) == ("holiday", "calendar") and "امام علی" in holiday.reason
    assert hours.next_open(tehran(2026, 12, 22, 15, 0)) == tehran(2026, 12, 24, 7, 30)
    assert hours.describe_day(dt.date(2026, 12, 23), "en") == "Closed (public holiday)"
    for day in (dt.date(2026, 12, 5) + dt.timedelta(days=n) for n in range(30)):
        assert not PERSIAN.search(hours.describe_day(day, "en"))


def test_the_centres_holiday_list_wins_over_the_calendar(hours, install):
    install(schedule_doc())
    # the centre's official date of the holiday is the 24th, not the package's 23rd
    install(holidays_doc(holidays=[{"date": "2026-12-24", "reason": "ولادت امام علی (ع)"}]))
    assert hours.is_open(tehran(2026, 12, 23, 10, 0))
    assert hours.day(dt.date(2026, 12, 23)).source == "schedule province:23 v1"
    d24 = hours.day(dt.date(2026, 12, 24))
    assert (d24.kind, d24.reason, d24.source) == ("holiday", "ولادت امام علی (ع)", "holidays national v1")
    assert hours.describe_day(dt.date(2026, 12, 24)) == "تعطیل (ولادت امام علی (ع))"
    # outside what the list covers, the calendar still serves: Tasua 1406 (estimated)
    tasua = hours.day(dt.date(2027, 6, 15))
    assert (tasua.kind, tasua.source) == ("holiday", "calendar")
    # a province list adds its own day on top of the national list
    install(holidays_doc(level="province", holidays=[{"date": "2026-12-26", "reason": "سوگواری استانی"}]))
    d26 = hours.day(dt.date(2026, 12, 26))
    assert (d26.kind, d26.source) == ("holiday", "holidays province:23 v1")
    assert hours.next_open(tehran(2026, 12, 23, 15, 0)) == tehran(2026, 12, 27, 7, 30)


def test_a_schedule_exception_beats_a_holiday_list(hours, install):
    install(holidays_doc(holidays=[{"date": "2026-12-24", "reason": "تعطیل رسمی"}]))
    install(schedule_doc(exceptions=[{"kind": "hours", "date": "2026-12-24", "shifts": ["08:00-11:00"],
                                      "reason": "کشیک دفاتر منتخب"}]))
    d = hours.day(dt.date(2026, 12, 24))
    assert (d.kind, d.source) == ("hours", "schedule province:23 v1")
    assert hours.is_open(tehran(2026, 12, 24, 9, 0)) and not hours.is_open(tehran(2026, 12, 24, 11, 0))


def test_a_holiday_list_alone_closes_days_on_the_configs_week(hours, install):
    install(holidays_doc(holidays=[{"date": "2026-12-07", "reason": "تعطیل رسمی"}]))
    assert not hours.is_open(tehran(2026, 12, 7, 10, 0))
    assert hours.day(dt.date(2026, 12, 5)).source == "config"
    assert hours.closes_at(tehran(2026, 12, 5, 10, 0)) == tehran(2026, 12, 5, 14, 30)


def test_scopes_the_most_specific_week_and_every_scopes_exceptions(hours, install):
    install(schedule_doc(level="national", week=dict(schedule_doc()["week"], saturday=["08:00-14:00"]),
                         exceptions=[{"kind": "closure", "date": "2026-12-29", "reason": "عزای عمومی"}]))
    assert hours.closes_at(tehran(2026, 12, 5, 10, 0)) == tehran(2026, 12, 5, 14, 0)
    install(schedule_doc(week=dict(schedule_doc()["week"], saturday=["07:00-13:00"])))
    assert hours.closes_at(tehran(2026, 12, 5, 10, 0)) == tehran(2026, 12, 5, 13, 0)
    install(schedule_doc(level="office", office="23-1234", week=dict(schedule_doc()["week"], saturday=["09:00-17:00"])))
    assert hours.closes_at(tehran(2026, 12, 5, 16, 0)) == tehran(2026, 12, 5, 17, 0)
    assert hours.day(dt.date(2026, 12, 5)).source == "schedule office:23-1234 v1"
    assert hours.day(dt.date(2026, 12, 29)).reason == "عزای عمومی"  # a national closure still holds


def test_versions_by_effective_date_day_by_day(hours, install):
    install(schedule_doc(version=1))
    install(schedule_doc(version=2, effective="2026-12-12", week=dict(schedule_doc()["week"], saturday=["08:00-13:00"])))
    assert hours.next_open(tehran(2026, 12, 4, 12, 0)) == tehran(2026, 12, 5, 7, 30)   # v1 still
    assert hours.next_open(tehran(2026, 12, 10, 13, 0)) == tehran(2026, 12, 12, 8, 0)  # v2 from its date
    assert hours.day(dt.date(2026, 12, 12)).source == "schedule province:23 v2"


def test_a_store_that_cannot_be_read_keeps_the_hours_read_before(office_config, install, trusted, caplog):
    with Store(office_config.store_path) as other:
        hours = hours_from_config(office_config, store=other)
        install(schedule_doc(exceptions=EXCEPTIONS))
        assert not hours.is_open(tehran(2026, 12, 8, 10, 0))
        other.close()
        assert not hours.is_open(tehran(2026, 12, 8, 10, 0))
        assert hours.is_open(tehran(2026, 12, 5, 10, 0))
        assert hours.next_open(tehran(2026, 12, 7, 15, 0)) == tehran(2026, 12, 10, 7, 30)
    assert caplog.text.count("cannot read the installed schedules") == 1


def test_a_second_process_install_is_seen(office_config, hours, trusted, sstore):
    """Another connection (another process) installs; this one's Hours notices without rebuilding."""
    from pishkhan.schedule.installed import install_schedule

    assert hours.is_open(tehran(2026, 12, 8, 10, 0))
    with Store(office_config.store_path) as cli:
        install_schedule(cli, trusted.sign(schedule_doc(exceptions=EXCEPTIONS)), source="cli", actor="cli:test",
                         province="23")
    assert not hours.is_open(tehran(2026, 12, 8, 10, 0))
