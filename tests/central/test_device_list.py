"""The device list at national scale (central/device_list.py, /devices): search, filters, stable sort and pages,
chosen in SQL on SQLite and PostgreSQL; and the page in a real browser."""

from __future__ import annotations

import json
from urllib.parse import quote

import dashboard_fleet as F
import pytest
from dashboard_client import logged_in

from central import status
from central.device_list import ListQuery, ListRefused, device_list
from central.fleet import Fleet
from central.web.app import create_app

#: Extra offices written straight to the table: 60 in province 07, every third one offline, two agent versions.
EXTRA = 60


def _extra(db):
    rows = []
    for i in range(EXTRA):
        persian = str(i).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
        name = f"دفتر پیشخوان شیراز {persian}"
        rows.append((f"dev-07{i:02d}", "07", f"07-{i:04d}", name, 0 if i % 3 == 0 else 1, F.iso(F.tehran(10, 50)),
                     "0.2.0" if i % 2 else "0.1.0"))
    db.write(lambda c: c.executemany(db.sql("INSERT INTO devices(device_id, province, office_id, office_name, online, "
                                            "last_seen, agent_version) VALUES (?,?,?,?,?,?,?)"), rows))


@pytest.fixture
def fleet(fleet_db):
    data = F.build(fleet_db)
    _extra(fleet_db)
    return fleet_db, data


def ids(db, **kw):
    page = device_list(db, ListQuery(**kw), day=F.TODAY, now=F.NOW)
    return [d["device_id"] for d in page["devices"]], page


def test_search_filter_sort_and_pages(fleet):
    db, _ = fleet
    # search: a device id in any case, an office id typed in Persian digits, a name's Persian digits typed in Latin
    assert ids(db, q="DEV-2302")[0] == ["dev-2302"]
    assert ids(db, q="۰۷-۰۰۱۲")[0] == ["dev-0712"]
    assert ids(db, q="شیراز 59")[0] == ["dev-0759"]
    assert ids(db, q="ونک")[0] == ["dev-2302"]
    db.execute("UPDATE devices SET office_name = ? WHERE device_id = ?", ("Pishkhan KISH ۱", "dev-0700"))
    assert ids(db, q="kish 1")[0] == ["dev-0700"]  # Latin letters in any case, on both servers
    assert ids(db, q="%")[1]["total"] == 0  # a wildcard typed is a character, not a pattern
    # filters
    assert ids(db, province="23", status="offline")[0] == ["dev-2303"]
    assert sorted(ids(db, province="23", status="online", size=100)[0]) == ["dev-2301", "dev-2302", "dev-2304"]
    assert ids(db, province="07", status="offline", size=100)[1]["total"] == 20
    assert ids(db, province="07", version="0.2.0", size=100)[1]["total"] == 30
    assert ids(db, board="outdated", size=100)[0] == ["dev-2303", "dev-2304"]
    unknown = ids(db, board="unknown", size=100)[0]
    assert "dev-0501" in unknown and len(unknown) == EXTRA + 1  # no board reported: unknown
    view = status.fleet_view(Fleet(db), day=F.TODAY, now=F.NOW)  # the front page's counts agree with the list's
    assert view["totals"]["board_unknown"] == EXTRA + 1
    assert {p["province"]: p["board_unknown"] for p in view["provinces"]} == {"05": 1, "07": EXTRA, "11": 0, "23": 0}
    for st in ("online", "offline"):
        assert view["totals"][st] == ids(db, status=st)[1]["total"], st
    assert view["totals"]["outdated"] == ids(db, board="outdated")[1]["total"]
    assert sorted(ids(db, board="current", size=100)[0]) == ["dev-1101", "dev-1102", "dev-2301", "dev-2302"]
    assert ids(db, state="late")[0] == ["dev-2302"] and ids(db, state="closed")[0] == ["dev-2304"]
    # sort: stable (ties broken by device id), both ways, and the pages together are the whole list once
    whole = ids(db, sort="status", size=100)[0]
    pages, n = [], 1
    while True:
        got, page = ids(db, sort="status", size=7, page=n)
        pages += got
        if n == page["pages"]:
            break
        n += 1
    assert pages == whole and len(set(whole)) == len(whole) == EXTRA + 7
    assert ids(db, sort="status", size=7, page=n + 1) == ([], page | {"page": n + 1, "devices": []})  # past the end
    online = set(ids(db, status="online", size=100)[0])  # the stored status sorts; the ties by device id, same way
    stored_online = {r["device_id"] for r in db.query("SELECT device_id FROM devices WHERE online <> 0")}
    assert ids(db, sort="status", descending=True, size=100)[0] == \
        sorted(stored_online, reverse=True) + sorted(set(whole) - stored_online, reverse=True)
    assert online <= stored_online
    assert ids(db, sort="device", descending=True, size=3)[0] == ["dev-2304", "dev-2303", "dev-2302"]
    assert ids(db, sort="office_id", size=2, page=2)[0] == ["dev-0702", "dev-0703"]


