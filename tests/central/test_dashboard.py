"""The dashboard in a real headless Chromium, served by uvicorn over a fleet made of real protocol messages."""

from __future__ import annotations

import base64
import csv
import io
import json
import threading
import urllib.error
import urllib.request

import dashboard_fleet as F
import pytest
from dashboard_client import Client
from services import chromium, free_port, wait_for_port

from central.db import open_db
from central.metrics import METRIC_NAMES
from central.users import Users
from central.web.app import create_app

PASSWORDS = {"admin": "centre-pass-1", "ops23": "tehran-pass-2"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    import uvicorn

    db = open_db(str(tmp_path_factory.mktemp("dashboard") / "fleet.db"))
    data = F.build(db)
    users = Users(db)
    users.add("admin", PASSWORDS["admin"])
    users.add("ops23", PASSWORDS["ops23"], province="23")
    app = create_app(data["fleet"], now=lambda: F.NOW)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield {"url": f"http://127.0.0.1:{port}", **data, "db": db}
    server.should_exit = True
    thread.join(timeout=10)
    db.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


def login(driver, site, user, *, here=False):
    if not here:
        driver.get(site["url"] + "/login")
    driver.find_element("id", "username").send_keys(user)
    driver.find_element("id", "password").send_keys(PASSWORDS[user])
    driver.find_element("id", "login").click()
    if PASSWORDS.get(user):
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 10).until(lambda d: "/login" not in d.current_url and
                                        d.execute_script("return document.readyState") == "complete")


