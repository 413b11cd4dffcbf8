"""What an analyst at the centre tripped over walking the dashboard (notes: analyst22):
an office's history leads on to its page and to each day's timeline; fractions read with the Persian
decimal separator; an alert's message names the province in Persian."""

from __future__ import annotations

import re

import pytest
from test_history import sample

from central.alert_notify import Change, summary
from central.fleet import Fleet
from central.users import Users
from central.web.app import create_app
from central.web.render import fa
from test_history_pages import NOW


@pytest.fixture
def client(tmp_path):
    from starlette.testclient import TestClient

    from central.db import open_db

    db = open_db(str(tmp_path / "fleet.db"))
    sample(db)
    Users(db).add("admin", "centre-pass-1")
    client = TestClient(create_app(Fleet(db), now=lambda: NOW))
    token = re.search(r'name="csrf_token" value="(\w+)"', client.get("/login").text)[1]
    client.post("/login", data={"username": "admin", "password": "centre-pass-1", "csrf_token": token})
    yield client
    db.close()


def test_an_offices_history_opens_its_page_and_each_days_timeline(client):
    page = client.get("/history?start=1405/08/10&end=1405/08/16&device=dev-a2").text
    assert "روند دفتر دو" in page  # its name, «دفتر دو», once: not «روند دفتر دفتر دو»
    assert "روند دفتر دفتر" not in page
    assert 'id="office-page" href="/device/dev-a2"' in page
    days = re.findall(r'<a class="day-link" href="(/device/dev-a2/day\?date=[0-9-]+)"', page)
    assert len(days) == 7 and days[0] == "/device/dev-a2/day?date=2026-11-01"
    assert client.get(days[3]).status_code == 200  # the day it reported opens as a timeline
    province = client.get("/history?start=1405/08/10&end=1405/08/16&province=23").text
    assert "day-link" not in province and 'id="office-page"' not in province  # a province's days are no office's


def test_a_fraction_reads_with_the_persian_decimal_separator(client):
    assert fa(98.2) == "۹۸٫۲" and fa(-0.4) == "-۰٫۴" and fa(1234.5) == "۱٬۲۳۴٫۵"
    page = client.get("/history?start=1405/08/10&end=1405/08/16&province=23").text
    assert "۹۱٫۷٪" in page and not re.search("[۰-۹]\\.[۰-۹]", page)


@pytest.mark.parametrize("grouped", [False, True])
def test_an_alert_message_names_the_province_in_persian_and_the_office_once(grouped):
    alert = {"kind": "offline", "province": "23", "device_id": "dev-1", "office_id": "23-0001",
             "office_name": "دفتر پیشخوان ونک", "grouped": grouped, "devices": 12}
    fa_text, en_text = summary(Change(event="opened", alert=alert))
    if grouped:
        assert fa_text == "هشدار: خاموش یا قطع در ساعت کار — ۱۲ دستگاه در استان تهران (۲۳)"
    else:
        assert fa_text == "هشدار: خاموش یا قطع در ساعت کار — دفتر پیشخوان ونک، استان تهران (۲۳)"
        assert en_text == "alert: offline during announced hours — office 23-0001 (province 23)"
    plain = summary(Change(event="resolved", alert=alert | {"office_name": "", "province": "6", "grouped": False}))[0]
    assert plain == "برطرف شد: خاموش یا قطع در ساعت کار — دفتر dev-1، استان خوزستان (۰۶)"


def test_a_date_fields_example_is_said_to_be_an_example(client):
    """The label's date is the form to type, not the day shown: beside «۱۴۰۵/۰۸/۱۶» it read as another day."""
    for path in ("/report?date=1405/08/16", "/history?start=1405/08/10&end=1405/08/16",
                 "/device/dev-a2/day?date=1405/08/16"):
        page = client.get(path).text
        labels = re.findall(r"<label>([^<]*)<input name=\"(?:date|start)\"", page)
        assert labels and all("مثلاً" in label for label in labels if re.search("[۰-۹]", label)), (path, labels)


def test_the_navigation_keeps_the_province_asked_for(client):
    """From Tehran's fleet page, «روند ساعات کاری» opens Tehran's history, not the whole country's."""
    page = client.get("/?province=23").text
    for path in ("/", "/devices", "/report", "/history", "/ranking", "/alerts", "/health"):
        assert f'<a href="{path}?province=23" class=' in page, path
    assert '<a href="/history" class=' in client.get("/").text
    typed = client.get("/report?province=%DB%B2%DB%B3").text  # ۲۳: kept as typed, every page reads it so
    assert '<a href="/history?province=%DB%B2%DB%B3" class=' in typed
