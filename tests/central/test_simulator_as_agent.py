"""The office simulator speaks as the real agent (the analyst's N6): a late opening is the judge's
event sent at the threshold with ``at`` the period's start, then ``office.opened``; so the fleet page lists a
late office once, with its opening, beside the same late opening in the office's report. Office names carry
Persian digits."""

from __future__ import annotations

import dataclasses
import datetime as dt

import dashboard_fleet as F

from central import registry, simulate, status
from central.db import open_db
from central.fleet import Fleet
from pishkhan.compliance.judge import Event
from pishkhan.protocol import payloads
from pishkhan.text import jalali

SATURDAY = jalali.today() - dt.timedelta(days=(jalali.today().weekday() - 5) % 7)


def at(hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(SATURDAY, dt.time(hour, minute), jalali.TEHRAN)


def test_a_simulated_late_opening_is_the_agents_and_the_fleet_lists_it_once(tmp_path):
    fleet = simulate.SimulatedFleet(1, behaviour=simulate.Behaviour(late_opening=1.0, printer_faults_per_day=0,
                                                                    outages_per_day=0))
    [device] = fleet.devices
    sent = []
    device.publish = lambda stream, message, retain=False: sent.append((stream, message))
    device.tick(at(7, 0), 30)
    device.late_by = 23.0  # opens 07:53 (province 00 opens 07:30)
    for minute in (34, 36, 40, 54):
        device.tick(at(7, minute), 60)
    events = [(m["event"], m) for s, m in sent if s == "event"]
    assert [e for e, _ in events] == ["late_opening", "office.opened"]
    late, opened = events[0][1], events[1][1]
    assert late["at"] == F.iso(at(7, 30)) and opened["at"] == F.iso(at(7, 53))
    assert set(late["detail"]) == {f.name for f in dataclasses.fields(Event)}  # the judge's event, whole
    assert (late["detail"]["start"], late["detail"]["end"], late["detail"]["minutes"]) == \
        (F.iso(at(7, 30)), F.iso(at(7, 36)), 6)
    assert late["detail"]["detail"]["opened_at"] is None

    db = open_db(str(tmp_path / "fleet.db"))
    office = simulate.office_of(1)
    assert office["office_name"] == "دفتر پیشخوان دولت ۱"
    registry.register(db, **office)
    report = F.report_of_day(SATURDAY, [("closed", at(7, 30), at(7, 53)), ("serving", at(7, 53), at(11, 0))],
                             until=at(11, 0), device=device.id, office=office["office_id"], province="00",
                             events=[F.judge_event("late_opening", at(7, 30), at(7, 53), opened_at=F.iso(at(7, 53)),
                                                   why="kiosk")])
    device.will_seq = device.next_seq()  # made at connect time
    sent.insert(0, ("status", device.birth()))
    sent.append(("report", payloads.report(device=device.id, seq=device.next_seq(), sent_at=F.iso(at(11, 0)),
                                           date=SATURDAY.isoformat(), report=report)))
    received = payloads.format_time(dt.datetime.now(dt.timezone.utc))
    counts = Fleet(db).ingest([(fleet.topics.device(device.id, s), device.encode(m), received) for s, m in sent])
    assert counts.refused == 0, counts.reasons
    view = status.fleet_view(Fleet(db), day=SATURDAY, province="00", state="late", now=at(12, 0))
    [row] = view["devices"]
    [shown] = row["late_events"]  # once: the event and the report's copy are one late opening
    assert (status.parse_time(shown["opened_at"]), shown["minutes"]) == (at(7, 53), 23)
    db.close()


def test_the_office_day_is_stamped_on_the_simulated_clock_within_what_the_centre_accepts():
    now = dt.datetime.now(dt.timezone.utc)
    assert simulate.stamp(now - dt.timedelta(hours=5)) == payloads.format_time(now - dt.timedelta(hours=5))
    far = now + dt.timedelta(days=2, hours=3)
    assert simulate.stamp(far) == payloads.format_time(far - dt.timedelta(days=2))  # the same time of day
