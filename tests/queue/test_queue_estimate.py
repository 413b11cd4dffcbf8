"""The wait estimate's replay as a function of plain data (no store, no configuration)."""

from __future__ import annotations

import pytest

from pishkhan.queue.estimate import (ARRIVAL_WINDOW, HORIZON_MINUTES, Estimate, OpenCounter, estimate_wait,
                                     learn)

MEANS = {"A": 6.0, "B": 4.0, "C": 10.0}


def wait(lane="A", *, waiting=None, counters=(), arrivals=None, means=MEANS) -> Estimate:
    return estimate_wait(lane, waiting=waiting or {}, service_minutes=means, counters=counters,
                         arrivals=arrivals or {})


def test_no_open_counter_for_the_lane_is_minus_one_with_the_people_ahead():
    assert wait(waiting={"A": 3}) == Estimate(3, -1)
    assert wait(waiting={"A": 3}, counters=[OpenCounter(2, ("B", "C"))]) == Estimate(3, -1)


def test_an_idle_counter_and_nobody_waiting_is_now():
    assert wait(counters=[OpenCounter(1, ("A",))]) == Estimate(0, 0)


def test_each_ticket_ahead_takes_a_mean_service():
    assert wait(waiting={"A": 3}, counters=[OpenCounter(1, ("A",))]) == Estimate(3, 18)


def test_a_busy_counter_is_free_after_half_a_service():
    assert wait(counters=[OpenCounter(1, ("A",), busy_with="C")]) == Estimate(0, 5)
    assert wait(waiting={"A": 1}, counters=[OpenCounter(1, ("A",), busy_with="A")]) == Estimate(1, 9)


def test_counters_share_the_lane():
    two = [OpenCounter(1, ("A",)), OpenCounter(2, ("A",))]
    assert wait(waiting={"A": 4}, counters=two) == Estimate(4, 12)


def test_a_counter_serves_its_lanes_in_order():
    # counter 1 takes lane B first: two B tickets (4 min each), then ours
    assert wait(waiting={"A": 0, "B": 2}, counters=[OpenCounter(1, ("B", "A"))]) == Estimate(0, 8)
    # with A first, ours is taken at once
    assert wait(waiting={"B": 2}, counters=[OpenCounter(1, ("A", "B"))]) == Estimate(0, 0)


def test_a_counter_with_nothing_to_take_drops_out():
    # counter 2 serves only B, which is empty: only counter 1 (busy on C) takes ours
    counters = [OpenCounter(1, ("A",), busy_with="C"), OpenCounter(2, ("B",))]
    assert wait(counters=counters) == Estimate(0, 5)


def test_arrivals_in_other_lanes_are_expected_but_not_in_our_own():
    counters = [OpenCounter(1, ("B", "A"))]
    # one B ticket a minute arrives: once busy, the counter keeps taking B first, up to the horizon
    capped = wait("C", waiting={"C": 1}, counters=[OpenCounter(1, ("B", "C"))],
                  arrivals={"B": ARRIVAL_WINDOW})
    assert HORIZON_MINUTES < capped.minutes <= HORIZON_MINUTES + MEANS["B"]
    # arrivals in our own lane queue behind us
    assert wait(waiting={"A": 1}, counters=counters, arrivals={"A": 10 * ARRIVAL_WINDOW}) == Estimate(1, 6)
    # a few B arrivals: int(rate * minutes) of them are waiting when the counter is next free
    assert wait(waiting={"A": 1}, counters=counters, arrivals={"B": ARRIVAL_WINDOW // 6}) == Estimate(1, 10)


def test_priority_tickets_are_counted_by_the_caller():
    # the caller passes the waiting priority tickets as the lane's count
    assert wait(waiting={"A": 1, "B": 5}, counters=[OpenCounter(1, ("A",))]) == Estimate(1, 6)


def test_learning_the_mean_clips_outliers():
    assert learn(6.0, 16.0) == pytest.approx(8.0)
    assert learn(6.0, 100.0) == pytest.approx(6.0 + 0.2 * (24.0 - 6.0))  # clipped to 4x the mean
    assert learn(6.0, -3.0) == pytest.approx(4.8)  # a clock step back counts as zero
