"""Day figures per lane and counter, from a scripted day on a hand-moved clock."""

from __future__ import annotations

from queue_helpers import LANE_A, LANE_B

from pishkhan.queue.kpi import day_report, format_report


def test_day_report(queue, clock, qstore, config):
    t1 = queue.issue(LANE_A)            # 07:00
    queue.issue(LANE_B)                 # 07:00, never called
    clock.advance(2)
    queue.issue(LANE_A)                 # 07:02
    clock.advance(2)
    queue.issue(LANE_A)                 # 07:04  -> 3 waiting in A, 4 in all
    clock.advance(1)
    assert queue.call_next(1).id == t1.id   # 07:05 wait 5
    clock.advance(10)
    queue.call_next(1)                  # 07:15 t1 done (10 min), t2 called (wait 13)
    clock.advance(6)
    queue.no_show(1)                    # 07:21
    clock.advance(1)
    queue.call_next(1)                  # 07:22 t3 called (wait 18)
    clock.advance(8)
    queue.finish(1)                     # 07:30 t3 done (8 min)
    clock.advance(1)
    t4 = queue.issue(LANE_A)
    clock.advance(1)
    queue.cancel(t4.id, actor="staff")
    clock.advance(24 * 60)              # the next day: a ticket there is not in this report
    queue.issue(LANE_A)

    report = day_report(qstore, config, "2026-11-28")
    a = report["lanes"]["A"]
    assert a == {"issued": 4, "served": 2, "no_show": 1, "cancelled": 1, "transferred": 0,
                 "wait_mean": 12.0, "wait_p90": 18.0, "service_mean": 9.0, "longest_queue": 3}
    assert report["lanes"]["B"] | {} == {"issued": 1, "served": 0, "no_show": 0, "cancelled": 0, "transferred": 0,
                                         "wait_mean": None, "wait_p90": None, "service_mean": None,
                                         "longest_queue": 1}
    c1 = report["counters"]["1"]
    assert (c1["called"], c1["served"], c1["no_show"], c1["wait_mean"], c1["longest_queue"]) == (3, 2, 1, 12.0, 3)
    assert report["counters"]["2"]["called"] == 0 and report["counters"]["2"]["longest_queue"] == 1
    total = report["total"]
    assert (total["issued"], total["served"], total["longest_queue"]) == (5, 2, 4)
    table = format_report(report)
    assert "lane A" in table and "12.0" in table and "18.0" in table
    assert day_report(qstore, config, "2026-11-29")["total"]["issued"] == 1


def test_transfer_counts_once_as_issued(queue, clock, qstore, config):
    t = queue.issue(LANE_A)
    clock.advance(5)
    moved = queue.transfer(t.id, "C", actor="staff")
    clock.advance(5)
    assert queue.call_next(3).id == moved.id
    report = day_report(qstore, config, "2026-11-28")
    assert report["total"]["issued"] == 1
    assert report["lanes"]["A"]["transferred"] == 1
    assert report["lanes"]["C"]["wait_mean"] == 10.0  # from the original arrival
