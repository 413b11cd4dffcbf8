"""History figures kept on ingest, on SQLite and PostgreSQL: the monitor's path writes a report's figures and
its rollups in the report's transaction, a report sent again moves them once, figures filed before the device's
province was known follow it, and rankings over any range (whole Jalali months less or plus days) equal the
sum of the days."""

from __future__ import annotations

import datetime as dt
import random

from central import history, registry
from central.fleet import Fleet
from central.history import Period
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics
from test_history import day_report, seed

T = Topics()
RECEIVED = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.timezone.utc)
DAY = dt.date(2026, 11, 30)


def send(fleet, device, seq, report, *, date=DAY, minutes=0, accepted=1):
    at = payloads.format_time(RECEIVED + dt.timedelta(minutes=minutes))
    report = {**report, "events": [{**e, "start": "2026-11-30T05:00:00Z"} for e in report["events"]]}
    message = payloads.report(device=device, seq=seq, sent_at=at, date=date.isoformat(), report=report)
    counts = fleet.ingest([(T.device(device, "report"), payloads.encode(message), at)])
    assert counts.accepted == accepted, counts


def rollups(db):
    months = db.query("SELECT device_id, month, province, reports, closed_minutes, late_openings FROM report_months "
                      "WHERE reports <> 0 OR closed_minutes <> 0 OR unreadable <> 0 ORDER BY device_id")
    days = db.query("SELECT date, province, reports, closed_minutes FROM report_days "
                    "WHERE reports <> 0 OR closed_minutes <> 0 OR unreadable <> 0 ORDER BY date, province")
    return ([tuple(r.values()) for r in months], [tuple(r.values()) for r in days])


def test_the_monitor_keeps_a_reports_figures_and_a_report_sent_again_moves_them_once(fleet_db):
    registry.register(fleet_db, device_id="dev-1", office_id="23-0001", province="23", office_name="دفتر یک")
    fleet = Fleet(fleet_db)
    send(fleet, "dev-1", 1, day_report(serving=300, closed=60, late=30))
    row = fleet_db.query_one("SELECT province, readable, closed_minutes, late_openings FROM report_figures "
                             "WHERE device_id = 'dev-1' AND date = ?", (DAY.isoformat(),))
    assert row == {"province": "23", "readable": 1, "closed_minutes": 60, "late_openings": 1}
    month = history.month_of(DAY.isoformat())
    assert month == "1405-09"  # 9 Azar 1405
    assert rollups(fleet_db) == ([("dev-1", month, "23", 1, 60, 1)], [(DAY.isoformat(), "23", 1, 60)])
    period = Period(DAY, DAY)
    assert history.refresh(fleet_db, period, province="23") == 0  # nothing left to read: kept on ingest

    send(fleet, "dev-1", 2, day_report(serving=350, closed=10), minutes=5)  # the office sends its day again
    send(fleet, "dev-1", 2, day_report(serving=350, closed=10), minutes=6, accepted=0)  # a duplicate
    assert rollups(fleet_db) == ([("dev-1", month, "23", 1, 10, 0)], [(DAY.isoformat(), "23", 1, 10)])
    assert fleet_db.query_one("SELECT COUNT(*) AS n FROM report_figures")["n"] == 1
    assert history.refresh(fleet_db, period) == 0
    assert history.trend(fleet_db, period, province="23")["totals"]["closed_minutes"] == 10
    assert history.offices(fleet_db, period, rank_by="closed_minutes", limit=5)[0]["closed_minutes"] == 10


def test_figures_filed_before_the_devices_province_was_known_follow_it(fleet_db):
    fleet = Fleet(fleet_db)
    send(fleet, "dev-2", 1, day_report(serving=200, closed=160))  # not registered yet: filed under ''
    period = Period(DAY, DAY)
    assert history.offices(fleet_db, period, province="11") == []
    registry.register(fleet_db, device_id="dev-2", office_id="11-0002", province="11", office_name="دفتر دو")
    rows = history.offices(fleet_db, period, province="11")
    assert [(r["device_id"], r["closed_minutes"]) for r in rows] == [("dev-2", 160)]
    assert history.trend(fleet_db, period, province="11")["totals"]["closed_minutes"] == 160
    assert rollups(fleet_db)[1] == [(DAY.isoformat(), "11", 1, 160)]  # nothing left under ''


