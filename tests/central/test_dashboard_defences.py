"""What the centre's defences found, on the dashboard: devices not in the registry shown apart
to a national user only, an identity_mismatch alert's claim against the registry, each device's refused
messages by reason, and a snapshot the monitor stored served to those who may see its office — against a
real uvicorn over HTTP, over a fleet made of real protocol messages through Fleet.ingest.

Set ``PISHKHAN_SCREENSHOTS=DIR`` to keep the headless Chromium screenshots there as well."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil

import dashboard_fleet as F
import pytest
from dashboard_client import PASSWORDS, Client, logged_in
from services import chromium

from central import registry
from central.db import open_db
from central.web import strings
from central.web.app import create_app
from pishkhan.protocol import payloads

#: When the defences' messages were received: a little before the dashboard's now.
RECEIVED = F.NOW - F.dt.timedelta(minutes=20)


def received(minutes: int = 0) -> str:
    return F.iso(RECEIVED + F.dt.timedelta(minutes=minutes))


def snapshot_message(device: str, seq: int, png: bytes) -> bytes:
    """A ``snapshot`` command's result, as the agent sends it (tests/central/test_ingest_hostile.py)."""
    detail = {"at": received(1), "sha256": hashlib.sha256(png).hexdigest(), "board_version": "4+2",
              "verification_code": "K7QM-2XHD", "screen_state": "on", "width": 320, "height": 180,
              "bytes": len(png), "png_base64": base64.b64encode(png).decode("ascii")}
    return payloads.encode(payloads.result(device=device, seq=seq, sent_at=received(1), correlation_id="c-1",
                                           command="snapshot", ok=True, detail=detail))


def defences(db, fleet) -> dict:
    """Add to the fleet what the defences catch; returns what the tests compare with."""
    # a device no one registered, whose birth claims an office of province 24
    stranger = F.Device("dev-9901", "24", "دفتر ادعایی")
    stranger.office = "24-5678"
    stranger.birth(RECEIVED, None)
    # a registered device of province 23 whose birth claims to be in province 24
    mover = F.Device("dev-2305", "24", "دفتر پیشخوان پونک")
    mover.office = "24-5678"
    registry.register(db, device_id="dev-2305", office_id="23-2305", province="23", office_name=mover.name)
    mover.birth(RECEIVED, None)
    batch = stranger.messages + mover.messages
    # dev-2302 sends what the centre refuses: a key twice, a report whose events is a number, a bidi control
    t = F.T
    batch += [
        (t.device("dev-2302", "event"), b'{"device": "dev-2302", "device": "dev-2303"}', received(2)),
        (t.device("dev-2302", "report"), payloads.encode(payloads.report(
            device="dev-2302", seq=90, sent_at=received(3), date=F.TODAY.isoformat(), report={"events": 7})),
         received(3)),
        (t.device("dev-2302", "report"), payloads.encode(payloads.report(
            device="dev-2302", seq=91, sent_at=received(4), date=F.TODAY.isoformat(), report={"events": 7})),
         received(4)),
    ]
    png = F.snapshot_png()
    batch.append((t.device("dev-2302", "result"), snapshot_message("dev-2302", 92, png), received(5)))
    counts = fleet.ingest(sorted(batch, key=lambda m: m[2]))
    assert counts.refused == 3 and counts.reasons == {"duplicate_key": 1, "schema": 2}, counts.reasons
    return {"png": png}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("defences") / "fleet.db"
    db = open_db(str(path))
    data = F.build(db)
    data.update(defences(db, data["fleet"]))
    with logged_in(db, create_app(data["fleet"], now=lambda: F.NOW)) as (url, clients):
        yield {"url": url, "db": db, "path": path, "clients": clients, **data}
    db.close()


def get_json(site, user: str, path: str) -> dict:
    status, _, body = site["clients"][user].get(path)
    assert status == 200, (user, path, status)
    return json.loads(body)


def page(site, user: str, path: str) -> str:
    status, _, body = site["clients"][user].get(path)
    assert status == 200, (user, path, status)
    return body.decode()


