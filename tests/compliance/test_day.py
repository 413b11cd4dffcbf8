"""A simulated office day judged from the facts a real store holds.

The day: the Pi boots at 06:50 with its clock nine hours behind and no NTP
until 07:20; the kiosk accepts from 07:30 but no counter opens until 07:42
(late opening); the printer is out 09:00-09:20; the power fails 10:00-10:15
and the Pi comes back with a stale clock until 10:25; staff close the only
counter 11:00-11:30; it closes for good at 14:22, eight minutes early. The
next day is a holiday.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pishkhan.compliance.judge import Thresholds, judge_day
from pishkhan.compliance.uptime import beat
from pishkhan.hardware.clock import FakeClock
from pishkhan.schedule.hours import Hours
from pishkhan.store.database import Store
from pishkhan.text.jalali import TEHRAN

DAY = dt.date(2026, 11, 28)  # a Saturday
HOLIDAY = DAY + dt.timedelta(days=1)


def at(hh, mm, day=DAY):
    return dt.datetime.combine(day, dt.time(hh, mm), TEHRAN)


class OneShift(Hours):
    """07:30-14:30 every day but the holiday."""

    def periods(self, day):
        if day == HOLIDAY:
            return []
        return [(dt.datetime.combine(day, dt.time(7, 30), TEHRAN), dt.datetime.combine(day, dt.time(14, 30), TEHRAN))]


class Office:
    """The device: a real store file whose facts carry the fake clock's stamps."""

    def __init__(self, path, clock):
        self.clock = clock
        self.store = Store(path, clock=clock.now, boot=clock)
        self.true = clock.now()  # what a wall clock would say, kept by the test

    def run_until(self, hh, mm, *, day=DAY):
        """Let minutes pass, the agent beating at the start of each."""
        target = at(hh, mm, day)
        while self.true < target:
            beat(self.store, "agent")
            self.clock.advance(minutes=1)
            self.true += dt.timedelta(minutes=1)

    def fact(self, component, state, reason="", **detail):
        self.store.record_state(component, state, reason, **detail)


