"""Attacks on the dashboard's history pages, as one office's device or a province user would make them.

Hostile daily reports (as a device could have had stored, or a row written by hand) feed the history, the
ranking and the exports; hostile query parameters (dates huge, negative, reversed, Jalali, in Persian digits;
provinces typed any way; SQL and LIKE text; sort keys and pages) go to /history, /ranking, /history.csv,
/history.xlsx, /devices, /health, /device/{id}/health and /device/{id}/day. Every answer is a page or a
refusal (400/404), never a server error; a province user never reaches another province's rows; every figure
stays within its bounds; no export cell is a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from urllib.parse import quote

import pytest
from test_pages_hostile import login

from central import history
from central.db import open_db
from central.fleet import Fleet
from central.users import Users
from central.web.app import create_app

NOW = dt.datetime(2026, 11, 7, 12, 0, tzinfo=dt.timezone.utc)  # Tehran 1405/08/16
DAY = "2026-11-05"
USERS = {"admin": ("centre-pass-1", None), "ops23": ("tehran-pass-2", "23")}

#: Raw report texts a device (or a hand) could have left in ``reports`` for one day.
HOSTILE_REPORTS = {
    "list": "[1, 2, 3]",
    "string": '"just text"',
    "nan": '{"scheduled_minutes": NaN, "serving_minutes": Infinity, "closed_minutes": -Infinity}',
    "types": '{"scheduled_minutes": "1440", "closed_minutes": 1e308, "unknown_minutes": 99999999999999999999999,'
             ' "late_opening_minutes": true, "degraded_minutes": -5}',
    "events_object": '{"closed_minutes": 10, "events": {"kind": "late_opening", "minutes": 9999}}',
    "events_junk": '{"events": [{"kind": ["late_opening"]}, {"kind": {"a": 1}}, null, 5, "x", '
                   '{"kind": "printer_out", "minutes": "60"}, {"kind": "display_off", "minutes": -60}]}',
    "events_flood": json.dumps({"scheduled_minutes": 1440, "closed_minutes": 1440, "events": [
        {"kind": k, "minutes": 1440} for _ in range(3000) for k in ("late_opening", "printer_out", "display_off")]}),
    "deep": '{"events": ' + "[" * 5000 + "]" * 5000 + "}",
    "twice": '{"closed_minutes": 10, "closed_minutes": 1440}',
    "not_json": "{not json",
    "runs": json.dumps({"periods": [{"start": "x"}, {"start": "2026-11-05T04:30:00Z", "end": "2026-11-04T04:30:00Z"},
                                    {"start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z"}, None, 7],
                        "timeline": [{"state": s, "start": "2026-11-05T05:00:00Z", "end": e} for s, e in (
                            ("serving", "9999-12-31T23:59:59Z"), ("x" * 3000, "2026-11-05T06:00:00Z"),
                            ("closed", "2026-11-05T04:00:00Z"), (None, None))] * 400,
                        "events": [{"kind": "late_opening", "start": "2026-11-05T05:00:00Z", "minutes": 10 ** 30},
                                   {"kind": "\u202e" * 100, "start": "2026-11-05T05:00:00+99:99"}] * 200}),
    "huge_late": '{"late_opening_minutes": 1441, "events": [{"kind": "late_opening", "minutes": 1440}, '
                 '{"kind": "late_opening", "minutes": 1440}]}',
}
#: Office names an export must not let a spreadsheet run (the registry's, shown in the CSV and the xlsx).
FORMULA_NAMES = ("=HYPERLINK(\"http://x\")", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "\uff1d1+1", "\uff0b1",
                 "\uff0d1", "\uff20SUM(A1)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from starlette.testclient import TestClient

    db = open_db(str(tmp_path_factory.mktemp("attacks22") / "fleet.db"))
    devices = [(f"dev-h{i:02d}", "23", f"23-{i:04d}", name) for i, name in enumerate(HOSTILE_REPORTS)]
    devices += [(f"dev-f{i:02d}", "23", f"23-9{i:03d}", name) for i, name in enumerate(FORMULA_NAMES)]
    devices += [("dev-other", "11", "11-0001", "دفتر شیراز")]
    db.write(lambda c: c.executemany("INSERT INTO devices(device_id, province, office_id, office_name) "
                                     "VALUES (?,?,?,?)", devices))
    rows = [(f"dev-h{i:02d}", DAY, "23", text) for i, text in enumerate(HOSTILE_REPORTS.values())]
    rows += [(f"dev-f{i:02d}", DAY, "23", json.dumps({"scheduled_minutes": 60, "closed_minutes": 60 - i}))
             for i in range(len(FORMULA_NAMES))]
    rows += [("dev-other", DAY, "11", json.dumps({"scheduled_minutes": 600, "closed_minutes": 600,
                                                  "late_opening_minutes": 600}))]
    db.write(lambda c: c.executemany("INSERT INTO reports(device_id, date, province, report, received_at) "
                                     "VALUES (?,?,?,?, '2026-11-06T00:00:00Z')", rows))
    users = Users(db)
    for name, (password, province) in USERS.items():
        users.add(name, password, province=province)
    app = create_app(Fleet(db), now=lambda: NOW, metrics_cache_seconds=0)
    clients = {}
    for name, (password, _) in USERS.items():
        clients[name] = TestClient(app, raise_server_exceptions=False).__enter__()
        login(clients[name], name, password)
    yield {"db": db, "clients": clients}
    for client in clients.values():
        client.__exit__(None, None, None)
    db.close()


def test_hostile_reports_are_bounded_figures_and_counted_unreadable(site):
    admin = site["clients"]["admin"]
    data = admin.get(f"/api/history?start={DAY}&end={DAY}&province=23").json()
    day = data["days"][0]
    assert data["unreadable"] > 0
    known = len(HOSTILE_REPORTS) + len(FORMULA_NAMES)
    for key in history.FIGURES:  # each office's day adds at most one day's minutes, and one late opening
        assert 0 <= day[key] <= 1440 * known, (key, day[key])
    assert day["late_openings"] <= known and 0 <= (day["open_percent"] or 0) <= 100
    by = {r["device_id"]: r for r in history.offices(site["db"], history.Period(dt.date(2026, 11, 5),
                                                                                dt.date(2026, 11, 5)))}
    flood = by[f"dev-h{list(HOSTILE_REPORTS).index('events_flood'):02d}"]
    assert flood["printer_out_minutes"] == flood["display_off_minutes"] == flood["late_opening_minutes"] == 1440
    twice = by[f"dev-h{list(HOSTILE_REPORTS).index('twice'):02d}"]
    assert twice["closed_minutes"] in (10, 1440)
    for row in by.values():
        for key in history.FIGURES:
            assert row[key] is None or 0 <= row[key] <= 1440, (row["device_id"], key, row[key])
    for kind in history.RANK_BY:
        assert admin.get(f"/api/ranking?start={DAY}&end={DAY}&by={kind}").status_code == 200, kind
    for path in ("/history", "/ranking", "/history.csv", "/history.xlsx"):
        assert admin.get(f"{path}?start={DAY}&end={DAY}&province=23").status_code == 200, path


#: (query, the statuses it may get): never a 500.
QUERIES = [
    ("start=1405/08/16&end=1405/08/10", {400}),  # reversed, Jalali
    ("start=۱۴۰۵/۰۸/۱۰&end=۱۴۰۵/۰۸/۱۶", {200}),  # Persian digits
    ("start=١٤٠٥/٠٨/١٠&end=١٤٠٥/٠٨/١٦", {200}),  # Arabic-Indic digits
    ("start=1404/08/16&end=1405/08/16", {200}),  # 366 days
    ("start=1404/08/15&end=1405/08/16", {400}),  # 367 days
    ("start=1900-01-01&end=1900-12-31", {200}),  # its previous period is before 1900
    ("start=1900-01-01&end=1900-01-01", {200}),
    ("start=2999-12-31&end=2999-12-31", {200}),
    ("end=1900-01-01", {200}),  # the default start (30 days before) is before 1900
    ("start=1899-12-31&end=1900-01-01", {400}),
    ("start=3000-01-01", {400}),
    ("start=9999-12-31&end=9999-12-31", {400}),
    ("start=0001-01-01", {400}),
    ("start=-2026-01-01", {400}),
    ("start=2026-02-30", {400}),
    ("start=1403/12/30&end=1403/12/30", {200, 400}),  # Esfand 30 of a leap year or not: a day or a refusal
    ("start=1405/13/01", {400}),
    ("start=99999999999999999999-1-1", {400}),
    ("start=" + "1" * 41, {400}),
    ("start=2026-11-01%00", {400}),
    ("start=2026\u200f-11-01", {400}),
    ("start=۲۰۲۶-۱۱-۰۱&end=2026-11-07", {200}),
    ("province=۲۳", {200}), ("province=023", {200, 400}), ("province=99", {200, 400}),
    ("province=" + quote("23' OR '1'='1"), {400, 200}), ("province=%25", {400, 200}), ("province=_", {400, 200}),
    ("province=" + "9" * 5000, {400, 200}),  # 200: a province user's province is theirs, whatever is asked
    ("device=" + quote("dev-h00' OR 1=1 --"), {404}), ("device=%25", {404}), ("device=" + "x" * 5000, {404}),
    ("by=" + quote("closed_minutes; DROP TABLE reports"), {200, 400}), ("by=", {200, 400}),
    ("by=report", {200, 400}), ("by=__class__", {200, 400}),
]
PAGES = ("/history", "/api/history", "/ranking", "/api/ranking", "/history.csv", "/history.xlsx")
#: What each query is sent to: every page reads it alike (central.web.history._Asked), so the JSON of the trend and
#: of the ranking, and the CSV; the pages drawn and the xlsx get the periods at the calendar's ends.
ASKED = ("/api/history", "/api/ranking", "/history.csv")
DRAWN = ("/history", "/ranking", "/history.xlsx")


def test_hostile_queries_are_refused_or_answered_never_an_error(site):
    for user, client in site["clients"].items():
        for query, allowed in QUERIES:
            if user == "ops23" and not query.startswith(("province", "device", "start=1900", "by")):
                continue  # a province user's dates are read as anyone's
            edge = query.startswith(("start=1900", "end=1900", "start=2999", "start=1404"))
            for path in ASKED + (DRAWN if edge else ()):
                status = client.get(f"{path}?{query}").status_code
                assert status in allowed, (user, path, query, status)
    assert site["db"].query_one("SELECT COUNT(*) AS n FROM reports")["n"] >= len(HOSTILE_REPORTS)


def test_a_province_user_reaches_no_other_provinces_rows(site):
    ops = site["clients"]["ops23"]
    for path in PAGES:
        assert ops.get(f"{path}?start={DAY}&end={DAY}&device=dev-other").status_code == 404, path
        body = ops.get(f"{path}?start={DAY}&end={DAY}&province=11").content
        assert b"dev-other" not in body and "شیراز".encode() not in body, path
    for path in ("/device/dev-other/day", "/api/device/dev-other/day", "/device/dev-other/health",
                 "/api/device/dev-other/health", f"/device/dev-other/day?date={DAY}"):
        assert ops.get(path).status_code == 404, path
    assert b"dev-other" not in ops.get("/api/health?province=11").content
    assert b"dev-other" not in ops.get("/api/devices?province=11&q=dev").content
    ranking = ops.get(f"/api/ranking?start={DAY}&end={DAY}&by=late_openings&province=11").json()
    assert {r["province"] for r in ranking["offices"]} <= {"23"}


def test_the_exports_hold_no_formula(site):
    admin = site["clients"]["admin"]
    body = admin.get(f"/history.csv?start={DAY}&end={DAY}&province=23&header=en").content.decode("utf-8")
    names = [r["office_name"] for r in csv.DictReader(io.StringIO(body))]
    for name in FORMULA_NAMES:
        assert "'" + name in names, name
    for cell in (c for row in csv.reader(io.StringIO(body)) for c in row):
        assert not cell.startswith(("=", "+", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff20")), cell
        assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit(), cell
    xlsx = admin.get(f"/history.xlsx?start={DAY}&end={DAY}&province=23").content
    with zipfile.ZipFile(io.BytesIO(xlsx)) as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and all(b"<f>" not in book.read(n) and b"<f " not in book.read(n) for n in sheets)
    from openpyxl import load_workbook

    cells = [c for row in load_workbook(io.BytesIO(xlsx)).active.iter_rows() for c in row]
    assert not [c.value for c in cells if c.data_type == "f"]


#: Queries of the office pages and the device list, and the statuses they may get.
OFFICE_QUERIES = [
    ("/device/dev-h00/day?date=" + q, s) for q, s in (
        ("1405/08/14", {200}), ("۱۴۰۵/۰۸/۱۴", {200}), ("1900-01-01", {200}), ("2999-12-31", {200}),
        ("3000-01-01", {400}), ("-1", {400}), ("x" * 100, {400}), ("2026-02-29", {400}))
] + [
    ("/device/dev-h00/health?" + q, s) for q, s in (
        ("start=1900-01-01&end=1900-01-01", {200}), ("end=1900-01-02", {200}), ("start=2999-12-31&end=2999-12-31", {200}),
        ("start=2026-11-07&end=2026-11-01", {400}), ("start=2026-01-01&end=2026-11-07", {400}),
        ("start=" + "۱" * 50, {400}))
] + [
    ("/devices?" + q, s) for q, s in (
        ("q=%25", {200}), ("q=_", {200}), ("q=" + quote("' OR 1=1 --"), {200}), ("q=" + "x" * 10_000, {200}),
        ("q=\\", {200}), ("sort=-last_seen", {200}), ("sort=" + quote("office_name; DROP TABLE devices"), {400}),
        ("sort=--office", {200, 400}), ("page=۲", {200}), ("page=99999999999999999999", {400}), ("page=-1", {400}),
        ("page=1000000", {200}), ("size=0", {400}), ("size=101", {400}), ("page=1e3", {400}),
        ("status=x", {400}), ("board=x", {400}), ("state=closed", {200}), ("version=" + "v" * 500, {200}))
] + [
    ("/health?" + q, s) for q, s in (("page=99999999", {200}), ("page=-5", {200}), ("page=x", {200}),
                                      ("kind=x", {400}), ("kind=disk&page=2", {200}), ("province=" + "1" * 99, {400}))
]


def test_office_pages_and_the_device_list_refuse_or_answer(site):
    admin = site["clients"]["admin"]
    for path, allowed in OFFICE_QUERIES:
        assert admin.get(path).status_code in allowed, path
    for i in range(len(HOSTILE_REPORTS)):  # each hostile report's day, as a page and as JSON
        for path in (f"/device/dev-h{i:02d}/day?date={DAY}", f"/api/device/dev-h{i:02d}/day?date={DAY}"):
            assert admin.get(path).status_code == 200, path
    # a LIKE wildcard is a character, not "anything": % matches no office here, _ only the names holding one
    assert admin.get("/api/devices?q=%25").json()["total"] == 0
    assert admin.get("/api/devices?q=_").json()["total"] == sum("_" in name for name in HOSTILE_REPORTS)


def test_a_stored_day_serving_more_than_scheduled_is_no_share_above_100(tmp_path):
    db = open_db(str(tmp_path / "fleet.db"))
    db.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES ('dev-1', '23', '23-1', 'x')")
    db.execute("INSERT INTO reports(device_id, date, province, report, received_at) VALUES ('dev-1', ?, '23', ?, "
               "'2026-11-06T00:00:00Z')", (DAY, json.dumps({"scheduled_minutes": 1, "serving_minutes": 1440,
                                                            "degraded_minutes": 1440})))
    day = dt.date.fromisoformat(DAY)
    data = history.trend(db, history.Period(day, day), province="23")
    rows = history.offices(db, history.Period(day, day), province="23")
    db.close()
    assert data["days"][0]["open_percent"] <= 100 and data["totals"]["open_percent"] <= 100
    assert rows[0]["open_percent"] <= 100


def test_a_device_moved_from_another_province_brings_none_of_its_reports_there(site):
    """An office's device moved by the registry from 11 to 23: what it reported while in 11 is 11's (filed there),
    not shown to 23's user in the device's history."""
    from central import registry

    db, moved = site["db"], "dev-moved"
    db.execute("INSERT INTO devices(device_id) VALUES (?)", (moved,))  # heard from, then registered
    registry.register(db, device_id=moved, office_id="11-0777", province="11", office_name="دفتر شیراز")
    db.execute("INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?, ?, '11', ?, "
               "'2026-11-06T00:00:00Z')", (moved, DAY, json.dumps({"scheduled_minutes": 600, "closed_minutes": 600,
                                                                    "periods": [{"start": "2026-11-05T05:00:00Z",
                                                                                 "end": "2026-11-05T13:00:00Z"}]})))
    registry.move(db, device_id=moved, office_id="23-0777", province="23")
    data = site["clients"]["ops23"].get(f"/api/history?device={moved}&start={DAY}&end={DAY}").json()
    assert data["days"][0]["offices_reporting"] == 0 and data["totals"]["closed_minutes"] is None
    national = site["clients"]["admin"].get(f"/api/history?device={moved}&start={DAY}&end={DAY}").json()
    assert national["days"][0]["closed_minutes"] == 600  # the national user sees the device's whole past
    assert site["clients"]["ops23"].get(f"/api/device/{moved}/day?date={DAY}").json()["report"] is None
    assert site["clients"]["admin"].get(f"/api/device/{moved}/day?date={DAY}").json()["report"] is not None
