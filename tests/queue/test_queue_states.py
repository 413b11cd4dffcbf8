"""Calling, recalls, no-shows, transfers, cancels, end of day; every change recorded."""

from __future__ import annotations

import pytest
from queue_helpers import LANE_A, LANE_B, LANE_C

from pishkhan.exc import QueueError
from pishkhan.queue.core import Queue


def test_counter_calls_its_lanes_in_order(queue, clock):
    c1 = queue.issue(LANE_C)
    clock.advance(1)
    a1 = queue.issue(LANE_A)
    # counter 1 serves A then C: A first although C arrived earlier
    assert queue.call_next(1).id == a1.id
    assert queue.call_next(1).id == c1.id
    assert queue.call_next(1) is None
    # counter 2 serves B then C, and only those
    queue.issue(LANE_A)
    assert queue.call_next(2) is None


def test_oldest_arrival_first_within_a_lane(queue, clock):
    first = queue.issue(LANE_A)
    clock.advance(1)
    queue.issue("ID-02")
    called = queue.call_next(1)
    assert called.id == first.id
    assert (called.state, called.counter, called.called_at) == ("called", 1, "2026-11-28T07:01:00.000000Z")


def test_next_finishes_the_current_ticket(queue, clock):
    a = queue.issue(LANE_A)
    b = queue.issue(LANE_A)
    queue.call_next(1)
    clock.advance(5)
    queue.call_next(1)
    assert queue.ticket(a.id).state == "done"
    assert queue.ticket(a.id).finished_at == "2026-11-28T07:05:00.000000Z"
    assert queue.current_ticket(1).id == b.id


def test_closed_counter_cannot_call(queue):
    queue.issue(LANE_A)
    queue.close_counter(1, actor="staff")
    with pytest.raises(QueueError, match="counter 1 is closed"):
        queue.call_next(1)
    with pytest.raises(QueueError, match="no counter 9"):
        queue.call_next(9)


@pytest.mark.parametrize("n, expected", [
    (2, "P1 N1 N2 P2 N3 N4 P3 N5 N6"),
    (1, "P1 N1 P2 N2 P3 N3 N4 N5 N6"),
    (0, "P1 P2 P3 N1 N2 N3 N4 N5 N6"),
])
def test_priority_interleave(make_config, qstore, clock, n, expected):
    q = Queue(qstore, make_config(queue={"normal_per_priority": n}))
    q.open_counter(1, actor="test")
    names = {}
    for i in range(1, 7):  # six normal tickets, then three priority ones
        names[q.issue(LANE_A).id] = f"N{i}"
        clock.advance(seconds=10)
    for i in range(1, 4):
        names[q.issue(LANE_A, priority=True).id] = f"P{i}"
        clock.advance(seconds=10)
    order = []
    while (t := q.call_next(1)) is not None:
        order.append(names[t.id])
    assert " ".join(order) == expected


def test_recall_counts_then_no_show(make_config, qstore):
    q = Queue(qstore, make_config(queue={"no_show_after_recalls": 2}))
    q.open_counter(1, actor="test")
    t = q.issue(LANE_A)
    q.call_next(1)
    assert q.recall(1).recalls == 1
    assert q.recall(1).recalls == 2
    gone = q.recall(1)
    assert (gone.id, gone.state, gone.recalls) == (t.id, "no_show", 2)
    assert q.current_ticket(1) is None
    calls = q.recent_calls()
    assert [c.recall for c in calls] == [2, 1, 0]  # newest first; the no-show is not announced
    with pytest.raises(QueueError, match="no called ticket"):
        q.recall(1)


def test_serve_then_finish_and_explicit_no_show(queue):
    a = queue.issue(LANE_A)
    b = queue.issue(LANE_A)
    queue.call_next(1)
    assert queue.serve(1).state == "serving"
    with pytest.raises(QueueError):
        queue.recall(1)  # a customer being served is not recalled
    assert queue.finish(1).id == a.id
    assert queue.finish(1) is None
    queue.call_next(1)
    assert queue.no_show(1).id == b.id
    assert queue.ticket(b.id).state == "no_show"


