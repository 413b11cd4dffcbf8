"""Numbering: per lane, by prefix or range, restarting each Tehran business day."""

from __future__ import annotations

import datetime as dt

import pytest
from queue_helpers import LANE_A, LANE_B, LANE_C

from pishkhan.boards.installed import set_unavailable
from pishkhan.exc import QueueError
from pishkhan.queue.core import Queue


def test_prefix_lane_numbers_from_one_with_three_digits(queue):
    labels = [queue.issue(LANE_A).label for _ in range(3)]
    assert labels == ["A001", "A002", "A003"]
    t = queue.ticket(queue.last_ticket().id)
    assert (t.lane, t.number, t.state, t.print_state) == ("A", 3, "waiting", "pending")
    assert t.display_label == "A۰۰۳"


def test_range_lane_numbers_inside_its_range(queue):
    assert [queue.issue(LANE_B).label for _ in range(3)] == ["101", "102", "103"]
    assert queue.last_ticket().display_label == "۱۰۳"


def test_lanes_number_independently(queue):
    got = [queue.issue(code).label for code in (LANE_A, LANE_B, LANE_C, LANE_A, LANE_B, LANE_C)]
    assert got == ["A001", "101", "C001", "A002", "102", "C002"]


def test_service_goes_to_the_lane_of_its_category(queue):
    # judicial -> lane B, passport -> lane A, welfare (no lane names it) -> lane C ("*")
    assert queue.issue("JUD-01").lane == "B"
    assert queue.issue("PASS-01").lane == "A"
    assert queue.issue("SUB-01").lane == "C"


def test_ticket_carries_service_and_times(queue, clock):
    t = queue.issue(LANE_A)
    assert t.service_code == LANE_A and "کارت هوشمند ملی" in t.service_title
    assert t.issued_at == t.arrived_at == "2026-11-28T07:00:00.000000Z"
    assert t.day == "2026-11-28"


def test_numbers_restart_on_the_tehran_day_not_the_utc_day(queue, clock):
    clock.set(dt.datetime(2026, 11, 28, 20, 29, tzinfo=dt.timezone.utc))  # 23:59 in Tehran
    assert queue.issue(LANE_A).label == "A001"
    assert queue.issue(LANE_A).label == "A002"
    clock.set(dt.datetime(2026, 11, 28, 20, 31, tzinfo=dt.timezone.utc))  # 00:01 on the 29th in Tehran
    t = queue.issue(LANE_A)
    assert (t.label, t.day) == ("A001", "2026-11-29")
    # yesterday's tickets are not waiting today
    assert queue.waiting("A") == 1


def test_range_used_up_is_refused_and_nothing_written(make_config, qstore):
    cfg = make_config(lanes=[{"code": "B", "range": [10, 12], "categories": ["*"]}],
                      counters=[{"number": 1, "lanes": ["B"]}])
    q = Queue(qstore, cfg)
    q.open_counter(1, actor="test")
    assert [q.issue(LANE_B).label for _ in range(3)] == ["10", "11", "12"]
    with pytest.raises(QueueError, match="10-12"):
        q.issue(LANE_B)
    assert len(q.tickets()) == 3


def test_prefix_lane_goes_past_999(make_config, qstore):
    cfg = make_config(lanes=[{"code": "Z", "prefix": "Z", "categories": ["*"]}],
                      counters=[{"number": 1, "lanes": ["Z"]}])
    q = Queue(qstore, cfg)
    q.open_counter(1, actor="test")
    qstore.execute("INSERT INTO tickets(day, lane, number, label, service_code, service_title, state, issued_at, "
                   "arrived_at) VALUES ('2026-11-28', 'Z', 999, 'Z999', 'X', 'x', 'done', 'a', 'a')")
    assert q.issue(LANE_A).label == "Z1000"


def test_unknown_and_unavailable_services_are_refused(queue, qstore):
    with pytest.raises(QueueError, match="NOPE-1"):
        queue.issue("NOPE-1")
    set_unavailable(qstore, LANE_A, "سامانه ثبت احوال قطع است", actor="staff")
    with pytest.raises(QueueError, match="قطع است"):
        queue.issue(LANE_A)
    assert queue.tickets() == []
    set_unavailable(qstore, LANE_A, None, actor="staff")
    assert queue.issue(LANE_A).label == "A001"


def test_no_board_installed_is_a_clear_error(store, config):
    q = Queue(store, config)
    q.open_counter(1, actor="test")
    with pytest.raises(QueueError, match="no tariff board"):
        q.issue(LANE_A)


def test_priority_turned_off_in_config(make_config, qstore):
    q = Queue(qstore, make_config(office={"allow_priority": False}))
    q.open_counter(1, actor="test")
    with pytest.raises(QueueError, match="allow_priority"):
        q.issue(LANE_A, priority=True)


def test_a_duplicate_number_is_refused_by_the_database(queue, qstore):
    from pishkhan.exc import StoreConstraint

    queue.issue(LANE_A)
    with pytest.raises(StoreConstraint, match="UNIQUE"):
        qstore.execute("INSERT INTO tickets(day, lane, number, label, service_code, service_title, state, "
                       "issued_at, arrived_at) VALUES ('2026-11-28', 'A', 1, 'A001', 'X', 'x', 'waiting', 'a', 'a')")