def phone(driver):
    """A 390×844 phone screen (headless Chromium's window is at least 500 px wide)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})


def cookie_of(site, user) -> str:
    """The session cookie of a login by the form (with its CSRF token), as a Cookie header."""
    client = Client(site["url"])
    status, headers, _ = client.login(user, PASSWORDS[user])
    assert status == 303, status
    return f"pishkhan_session={client.cookie('pishkhan_session')}"


def get(site, path, *, user=None, auth=None):
    request = urllib.request.Request(site["url"] + path)
    if user:
        request.add_header("Cookie", cookie_of(site, user))
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def text_of(driver, css) -> str:
    return driver.find_element("css selector", css).text


def latin(text: str) -> str:
    from pishkhan.text.persian import to_latin_digits
    return to_latin_digits(text).replace("\u066c", "")


class TestLogin:
    def test_pages_need_a_login_and_redirect_to_it(self, site):
        with chromium() as driver:
            driver.get(site["url"] + "/devices?state=late")
            assert driver.current_url.startswith(site["url"] + "/login?next=")
            login(driver, site, "admin", here=True)
            assert driver.current_url == site["url"] + "/devices?state=late"  # back where it was going
            assert "dev-2302" in driver.page_source

    def test_a_wrong_password_is_refused(self, site):
        with chromium() as driver:
            driver.get(site["url"] + "/login")
            driver.find_element("id", "username").send_keys("admin")
            driver.find_element("id", "password").send_keys("wrong-password")
            driver.find_element("id", "login").click()
            from selenium.webdriver.support.ui import WebDriverWait

            failed = WebDriverWait(driver, 10).until(lambda d: d.find_elements("id", "login-failed"))
            assert failed[0].is_displayed()
            driver.get(site["url"] + "/")
            assert "/login" in driver.current_url

    def test_json_and_metrics_answer_401_without_a_login(self, site):
        assert get(site, "/api/fleet")[0] == 401
        assert get(site, "/?format=json")[0] == 401
        status, headers, _ = get(site, "/report.csv")  # redirected to the login page, no CSV
        assert not headers["Content-Type"].startswith("text/csv")
        status, headers, _ = get(site, "/metrics")
        assert status == 401 and "Basic" in headers["WWW-Authenticate"]
        assert get(site, "/metrics", auth="admin:wrong")[0] == 401

    def test_logout_ends_the_session(self, site):
        with chromium() as driver:
            login(driver, site, "admin")
            driver.find_element("css selector", "form[action='/logout'] button").click()
            from selenium.webdriver.support.ui import WebDriverWait

            WebDriverWait(driver, 10).until(lambda d: d.find_elements("id", "username"))  # the login page
            driver.get(site["url"] + "/")
            assert "/login" in driver.current_url
        assert get(site, "/logout")[0] == 405  # a link or an image cannot log anyone out


class TestFleetPage:
    def test_reads_right_to_left_in_persian_with_the_fleets_numbers(self, site, shots):
        with chromium() as driver:
            login(driver, site, "admin")
            driver.get(site["url"] + "/")
            assert driver.execute_script("return getComputedStyle(document.body).direction") == "rtl"
            assert driver.execute_script("return document.documentElement.lang") == "fa"
            font = driver.execute_script("return document.fonts.check('16px Vazirmatn')")
            assert font
            row = {c.get_attribute("data-state"): latin(c.text)
                   for c in driver.find_elements("css selector", "tr[data-province='23'] td[data-state]")}
            assert row == {"total": "4", "online": "3", "offline": "1", "late": "1", "closed": "1", "outdated": "2",
                           "board_unknown": "0"}
            row11 = {c.get_attribute("data-state"): latin(c.text)
                     for c in driver.find_elements("css selector", "tr[data-province='11'] td[data-state]")}
            assert row11 == {"total": "2", "online": "1", "offline": "1", "late": "0", "closed": "0", "outdated": "0",
                             "board_unknown": "0"}
            assert latin(text_of(driver, "#total-total .big")) == "7"
            assert latin(text_of(driver, "#total-offline .big")) == "2"
            # each number is a link to the devices it counts
            link = driver.find_element("css selector", "tr[data-province='23'] td[data-state='late'] a")
            assert link.get_attribute("href").endswith("/devices?province=23&state=late")
            # alerts, newest received first: 2304's closure (received 10:10), 1102's stop (10:00), 2303's Last
            # Will (09:10), 2302's late opening (08:25), 1102's late opening of yesterday
            kinds = [a.get_attribute("data-kind") for a in driver.find_elements("css selector", "table.alerts tr[data-kind]")]
            assert kinds == ["closed_during_hours", "offline", "offline", "late_opening", "late_opening"]
            driver.save_screenshot(str(shots / "fleet.png"))

    def test_province_23_answers_who_opened_late_and_who_shows_an_old_board(self, site, shots):
        with chromium() as driver:
            login(driver, site, "admin")
            driver.get(site["url"] + "/?province=23")
            rows = {r.get_attribute("data-device"): r for r in driver.find_elements("css selector", "table.devices tr[data-device]")}
            assert set(rows) == {"dev-2301", "dev-2302", "dev-2303", "dev-2304"}
            late = {d for d, r in rows.items() if "تأخیر" in r.find_element("css selector", "td.late").text}
            old = {d for d, r in rows.items() if "قدیمی" in r.find_element("css selector", "td.board").text}
            assert late == {"dev-2302"}
            assert old == {"dev-2303", "dev-2304"}
            assert "۲۵" in rows["dev-2302"].find_element("css selector", "td.late").text
            assert "نسخهٔ ۳" in rows["dev-2303"].find_element("css selector", "td.board").text  # v3, official v4
            driver.set_window_size(1366, 1300)
            driver.execute_script("document.querySelector('table.devices').scrollIntoView()")
            driver.save_screenshot(str(shots / "fleet-province-23.png"))
            driver.get(site["url"] + "/devices?province=23&state=outdated")
            assert {r.get_attribute("data-device") for r in
                    driver.find_elements("css selector", "table.devices tr[data-device]")} == {"dev-2303", "dev-2304"}

    def test_filters_by_state_across_provinces(self, site):
        status, _, body = get(site, "/api/devices?state=offline", user="admin")
        assert status == 200
        assert {d["device_id"] for d in json.loads(body)["devices"]} == {"dev-2303", "dev-1102"}
        status, _, body = get(site, "/devices?state=nonsense&format=json", user="admin")
        assert status == 400 and "state" in json.loads(body)["error"]

    def test_a_registered_fleet_has_nothing_quarantined_or_refused(self, site):
        fleet = json.loads(get(site, "/api/fleet?province=23", user="admin")[2])
        assert fleet["quarantine"] == {"count": 0, "devices": [], "shown": 0}
        assert {d["device_id"]: d["refused"] for d in fleet["devices"]} == dict.fromkeys(
            ("dev-2301", "dev-2302", "dev-2303", "dev-2304"), 0)
        assert "quarantine" not in json.loads(get(site, "/api/fleet", user="ops23")[2])
        assert json.loads(get(site, "/api/device/dev-2301", user="ops23")[2])["refusals"] is None

    def test_phone_size(self, site, shots):
        with chromium(width=390, height=844) as driver:
            phone(driver)
            login(driver, site, "ops23")
            driver.get(site["url"] + "/")
            width = driver.execute_script("return document.documentElement.scrollWidth")
            assert width <= 390
            # the alerts stack as cards: a late opening's detail is on screen, not behind a sideways scroll
            late = driver.find_element("css selector", "table.alerts tr[data-kind='late_opening'] td.detail")
            box = late.rect
            assert late.is_displayed() and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
            assert "۰۸:۲۵" in late.text
            driver.save_screenshot(str(shots / "fleet-phone.png"))
            # the province's offices stack as cards too: each one's board and opening are on screen, labelled
            for row in driver.find_elements("css selector", "table.devices tr[data-device]"):
                for cell in row.find_elements("css selector", "td.board, td.late"):
                    box = cell.rect
                    assert cell.is_displayed() and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
            board = driver.find_element("css selector", "table.devices td.board")
            assert "تابلو" in driver.execute_script("return getComputedStyle(arguments[0], '::before').content", board)


class TestOfficePage:
    def test_status_versions_readings_timeline_events_and_snapshot(self, site, shots):
        with chromium() as driver:
            login(driver, site, "admin")
            driver.get(site["url"] + "/device/dev-2302")
            assert driver.execute_script("return getComputedStyle(document.body).direction") == "rtl"
            assert "برخط" in text_of(driver, "#status")
            segments = driver.find_elements("css selector", "#timeline .seg")
            states = [s.get_attribute("class").split()[1] for s in segments]
            assert states == ["closed", "serving", "degraded", "serving", "remaining"]
            legend = {e.get_attribute("data-state"): latin(e.text) for e in driver.find_elements("css selector", ".legend [data-state]")}
            assert "25" in legend["closed"] and "125" in legend["serving"] and "20" in legend["degraded"]
            assert "late_opening" in [e.get_attribute("data-kind") for e in driver.find_elements("css selector", "table.events tr")]
            temp = driver.find_element("css selector", "tr[data-reading='cpu_temp_c'] td:last-child").text
            assert latin(temp).replace("\u066b", ".") == "51.5 درجهٔ سانتی\u200cگراد"  # in Persian words and units
            # a reading this device did not send is shown as unknown, not invented
            assert driver.find_element("css selector", "tr[data-reading='wifi_signal_dbm'] td:last-child").text == "نامعلوم"
            driver.save_screenshot(str(shots / "office-2302.png"))
            driver.get(site["url"] + "/device/dev-2301")
            loaded = driver.execute_script("var i = document.getElementById('snapshot'); return i.complete && i.naturalWidth")
            assert loaded == 320
            driver.get(site["url"] + "/device/dev-2303")
            assert "قطع" in text_of(driver, "#status") and "قدیمی" in text_of(driver, "#board")
            driver.save_screenshot(str(shots / "office-2303.png"))

    def test_json_of_an_office(self, site):
        status, _, body = get(site, "/api/device/dev-2303", user="admin")
        data = json.loads(body)
        assert status == 200 and data["device"]["online"] is False and data["device"]["status_reason"] == "lost"
        assert data["today"]["board"]["state"] == "outdated"
        assert [l["state"] for l in data["today"]["board"]["layers"]] == ["outdated", "current"]
        assert data["today"]["gaps"] == 1  # the telemetry message it skipped
        status, headers, png = get(site, "/device/dev-2301/snapshot.png", user="admin")
        assert status == 200 and headers["Content-Type"] == "image/png" and png.startswith(b"\x89PNG")
        assert get(site, "/api/device/nobody", user="admin")[0] == 404


class TestProvinceUser:
    def test_sees_only_their_province_everywhere(self, site):
        status, _, body = get(site, "/api/fleet?province=11", user="ops23")  # asks for another: gets theirs
        data = json.loads(body)
        assert status == 200 and [p["province"] for p in data["provinces"]] == ["23"]
        assert {a["province"] for a in data["alerts"]} == {"23"}
        devices = json.loads(get(site, "/api/devices", user="ops23")[2])["devices"]
        assert {d["province"] for d in devices} == {"23"} and len(devices) == 4
        assert get(site, "/device/dev-1101", user="ops23")[0] == 404
        assert get(site, "/api/device/dev-1101", user="ops23")[0] == 404
        assert get(site, "/api/device/dev-2301", user="ops23")[0] == 200
        report = json.loads(get(site, f"/api/report?date={F.TODAY}", user="ops23")[2])
        assert [p["province"] for p in report["provinces"]] == ["23"]
        rows = list(csv.reader(io.StringIO(get(site, f"/report.csv?date={F.TODAY}&province=11", user="ops23")[2].decode())))
        assert [r[1] for r in rows[1:]] == ["23", "all"]
        metrics = get(site, "/metrics", auth=f"ops23:{PASSWORDS['ops23']}")[2].decode()
        assert 'province="23"' in metrics and 'province="11"' not in metrics and 'province="5"' not in metrics

    def test_the_page_has_no_other_province(self, site):
        with chromium() as driver:
            login(driver, site, "ops23")
            driver.get(site["url"] + "/?province=11")
            assert [r.get_attribute("data-province") for r in driver.find_elements("css selector", "table.provinces tr[data-province]")] == ["23"]
            assert "dev-1101" not in driver.page_source


class TestReport:
    def test_page_chart_and_csv(self, site, shots):
        with chromium() as driver:
            login(driver, site, "admin")
            driver.get(site["url"] + f"/report?date={F.TODAY}")
            cells = {c.get_attribute("data-col"): latin(c.text)
                     for c in driver.find_elements("css selector", "table.report tr[data-province='23'] td[data-col]")}
            assert cells["offices_reporting"] == "4" and cells["late_openings"] == "1"
            assert cells["closed_minutes"] == "65" and cells["serving_minutes"] == "485"
            charts = driver.find_elements("css selector", ".chart svg")
            assert len(charts) == 2  # one per province that reported (5 sent none)
            bars = driver.find_elements("css selector", ".chart[data-province='23'] rect.bar-closed")
            assert len(bars) == 1 and float(bars[0].get_attribute("width")) > 0
            href = driver.find_element("id", "csv").get_attribute("href")
            assert href.endswith(f"/report.csv?date={F.TODAY}")
            driver.save_screenshot(str(shots / "report.png"))
        status, headers, body = get(site, f"/report.csv?date={F.TODAY}", user="admin")
        assert status == 200 and headers["Content-Type"].startswith("text/csv")
        assert "attachment" in headers["Content-Disposition"]
        rows = {r["province"]: r for r in csv.DictReader(io.StringIO(body.decode()))}
        assert rows["23"]["late_openings"] == "1" and rows["23"]["late_opening_minutes"] == "25"
        assert rows["all"]["offices_reporting"] == "5" and rows["11"]["serving_minutes"] == "170"

    def test_one_provinces_chart_stays_small_and_a_phone_sees_the_late_openings(self, site, shots):
        """A single province's chart keeps its size (no full-width chart with 40 px text); on a phone the
        report's rows stack, so its late-opening figures are on screen with their labels, with no sideways scroll."""
        with chromium() as driver:
            login(driver, site, "admin")
            driver.get(site["url"] + f"/report?date={F.TODAY}&province=23")
            width = driver.execute_script("return document.querySelector('.chart svg').getBoundingClientRect().width")
            text = driver.execute_script("return document.querySelector('.chart svg text').getBoundingClientRect().height")
            assert width <= 460 and text < 24, (width, text)
            driver.save_screenshot(str(shots / "report-province-23.png"))
            phone(driver)
            driver.get(site["url"] + f"/report?date={F.TODAY}")
            assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
            for col, label in (("late_openings", "تأخیر در گشایش (دفتر)"), ("late_opening_minutes", "دقایق تأخیر")):
                cell = driver.find_element("css selector", f"table.report tr[data-province='23'] td[data-col='{col}']")
                box = cell.rect
                assert cell.is_displayed() and box["x"] >= 0 and box["x"] + box["width"] <= 390, (col, box)
                shown = driver.execute_script("return getComputedStyle(arguments[0], '::before').content", cell)
                assert label in shown, shown
            assert driver.find_element("css selector", "table.late-offices td[data-col='late_opening_minutes']").is_displayed()
            driver.save_screenshot(str(shots / "report-phone.png"))

    def test_a_bad_date_is_a_clear_error(self, site):
        status, _, body = get(site, "/api/report?date=1404-09-10x", user="admin")
        assert status == 400 and "YYYY-MM-DD" in json.loads(body)["error"]