def test_transfer_keeps_label_and_arrival_time(queue, clock):
    early = queue.issue(LANE_A)                # 07:00
    clock.advance(10)
    later_c = queue.issue(LANE_C)              # 07:10
    clock.advance(10)
    moved = queue.transfer(early.id, "C", actor="staff")
    assert (moved.lane, moved.label, moved.state) == ("C", "A001", "waiting")
    assert moved.arrived_at == early.arrived_at and moved.id != early.id
    assert queue.ticket(early.id).state == "transferred"
    # in lane C it stands where it would have stood: before the ticket taken after it
    assert queue.call_next(3).id == moved.id
    assert queue.call_next(3).id == later_c.id
    # the numbering of lane C is not disturbed, and A's next number is still A002
    assert queue.issue(LANE_C).label == "C002"
    assert queue.issue(LANE_A).label == "A002"
    with pytest.raises(QueueError, match="unknown lane"):
        queue.transfer(later_c.id, "Q", actor="staff")
    assert qstore_actions(queue) >= {"ticket.transfer"}


def qstore_actions(queue):
    return {e["action"] for e in queue.store.audit_entries()}


def test_cancel(queue):
    t = queue.issue(LANE_A)
    done = queue.cancel(t.id, actor="staff")
    assert done.state == "cancelled"
    assert queue.waiting() == 0
    with pytest.raises(QueueError, match="cancelled"):
        queue.cancel(t.id, actor="staff")
    with pytest.raises(QueueError, match="no ticket with id 999"):
        queue.cancel(999, actor="staff")
    assert "ticket.cancel" in qstore_actions(queue)


def test_end_of_day_closes_everything(queue, qstore):
    w = queue.issue(LANE_A)
    s = queue.issue(LANE_B)
    c = queue.issue(LANE_C)
    queue.call_next(2)
    queue.serve(2)       # s is being served
    queue.call_next(3)   # c is called
    assert queue.end_of_day(actor="staff") == 3
    assert [queue.ticket(t.id).state for t in (w, s, c)] == ["cancelled", "done", "cancelled"]
    assert queue.open_counters() == []
    assert qstore.last_state("counter:2")["state"] == "closed"
    assert "queue.end_of_day" in qstore_actions(queue)


def test_every_state_change_is_a_row_with_time(queue, clock):
    t = queue.issue(LANE_A)
    clock.advance(2)
    queue.call_next(1)
    clock.advance(1)
    queue.recall(1)
    clock.advance(1)
    queue.serve(1)
    clock.advance(4)
    queue.finish(1)
    events = queue.events(t.id)
    assert [(e["event"], e["at"][11:16]) for e in events] == [
        ("waiting", "07:00"), ("called", "07:02"), ("recalled", "07:03"), ("serving", "07:04"), ("done", "07:08")]
    # nothing personal: the ticket table has no column for a name, phone or national id
    columns = {r[1] for r in queue.store.query("PRAGMA table_info(tickets)")}
    assert not columns & {"name", "phone", "national_id", "mobile"}
    with pytest.raises(Exception, match="append-only"):
        queue.store.execute("DELETE FROM ticket_events")


def test_counter_open_close_is_recorded(qstore, config):
    q = Queue(qstore, config)
    assert q.open_counters() == []
    q.open_counter(2, actor="staff")
    q.open_counter(2, actor="staff")  # again: no second record
    q.close_counter(2, actor="staff")
    assert [h["state"] for h in qstore.state_history("counter:2")] == ["open", "closed"]
    assert [e["action"] for e in qstore.audit_entries() if e["subject"] == "counter:2"] == \
        ["counter.close", "counter.open"]
    with pytest.raises(QueueError, match="no counter 7"):
        q.open_counter(7, actor="staff")


def test_recent_calls_newest_first_for_the_wall(queue, clock):
    a = queue.issue(LANE_A)
    b = queue.issue(LANE_B)
    queue.call_next(1)
    clock.advance(1)
    queue.call_next(2)
    clock.advance(1)
    queue.recall(1)
    calls = queue.recent_calls()
    assert [(c.ticket.label, c.counter, c.recall) for c in calls] == [("A001", 1, 1), ("101", 2, 0), ("A001", 1, 0)]
    assert calls[0].ticket.id == a.id and calls[1].ticket.id == b.id
    assert len(queue.recent_calls(limit=2)) == 2


def test_service_time_is_learned_per_lane(queue, clock):
    before = queue.service_minutes("A")
    assert before == 6.0
    for _ in range(3):
        queue.issue(LANE_A)
    queue.call_next(1)
    clock.advance(16)
    queue.call_next(1)  # 16 minutes observed
    assert queue.service_minutes("A") == pytest.approx(6.0 + 0.2 * (16 - 6.0))
    assert queue.service_minutes("B") == 6.0
