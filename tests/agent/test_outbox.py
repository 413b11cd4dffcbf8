"""The durable outbox on a real SQLite file: order, sequence numbers, bounds and the drop policy, crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from edge_agent.outbox import STREAMS, Outbox
from edge_agent.publish import Publisher
from pishkhan.exc import OutboxError
from pishkhan.protocol.payloads import decode, problems
from pishkhan.protocol.topics import Topics


class Clocks:
    """A wall clock and a boot clock the test moves."""

    def __init__(self):
        self.wall = 1_800_000_000.0
        self.boot = 1000.0

    def advance(self, seconds):
        self.wall += seconds
        self.boot += seconds


@pytest.fixture
def clocks():
    return Clocks()


@pytest.fixture
def make_outbox(tmp_path, clocks):
    opened = []

    def make(**kwargs):
        kwargs = {"clock": lambda: clocks.wall, "boot_clock": lambda: clocks.boot, "boot": "boot-1"} | kwargs
        box = Outbox(tmp_path / "outbox.db", **kwargs)
        opened.append(box)
        return box
    yield make
    for box in opened:
        box.close()


def put(box, stream, size=100, coalesce=None, key=None):
    return box.enqueue(stream, f"t/{stream}", lambda seq, at: json.dumps({"seq": seq, "pad": "x" * size}).encode(),
                       coalesce=coalesce, key=key)


def test_sequence_numbers_rise_and_survive_reopening(make_outbox):
    box = make_outbox()
    first = [put(box, "event") for _ in range(5)]
    assert first == [1, 2, 3, 4, 5]
    assert box.reserve_seq() == 6
    box.close()
    box = make_outbox()
    assert put(box, "telemetry") == 7
    # the payload carries the number it was given
    assert [json.loads(m.payload)["seq"] for m in box.pending(10)] == [1, 2, 3, 4, 5, 7]


def test_order_within_stream_and_status_first(make_outbox):
    box = make_outbox()
    t1 = put(box, "telemetry")
    e1 = put(box, "event")
    t2 = put(box, "telemetry")
    s1 = put(box, "status")
    e2 = put(box, "event")
    assert [m.seq for m in box.pending(10)] == [s1, e1, e2, t1, t2]
    # in-flight messages are skipped, the rest keep their order
    first = box.pending(2)
    assert [m.seq for m in box.pending(10, exclude={m.id for m in first})] == [e2, t1, t2]


def test_ack_deletes_only_what_was_acknowledged_and_a_restart_sends_the_rest_again(make_outbox):
    box = make_outbox()
    made = [put(box, "event") for _ in range(10)]
    handed = box.pending(4)
    assert box.ack([handed[0].id, handed[1].id]) == 2
    assert box.ack([handed[0].id]) == 0  # a duplicate ack changes nothing
    box.close()
    box = make_outbox()
    assert [m.seq for m in box.pending(100)] == made[2:]
    assert box.stats()["depth"] == 8


def test_a_key_makes_a_second_enqueue_a_no_op(make_outbox):
    box = make_outbox()
    seq = put(box, "report", key="report:2026-12-01")
    assert put(box, "report", key="report:2026-12-01") == seq
    assert box.depth() == 1
    box.ack([m.id for m in box.pending(5)])
    assert put(box, "report", key="report:2026-12-01") == seq  # even after it was sent
    assert box.depth() == 0


def test_full_coalesces_telemetry_keeping_the_latest_then_drops_oldest_telemetry(make_outbox):
    box = make_outbox(max_bytes=20_000)
    events = [put(box, "event", size=1000) for _ in range(5)]
    telemetry = [put(box, "telemetry", size=1000, coalesce="telemetry") for _ in range(30)]
    stats = box.stats()
    assert stats["bytes"] <= 20_000
    left = {m.seq for m in box.pending(1000)}
    assert set(events) <= left  # no event dropped while telemetry was there
    assert telemetry[-1] in left  # the latest reading stays
    dropped_telemetry = [s for s in telemetry if s not in left]
    assert dropped_telemetry == telemetry[:len(dropped_telemetry)]  # oldest first
    assert stats["dropped"] == {"telemetry.coalesced": len(dropped_telemetry)}


def test_telemetry_goes_before_status_and_those_before_events(make_outbox):
    box = make_outbox(max_bytes=12_000)
    events = [put(box, "event", size=1000) for _ in range(4)]
    status = put(box, "status", size=1000)
    telemetry = [put(box, "telemetry", size=1000) for _ in range(3)]  # no coalesce key: step 2 takes them
    more_events = [put(box, "event", size=1000) for _ in range(8)]
    left = {m.seq for m in box.pending(1000)}
    assert not set(telemetry) & left
    assert status not in left
    dropped = box.stats()["dropped"]
    assert dropped["telemetry.full"] == 3 and dropped["status.full"] == 1
    # only when nothing else is left do events go, oldest first, never the new one
    assert more_events[-1] in left
    lost_events = [s for s in events + more_events if s not in left]
    assert lost_events and lost_events == (events + more_events)[:len(lost_events)]
    assert dropped.get("event.full", 0) == len(lost_events)
    assert box.stats()["bytes"] <= 12_000


def test_full_keeps_daily_reports_beside_events_while_telemetry_and_status_go(make_outbox):
    box = make_outbox(max_bytes=12_000)
    reports = [put(box, "report", size=1000, key=f"report:2026-12-0{day}") for day in range(1, 6)]
    status = put(box, "status", size=1000)
    telemetry = put(box, "telemetry", size=1000)
    events = [put(box, "event", size=1000) for _ in range(5)]  # the last one passes the bound
    left = {m.seq for m in box.pending(1000)}
    assert set(reports) <= left and set(events) <= left  # a daily report is kept like an event
    assert telemetry not in left and status not in left
    assert box.stats()["dropped"] == {"telemetry.full": 1, "status.full": 1}


def test_a_message_larger_than_the_bound_is_refused_with_the_setting_named(make_outbox):
    box = make_outbox(max_bytes=10_000)
    with pytest.raises(OutboxError, match="mqtt.outbox_max_bytes"):
        put(box, "event", size=5000)
    assert box.depth() == 0


def test_age_bound_uses_the_boot_clock_in_this_boot(make_outbox, clocks):
    box = make_outbox(max_age_days=1)
    put(box, "event")
    clocks.advance(3600)
    fresh = put(box, "telemetry")
    clocks.wall += 10 * 86400  # NTP corrects the wall clock by ten days: nothing is old yet
    assert box.enforce() == 0
    clocks.boot += 86400 - 1800  # a day after the first message, on the boot clock
    assert box.enforce() == 1
    assert [m.seq for m in box.pending(10)] == [fresh]
    assert box.stats()["dropped"] == {"event.age": 1}


def test_age_of_messages_from_an_earlier_boot_uses_the_wall_clock(make_outbox, clocks, tmp_path):
    box = make_outbox(max_age_days=1, boot="boot-1")
    put(box, "event")
    box.close()
    clocks.boot = 5.0  # rebooted
    box = make_outbox(max_age_days=1, boot="boot-2")
    assert box.stats()["oldest_age_s"] == 0
    clocks.wall += 2 * 86400
    assert box.stats()["oldest_age_s"] == pytest.approx(2 * 86400)
    assert box.enforce() == 1


def test_stats_give_depth_bytes_and_oldest_age(make_outbox, clocks):
    box = make_outbox()
    assert box.stats() == {"depth": 0, "bytes": 0, "oldest_age_s": None, "dropped": {}}
    put(box, "event", size=10)
    clocks.advance(42)
    put(box, "telemetry", size=10)
    stats = box.stats()
    assert stats["depth"] == 2 and stats["oldest_age_s"] == pytest.approx(42)
    assert stats["bytes"] == sum(len(m.payload) + len(m.topic) for m in box.pending(10))


def test_unknown_stream_is_refused(make_outbox):
    with pytest.raises(OutboxError, match="unknown stream 'gossip'"):
        put(make_outbox(), "gossip")
    assert set(STREAMS) == {"status", "telemetry", "event", "report", "reported", "result", "facts"}


def test_publisher_messages_follow_their_schemas(make_outbox):
    box = make_outbox()
    pub = Publisher(box, Topics(), "dev-0001", validate=True)
    pub.event("printer.out", detail={"minutes": 12})
    pub.telemetry(agent={"uptime_s": 1.0, "outbox": box.stats() | {"in_flight": 0, "refused": 0}})
    pub.report("2026-12-01", {"scheduled_minutes": 420})
    pub.reported({"board": {"version": 12}}, refused=[{"kind": "schedule", "reason": "older version"}])
    pub.result("c-1", "ping", True)
    pub.offline(reason="stopped", boot_id="b")
    for message in box.pending(10):
        body = decode(message.payload)
        assert problems(body) == []
        assert message.topic == f"pishkhan/v1/dev/dev-0001/{message.stream}"
        assert body["seq"] == message.seq and body["device"] == "dev-0001"


CRASHER = textwrap.dedent("""
    import sys, json
    from edge_agent.outbox import Outbox
    box = Outbox(sys.argv[1])
    i = 0
    while True:
        i += 1
        box.enqueue("event", "t/event", lambda seq, at: json.dumps({"seq": seq, "i": i}).encode())
        if i == 50:
            print("going", flush=True)