class TestMetrics:
    def test_metrics_from_the_database(self, site):
        status, headers, body = get(site, "/metrics", auth=f"admin:{PASSWORDS['admin']}")
        text = body.decode()
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert 'pishkhan_devices_online{province="23"} 3.0' in text
        assert 'pishkhan_devices{province="11",status="offline"} 1.0' in text
        assert 'pishkhan_outbox_depth{province="23"} 3.0' in text
        assert 'pishkhan_sequence_gaps{province="23"} 1.0' in text
        assert 'pishkhan_late_openings{province="23"} 1.0' in text
        assert 'pishkhan_board_outdated_devices{province="23"} 2.0' in text
        assert 'pishkhan_compliance_devices{province="23",state="serving"} 3.0' in text
        assert 'pishkhan_compliance_devices{province="23",state="unknown"} 1.0' in text  # 2303 is offline
        assert 'pishkhan_compliance_minutes{province="23",state="closed"} 65.0' in text
        for name in METRIC_NAMES:
            assert f"# TYPE {name} gauge" in text

    def test_every_metric_the_grafana_dashboard_queries_exists(self, site):
        import re
        from importlib import resources

        dashboard = json.loads(resources.files("central").joinpath("grafana/pishkhan-fleet.json").read_text())
        exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        exprs.append(dashboard["templating"]["list"][0]["query"])
        queried = {m for e in exprs for m in re.findall(r"\bpishkhan_[a-z_]+", e)}
        assert len(queried) >= 8
        text = get(site, "/metrics", auth=f"admin:{PASSWORDS['admin']}")[2].decode()
        exposed = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
        assert queried <= exposed, queried - exposed


