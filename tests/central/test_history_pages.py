"""The history, ranking and export pages over real HTTP (uvicorn), on SQLite and PostgreSQL, and the
province trend in a real headless Chromium."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from urllib.parse import urlencode

import pytest
from dashboard_client import Client, serving
from services import chromium
from test_history import START, sample

from central.fleet import Fleet
from central.users import Users
from central.web.app import create_app
from pishkhan.text.persian import to_latin_digits

NOW = dt.datetime(2026, 11, 7, 12, 0, tzinfo=dt.timezone.utc)  # Tehran 7 Nov 2026, 1405/08/16
PASSWORDS = {"admin": "centre-pass-1", "ops11": "shiraz-pass-2"}


@pytest.fixture
def site(fleet_db):
    sample(fleet_db)
    users = Users(fleet_db)
    users.add("admin", PASSWORDS["admin"])
    users.add("ops11", PASSWORDS["ops11"], province="11")
    with serving(create_app(Fleet(fleet_db), now=lambda: NOW)) as url:
        yield url


def client(url, user):
    c = Client(url)
    assert c.login(user, PASSWORDS[user])[0] == 303
    return c


def test_history_ranking_and_exports_over_http(site):
    admin = client(site, "admin")
    status, _, body = admin.get("/api/history?start=1405/08/10&end=1405/08/16&province=23")
    data = json.loads(body)
    assert status == 200 and data["start"] == "2026-11-01" and len(data["days"]) == 7
    assert data["days"][2]["closed_minutes"] is None and data["totals"]["closed_minutes"] == 250
    page = admin.get("/history?" + urlencode({"start": "۱۴۰۵/۰۸/۱۰", "end": "۱۴۰۵/۰۸/۱۶", "province": "۲۳"}))[2].decode()
    assert 'data-date="2026-11-03" class="silent"' in page and "گزارش نداده" in page
    # Aban 1405 so far (from 1405/08/01) and the whole of Mehr (1405/07/01 to 1405/07/30), one click each
    assert 'id="this-month" href="/history?start=2026-10-23&amp;end=2026-11-07&amp;province=23"' in page
    assert 'id="last-month" href="/history?start=2026-09-23&amp;end=2026-10-22&amp;province=23"' in page
    status, _, body = admin.get("/api/ranking?start=1405/08/10&end=1405/08/16&by=closed_minutes")
    assert [o["device_id"] for o in json.loads(body)["offices"]] == ["dev-b1", "dev-a1", "dev-a2"]
    page = admin.get("/ranking?start=1405/08/10&end=1405/08/16&by=late_openings")[2].decode()
    assert 'href="/history?start=2026-11-01&amp;end=2026-11-07&amp;device=dev-b1"' in page
    status, headers, body = admin.get("/history.csv?start=2026-11-01&end=2026-11-07&province=23&header=en")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert 'filename="pishkhan-offices-2026-11-01-2026-11-07-province-23.csv"' in headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [r["device_id"] for r in rows] == ["dev-a1", "dev-a2"] and rows[0]["office_name"].startswith("'=")
    status, headers, body = admin.get("/history.xlsx?start=2026-11-01&end=2026-11-07")
    from openpyxl import load_workbook
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert load_workbook(io.BytesIO(body)).active.max_row == 4
    assert admin.get("/history?start=1405/08/16&end=1405/08/10")[0] == 400
    assert admin.get("/history?start=1400/01/01&end=1405/08/10")[0] == 400
    assert admin.get("/ranking?by=nonsense")[0] == 400
    assert admin.get("/history?device=no-such")[0] == 404
    office = admin.get("/device/dev-a2")[2].decode()
    assert 'id="history" href="/history?device=dev-a2"' in office  # the office page: one click to its history


def test_a_province_user_sees_only_their_province(site):
    ops = client(site, "ops11")
    data = json.loads(ops.get("/api/ranking?start=2026-11-01&end=2026-11-07&province=23&by=closed_minutes")[2])
    assert [o["device_id"] for o in data["offices"]] == ["dev-b1"]
    assert ops.get("/history?device=dev-a1")[0] == 404
    assert ops.get("/history?device=dev-b1")[0] == 200
    rows = list(csv.DictReader(io.StringIO(ops.get("/history.csv?province=23&header=en")[2].decode())))
    assert {r["province"] for r in rows} == {"11"}


@pytest.mark.parametrize("fleet_db", ["sqlite"], indirect=True)
def test_a_province_trend_in_a_browser_and_one_click_to_an_office(site, tmp_path):
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium() as driver:
        driver.get(site + "/login")
        driver.find_element("id", "username").send_keys("admin")
        driver.find_element("id", "password").send_keys(PASSWORDS["admin"])
        driver.find_element("id", "login").click()
        WebDriverWait(driver, 10).until(lambda d: "/login" not in d.current_url)
        driver.get(site + "/history?start=1405/08/10&end=1405/08/16&province=23")
        assert driver.find_element("id", "start").get_attribute("value") == "۱۴۰۵/۰۸/۱۰"
        reported = driver.find_elements("css selector", ".trend rect.day.reported")
        silent = driver.find_elements("css selector", ".trend rect.day.no-report")
        assert [r.get_attribute("data-date") for r in silent] == ["2026-11-03", "2026-11-05", "2026-11-06",
                                                                  "2026-11-07"]
        assert len(reported) == 3 and float(reported[0].get_attribute("height")) > 0
        # the axis labels («۰٪», «۵۰٪», «۱۰۰٪») lie inside the chart, not cut off at its left edge on an RTL page
        box = driver.execute_script("const s = document.querySelector('.trend svg').getBoundingClientRect(); "
                                    "return [s.left, ...[...document.querySelectorAll('.trend svg text')]"
                                    ".map(t => t.getBoundingClientRect().left)]")
        assert len(box) == 4 and all(left >= box[0] - 0.5 for left in box[1:]), box
        closed = driver.find_element("css selector", "#compare tr[data-figure='closed_minutes']")
        assert to_latin_digits(closed.find_elements("css selector", "td")[1].text).replace("\u066c", "") == "250"
        assert driver.find_element("css selector", "tr[data-date='2026-11-03'] td.not-reported").text == "گزارش نداده"
        driver.save_screenshot(str(tmp_path / "history.png"))
        driver.find_element("id", "ranking").click()
        WebDriverWait(driver, 10).until(lambda d: "/ranking" in d.current_url)
        driver.find_element("css selector", "tr[data-device='dev-a1'] a.history").click()
        WebDriverWait(driver, 10).until(lambda d: "device=dev-a1" in d.current_url)
        assert "دفتر" in driver.find_element("css selector", "h1").text
        assert len(driver.find_elements("css selector", ".trend rect.day.reported")) == 2
