"""The schedule and holiday-list documents: every rule of the schema gives a named error."""

from __future__ import annotations

import datetime as dt

import pytest
from schedule_helpers import holidays_doc, schedule_doc

from pishkhan.exc import ScheduleInvalid
from pishkhan.schedule.document import parse_document, parse_holidays, parse_schedule


def errors(doc, parse=parse_schedule) -> list[str]:
    with pytest.raises(ScheduleInvalid) as info:
        parse(doc)
    return info.value.errors


def test_the_sample_schedule_is_valid_and_typed(sample_schedule):
    s = parse_schedule(sample_schedule)
    assert s.scope.key == "province:23" and s.version == 1 and s.effective_from == dt.date(2026, 3, 21)
    assert [sh.label for sh in s.week[5]] == ["07:30-14:30"]      # Saturday
    assert [sh.label for sh in s.week[3]] == ["07:30-12:30"]      # Thursday
    assert s.week[4] == ()                                        # Friday closed
    two = s.special(dt.date(2027, 3, 14))
    assert two.kind == "hours" and [sh.label for sh in two.shifts] == ["07:30-12:00", "16:00-19:00"]
    closure = s.special(dt.date(2026, 12, 16))
    assert closure.kind == "closure" and "آلودگی هوا" in closure.reason
    assert s.special(dt.date(2026, 12, 17)) is None


def test_bad_shifts_are_each_named():
    week = {"saturday": ["7:30-14:30"], "sunday": ["14:30-07:30"], "monday": ["07:30-25:00"],
            "tuesday": ["۰۷:۳۰-۱۴:۳۰"], "wednesday": "07:30-14:30", "thursday": [12], "friday": []}
    errs = errors(schedule_doc(week=week))
    assert 'week.saturday[0]: must be "HH:MM-HH:MM" with Latin digits, e.g. "07:30-14:30", got "7:30-14:30"' in errs
    assert 'week.sunday[0]: "14:30-07:30": the shift must end after it starts' in errs
    assert 'week.monday[0]: "07:30-25:00" is not a valid time of day (00:00-23:59)' in errs
    assert any(e.startswith("week.tuesday[0]: must be \"HH:MM-HH:MM\" with Latin digits") for e in errs)
    assert 'week.wednesday: must be an array of "HH:MM-HH:MM" strings, got "07:30-14:30"' in errs
    assert any(e.startswith("week.thursday[0]:") and "got 12" in e for e in errs)
    assert len(errs) == 6


def test_overlapping_touching_and_unordered_shifts_are_refused():
    week = dict(schedule_doc()["week"], saturday=["07:30-12:00", "11:00-13:00"],
                sunday=["07:30-12:00", "12:00-14:00"], monday=["16:00-19:00", "07:30-12:00"],
                tuesday=["07:30-08:00", "09:00-10:00", "11:00-12:00", "13:00-14:00", "15:00-16:00"])
    errs = errors(schedule_doc(week=week))
    assert ('week.saturday[1]: "11:00-13:00" must start after the previous shift ends at 12:00 '
            "(shifts in order, not overlapping; write touching shifts as one)") in errs
    assert any(e.startswith('week.sunday[1]: "12:00-14:00" must start after the previous shift ends at 12:00') for e in errs)
    assert any(e.startswith('week.monday[1]: "07:30-12:00" must start after') for e in errs)
    assert "week.tuesday: at most 4 shifts a day, got 5" in errs


def test_a_two_shift_day_is_fine():
    s = parse_schedule(schedule_doc(week=dict(schedule_doc()["week"], sunday=["07:30-12:00", "16:00-19:00"])))
    assert [sh.label for sh in s.week[6]] == ["07:30-12:00", "16:00-19:00"]


def test_missing_days_unknown_keys_and_head_fields():
    doc = schedule_doc()
    del doc["week"]["friday"]
    doc["week"]["fryday"] = []
    doc["hours"] = {}
    doc["scope"]["town"] = "x"
    doc["version"] = 0
    doc["issuer"] = "  "
    doc["format"] = "pishkhan.board/1"
    errs = errors(doc)
    assert "week.friday: is required (use [] for a closed day)" in errs
    assert any(e.startswith("week.fryday: unknown key (expected one of friday, monday,") for e in errs)
    assert any(e.startswith("hours: unknown key (expected one of effective_from, exceptions, format,") for e in errs)
    assert "scope.town: unknown key (expected one of level, province)" in errs
    assert "version: must be a positive integer, got 0" in errs
    assert "issuer: must not be empty" in errs
    assert 'format: must be "pishkhan.schedule/1", got "pishkhan.board/1"' in errs
    assert errors([1]) == ["(document): must be a JSON object, got an array"]