# -- quarantine ------------------------------------------------------------------------------------------------
def test_a_national_user_sees_the_unregistered_device_apart_with_what_it_claims(site):
    fleet = get_json(site, "admin", "/api/fleet")
    assert fleet["totals"]["total"] == 8  # the seven of dashboard_fleet and dev-2305: the stranger counts nowhere
    quarantine = fleet["quarantine"]
    assert quarantine["count"] == 1 and [d["device_id"] for d in quarantine["devices"]] == ["dev-9901"]
    stranger = quarantine["devices"][0]
    assert stranger["online"] is True and stranger["last_seen"] == received(0)
    assert stranger["claimed"] | {"at": None} == {"province": "24", "office_id": "24-5678", "office_name": "دفتر ادعایی",
                                                  "at": None}
    assert stranger["command_id"] == "dev-9901"
    html = page(site, "admin", "/")
    assert 'id="quarantine"' in html and strings.QUARANTINE_HEADING in html
    assert 'data-device="dev-9901"' in html and "24-5678" in html
    assert "pishkhan central devices add dev-9901 --office" in html  # what ops does about it


@pytest.mark.parametrize("user", ["ops23", "ops11"])
def test_a_province_user_never_sees_the_quarantine(site, user):
    assert "quarantine" not in get_json(site, user, "/api/fleet")
    for path in ("/", "/?province=24", "/devices"):
        html = page(site, user, path)
        assert 'id="quarantine"' not in html and "dev-9901" not in html
    assert site["clients"][user].get("/device/dev-9901")[0] == 404


def test_the_quarantined_devices_own_page_says_so(site):
    html = page(site, "admin", "/device/dev-9901")
    assert 'id="quarantined"' in html and "pishkhan central devices add dev-9901 --office" in html
    assert 'id="quarantined"' not in page(site, "admin", "/device/dev-2302")


def test_registering_it_takes_it_out_of_the_quarantine(site, tmp_path):
    """On a copy of the database: once registered, it is counted under its province, gone from the list."""
    import sqlite3

    copy = tmp_path / "fleet.db"
    with sqlite3.connect(site["path"]) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    db = open_db(str(copy))
    try:
        from central.fleet import Fleet
        from central.web.present import quarantine

        assert [d["device_id"] for d in quarantine(db)["devices"]] == ["dev-9901"]
        registry.register(db, device_id="dev-9901", office_id="11-9901", province="11")
        assert quarantine(db) == {"count": 0, "devices": [], "shown": 0}
        assert "dev-9901" in [d["device_id"] for d in Fleet(db).devices(province="11")]
    finally:
        db.close()


@pytest.mark.parametrize("device_id", ["dev-1; rm -rf ~", "dev-$(id)", "dev-\u202e1032", "", "x" * 300, None, 5])
def test_only_a_valid_device_id_is_offered_in_a_command_to_paste(device_id):
    from central.web.present import command_id

    assert command_id(device_id) is None
    assert command_id("dev-9901") == "dev-9901"


# -- identity_mismatch ---------------------------------------------------------------------------------------------
def test_an_identity_mismatch_alert_shows_what_was_claimed_against_the_registry(site):
    alerts = [a for a in get_json(site, "admin", "/api/fleet")["alerts"] if a["kind"] == "identity_mismatch"]
    assert len(alerts) == 1 and alerts[0]["device_id"] == "dev-2305" and alerts[0]["province"] == "23"
    rows = {m["field"]: (m["registered"], m["claimed"]) for m in alerts[0]["mismatch"]}
    assert rows == {"province": ("23", "24"), "office_id": ("23-2305", "24-5678")}
    html = page(site, "ops23", "/")  # the province the registry gives it sees it
    row = html.split('data-kind="identity_mismatch"', 1)[1].split("</tr>", 1)[0]
    assert 'data-field="province"' in row and 'data-field="office_id"' in row
    assert "23-2305" in row and "24-5678" in row and strings.CLAIMED in row
    import re
    assert "fields=" not in re.sub(r"<details.*?</details>", "", row, flags=re.S)  # the raw detail only in the toggle
    assert "identity_mismatch" not in page(site, "ops11", "/")
    office = page(site, "admin", "/device/dev-2305")
    assert 'data-field="office_id"' in office and "24-5678" in office


# -- refused messages ----------------------------------------------------------------------------------------------
def test_the_office_page_shows_its_refused_messages_by_reason(site):
    refusals = get_json(site, "ops23", "/api/device/dev-2302")["refusals"]
    assert refusals["refused"] == 3 and refusals["last_reason"] == "schema"
    assert [(r["reason"], r["refused"]) for r in refusals["by_reason"]] == [("schema", 2), ("duplicate_key", 1)]
    assert refusals["last_label"] == strings.REFUSAL_REASONS["schema"] and refusals["last_message"]
    html = page(site, "ops23", "/device/dev-2302")
    for reason in ("schema", "duplicate_key"):
        row = html.split(f'data-reason="{reason}"', 1)[1].split("</tr>", 1)[0]
        assert strings.REFUSAL_REASONS[reason] in row and reason in row  # Persian, and the code ops can grep
    assert get_json(site, "ops23", "/api/device/dev-2301")["refusals"] is None
    assert 'id="no-refusals"' in page(site, "ops23", "/device/dev-2301")


