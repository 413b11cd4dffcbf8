"""The cut-off boundary, to the minute: a wait that ends exactly at closing
time minus the margin is still served; one minute later is not."""

from __future__ import annotations

import datetime as dt

import pytest
from queue_helpers import LANE_A

from pishkhan.exc import OfficeClosed
from pishkhan.queue.core import Queue
from pishkhan.text.jalali import TEHRAN


def tehran(hour, minute=0, second=0):
    return dt.datetime(2026, 11, 28, hour, minute, second, tzinfo=TEHRAN)  # a Saturday: 07:30-14:30


@pytest.fixture
def weekly(make_config, qstore):
    """Default weekly hours, margin 10 minutes (last wait ends 14:20), counter 1 open, 6 minutes a service."""
    config = make_config(hours={"always_open": False})
    assert config.get("hours.cutoff_margin_minutes") == 10
    q = Queue(qstore, config)
    q.open_counter(1, actor="test")
    return q


def test_a_wait_ending_exactly_at_the_last_moment_is_accepted(weekly, clock):
    clock.set(tehran(14, 2))
    got = [weekly.issue(LANE_A) for _ in range(3)]          # waits 0, 6, 12
    assert weekly.accepting() == (True, "", None)            # the next would wait 18: 14:20, the boundary
    last = weekly.issue(LANE_A)
    assert (last.label, last.wait_minutes) == ("A004", 18)
    assert [t.wait_minutes for t in got] == [0, 6, 12]
    assert weekly.accepting()[:2] == (False, "cutoff")       # 24 minutes: 14:26
    with pytest.raises(OfficeClosed) as info:
        weekly.issue(LANE_A)
    assert info.value.reason == "cutoff"
    assert len(weekly.tickets()) == 4


def test_one_minute_past_the_last_moment_is_refused(weekly, clock):
    clock.set(tehran(14, 3))
    for _ in range(3):
        weekly.issue(LANE_A)
    assert weekly.accepting()[:2] == (False, "cutoff")       # 18 minutes from 14:03 is 14:21
    with pytest.raises(OfficeClosed) as info:
        weekly.issue(LANE_A)
    assert info.value.reason == "cutoff"


@pytest.mark.parametrize("at, accepted", [(tehran(14, 20), True), (tehran(14, 20, 1), False),
                                          (tehran(14, 19, 59), True)])
def test_with_nobody_waiting_the_margin_itself_is_the_last_moment(weekly, clock, at, accepted):
    clock.set(at)
    assert weekly.accepting()[0] is accepted
    if accepted:
        assert weekly.issue(LANE_A).wait_minutes == 0
    else:
        with pytest.raises(OfficeClosed) as info:
            weekly.issue(LANE_A)
        assert info.value.reason == "cutoff" and weekly.tickets() == []