def test_a_request_is_refused_with_a_reason():
    for params, reason in (({"sort": "online; DROP TABLE devices"}, "bad_sort"), ({"size": "5000"}, "bad_page"),
                           ({"page": "0"}, "bad_page"), ({"status": "asleep"}, "bad_status"),
                           ({"board": "x"}, "bad_board"), ({"page": "two"}, "bad_page")):
        with pytest.raises(ListRefused) as refused:
            ListQuery.of(params, province=None)
        assert refused.value.reason == reason
    query = ListQuery.of({"page": "۲", "sort": "-last_seen", "state": "outdated"}, province="23")
    assert (query.page, query.sort, query.descending, query.board, query.state) == \
        (2, "last_seen", True, "outdated", "")


def latin(text: str) -> str:
    from pishkhan.text.persian import to_latin_digits
    return to_latin_digits(text).replace("\u066c", "")


def test_the_page_in_a_browser_and_as_json(tmp_path):
    from services import chromium

    from central.db import open_db

    db = open_db(str(tmp_path / "fleet.db"))
    data = F.build(db)
    _extra(db)
    with logged_in(db, create_app(data["fleet"], now=lambda: F.NOW)) as (url, clients):
        def get(user, path):
            status, _, body = clients[user].get(path)
            return json.loads(body) if status == 200 else status

        body = get("admin", "/api/devices")
        assert body["total"] == EXTRA + 7 and len(body["devices"]) == 50 and body["pages"] == 2
        assert len(clients["admin"].get("/devices")[2]) < 120_000
        assert get("ops23", "/api/devices?province=07")["total"] == 4  # theirs, whatever is asked
        assert get("admin", "/api/devices?province=" + quote("۲۳") + "&status=offline")["devices"][0]["device_id"] \
            == "dev-2303"
        assert get("admin", "/api/devices?sort=nope") == 400
        with chromium() as driver:
            from selenium.webdriver.support.ui import WebDriverWait

            def follow(element):
                """Click *element* and wait for the next page to load."""
                before = driver.find_element("tag name", "html")
                element.click()
                WebDriverWait(driver, 10).until(lambda d: d.find_element("tag name", "html") != before and
                                                d.execute_script("return document.readyState") == "complete")

            def listed():
                return [r.get_attribute("data-device") for r in driver.find_elements("css selector", "tr[data-device]")]

            driver.get(url + "/login")
            driver.find_element("id", "username").send_keys("admin")
            driver.find_element("id", "password").send_keys("centre-pass-1")
            follow(driver.find_element("id", "login"))
            driver.get(url + "/")
            card = driver.find_element("css selector", "#total-board_unknown a")
            assert latin(card.text) == str(EXTRA + 1)
            follow(card)
            assert latin(driver.find_element("id", "found").text).startswith(f"{EXTRA + 1} ")
            driver.get(url + "/devices")
            first = listed()
            assert len(first) == 50
            follow(driver.find_element("id", "next"))
            assert len(listed()) == EXTRA + 7 - 50 and not set(listed()) & set(first)
            driver.find_element("id", "q").clear()
            driver.find_element("id", "q").send_keys("۰۷-۰۰۱۲")
            follow(driver.find_element("id", "show"))
            assert listed() == ["dev-0712"]
    db.close()