def test_bad_dates_are_named_with_the_jalali_hint():
    doc = schedule_doc(effective="1405-01-01", exceptions=[
        {"kind": "holiday", "date": "2026-02-30", "reason": "x"},
        {"kind": "closure", "from": "2026-12-20", "to": "2026-12-10", "reason": "آلودگی هوا"},
        {"kind": "closure", "from": "2026-06-01", "to": "2026-12-01", "reason": "گرما"},
        {"kind": "holiday", "date": "2026-12-01", "from": "2026-12-01", "to": "2026-12-02", "reason": "x"},
        {"kind": "holiday", "reason": "x"}])
    errs = errors(doc)
    assert 'effective_from: must be a Gregorian date (2000-2199), got "1405-01-01", which looks like a Jalali date' in errs
    assert 'exceptions[0].date: must be a date as YYYY-MM-DD, got "2026-02-30"' in errs
    assert 'exceptions[1].to: must not be before from (2026-12-20), got "2026-12-10"' in errs
    assert "exceptions[2]: covers 184 days; at most 92 are allowed" in errs
    assert "exceptions[3]: give either date, or from and to, not both" in errs
    assert "exceptions[4]: needs date, or from and to" in errs


def test_exceptions_kinds_reasons_shifts_and_overlaps():
    doc = schedule_doc(effective="2026-06-01", exceptions=[
        {"kind": "vacation", "date": "2026-12-01", "reason": "x"},
        {"kind": "hours", "date": "2026-12-02", "reason": "کاهش ساعت کاری"},
        {"kind": "hours", "date": "2026-12-03", "shifts": [], "reason": "x"},
        {"kind": "closure", "date": "2026-12-04", "shifts": ["07:30-10:00"], "reason": "x"},
        {"kind": "closure", "date": "2026-12-05", "reason": ""},
        {"kind": "closure", "date": "2026-12-06", "reason": "آلودگی\u202e هوا"},
        {"kind": "closure", "date": "2026-12-07", "reason": "x" * 201},
        {"kind": "closure", "from": "2026-12-10", "to": "2026-12-12", "reason": "آلودگی هوا"},
        {"kind": "holiday", "date": "2026-12-11", "reason": "سوگواری"},
        {"kind": "holiday", "date": "2026-03-25", "reason": "old"},
        {"kind": "holiday", "date": "2026-12-20", "reason": "x", "note": "?"}])
    errs = errors(doc)
    assert 'exceptions[0].kind: must be one of holiday, closure, hours, got "vacation"' in errs
    assert 'exceptions[1].shifts: is required for kind "hours"' in errs
    assert "exceptions[2].shifts: must list at least one shift (use a closure for a closed day)" in errs
    assert 'exceptions[3].shifts: only kind "hours" has shifts; a closure closes the whole day' in errs
    assert "exceptions[4].reason: must not be empty" in errs
    assert any(e.startswith("exceptions[5].reason: U+202E RIGHT-TO-LEFT OVERRIDE at position") for e in errs), errs
    assert "exceptions[6].reason: must be at most 200 characters, got 201" in errs
    assert ("exceptions[8]: covers 2026-12-11, which exceptions[7] already covers "
            "(one entry per day; put both reasons in one entry)") in errs
    assert "exceptions[9]: ends 2026-03-25, before effective_from 2026-06-01: it would never apply" in errs
    assert any(e.startswith("exceptions[10].note: unknown key") for e in errs)
    assert len(errs) == 10


def test_holiday_list_rules():
    good = holidays_doc(holidays=[{"date": "2026-03-21", "reason": "عید نوروز"},
                                  {"from": "2026-03-22", "to": "2026-03-24", "reason": "عید نوروز"}])
    h = parse_holidays(good)
    assert h.scope.key == "national" and h.covers(dt.date(2027, 3, 20)) and not h.covers(dt.date(2027, 3, 21))
    assert h.holiday(dt.date(2026, 3, 23)).reason == "عید نوروز" and h.holiday(dt.date(2026, 3, 25)) is None
    assert parse_document(good) == h

    bad = holidays_doc(level="office", office="23-1234", covers=("2026-03-21", "2030-03-20"),
                       holidays=[{"date": "2031-01-01", "reason": "x"}, {"date": "2026-05-01", "kind": "hours", "reason": "y"},
                                 {"date": "2026-05-01", "reason": "z"}])
    errs = errors(bad, parse_holidays)
    assert 'scope.level: must be one of national, province, got "office"' in errs
    assert "covers: covers 1461 days; at most 1100 are allowed" in errs
    assert any(e.startswith("holidays[1].kind: unknown key") for e in errs)
    assert any(e.startswith("holidays[2]: covers 2026-05-01, which holidays[1] already covers") for e in errs)

    outside = holidays_doc(holidays=[{"date": "2027-04-01", "reason": "روز جمهوری اسلامی"}])
    assert errors(outside, parse_holidays) == ["holidays[0]: 2027-04-01 lies outside covers (2026-03-21 to 2027-03-20)"]
    no_cover = holidays_doc()
    del no_cover["covers"]
    assert any(e.startswith("covers: is required") for e in errors(no_cover, parse_holidays))


def test_parse_document_names_both_formats():
    with pytest.raises(ScheduleInvalid, match='format: must be "pishkhan.schedule/1" or "pishkhan.holidays/1", got "x"'):
        parse_document({"format": "x"})