class TestVerify:
    def test_a_known_code_shows_the_official_board_on_a_phone_without_login(self, site, shots):
        code = site["official"].codes[("national", 4)]
        with chromium(width=390, height=844) as driver:
            phone(driver)
            driver.get(site["url"] + f"/verify/{code}")
            assert driver.execute_script("return getComputedStyle(document.body).direction") == "rtl"
            assert driver.find_element("id", "verdict").get_attribute("data-verdict") == "official"
            assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
            source = driver.page_source
            assert "وزارت ارتباطات و فناوری اطلاعات" in source
            # ID-01: government fee 3,000,000 + 100,000 in v4, office fee 1,250,000
            row = driver.find_element("css selector", "[data-service='ID-01']").text
            assert "۳٬۱۰۰٬۰۰۰ ریال" in row and "۱٬۲۵۰٬۰۰۰ ریال" in row and "۴٬۳۵۰٬۰۰۰ ریال" in row
            services = driver.find_elements("css selector", "[data-service]")
            board = site["official"].envelopes[("national", 4)]["payload"]
            assert len(services) == sum(len(c["services"]) for c in board["categories"])
            driver.save_screenshot(str(shots / "verify-known.png"))

    def test_a_layered_code_shows_each_layer(self, site, shots):
        code = site["current23"]["verification_code"]
        status, _, body = get(site, f"/api/verify/{code}")
        data = json.loads(body)
        assert status == 200 and data["layered"] and not data["superseded"]
        assert [d["scope"] for d in data["documents"]] == ["national", "province:23"]
        assert data["documents"][1]["categories"][0]["services"][0]["government_fee"] == 1_000_000

    def test_a_superseded_code_warns(self, site, shots):
        code = site["official"].codes[("national", 3)]
        with chromium(width=390, height=844) as driver:
            phone(driver)
            driver.get(site["url"] + f"/verify/{code}")
            verdict = driver.find_element("id", "verdict")
            assert verdict.get_attribute("data-verdict") == "superseded"
            assert "منسوخ" in verdict.text and "۴" in verdict.text
            driver.save_screenshot(str(shots / "verify-superseded.png"))
        # the old board 2303 shows, by its layered code, is superseded too
        data = json.loads(get(site, f"/api/verify/{site['old']['verification_code']}")[2])
        assert data["superseded"] and [d["superseded"] for d in data["documents"]] == [True, False]

    def test_an_unknown_code_warns(self, site, shots):
        with chromium(width=390, height=844) as driver:
            phone(driver)
            driver.get(site["url"] + "/verify/ZZZZ-2222")
            verdict = driver.find_element("id", "verdict")
            assert verdict.get_attribute("data-verdict") == "unknown" and "شناخته نیست" in verdict.text
            assert "/login" not in driver.current_url
            driver.save_screenshot(str(shots / "verify-unknown.png"))
        assert get(site, "/verify/ZZZZ-2222")[0] == 404