@pytest.fixture(scope="module")
def day_store(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("day")
    true_start = at(6, 50)
    clock = FakeClock(true_start - dt.timedelta(hours=9), synced=False, boot_id="boot-1")
    office = Office(tmp_path / "pishkhan.db", clock)
    office.true = true_start
    o = office
    o.fact("kiosk", "not_accepting", "closed")
    o.fact("printer", "ok")
    o.fact("counter:1", "closed")
    o.run_until(7, 15)
    o.fact("display", "on", "schedule: open hours", board=3)
    o.run_until(7, 20)
    clock.step_wall(o.true, synced=True)  # NTP at last
    o.run_until(7, 30)
    o.fact("kiosk", "not_accepting", "no_counter")  # open hours, but nobody at a counter
    o.run_until(7, 42)
    o.fact("counter:1", "open")
    o.fact("kiosk", "accepting")
    o.run_until(9, 0)
    o.fact("printer", "paper_out", "paper out")
    o.run_until(9, 20)
    o.fact("printer", "ok")
    o.run_until(10, 0)
    # power lost at 10:00; back at 10:15 with the clock where it was when it died
    clock.reboot(down=dt.timedelta(minutes=15), wall=at(10, 0) - dt.timedelta(hours=3), synced=False)
    o.true = at(10, 15)
    o.fact("kiosk", "accepting")
    o.fact("display", "on", "schedule: open hours", board=3)
    o.run_until(10, 25)
    clock.step_wall(o.true, synced=True)
    o.run_until(11, 0)
    o.fact("counter:1", "closed")
    o.fact("kiosk", "not_accepting", "no_counter")
    o.run_until(11, 30)
    o.fact("counter:1", "open")
    o.fact("kiosk", "accepting")
    o.run_until(14, 20)
    o.fact("kiosk", "not_accepting", "cutoff")  # the last customers' wait runs past closing
    o.run_until(14, 22)
    o.fact("counter:1", "closed")
    o.fact("kiosk", "not_accepting", "no_counter")
    o.run_until(14, 30)
    o.fact("kiosk", "not_accepting", "closed")
    o.run_until(15, 0)
    yield o.store
    o.store.close()


def test_the_day_gives_exactly_the_expected_minutes(day_store):
    report = judge_day(day_store, OneShift(), DAY)
    assert report["scheduled_minutes"] == 420
    assert (report["serving_minutes"], report["degraded_minutes"], report["closed_minutes"],
            report["unknown_minutes"]) == (78 + 40 + 45 + 172, 20, 12 + 30 + 8, 15)
    assert report["violation_minutes"] == 50
    assert report["late_opening_minutes"] == 12
    assert report["early_closing_minutes"] == 8
    assert report["outages"] == [{"start": "2026-11-28T06:30:00.000000Z", "end": "2026-11-28T06:45:00.000000Z",
                                  "minutes": 15}]
    assert report["complete"] is True
    assert report["untrusted_boots"] == []


def test_the_day_gives_exactly_the_expected_events(day_store):
    events = judge_day(day_store, OneShift(), DAY)["events"]
    got = [(e["kind"], e["start"][11:16], e["minutes"]) for e in events]
    # times in UTC (Tehran is UTC+3:30)
    assert got == [
        ("clock_not_synchronised", "03:20", 0),  # boot 1 at 06:50, re-dated
        ("clock_jumped", "03:50", 0),            # NTP stepped the clock at 07:20
        ("late_opening", "04:00", 12),
        ("printer_out", "05:30", 20),
        ("outage", "06:30", 15),
        ("clock_not_synchronised", "06:45", 0),  # boot 2 at 10:15, re-dated
        ("clock_jumped", "06:55", 0),
        ("closed_during_hours", "07:30", 30),
        ("early_closing", "10:52", 8),
    ]
    late = next(e for e in events if e["kind"] == "late_opening")
    assert late["detail"]["opened_at"] == "2026-11-28T04:12:00.000000Z"
    assert next(e for e in events if e["kind"] == "clock_jumped")["detail"]["seconds"] == pytest.approx(9 * 3600, abs=60)
    assert len({e["id"] for e in events}) == len(events)


def test_facts_before_the_sync_are_redated_not_lost(day_store):
    timeline = judge_day(day_store, OneShift(), DAY)["timeline"]
    # boot 2's kiosk said "accepting" at a stale 07:00 wall time; re-dated it is 10:15
    assert {"state": "serving", "start": "2026-11-28T06:45:00.000000Z", "end": "2026-11-28T07:30:00.000000Z",
            "why": ""} in timeline
    assert [t["state"] for t in timeline] == ["closed", "serving", "degraded", "serving", "unknown", "serving",
                                              "closed", "serving", "closed"]


def test_a_holiday_has_no_minutes_and_no_events(day_store):
    report = judge_day(day_store, OneShift(), HOLIDAY)
    assert report["scheduled_minutes"] == 0
    assert report["events"] == [] and report["timeline"] == []


def test_judging_so_far_fires_a_late_opening_while_still_closed(day_store):
    report = judge_day(day_store, OneShift(), DAY, until=at(7, 38))
    assert report["complete"] is False
    assert report["judged_minutes"] == 8
    late = [e for e in report["events"] if e["kind"] == "late_opening"]
    assert late and late[0]["detail"]["opened_at"] is None and late[0]["minutes"] == 8
    assert not any(e["kind"] == "early_closing" for e in report["events"])


def test_thresholds_decide_what_is_an_event(day_store):
    strict = judge_day(day_store, OneShift(), DAY, limits=Thresholds(late_opening_minutes=13, printer_out_minutes=21,
                                                                      early_closing_minutes=9, closed_minutes=31))
    kinds = {e["kind"] for e in strict["events"]}
    assert not kinds & {"late_opening", "printer_out", "early_closing", "closed_during_hours"}
    assert strict["closed_minutes"] == 50  # minutes are minutes whatever the thresholds


def test_a_boot_that_never_synchronised_is_unknown_not_closed(tmp_path):
    clock = FakeClock(at(7, 0) - dt.timedelta(days=2), synced=False, boot_id="boot-x")
    office = Office(tmp_path / "p.db", clock)
    office.true = at(7, 0)
    office.fact("kiosk", "not_accepting", "no_counter")
    office.run_until(15, 0)
    report = judge_day(office.store, OneShift(), DAY)
    assert report["unknown_minutes"] == 420 and report["closed_minutes"] == 0
    assert report["untrusted_boots"] == ["boot-x"]
    assert not any(e["kind"] in ("late_opening", "closed_during_hours") for e in report["events"])
    office.store.close()


def test_a_reopened_store_gives_the_same_report(day_store, tmp_path):
    first = judge_day(day_store, OneShift(), DAY)
    with Store(day_store.path, boot=FakeClock(at(20, 0), boot_id="boot-9")) as again:
        assert judge_day(again, OneShift(), DAY) == first


def test_a_closed_run_exactly_as_long_as_the_late_opening_threshold_is_a_late_opening(tmp_path):
    office = Office(tmp_path / "p.db", FakeClock(at(7, 0), synced=True, boot_id="boot-1"))
    office.fact("counter:1", "closed")
    office.fact("kiosk", "accepting")
    office.run_until(7, 35)
    office.fact("counter:1", "open")  # closed 07:30-07:35: five minutes
    office.run_until(8, 0)
    report = judge_day(office.store, OneShift(), DAY, until=at(8, 0), limits=Thresholds(late_opening_minutes=5))
    late = [(e["start"], e["minutes"]) for e in report["events"] if e["kind"] == "late_opening"]
    assert late == [("2026-11-28T04:00:00.000000Z", 5)] and report["late_opening_minutes"] == 5
    later = judge_day(office.store, OneShift(), DAY, until=at(8, 0), limits=Thresholds(late_opening_minutes=6))
    assert not any(e["kind"] == "late_opening" for e in later["events"])
    office.store.close()


def test_a_boot_whose_kiosk_says_nothing_yet_is_unknown_not_the_last_boots_state(tmp_path):
    clock = FakeClock(at(7, 0), synced=True, boot_id="boot-1")
    office = Office(tmp_path / "p.db", clock)
    office.fact("counter:1", "open")
    office.fact("kiosk", "accepting")
    office.run_until(9, 0)  # serving since 07:30
    clock.reboot(down=dt.timedelta(minutes=5), synced=True)  # boot-2 at 09:05; the kiosk silent until 09:15
    office.true = at(9, 5)
    office.run_until(9, 15)
    office.fact("kiosk", "accepting")
    office.run_until(10, 0)
    report = judge_day(office.store, OneShift(), DAY, until=at(10, 0))
    assert [(t["state"], t["start"][11:16], t["end"][11:16]) for t in report["timeline"]] == [
        ("serving", "04:00", "05:30"), ("unknown", "05:30", "05:45"), ("serving", "05:45", "06:30")]  # in UTC
    assert report["unknown_minutes"] == 15 and report["serving_minutes"] == 90 + 45
    office.store.close()
