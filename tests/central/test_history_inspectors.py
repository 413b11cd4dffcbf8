"""What the inspectors and analysts need of the history: exports an inspector opens in a spreadsheet (Persian
header, BOM, Jalali dates, province names, a right-to-left sheet), «این ماه در برابر ماه پیش» on /history in one
click, and closed days."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest

from central import history
from central.history import Period

from test_history import START, day_report, sample, seed
from test_history_pages import NOW  # Tehran 1405/08/16

from central.fleet import Fleet
from central.users import Users
from central.web.app import create_app

SQLITE = pytest.mark.parametrize("fleet_db", ["sqlite"], indirect=True)
WEEK = Period(START, START + dt.timedelta(days=6))


@SQLITE
def test_the_csv_has_a_bom_a_persian_header_jalali_dates_and_province_names(fleet_db):
    sample(fleet_db)
    rows = history.offices(fleet_db, WEEK, province="23")
    text = history.to_csv(rows)
    assert text.startswith("\ufeff")  # Excel reads the file as UTF-8 only with it
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table[0][:8] == ["شناسه دستگاه", "شناسه دفتر", "نام دفتر", "کد استان", "استان", "از تاریخ", "تا تاریخ",
                            "از تاریخ (میلادی)"]
    assert len(table[0]) == len(history.EXPORT_COLUMNS)
    first = dict(zip(history.EXPORT_COLUMNS, table[1]))
    assert first["province"] == "23" and first["province_name"] == "تهران"
    assert (first["start_jalali"], first["end_jalali"], first["start"]) == ("1405/08/10", "1405/08/16", "2026-11-01")
    assert first["office_name"] == "'=HYPERLINK(\"x\")"  # still formula-safe
    machine = history.to_csv(rows, header="en")
    assert not machine.startswith("\ufeff")
    assert next(csv.reader(io.StringIO(machine))) == list(history.EXPORT_COLUMNS)
    with pytest.raises(history.HistoryRefused) as refused:
        history.to_csv(rows, header="de")
    assert refused.value.reason == "header"


@SQLITE
def test_the_xlsx_is_right_to_left_sized_and_types_text_without_a_visible_apostrophe(fleet_db):
    from openpyxl import load_workbook

    sample(fleet_db)
    rows = history.offices(fleet_db, WEEK, province="23")
    sheet = load_workbook(io.BytesIO(history.to_xlsx(rows))).active
    assert sheet.sheet_view.rightToLeft and sheet.freeze_panes == "A2"
    assert sheet.cell(row=1, column=3).value == "نام دفتر"
    name = history.EXPORT_COLUMNS.index("office_name") + 1
    assert sheet.column_dimensions["C"].width == history.XLSX_WIDTHS["office_name"]
    cell = sheet.cell(row=2, column=name)
    assert cell.value == "=HYPERLINK(\"x\")" and cell.data_type == "s" and cell.quotePrefix
    plain = sheet.cell(row=3, column=name)
    assert plain.value == "دفتر دو" and not plain.quotePrefix
    assert sheet.cell(row=2, column=history.EXPORT_COLUMNS.index("province_name") + 1).value == "تهران"
    assert sheet.cell(row=2, column=history.EXPORT_COLUMNS.index("start_jalali") + 1).value == "1405/08/10"


@pytest.fixture
def client(tmp_path):
    from starlette.testclient import TestClient

    from central.db import open_db

    db = open_db(str(tmp_path / "fleet.db"))
    sample(db)
    friday = dt.date(2026, 11, 6)  # 1405/08/15, a Friday: the office sent its report of a day without hours
    closed_day = {"scheduled_minutes": 0, "serving_minutes": 0, "degraded_minutes": 0, "closed_minutes": 0,
                  "unknown_minutes": 0, "events": []}
    seed(db, [], [])
    db.write(lambda c: c.executemany(
        "INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?)",
        [(d, day.isoformat(), "23", json.dumps(r), "2026-11-07T00:00:00+00:00") for d, day, r in (
            ("dev-a2", friday, closed_day),
            ("dev-a2", dt.date(2026, 9, 25), day_report(serving=330, closed=30)),   # 1405/07/03: the same days
            ("dev-a2", dt.date(2026, 10, 15), day_report(serving=283, closed=77)),  # 1405/07/23: only the period
            ("dev-a1", NOW.date(), day_report(serving=100, closed=200)))]))         # today, not over
    Users(db).add("admin", "centre-pass-1")
    client = TestClient(create_app(Fleet(db), now=lambda: NOW))
    token = re.search(r'name="csrf_token" value="(\w+)"', client.get("/login").text)[1]
    client.post("/login", data={"username": "admin", "password": "centre-pass-1", "csrf_token": token})
    yield client
    db.close()


def test_month_against_last_is_one_click_to_yesterday_against_the_same_days_of_last_month(client):
    page = client.get("/history?province=23").text
    link = re.search(r'<a id="month-vs-last" href="/history\?([^"]+)">این ماه در برابر ماه پیش</a>', page)
    # Aban 1405 from its first day to yesterday (1405/08/01–15), against Mehr 1405/07/01–15
    assert link and link[1] == "start=2026-10-23&amp;end=2026-11-06&amp;province=23&amp;against=month"
    query = link[1].replace("&amp;", "&")
    data = client.get("/api/history?" + query).json()
    assert data["against"] == "month" and not data["includes_today"]
    assert (data["previous"]["start"], data["previous"]["end"]) == ("2026-09-23", "2026-10-07")
    assert data["previous"]["totals"]["closed_minutes"] == 30  # 1405/07/23 is not one of the same days
    assert data["totals"]["closed_minutes"] == 60 + 100 + 90  # today's 200 not counted
    page = client.get("/history?" + query).text
    assert "همان روزهای ماه پیش (" in page and "امروز که هنوز تمام نشده در این دوره نیست" in page
    assert 'name="against" value="month"' in page  # a new date range keeps the comparison
    plain = client.get("/api/history?start=2026-10-23&end=2026-11-06&province=23").json()
    assert plain["previous"]["start"] == "2026-10-08" and plain["previous"]["totals"]["closed_minutes"] == 77
    today = client.get("/history?start=2026-11-01&end=2026-11-07&province=23").text
    assert "امروز هم در این دوره است" in today
    assert client.get("/history?against=year").status_code == 400


def test_the_same_days_of_last_month_fit_a_shorter_month_and_a_months_first_day_counts_today():
    from pishkhan.text import jalali

    farvardin = Period(jalali.from_jalali(1405, 1, 1), jalali.from_jalali(1405, 1, 31))
    before = farvardin.month_before()  # Esfand 1404 has 29 days: all of it, not into Farvardin
    assert before.start == jalali.from_jalali(1404, 12, 1) and before.end == farvardin.start - dt.timedelta(days=1)
    first = jalali.from_jalali(1405, 9, 1)
    assert history.month_so_far(first) == (Period(first, first), True)
    assert history.month_so_far(first + dt.timedelta(days=3)) == (Period(first, first + dt.timedelta(days=2)), False)


def test_a_closed_day_the_office_reported_is_a_reported_day_and_the_page_says_what_not_reported_counts(client):
    data = client.get("/api/history?start=2026-11-01&end=2026-11-06&province=23").json()
    friday = data["days"][-1]
    assert friday["date"] == "2026-11-06" and friday["offices_reporting"] == 1 and friday["open_percent"] is None
    assert data["totals"]["days_reported"] == 4  # 1, 2, 4 Nov and the Friday
    ranking = client.get("/api/ranking?start=2026-11-01&end=2026-11-06&province=23&by=days_not_reported").json()
    not_reported = {o["device_id"]: o["days_not_reported"] for o in ranking["offices"]}
    assert not_reported["dev-a2"] == 3  # 6 days, 3 sent: the Friday too
    page = client.get("/history?start=2026-11-01&end=2026-11-06&province=23").text
    row = re.search(r'<tr data-date="2026-11-06".*?</tr>', page, re.S)[0]
    assert re.search(r'data-col="open_percent"[^>]*>بی‌ساعت کاری \(تعطیل\)</td>', row)
    assert 'id="not-reported-means"' in page and "روز تعطیل" in page
    assert 'id="not-reported-means"' in client.get("/ranking?start=2026-11-01&end=2026-11-06").text


def test_the_export_links_give_the_inspectors_file_and_header_en_the_machines(client):
    body = client.get("/history.csv?start=2026-11-01&end=2026-11-07&province=23").content
    assert body.startswith("\ufeff".encode()) and "نام دفتر".encode() in body.split(b"\r\n")[0]
    body = client.get("/history.csv?start=2026-11-01&end=2026-11-07&province=23&header=en").content
    assert body.split(b"\r\n")[0].decode() == ",".join(history.EXPORT_COLUMNS)
    assert client.get("/history.xlsx?start=2026-11-01&end=2026-11-07&header=xx").status_code == 400