class TestCommand:
    def test_pishkhan_central_dashboard_serves_an_existing_fleet_database(self, tmp_path):
        import os
        import subprocess
        import sys

        path = tmp_path / "fleet.db"
        with open_db(str(path)) as db:
            data = F.build(db)
            Users(db).add("admin", PASSWORDS["admin"])
        port = free_port()
        secret = tmp_path / "secret"
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "central", "dashboard", "--db", str(path),
                                 "--listen", f"127.0.0.1:{port}", "--secret-file", str(secret)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
        try:
            wait_for_port(port, timeout=30)
            site = {"url": f"http://127.0.0.1:{port}"}
            assert get(site, "/")[2].count(b'id="login"') == 1  # redirected to the login form
            status, _, body = get(site, "/api/fleet", user="admin")
            assert status == 200 and json.loads(body)["totals"]["total"] == 7
            code = data["official"].codes[("national", 4)]
            assert json.loads(get(site, f"/api/verify/{code}")[2])["found"]
            assert (secret.stat().st_mode & 0o777) == 0o600
        finally:
            proc.terminate()
            proc.wait(timeout=15)
        assert proc.returncode in (0, -15)
        assert b"dashboard on http://127.0.0.1" in proc.stderr.read()


class TestFreshness:
    def test_the_fleet_page_says_when_the_centre_last_heard_from_the_fleet_and_when_its_figures_are_stale(self, site):
        from central.monitor_housekeeping import Housekeeper

        fresh = json.loads(get(site, "/api/fleet", user="admin")[2])["freshness"]
        last = site["db"].query_one("SELECT MAX(last_seen) AS at FROM devices WHERE province <> ''")["at"]
        assert fresh["last_message_at"] == last and fresh["stale"] and fresh["reason"] == "no_monitor"
        page = get(site, "/", user="admin")[2].decode()
        assert "هیچ ناظر ناوگان در حال کار نیست" in page and "آخرین پیام از دفاتر" in page
        keeper = Housekeeper(site["fleet"], monitor_id="m-test", clock=F.NOW.timestamp, figures=lambda: {
            "connected": True, "received": 1, "refused": 0, "refusals": {}, "pending": 0, "lag_seconds": 0.0,
            "last_message_at": None})
        try:
            keeper.beat()
            fresh = json.loads(get(site, "/api/fleet", user="admin")[2])["freshness"]
            assert fresh["monitors_alive"] == 1 and fresh["reason"] in (None, "fleet_silent")
            assert "هیچ ناظر ناوگان" not in get(site, "/", user="admin")[2].decode()
        finally:
            site["db"].execute("DELETE FROM monitors")
