"""Refusals: office closed, no counter open, or the wait runs past closing time."""

from __future__ import annotations

import datetime as dt

import pytest
from queue_helpers import LANE_A, LANE_C

from pishkhan.exc import OfficeClosed
from pishkhan.text.jalali import TEHRAN
from pishkhan.queue.core import Estimate, Queue


def tehran(day, hour, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=TEHRAN)


@pytest.fixture
def weekly(make_config, qstore):
    """Weekly hours from the default configuration (Saturday 07:30-14:30), counter 1 open."""
    q = Queue(qstore, make_config(hours={"always_open": False}))
    q.open_counter(1, actor="test")
    return q


def test_closed_refusal_says_when_the_office_opens(weekly, clock):
    clock.set(tehran(28, 15))  # Saturday 15:00, after closing
    with pytest.raises(OfficeClosed) as info:
        weekly.issue(LANE_A)
    assert info.value.reason == "closed"
    assert info.value.next_open == tehran(29, 7, 30)
    assert "یکشنبه ۸ آذر" in str(info.value) and "۰۷:۳۰" in str(info.value)
    assert weekly.tickets() == []
    assert weekly.accepting() == (False, "closed", tehran(29, 7, 30))


def test_friday_refusal_points_to_saturday(weekly, clock):
    clock.set(tehran(27, 10))  # Friday
    with pytest.raises(OfficeClosed) as info:
        weekly.issue(LANE_A)
    assert info.value.next_open == tehran(28, 7, 30)


def test_before_opening_is_closed(weekly, clock):
    clock.set(tehran(28, 7, 29))
    with pytest.raises(OfficeClosed, match="بسته"):
        weekly.issue(LANE_A)
    clock.set(tehran(28, 7, 30))
    assert weekly.issue(LANE_A).label == "A001"


def test_cutoff_when_the_estimate_runs_past_closing_minus_margin(weekly, clock):
    clock.set(tehran(28, 14, 0))  # closes 14:30, margin 10 minutes: last call 14:20
    got = [weekly.issue(LANE_A) for _ in range(4)]  # 0, 6, 12, 18 minutes
    assert [t.wait_minutes for t in got] == [0, 6, 12, 18]
    with pytest.raises(OfficeClosed) as info:
        weekly.issue(LANE_A)  # 24 minutes: 14:24 > 14:20
    assert info.value.reason == "cutoff"
    assert info.value.next_open == tehran(29, 7, 30)
    assert "پایان" in str(info.value) and "یکشنبه" in str(info.value)
    assert len(weekly.tickets()) == 4
    # counter 1 would reach lane C only after lane A: refused too
    with pytest.raises(OfficeClosed):
        weekly.issue(LANE_C)
    assert weekly.accepting()[:2] == (False, "cutoff")
    # a counter that serves C with nobody waiting takes it at once
    weekly.open_counter(2, actor="test")
    assert weekly.issue(LANE_C).label == "C001"
    assert weekly.accepting()[0] is True


def test_no_counter_open_for_the_lane(weekly, clock):
    clock.set(tehran(28, 10))
    weekly.close_counter(1, actor="test")
    with pytest.raises(OfficeClosed) as info:
        weekly.issue(LANE_A)
    assert info.value.reason == "no_counter" and info.value.next_open is None
    assert "باجه" in str(info.value)
    assert weekly.accepting() == (False, "no_counter", None)
    weekly.open_counter(2, actor="test")  # serves B and C, not A
    with pytest.raises(OfficeClosed):
        weekly.issue(LANE_A)
    assert weekly.issue(LANE_C).label == "C001"


def test_always_open_has_no_cutoff_at_midnight(queue, clock):
    clock.set(tehran(28, 23, 58))
    for _ in range(5):
        queue.issue(LANE_A)
    assert queue.accepting() == (True, "", None)


def test_estimate_replays_the_queue_over_the_open_counters(queue, clock):
    # A is served by counter 1 (first) and counter 3 (after C); counter 2 never serves A
    for _ in range(3):
        queue.issue(LANE_A)
    est = queue.estimate(LANE_A)
    assert (est.people_ahead, est.minutes) == (3, 6)  # two counters: the 4th ticket starts after one service
    queue.close_counter(3, actor="test")
    assert queue.estimate(LANE_A).minutes == 18
    queue.call_next(1)  # one at the counter now: on average half a service left, then two more
    assert queue.estimate(LANE_A).minutes == 3 + 12
    assert queue.estimate(LANE_A, priority=True) == Estimate(people_ahead=0, minutes=3)


def test_estimate_counts_lanes_a_counter_serves_first_and_their_arrivals(queue, clock):
    queue.close_counter(1, actor="test")
    queue.close_counter(2, actor="test")
    # counter 3 serves C before A: waiting C tickets come first
    queue.issue(LANE_A)
    assert queue.estimate(LANE_A).minutes == 6
    for _ in range(2):
        queue.issue(LANE_C)
    assert queue.estimate(LANE_A).minutes == 6 + 12
    # C tickets keep arriving (30 in the last hour, one every two minutes): more of them will come first
    for _ in range(28):
        queue.issue(LANE_C)
    assert queue.estimate(LANE_A).minutes > 30 * 6 + 6


def test_learned_service_time_feeds_the_estimate(queue, clock):
    queue.close_counter(3, actor="test")
    for _ in range(3):
        queue.issue(LANE_A)
    queue.call_next(1)
    clock.advance(16)
    queue.finish(1)  # mean for A is now 8.0 minutes
    assert queue.estimate(LANE_A).minutes == 16
