"""Customers' ratings at the centre (SQLite and PostgreSQL): a report's ``ratings`` kept in report_figures and
its rollups by office and province, on the daily report and the history page, an unreadable one counted."""

from __future__ import annotations

import datetime as dt
import re

from dashboard_client import Client, serving

from central import history, registry
from central.fleet import Fleet
from central.history import Period
from central.report import daily_report
from central.users import Users
from central.web.app import create_app
from central.web.render import report_html
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics

T = Topics()
RECEIVED = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.timezone.utc)
DAY = dt.date(2026, 11, 30)


def report(by_score: dict | None) -> dict:
    out = {"scheduled_minutes": 360, "serving_minutes": 360, "degraded_minutes": 0, "closed_minutes": 0,
           "unknown_minutes": 0, "events": []}
    if by_score is not None:
        full = {str(n): by_score.get(str(n), 0) for n in range(1, 6)}
        out["ratings"] = {"count": sum(full.values()), "by_score": full}
    return out


def send(fleet, device, seq, body, *, minutes=0):
    at = payloads.format_time(RECEIVED + dt.timedelta(minutes=minutes))
    message = payloads.report(device=device, seq=seq, sent_at=at, date=DAY.isoformat(), report=body)
    assert fleet.ingest([(T.device(device, "report"), payloads.encode(message), at)]).accepted == 1


def test_ratings_by_office_and_province_on_sqlite_and_postgresql(fleet_db):
    for device, office, province in (("dev-1", "23-0001", "23"), ("dev-2", "23-0002", "23"),
                                     ("dev-3", "11-0001", "11"), ("dev-4", "11-0002", "11")):
        registry.register(fleet_db, device_id=device, office_id=office, province=province, office_name=office)
    fleet = Fleet(fleet_db)
    send(fleet, "dev-1", 1, report({"5": 3, "4": 1}))
    send(fleet, "dev-2", 1, report({"1": 1, "5": 1}))
    send(fleet, "dev-3", 1, report(None))                     # a report from before ratings: zeros, not unreadable
    send(fleet, "dev-1", 2, report({"5": 4, "4": 1}), minutes=5)  # the day sent again: counted once
    row = fleet_db.query_one("SELECT ratings_count, ratings_1, ratings_4, ratings_5 FROM report_figures "
                             "WHERE device_id = 'dev-1'")
    assert row == {"ratings_count": 5, "ratings_1": 0, "ratings_4": 1, "ratings_5": 4}
    day = fleet_db.query_one("SELECT ratings_count, ratings_1, ratings_5 FROM report_days WHERE province = '23'")
    assert day == {"ratings_count": 7, "ratings_1": 1, "ratings_5": 5}
    period = Period(DAY, DAY)
    assert history.trend(fleet_db, period, province="23")["totals"]["ratings_count"] == 7
    assert history.trend(fleet_db, period, device_id="dev-2")["totals"]["ratings_1"] == 1
    assert history.trend(fleet_db, period, province="11")["totals"]["ratings_count"] == 0
    ranked = {r["device_id"]: r["ratings_count"] for r in history.offices(fleet_db, period, province="23")}
    assert ranked == {"dev-1": 5, "dev-2": 2}

    daily = daily_report(fleet_db, DAY)
    by_province = daily["ratings"]["by_province"]
    assert by_province["23"] == {"count": 7, "by_score": {"1": 1, "2": 0, "3": 0, "4": 1, "5": 5}, "mean": 4.3}
    assert by_province["11"]["count"] == 0 and by_province["11"]["mean"] is None
    assert daily["ratings"]["totals"]["count"] == 7 and daily["unreadable"] == 0
    page = report_html(daily)
    line = re.search(r'<p id="ratings">(.*?)</p>', page, re.S)[1]
    assert "طرح تکریم ارباب رجوع" in line and "۷ امتیاز" in line and "میانگین ۴٫۳ از ۵" in line, line
    Users(fleet_db).add("admin", "centre-pass-1")
    with serving(create_app(fleet, now=lambda: RECEIVED)) as url:
        admin = Client(url)
        assert admin.login("admin", "centre-pass-1")[0] == 303
        office = admin.get(f"/history?start={DAY}&end={DAY}&device=dev-1")[2].decode()
        province = admin.get(f"/history?start={DAY}&end={DAY}&province=23")[2].decode()
    assert "۵ امتیاز، میانگین ۴٫۸ از ۵" in re.search(r'<p id="ratings">(.*?)</p>', office, re.S)[1]
    assert "۷ امتیاز، میانگین ۴٫۳ از ۵" in re.search(r'<p id="ratings">(.*?)</p>', province, re.S)[1]
    assert "امتیازی ثبت نشده است" in re.search(r'<p id="ratings">(.*?)</p>',
                                                report_html(daily_report(fleet_db, DAY, province="11")), re.S)[1]


def test_an_unreadable_rating_is_counted_not_summed(fleet_db):
    registry.register(fleet_db, device_id="dev-9", office_id="23-0009", province="23", office_name="نه")
    body = report({"5": 2})
    # stored by another path (the schema would refuse it on ingest): read with the stored value bounded
    fleet_db.write(lambda c: c.execute(
        "INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?)",
        ("dev-9", DAY.isoformat(), "23", payloads.encode({**body, "ratings": {"count": -3, "by_score": {"5": 2}}})
         .decode(), RECEIVED.isoformat())))
    daily = daily_report(fleet_db, DAY)
    assert daily["ratings"]["totals"]["by_score"]["5"] == 2 and daily["ratings"]["totals"]["count"] == 0
    assert daily["unreadable"] == 1
