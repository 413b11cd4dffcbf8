"""What an analyst types and reads on the dashboard: provinces by name and typed any way, dates in the
Jalali calendar (the fleet of dashboard_fleet, through the app itself)."""

from __future__ import annotations

import datetime as dt
import re

import dashboard_fleet as F
import pytest

from central.db import open_db
from pishkhan.text import jalali


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from starlette.testclient import TestClient

    from central.users import Users
    from central.web.app import create_app

    db = open_db(str(tmp_path_factory.mktemp("persian") / "fleet.db"))
    data = F.build(db)
    Users(db).add("admin", "centre-pass-1")
    client = TestClient(create_app(data["fleet"], now=lambda: F.NOW))
    token = re.search(r'name="csrf_token" value="(\w+)"', client.get("/login").text)[1]
    client.post("/login", data={"username": "admin", "password": "centre-pass-1", "csrf_token": token})
    yield client
    db.close()


@pytest.mark.parametrize("typed", ["23", "۲۳", "٢٣", " 23"])
def test_a_province_typed_in_persian_digits_matches_it(client, typed):
    devices = client.get("/api/devices", params={"province": typed}).json()["devices"]
    assert sorted(d["device_id"] for d in devices) == ["dev-2301", "dev-2302", "dev-2303", "dev-2304"]


@pytest.mark.parametrize("typed", ["5", "05", "۰۵", "۵"])
def test_a_province_with_or_without_its_leading_zero_matches_it(client, typed):
    """The fleet stores province 5 as ``5``: ``05`` and ``۰۵`` name it too, on every page that filters."""
    assert [d["device_id"] for d in client.get("/api/devices", params={"province": typed}).json()["devices"]] == \
        ["dev-0501"]
    assert [p["province"] for p in client.get("/api/fleet", params={"province": typed}).json()["provinces"]] == ["5"]
    report = client.get("/api/report", params={"province": typed, "date": F.TODAY.isoformat()}).json()
    assert [p["province"] for p in report["provinces"]] == ["5"]


def test_provinces_are_shown_by_their_persian_names(client):
    page = client.get("/", params={"province": "۲۳"}).text
    assert "تهران (۲۳)" in page and "استان ۲۳" not in page
    report = client.get("/report", params={"date": F.TODAY.isoformat()}).text
    assert "تهران (۲۳)" in report and "کرمانشاه (۰۵)" in report
    assert '<option value="30" >البرز (۳۰)</option>' in report  # the picker offers all 31 by name


def test_the_report_is_picked_and_titled_in_the_jalali_calendar(client):
    j = jalali.to_jalali(F.TODAY)
    typed = f"{j.year}/{j.month:02d}/{j.day:02d}"
    persian = jalali.format_numeric(F.TODAY)
    for date in (typed, persian, F.TODAY.isoformat()):
        assert client.get("/api/report", params={"date": date}).json()["date"] == F.TODAY.isoformat()
    page = client.get("/report", params={"date": persian}).text
    title = re.search(r"<title>(.*?)</title>", page, re.S)[1]
    assert jalali.format_date(F.TODAY) in title and F.TODAY.isoformat() not in title
    assert f'value="{persian}"' in page and 'type="date"' not in page
    yesterday = (F.TODAY - dt.timedelta(days=1)).isoformat()
    assert f'href="/report?date={yesterday}"' in page
    refused = client.get("/api/report", params={"date": f"{j.year}/13/01"})
    assert refused.status_code == 400 and "YYYY/MM/DD" in refused.json()["error"]
