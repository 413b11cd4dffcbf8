"""An office's health history, the devices beyond a health threshold, and an office's past day, over real HTTP on
SQLite and PostgreSQL: Persian words and units, Jalali dates, a province user kept to their province, and hostile
stored values that break nothing."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import quote

from dashboard_client import PASSWORDS, logged_in
from test_health_history import HEALTHY, Sender

from central.fleet import Fleet
from central.web.app import create_app
from pishkhan.hardware.health import decode_throttled

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)  # Tehran 11:30, 1405/09/10
T0 = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.timezone.utc)
DAY = "2026-11-30"  # 1405/09/09


def utc(hh, mm, day=DAY) -> str:
    """Tehran *hh*:*mm* of *day* as stored UTC text."""
    moment = dt.datetime.fromisoformat(f"{day}T{hh:02d}:{mm:02d}:00+03:30")
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


REPORT = {"date": DAY, "complete": True, "judged_until": utc(23, 59),
          "periods": [{"start": utc(7, 30), "end": utc(14, 30)}], "scheduled_minutes": 420,
          "timeline": [{"state": "closed", "start": utc(7, 30), "end": utc(7, 52),
                        "why": "kiosk not_accepting (closed)"},
                       {"state": "serving", "start": utc(7, 52), "end": utc(14, 30), "why": ""}],
          "serving_minutes": 398, "closed_minutes": 22, "degraded_minutes": 0, "unknown_minutes": 0,
          "events": [{"id": "x", "kind": "late_opening", "start": utc(7, 30), "end": utc(7, 52), "minutes": 22,
                      "detail": {"opened_at": utc(7, 52), "why": "kiosk not_accepting (closed)"}}]}
HOSTILE = {"periods": "\u202e", "timeline": [{"state": "serving", "start": utc(8, 0, "2026-11-29"),
                                              "end": utc(9, 0, "2026-11-29"), "why": {"x": True}},
                                             {"state": [], "start": 5}],
           "events": [{"kind": "\u202eprinter_out", "start": utc(8, 0, "2026-11-29"), "detail": {"minutes": 10 ** 40}}],
           "serving_minutes": True}


def test_health_history_fleet_list_and_a_past_day_over_http(fleet_db):
    fleet = Fleet(fleet_db)
    tehran, tabriz = Sender(fleet, "pi-1", province="23"), Sender(fleet, "pi-2", province="11")
    tehran.send(0, full=True, **(HEALTHY | {"cpu_temp_c": 84.5}))
    tehran.send(70, cpu_temp_c=60.0, throttled=decode_throttled(1))
    tabriz.send(0, full=True, **(HEALTHY | {"disk_free_bytes": 300 * 10 ** 6}))
    # a row written by hand, past every bound, and a hostile report on another day
    fleet_db.execute("INSERT INTO health_samples(device_id, slot, at, cpu_temp_c, under_voltage, disk_free_bytes, "
                     "disk_total_bytes, mem_total_kb, mem_available_kb) VALUES ('pi-1', '2026-12-01T03:00:00Z', "
                     "'2026-12-01T03:00:00Z', 1e308, 7, -1, 5, 0, 9)")
    for day, report in ((DAY, REPORT), ("2026-11-29", HOSTILE), ("2026-11-28", {"timeline": "x"})):
        fleet_db.execute("INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?)",
                         ("pi-1", day, "23", json.dumps(report), utc(20, 0, day)))
    with logged_in(fleet_db, create_app(fleet, now=lambda: NOW)) as (url, users):
        admin, ops11 = users["admin"], users["ops11"]
        status, _, body = admin.get("/device/pi-1/health")  # the last 7 days to today, by day
        page = body.decode()
        assert status == 200 and "سابقهٔ سلامت دستگاه" in page and 'value="۱۴۰۵/۰۹/۰۴"' in page
        assert 'data-beyond="temperature under_voltage"' in page and "۸۴٫۵ درجهٔ سانتی‌گراد" in page
        assert "⚠ دمای بالا" in page and 'class="crossed"' in page and 'id="unreadable"' in page
        assert "۱۰ آذر ۱۴۰۵" in page and not re.search(r"\bTrue\b|\bNone\b|\{\}|2026-12-01T", _visible(page))
        data = json.loads(admin.get("/api/device/pi-1/health?start=1405/09/10&end=" + quote("۱۴۰۵/۰۹/۱۰"))[2])
        assert data["by"] == "hour" and [b["samples"] for b in data["buckets"]] == [1, 1, 1]
        assert data["buckets"][0]["temp_max"] is None and data["unreadable"] == 4  # the hand-written row
        assert admin.get("/device/pi-1/health?start=1405/01/01&end=1405/09/10")[0] == 400  # beyond 90 days kept
        assert admin.get("/device/pi-1/health?start=1405/09/11&end=1405/09/10")[0] == 400
        assert admin.get("/device/pi-1/health?start=1405/13/01")[0] == 400
        # the fleet-wide list: both for the centre, one province's for its user; a link to each office
        page = admin.get("/health")[2].decode()
        assert 'data-device="pi-1"' in page and 'data-device="pi-2"' in page and 'href="/device/pi-2/health"' in page \
            and 'href="/device/pi-2"' in page
        assert "دیسک تقریباً پر" in page and "۲۸۶٫۱ مگابایت" in page and "۵۰۰ مگابایت" in page
        assert [d["device_id"] for d in json.loads(admin.get("/api/health?kind=under_voltage")[2])["devices"]] == \
            ["pi-1"]
        assert json.loads(admin.get("/api/health?province=" + quote("۱۱"))[2])["total"] == 1
        assert admin.get("/health?kind=bogus")[0] == 400
        assert [d["device_id"] for d in json.loads(ops11.get("/api/health?province=23")[2])["devices"]] == ["pi-2"]
        for path in ("/device/pi-1/health", "/device/pi-1/day", "/api/device/pi-1/day?date=1405/09/09"):
            assert ops11.get(path)[0] == 404, path
        assert ops11.get("/device/pi-2/health")[0] == 200
        # a past day from its report: the announced hours, the runs and the late opening, in Tehran time
        status, _, body = admin.get("/device/pi-1/day?date=" + quote("۱۴۰۵/۰۹/۰۹"))
        page = body.decode()
        assert status == 200 and 'id="bar-report"' in page and 'data-state="closed"' in page
        assert "بسته از ۰۷:۳۰ تا ۰۷:۵۲ (۲۲ دقیقه)" in page and "تأخیر در گشایش" in page and "۰۷:۵۲" in page
        assert 'id="verdict" data-reason="no_facts"' in page and 'id="no-day"' not in page
        day = json.loads(admin.get("/api/device/pi-1/day?date=2026-11-30")[2])
        assert day["report"]["runs"][0] == {"state": "closed", "start": "2026-11-30T04:00:00Z", "end":
                                            "2026-11-30T04:22:00Z", "minutes": 22,
                                            "why": "kiosk not_accepting (closed)", "left": 6.25, "width": 4.583}
        assert not re.search(r"\bTrue\b|\bNone\b|\{\}|2026-11-30T", _visible(page))
        # a day with nothing: one sentence, no chart; a hostile report: what can be read, and the count of the rest
        page = admin.get("/device/pi-1/day?date=1405/09/08")[2].decode()
        assert 'id="no-day"' not in page and 'id="unreadable"' in page and 'id="bar-report"' in page
        assert "\u202e" not in page and "\\u202eprinter_out" in page  # a bidi character written out, never drawn
        assert "رویداد دیگر" in page and "۰۸:۰۰" in page
        page = admin.get("/device/pi-1/day?date=1405/09/07")[2].decode()
        assert 'id="no-runs-report"' in page and 'id="bar-report"' not in page
        page = admin.get("/device/pi-1/day?date=1405/09/01")[2].decode()
        assert 'id="no-day"' in page and "daybar" not in page.split("</style>")[1]
        assert admin.get("/device/pi-1/day?date=tomorrow")[0] == 400
        assert admin.get("/device/nobody/day")[0] == 404
        assert 'id="health-history"' in admin.get("/device/pi-1")[2].decode()
        if fleet_db.dialect == "?":  # drawn once, in a real browser on a phone's width (the pages are the same on both)
            on_a_phone(url)


def on_a_phone(url):
    """The past day's bar and the health sparklines, drawn by a headless Chromium 390 px wide: the runs have
    width, the crossings are marked, and nothing scrolls sideways."""
    from selenium.webdriver.support.ui import WebDriverWait
    from services import chromium

    with chromium(width=390, height=844) as driver:
        driver.get(url + "/login")
        driver.find_element("id", "username").send_keys("admin")
        driver.find_element("id", "password").send_keys(PASSWORDS["admin"])
        driver.find_element("id", "login").click()
        WebDriverWait(driver, 10).until(lambda d: "/login" not in d.current_url)
        driver.get(url + "/device/pi-1/day?date=1405/09/09")
        runs = driver.find_elements("css selector", "#bar-report .seg")
        assert [r.get_attribute("data-state") for r in runs] == ["closed", "serving"]
        widths = [r.size["width"] for r in runs]
        assert 0 < widths[0] < widths[1] and runs[0].location["x"] > runs[1].location["x"]  # time runs right to left
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        driver.get(url + "/device/pi-1/health?start=1405/09/10&end=1405/09/10")
        assert len(driver.find_elements("css selector", "#spark-temperature circle.crossed")) == 1
        assert driver.find_element("css selector", "#spark-temperature svg").size["width"] > 200
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def _visible(page: str) -> str:
    """The page's text and attribute values an analyst reads: without the technical toggles and the JSON link."""
    page = re.sub(r"<details class=\"technical\">.*?</details>", "", page, flags=re.S)
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return re.sub(r"data-[a-z-]+=\"[^\"]*\"", "", page)