""")


def test_sigkill_at_any_moment_never_gives_two_messages_one_number(tmp_path):
    path = tmp_path / "outbox.db"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    for round_ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(path)], stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline().strip() == b"going"
        time.sleep(0.05 * round_)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    with Outbox(path) as box:
        messages = box.pending(100_000)
        numbers = [m.seq for m in messages]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        assert all(json.loads(m.payload)["seq"] == m.seq for m in messages)
        # nothing allocated was skipped: the numbers are 1..N, and the next follows on
        assert numbers == list(range(1, len(numbers) + 1))
        assert box.reserve_seq() == len(numbers) + 1
        assert box.stats()["depth"] == len(numbers)


def test_an_outbox_file_draws_its_epoch_once_and_every_message_carries_it(tmp_path):
    import sqlite3

    path = tmp_path / "outbox.db"
    with Outbox(path) as box:
        epoch = box.epoch
        publisher = Publisher(box, Topics(), "dev-1", validate=True)
        publisher.event("printer_out")
        message = decode(box.pending(1)[0].payload)
        assert (message["epoch"], message["seq"]) == (epoch, 1) and not problems(message)
    with Outbox(path) as box:
        assert box.epoch == epoch  # the same file, the same epoch: its numbers go on
    for name in ("outbox.db", "outbox.db-wal", "outbox.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    with Outbox(path) as box:  # a new file (deleted, re-imaged): a new epoch, numbered from 1
        assert box.epoch != epoch and box.reserve_seq() == 1
    old = tmp_path / "old.db"  # a file from before epochs keeps the epoch '' and numbers on
    with sqlite3.connect(old) as c:
        c.executescript("CREATE TABLE state (id INTEGER PRIMARY KEY CHECK (id = 1), next_seq INTEGER NOT NULL, "
                        "count INTEGER NOT NULL, bytes INTEGER NOT NULL); INSERT INTO state VALUES (1, 57, 0, 0);")
    with Outbox(old) as box:
        assert box.epoch == "" and box.reserve_seq() == 57
        Publisher(box, Topics(), "dev-1").event("printer_out")
        assert "epoch" not in decode(box.pending(1)[0].payload)