def test_the_device_rows_count_refused_messages(site):
    for path in ("/api/fleet?province=23", "/api/devices?province=23"):
        devices = {d["device_id"]: d["refused"] for d in get_json(site, "admin", path)["devices"]}
        assert devices["dev-2302"] == 3 and devices["dev-2301"] == 0
    html = page(site, "ops23", "/devices")
    row = html.split('data-device="dev-2302"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num wide refused ">۳</td>' in row.replace('" style="font-size:1rem"', '"')


def test_what_the_pages_ask_the_database_on_sqlite_and_postgresql(fleet_db):
    from central.fleet import Fleet
    from central.web.present import quarantine, refusals, refused_counts

    defences(fleet_db, Fleet(fleet_db))  # here dev-2302 is not registered either: quarantined too
    assert [d["device_id"] for d in quarantine(fleet_db)["devices"]] == ["dev-2302", "dev-9901"]
    found = refusals(fleet_db, "dev-2302")
    assert (found["refused"], found["last_reason"]) == (3, "schema")
    assert [(r["reason"], r["refused"]) for r in found["by_reason"]] == [("schema", 2), ("duplicate_key", 1)]
    assert refused_counts(fleet_db) == {"dev-2302": 3} and refused_counts(fleet_db, province="23") == {}
    registry.register(fleet_db, device_id="dev-2302", office_id="23-2302", province="23")
    assert refused_counts(fleet_db, province="23") == {"dev-2302": 3}
    assert quarantine(fleet_db)["count"] == 1 and refusals(fleet_db, "dev-2301") is None


# -- the snapshot the monitor stored -----------------------------------------------------------------------------
@pytest.mark.parametrize("user, expected", [("admin", 200), ("ops23", 200), ("ops11", 404)])
def test_the_stored_snapshot_is_served_to_whom_may_see_the_office(site, user, expected):
    status, headers, body = site["clients"][user].get("/device/dev-2302/snapshot.png")
    assert status == expected
    if expected == 200:
        assert headers["Content-Type"] == "image/png" and body == site["png"]
    else:
        assert body != site["png"]
    assert Client(site["url"]).get("/device/dev-2302/snapshot.png")[0] != 200  # nobody logged in


def browser_login(driver, url: str):
    """Log the headless browser in as the national user through the login form."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url + "/login")
    driver.find_element("id", "username").send_keys("admin")
    driver.find_element("id", "password").send_keys(PASSWORDS["admin"])
    driver.find_element("id", "login").click()
    WebDriverWait(driver, 10).until(lambda d: "/login" not in d.current_url)


# -- how it reads, right to left -------------------------------------------------------------------------------
def test_screenshots_of_the_quarantine_and_the_refusals(site, tmp_path):
    keep = os.environ.get("PISHKHAN_SCREENSHOTS")
    with chromium(height=1400) as driver:
        browser_login(driver, site["url"])
        driver.get(site["url"] + "/")
        assert driver.execute_script("return getComputedStyle(document.body).direction") == "rtl"
        box = driver.find_element("id", "quarantine")
        assert box.is_displayed() and "dev-9901" in box.text
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 1366
        driver.execute_script("document.getElementById('quarantine').scrollIntoView()")
        driver.save_screenshot(str(tmp_path / "fleet-quarantine.png"))
        driver.get(site["url"] + "/device/dev-2302")
        table = driver.find_element("css selector", "table.refusals")
        assert table.is_displayed() and strings.REFUSAL_REASONS["duplicate_key"] in table.text  # the code: in the toggle
        driver.execute_script("document.getElementById('refusals').scrollIntoView()")
        driver.save_screenshot(str(tmp_path / "office-refusals.png"))
    with chromium(width=390, height=844) as driver:  # a phone: the quarantine fits its width
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        browser_login(driver, site["url"])
        driver.get(site["url"] + "/")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        driver.execute_script("document.getElementById('quarantine').scrollIntoView()")
        driver.save_screenshot(str(tmp_path / "fleet-quarantine-phone.png"))
    if keep:
        for name in ("fleet-quarantine.png", "office-refusals.png", "fleet-quarantine-phone.png"):
            shutil.copy(tmp_path / name, os.path.join(keep, name))
