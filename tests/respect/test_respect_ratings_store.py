"""Customer ratings in the office store: once per ticket and day, refusals with reasons, in the daily report."""

from __future__ import annotations

import datetime as dt

import pytest
from queue_helpers import LANE_A, LANE_B

from pishkhan.compliance.judge import day_report
from pishkhan.exc import RatingRefused
from pishkhan.protocol import payloads
from pishkhan.queue.ratings import Ratings, day_figures, normalise_number
from pishkhan.schedule.hours import hours_from_config
from pishkhan.text import jalali


def served(queue, counter=1):
    ticket = queue.call_next(counter)
    queue.finish(counter)
    return ticket


def reason_of(fn) -> str:
    with pytest.raises(RatingRefused) as info:
        fn()
    return info.value.reason


def test_typed_numbers_are_read_loosely():
    assert normalise_number("a12") == normalise_number("A۰۱۲") == normalise_number(" A012") == "A012"
    assert normalise_number("۱۰۱") == "101"
    assert normalise_number("AB1") is None and normalise_number("") is None and normalise_number("1" * 9) is None


def test_one_rating_per_served_ticket_per_day_audited(queue, qstore, clock):
    ratings = Ratings(qstore)
    a1 = queue.issue(LANE_A)
    b1 = queue.issue(LANE_B)
    assert not ratings.served_today()
    assert reason_of(lambda: ratings.rate(a1.label, 5)) == "not_served"   # waiting
    assert reason_of(lambda: ratings.rate("A099", 5)) == "unknown_ticket"
    assert reason_of(lambda: ratings.rate("سلام", 5)) == "unknown_ticket"
    assert served(queue).label == a1.label
    assert ratings.served_today()
    assert reason_of(lambda: ratings.rate("a1", 6)) == "invalid"
    assert reason_of(lambda: ratings.rate("a1", True)) == "invalid"
    assert ratings.check("a1") == "A001"
    row = ratings.rate("a1", 4)
    assert row["ticket_number"] == "A001" and row["score"] == 4
    assert reason_of(lambda: ratings.rate("A001", 1)) == "already_rated"  # the first stands
    assert [tuple(r) for r in qstore.query("SELECT ticket_number, score FROM ratings")] == [("A001", 4)]
    facts = qstore.audit_entries(action="rating.given")
    assert [(f["actor"], f["subject"], f["detail"]["score"]) for f in facts] == [("customer", "A001", 4)]
    # no personal data: the row holds the day, the number, the score and the time only
    assert [r[1] for r in qstore.query("PRAGMA table_info(ratings)")] == ["day", "ticket_number", "score", "at"]
    b_counter = next(c.number for c in queue.config.counters if b1.lane in c.lanes)
    assert served(queue, b_counter).label == b1.label
    ratings.rate(str(b1.number), 2)
    # the next business day: numbers start afresh, and so do ratings
    clock.advance(24 * 60)
    assert reason_of(lambda: ratings.rate("A001", 5)) == "unknown_ticket"


def test_day_report_carries_ratings_and_follows_the_schema(queue, qstore, config, clock):
    ratings = Ratings(qstore)
    for _ in range(3):
        queue.issue(LANE_A)
    for score in (5, 5, 2):
        ratings.rate(served(queue).label, score)
    day = jalali.today(qstore.now())
    assert day_figures(qstore, day.isoformat()) == {"count": 3, "by_score": {"1": 0, "2": 1, "3": 0, "4": 0,
                                                                               "5": 2}}
    report = day_report(qstore, config, hours_from_config(config, store=qstore), day, until=qstore.now())
    assert report["ratings"]["count"] == 3 and report["ratings"]["by_score"]["5"] == 2
    message = payloads.report(device="dev-1", seq=1, sent_at=dt.datetime.now(dt.timezone.utc),
                              date=day.isoformat(), report=report)
    payloads.validate(message)
    bad = dict(message, report=dict(report, ratings={"count": 1, "by_score": {"6": 1}}))
    assert payloads.problems(bad)
