"""Attacks on the centre's ratings figures: an office (its device's credentials) reporting ratings that do not
add up, or more ratings than tickets it served, to outweigh its province's mean."""

from __future__ import annotations

import datetime as dt

from central import registry
from central.fleet import Fleet
from central.report import daily_report
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics

T = Topics()
RECEIVED = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.timezone.utc)
DAY = dt.date(2026, 11, 30)


def body(count, by_score, served):
    return {"scheduled_minutes": 360, "serving_minutes": 360, "degraded_minutes": 0, "closed_minutes": 0,
            "unknown_minutes": 0, "events": [], "tickets_issued": served, "tickets_served": served,
            "ratings": {"count": count, "by_score": {str(n): by_score.get(str(n), 0) for n in range(1, 6)}}}


def test_ratings_that_do_not_add_up_or_outnumber_the_served_tickets_are_not_summed(fleet_db):
    fleet = Fleet(fleet_db)
    sent = {"dev-1": body(4, {"1": 3, "2": 1}, 40),                   # honest: counted
            "dev-2": body(1_000_000, {"5": 1_000_000}, 30),          # a million fives from 30 tickets
            "dev-3": body(0, {"5": 1_000_000}, 1_000_000),           # a count that is not the sum
            "dev-4": body(2, {"5": 2}, None)}                        # no queue figures: only the sum checked
    for seq, (device, report) in enumerate(sent.items(), 1):
        registry.register(fleet_db, device_id=device, office_id=f"23-000{seq}", province="23", office_name=device)
        at = payloads.format_time(RECEIVED)
        message = payloads.report(device=device, seq=1, sent_at=at, date=DAY.isoformat(), report=report)
        assert fleet.ingest([(T.device(device, "report"), payloads.encode(message), at)]).accepted == 1
    daily = daily_report(fleet_db, DAY)
    assert daily["ratings"]["by_province"]["23"] == {"count": 6, "by_score": {"1": 3, "2": 1, "3": 0, "4": 0, "5": 2},
                                                      "mean": 2.5}
    assert daily["unreadable"] == 2
    rows = fleet_db.query("SELECT device_id, ratings_count, ratings_5 FROM report_figures ORDER BY device_id")
    assert [(r["device_id"], r["ratings_count"], r["ratings_5"]) for r in rows] == \
        [("dev-1", 4, 0), ("dev-2", 0, 0), ("dev-3", 0, 0), ("dev-4", 2, 2)]
