"""Compliance over a range from the offices' daily reports, on SQLite and PostgreSQL: the days with no
report are not zeros, the previous period, the weeks, the rankings and the exports (formula-safe)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from central import history
from central.history import Period

START = dt.date(2026, 11, 1)  # a Sunday


def day_report(*, serving=300, degraded=0, closed=0, unknown=0, late=0, printer=0, events=()):
    events = list(events)
    if late:
        events.append({"kind": "late_opening", "minutes": late})
    if printer:
        events.append({"kind": "printer_out", "minutes": printer})
    return {"scheduled_minutes": 360, "serving_minutes": serving, "degraded_minutes": degraded,
            "closed_minutes": closed, "unknown_minutes": unknown, "late_opening_minutes": late, "events": events}


def seed(db, offices, reports):
    """*offices*: (device_id, province, name); *reports*: (device_id, date, report dict or raw text)."""
    db.write(lambda c: c.executemany("INSERT INTO devices(device_id, province, office_id, office_name) VALUES (?,?,?,?)",
                                     [(d, p, f"{p}-{d[-2:]}", n) for d, p, n in offices]))
    province = {d: p for d, p, _ in offices}
    db.write(lambda c: c.executemany(
        "INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?)",
        [(d, day.isoformat(), province[d], r if isinstance(r, str) else json.dumps(r), "2026-12-01T00:00:00+00:00")
         for d, day, r in reports]))


OFFICES = [("dev-a1", "23", "=HYPERLINK(\"x\")"), ("dev-a2", "23", "دفتر دو"), ("dev-b1", "11", "دفتر شیراز")]


def sample(db):
    """Province 23 reports days 1, 2 and 4 of 7 (day 3 and 5–7 none); one earlier week for the comparison."""
    d = [START + dt.timedelta(days=i) for i in range(7)]
    seed(db, OFFICES, [
        ("dev-a1", d[0], day_report(serving=300, closed=60, late=30)),
        ("dev-a2", d[0], day_report(serving=360)),
        ("dev-a1", d[1], day_report(serving=200, closed=100, unknown=60, printer=45)),
        ("dev-a2", d[3], day_report(serving=180, degraded=90, closed=90)),
        ("dev-a2", d[3] - dt.timedelta(days=7), day_report(serving=360)),
        ("dev-b1", d[0], day_report(serving=10, closed=350, late=350)),
        ("dev-a1", d[4], "{not json"),
    ])


def test_a_provinces_days_say_which_had_no_report_and_compare_with_the_period_before(fleet_db):
    sample(fleet_db)
    data = history.trend(fleet_db, Period(START, START + dt.timedelta(days=6)), province="23")
    days = {d["date"]: d for d in data["days"]}
    assert len(days) == 7 and data["offices_known"] == 2
    first = days[START.isoformat()]
    assert (first["offices_reporting"], first["closed_minutes"], first["late_openings"]) == (2, 60, 1)
    assert first["open_percent"] == round(100 * 660 / 720, 1)
    silent = days[(START + dt.timedelta(days=2)).isoformat()]
    assert silent["offices_reporting"] == 0 and silent["closed_minutes"] is None and silent["open_percent"] is None
    assert days[(START + dt.timedelta(days=1)).isoformat()]["printer_out_minutes"] == 45
    assert data["unreadable"] == 1  # the day-5 report that is not JSON: counted, not a zero day
    assert days[(START + dt.timedelta(days=4)).isoformat()]["closed_minutes"] is None
    totals = data["totals"]
    assert (totals["days_reported"], totals["closed_minutes"], totals["offices_reporting"]) == (3, 250, 4)
    assert data["previous"]["start"] == (START - dt.timedelta(days=7)).isoformat()
    assert data["previous"]["totals"]["closed_minutes"] == 0 and data["change"]["closed_minutes"] == 250
    # weeks run Saturday to Friday: Sunday 1 Nov to Friday 6 Nov, then Saturday 7 Nov
    assert [(w["start"], w["end"]) for w in data["weeks"]] == [("2026-11-01", "2026-11-06"), ("2026-11-07", "2026-11-07")]
    assert data["weeks"][1]["closed_minutes"] is None  # a week with no report is not zeros either
    one = history.trend(fleet_db, Period(START, START + dt.timedelta(days=6)), device_id="dev-a2")
    assert [d["offices_reporting"] for d in one["days"]] == [1, 0, 0, 1, 0, 0, 0]
    assert one["totals"]["closed_minutes"] == 90


def test_rankings_put_the_worst_office_first_and_leave_out_those_with_nothing(fleet_db):
    sample(fleet_db)
    period = Period(START, START + dt.timedelta(days=6))
    closed = history.offices(fleet_db, period, rank_by="closed_minutes")
    assert [(r["device_id"], r["closed_minutes"]) for r in closed] == [("dev-b1", 350), ("dev-a1", 160),
                                                                       ("dev-a2", 90)]
    top = history.offices(fleet_db, period, rank_by="closed_minutes", limit=2)  # summed and cut in SQL
    assert [(r["device_id"], r["closed_minutes"], r["days_reported"], r["office_name"]) for r in top] == \
        [("dev-b1", 350, 1, "دفتر شیراز"), ("dev-a1", 160, 2, OFFICES[0][2])]
    assert history.offices(fleet_db, period, province="23", rank_by="late_openings", limit=5)[0]["device_id"] == "dev-a1"
    assert history.offices(fleet_db, period, province="11", rank_by="printer_out_minutes", limit=5) == []
    late = history.offices(fleet_db, period, province="23", rank_by="late_openings")
    assert [(r["device_id"], r["late_openings"], r["late_opening_minutes"]) for r in late] == [("dev-a1", 1, 30)]
    assert [r["device_id"] for r in history.offices(fleet_db, period, rank_by="printer_out_minutes")] == ["dev-a1"]
    missing = history.offices(fleet_db, period, rank_by="days_not_reported", limit=1)
    assert [(r["device_id"], r["days_not_reported"]) for r in missing] == [("dev-b1", 6)]
    with pytest.raises(history.HistoryRefused) as refused:
        history.offices(fleet_db, period, rank_by="drop table")
    assert refused.value.reason == "rank_by"


def test_periods_refuse_reversed_and_overlong_ranges():
    with pytest.raises(history.HistoryRefused) as e:
        Period(START, START - dt.timedelta(days=1))
    assert e.value.reason == "reversed"
    with pytest.raises(history.HistoryRefused) as e:
        Period(START, START + dt.timedelta(days=history.MAX_DAYS))
    assert e.value.reason == "too_long"
    assert Period(START, START + dt.timedelta(days=29)).previous() == \
        Period(START - dt.timedelta(days=30), START - dt.timedelta(days=1))


def test_exports_are_formula_safe_and_leave_not_reported_empty(fleet_db):
    from openpyxl import load_workbook

    sample(fleet_db)
    rows = history.offices(fleet_db, Period(START, START + dt.timedelta(days=6)), province="23")
    assert [r["device_id"] for r in rows] == ["dev-a1", "dev-a2"]
    table = list(csv.DictReader(io.StringIO(history.to_csv(rows, header="en"))))
    assert table[0]["office_name"] == "'=HYPERLINK(\"x\")" and table[0]["closed_minutes"] == "160"
    assert table[0]["days_not_reported"] == "5"
    fleet_db.write(lambda c: c.execute("INSERT INTO devices(device_id, province, office_name) VALUES "
                                       "('dev-a3', '23', '@SUM(1)\x07')"))
    rows = history.offices(fleet_db, Period(START, START + dt.timedelta(days=6)), province="23")
    table = list(csv.DictReader(io.StringIO(history.to_csv(rows, header="en"))))
    assert table[2]["closed_minutes"] == "" and table[2]["days_reported"] == "0"
    sheet = load_workbook(io.BytesIO(history.to_xlsx(rows, header="en"))).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[0] == list(history.EXPORT_COLUMNS)
    # typed as text, marked as Excel marks a cell typed with a leading ', no ' in the value
    assert values[1][2] == "=HYPERLINK(\"x\")" and sheet.cell(row=2, column=3).data_type == "s"
    assert sheet.cell(row=2, column=3).quotePrefix
    assert values[3][2].startswith("@SUM(1)") and values[3][history.EXPORT_COLUMNS.index("closed_minutes")] is None
    assert values[1][history.EXPORT_COLUMNS.index("closed_minutes")] == 160


def test_each_report_is_read_once_and_again_when_the_office_sends_it_again(fleet_db):
    sample(fleet_db)
    period = Period(START, START + dt.timedelta(days=6))
    assert history.refresh(fleet_db, period) == 6  # the seventh is the week before
    assert history.refresh(fleet_db, period) == 0
    again = history.trend(fleet_db, period, device_id="dev-a1")
    assert again["unreadable"] == 1 and again["totals"]["closed_minutes"] == 160
    fleet_db.write(lambda c: c.execute(
        "UPDATE reports SET report = ?, received_at = ? WHERE device_id = 'dev-a1' AND date = ?",
        (json.dumps(day_report(serving=360)), "2026-12-02T00:00:00+00:00", START.isoformat())))
    assert history.refresh(fleet_db, period) >= 1  # what came since the last (less a margin for late commits)
    assert history.refresh(fleet_db, period) == 0
    assert history.trend(fleet_db, period, device_id="dev-a1")["totals"]["closed_minutes"] == 100
    assert history.trend(fleet_db, period, province="23")["totals"]["closed_minutes"] == 190
    # a report of a day already read, received later, is read on the next refresh, whatever the scope
    fleet_db.write(lambda c: c.execute(
        "INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?)",
        ("dev-b1", (START + dt.timedelta(days=1)).isoformat(), "11", json.dumps(day_report(closed=7)),
         "2026-12-03T00:00:00+00:00")))
    assert history.offices(fleet_db, period, province="11", rank_by="closed_minutes", limit=5)[0]["closed_minutes"] == 357