def test_rankings_over_any_range_equal_the_sum_of_the_days(fleet_db):
    """Aban 1405 is 23 Oct – 21 Nov 2026, Azar 22 Nov – 21 Dec: ranges within, across and over whole months."""
    rnd = random.Random(5)
    offices = [(f"dev-{i:02d}", "23" if i % 3 else "11", f"دفتر {i}") for i in range(9)]
    first = dt.date(2026, 10, 10)
    reports = {}
    for n in range(60):
        for device, _, _ in offices:
            if rnd.random() < 0.8:
                closed = rnd.choice((0, 5, 40, 120))
                reports[(device, first + dt.timedelta(days=n))] = day_report(
                    serving=360 - closed, closed=closed, late=rnd.choice((0, 0, 15)), printer=rnd.choice((0, 30)))
    seed(fleet_db, offices, [(d, day, r) for (d, day), r in reports.items()])
    history.refresh(fleet_db, Period(first, first + dt.timedelta(days=59)))  # the back-fill, once

    def summed(period, province):
        out = {}
        for (device, day), r in reports.items():
            if period.start <= day <= period.end and (province is None or dict(
                    (d, p) for d, p, _ in offices)[device] == province):
                figures = out.setdefault(device, {"days_reported": 0, "closed_minutes": 0, "late_openings": 0,
                                                  "printer_out_minutes": 0, "serving_minutes": 0})
                figures["days_reported"] += 1
                figures["closed_minutes"] += r["closed_minutes"]
                figures["late_openings"] += int(bool(r["late_opening_minutes"]))
                figures["printer_out_minutes"] += sum(e["minutes"] for e in r["events"] if e["kind"] == "printer_out")
                figures["serving_minutes"] += r["serving_minutes"]
        return out

    ranges = [(dt.date(2026, 10, 23), dt.date(2026, 11, 21)),  # Aban, whole
              (dt.date(2026, 10, 25), dt.date(2026, 11, 30)),  # Aban less two days, and nine days of Azar
              (dt.date(2026, 11, 2), dt.date(2026, 12, 1)),  # crosses the month
              (dt.date(2026, 10, 10), dt.date(2026, 12, 8)),  # everything
              (dt.date(2026, 11, 10), dt.date(2026, 11, 30)),  # a week and days of Aban, most of Azar held
              (dt.date(2026, 11, 20), dt.date(2026, 11, 23))]
    used = {"months": False, "take": False, "add": False, "add_weeks": False, "take_weeks": False}
    for start, end in ranges:
        period = Period(start, end)
        parts = history._Parts(fleet_db, period, province=None)
        used = {k: v or bool(getattr(parts, k)) for k, v in used.items()}
        for province in (None, "23"):
            want = summed(period, province)
            got = {r["device_id"]: {k: r[k] for k in want[r["device_id"]]}
                   for r in history.offices(fleet_db, period, province=province)}
            assert got == want, (start, end, province)
            top = history.offices(fleet_db, period, province=province, rank_by="closed_minutes", limit=3)
            assert [(r["device_id"], r["closed_minutes"]) for r in top] == sorted(
                ((d, f["closed_minutes"]) for d, f in want.items() if f["closed_minutes"]),
                key=lambda x: (-x[1], x[0]))[:3]
        trend = history.trend(fleet_db, period, province="23")
        assert trend["totals"]["closed_minutes"] == sum(f["closed_minutes"] for f in summed(period, "23").values())
    assert all(used.values()), used  # each way of composing a range was used


def test_figures_kept_from_before_the_rollups_are_read_again_once(fleet_db):
    seed(fleet_db, [("dev-a", "23", "دفتر")], [("dev-a", DAY, day_report(serving=300, closed=60))])
    period = Period(DAY, DAY)
    assert history.refresh(fleet_db, period) == 1
    fleet_db.write(lambda c: (c.execute("DELETE FROM report_months"), c.execute("DELETE FROM report_days"),
                              c.execute("DELETE FROM report_figures_mark WHERE name = 'rollups'")))
    assert history.offices(fleet_db, period, rank_by="closed_minutes", limit=3)[0]["closed_minutes"] == 60
    assert history.refresh(fleet_db, period) == 0
