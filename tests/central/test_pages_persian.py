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
    """Province 5, registered as ``5``, is stored ``05``: ``5``, ``۰۵`` and ``۵`` name it too, on every page that
    filters."""
    assert [d["device_id"] for d in client.get("/api/devices", params={"province": typed}).json()["devices"]] == \
        ["dev-0501"]
    assert [p["province"] for p in client.get("/api/fleet", params={"province": typed}).json()["provinces"]] == ["05"]
    report = client.get("/api/report", params={"province": typed, "date": F.TODAY.isoformat()}).json()
    assert [p["province"] for p in report["provinces"]] == ["05"]


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


def visible_text(html: str) -> str:
    """What an analyst reads of a page: no markup, no style, nothing behind a details toggle, no JSON link."""
    html = re.sub(r"<style.*?</style>|<details.*?</details>|<footer.*?</footer>|<title.*?</title>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


#: What developer output looks like: Python's values, raw stamps, units in bytes, English errors and keys.
RAW = re.compile(r"\bTrue\b|\bFalse\b|\bNone\b|\{\}|\[\]|\d{4}-\d\d-\d\dT\d\d|signature|bytes|_s\b|_kb\b|uptime|"
                 r"under_voltage|\blost\b|\bforged\b|kiosk|opened_at|minutes=")


@pytest.fixture
def agent_office(tmp_path):
    """The dashboard fleet and one office of province 06 as a real agent speaks: the judge's late opening
    whole as the detail, full health readings, a board refused for its signature, then a lost connection."""
    from starlette.testclient import TestClient

    from central import registry
    from central.users import Users
    from central.web.app import create_app

    db = open_db(str(tmp_path / "fleet.db"))
    data = F.build(db)
    dev = F.Device("dev-0699", "06", "دفتر پیشخوان اهواز")
    registry.register(db, device_id=dev.id, office_id=dev.office, province="06", office_name=dev.name)
    will = dev.birth(F.tehran(7, 45), None)
    start, end = F.tehran(8), F.tehran(8, 5)
    judged = {"id": f"late_opening@{F.iso(start)}", "kind": "late_opening", "start": F.iso(start),
              "end": F.iso(end), "minutes": 5, "detail": {"opened_at": None, "why": "kiosk not_accepting (closed)"}}
    dev.send("event", F.payloads.event(device=dev.id, seq=dev.next(), sent_at=F.iso(end), event="late_opening",
                                       at=F.iso(start), detail=judged), end)
    throttled = {"raw": "0x50005", "under_voltage": True, "freq_capped": False, "throttling": True,
                 "soft_temp_limit": False, "under_voltage_occurred": True, "freq_capped_occurred": False,
                 "throttling_occurred": True, "soft_temp_limit_occurred": False}
    readings = {"device": {"uptime_s": 93784.0, "cpu_temp_c": 61.2, "throttled": throttled, "load_1m": 0.52,
                           "mem_total_kb": 3_882_000, "mem_available_kb": 2_100_000,
                           "disk_free_bytes": 12_400_000_000, "disk_total_bytes": 31_000_000_000,
                           "storage_written_bytes": 5_300_000_000, "fs_errors": 0, "net_iface": "wlan0",
                           "net_addr": "192.168.1.20", "wifi_signal_dbm": -61, "services": {"agent": 3600.0}},
                "peripherals": {"printer": {"state": "ok", "reason": "", "at": F.iso(F.tehran(7, 50))}},
                "clock": {"synchronized": True, "source": "chrony"},
                "compliance": {"in_hours": True, "state": "closed", "why": "kiosk", "since": F.iso(start)}}
    dev.send("telemetry", F.payloads.telemetry(
        device=dev.id, seq=dev.next(), sent_at=F.iso(F.tehran(8, 10)), full=True, readings=readings,
        agent={"uptime_s": 3600.0, "outbox": {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0,
                                              "dropped": {}, "refused": 0}}), F.tehran(8, 10))
    dev.send("reported", F.payloads.reported(
        device=dev.id, seq=dev.next(), sent_at=F.iso(F.tehran(8, 12)), applied={},
        refused=[{"kind": "board", "topic": "pishkhan/v1/all/board", "reason": "forged",
                  "message": "the signature does not verify against a key this device trusts", "sha256": "ab" * 32}]),
        F.tehran(8, 12))
    dev.offline(will, "lost", F.tehran(8, 20))
    counts = data["fleet"].ingest(dev.messages)
    assert counts.refused == 0, counts.reasons
    Users(db).add("admin", "centre-pass-1")
    client = TestClient(create_app(data["fleet"], now=lambda: F.NOW))
    token = re.search(r'name="csrf_token" value="(\w+)"', client.get("/login").text)[1]
    client.post("/login", data={"username": "admin", "password": "centre-pass-1", "csrf_token": token})
    yield client
    db.close()


def test_an_analyst_reads_every_value_in_persian_words_and_units(agent_office):
    office = agent_office.get("/device/dev-0699").text
    fleet = agent_office.get("/?province=06").text
    for page in (office, fleet):
        text = visible_text(page)
        assert not RAW.findall(text), RAW.findall(text)
    text = visible_text(office)
    assert "زمان اجرای عامل ۱ ساعت" in text and "۱۱٫۵ گیگابایت" in text and "۶۱٫۲ درجهٔ سانتی‌گراد" in text
    assert "ولتاژ کم (اکنون)، کندسازی (اکنون)" in text and "قطع ناگهانی" in text
    assert "تا ۰۸:۱۰ هنوز باز نشده بود" in text  # its own state at 08:10 still said closed
    assert "امضا با کلیدی مورد اعتماد تأیید نمی‌شود" in visible_text(fleet)
    # the engineer still finds every raw value, behind the toggle
    assert "disk_free_bytes" in office and "the signature does not verify" in fleet and 'class="technical"' in fleet


def test_words_and_units():
    from central.web import render, words

    assert (render.fa(True), render.fa(False), render.fa({}), render.fa(None)) == ("بله", "خیر", "نامعلوم", "نامعلوم")
    assert words.duration(93784) == "۱ روز و ۲ ساعت" and words.duration(40) == "۴۰ ثانیه"
    assert words.size(1536) == "۱٫۵ کیلوبایت" and words.size(12) == "۱۲ بایت"
    assert words.reading({}, "agent.outbox.dropped") == "—" and words.reading(False, "x") == "خیر"
    assert words.reading(10 ** 5000, "disk_free_bytes") == "نامعلوم"  # too large to write is unknown, not a 500
    assert words.why_text("kiosk not_accepting (paused); printer error") == "کیوسک نوبت نمی‌داد؛ چاپگر از کار افتاده بود"
