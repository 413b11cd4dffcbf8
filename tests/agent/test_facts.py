"""The fact stream through a real Mosquitto (the project's ACL) to the centre's monitor and Fleet.

An in-process agent on a fake clock lives an office day in seconds: each
minute the compliance part beats (and sends the report when due) and the
fact stream chains what is new; the agent's outbox drains through the broker
to a real :class:`central.monitor.Monitor`, and the centre verifies the day.
A real ``pishkhan agent`` process shows the presence the centre records from
the broker (birth, Last Will, clean stop) and a chain that resumes after
SIGKILL.
"""

from __future__ import annotations

import threading

import pytest
from agent_helpers import wait_until
from fact_helpers import DAY, OneShift, at

from central import verification
from central.db import open_db
from central.monitor import Monitor
from central.trust import TrustList
from edge_agent import compliance as compliance_part
from edge_agent.agent import Agent
from edge_agent.facts import FactStream
from pishkhan.boards.signing import SigningKey
from pishkhan.config import parse_config
from pishkhan.hardware.clock import FakeClock
from pishkhan.store.database import Store


#: The centre's trust list: a national key nobody here signs with (these tests publish no document).
NO_DOCUMENTS = TrustList.of((SigningKey.generate().public, "national"))


@pytest.fixture
def centre(tmp_path, mqtt_broker):
    db = open_db(str(tmp_path / "fleet.db"))
    monitor = Monitor(db, host=mqtt_broker.host, port=mqtt_broker.port, username="centre",
                      password=mqtt_broker.passwords["centre"], batch_ms=20, trust=NO_DOCUMENTS).start(wait=15)
    yield monitor
    monitor.stop()
    db.close()


def test_a_day_streamed_through_the_broker_is_verified_by_the_centre(tmp_path, mqtt_broker, centre):
    clock = FakeClock(at(6, 50), synced=True, boot_id="boot-1")
    config = parse_config({"device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
                           "mqtt": mqtt_broker.agent_settings("dev-0001", telemetry_seconds=3600)})
    store = Store(config.store_path, clock=clock.now, boot=clock)
    agent = Agent(config, store=store, validate=True)
    part = compliance_part.Compliance(agent.context, hours=OneShift())
    facts = FactStream(store=store, publisher=agent.publisher, device_id="dev-0001")
    thread = threading.Thread(target=agent.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: agent.session.connected, 15)

        def until(hh, mm):
            while clock.now() < at(hh, mm):
                part.tick()
                facts.tick()
                clock.advance(minutes=1)
        store.record_state("kiosk", "not_accepting", "closed")
        store.record_state("printer", "ok")
        store.record_state("counter:1", "closed")
        until(7, 40)
        store.record_state("counter:1", "open")
        store.record_state("kiosk", "accepting")  # ten minutes late
        until(14, 30)
        store.record_state("kiosk", "not_accepting", "closed")
        until(15, 0)  # the report went out at 14:30
        db = centre.db

        def verdict():
            centre.drain()
            return verification.verify_day(db, "dev-0001", DAY, now=at(23, 0))
        assert wait_until(lambda: verdict().ok, 30), verdict()
        v = verdict()
        assert v.detail["minutes"]["closed_minutes"] == 10 and v.detail["minutes"]["serving_minutes"] == 410
        head = db.query_one("SELECT * FROM fact_heads WHERE device_id = 'dev-0001'")
        assert head["contiguous_n"] == head["highest_n"] == facts.n
        assert db.query("SELECT * FROM fact_breaks") == []
        assert [r["state"] for r in db.query("SELECT state FROM presence WHERE device_id = 'dev-0001'")] == ["online"]
    finally:
        agent.stop()
        thread.join(20)
        store.close()


def test_the_centre_records_what_the_broker_saw_and_the_chain_survives_sigkill(agent_config, start_agent, centre):
    config = agent_config("dev-0001")
    db = centre.db

    def presence():
        centre.drain()
        return [r["state"] for r in db.query("SELECT state FROM presence WHERE device_id = 'dev-0001' ORDER BY id")]

    def head():
        centre.drain()
        return db.query_one("SELECT * FROM fact_heads WHERE device_id = 'dev-0001'")
    agent = start_agent(config)
    assert wait_until(lambda: presence() == ["online"] and head() and head()["contiguous_n"] >= 1, 30), agent.log()
    first = head()
    agent.kill()  # no clean stop: the broker publishes the Last Will when the socket closes
    assert wait_until(lambda: presence() == ["online", "lost"], 30)
    agent = start_agent(config)
    assert wait_until(lambda: presence() == ["online", "lost", "online"], 30), agent.log()
    assert wait_until(lambda: head()["contiguous_n"] > first["contiguous_n"], 30), agent.log()
    assert agent.terminate() == 0
    assert wait_until(lambda: presence() == ["online", "lost", "online", "stopped"], 30)
    again = head()
    assert again["chain"] == first["chain"] and again["contiguous_n"] == again["highest_n"]
    assert db.query("SELECT * FROM fact_breaks") == []
    received = [r["received_at"] for r in db.query("SELECT received_at FROM presence ORDER BY id")]
    assert received == sorted(received)


# -- the stream on its own -----------------------------------------------------------------
def _office(tmp_path, *, max_bytes=50_000_000):
    from edge_agent.outbox import Outbox
    from edge_agent.publish import Publisher
    from pishkhan.protocol.topics import Topics

    clock = FakeClock(at(7, 0), synced=True, boot_id="boot-1")
    store = Store(tmp_path / "pishkhan.db", clock=clock.now, boot=clock)
    outbox = Outbox(tmp_path / "outbox.db", max_bytes=max_bytes)
    publisher = Publisher(outbox, Topics(), "dev-0001", validate=True)
    return clock, store, outbox, publisher


def _links(outbox):
    from pishkhan.protocol.payloads import decode

    return [l for p in outbox.pending(1000) if p.stream == "facts" for l in decode(p.payload)["links"]]


def test_a_backlog_goes_out_in_bounded_messages_as_one_unbroken_chain(tmp_path):
    from pishkhan.compliance import chain
    from pishkhan.compliance.uptime import beat

    clock, store, outbox, publisher = _office(tmp_path)
    for i in range(450):
        store.record_state("counter:1", "open" if i % 2 else "closed")
    beat(store, "agent")
    stream = FactStream(store=store, publisher=publisher, device_id="dev-0001")
    sent = stream.tick()  # 452 facts (a beat, the clock's fact, 450 counters): 200 or ~32 kB a message
    from pishkhan.protocol.payloads import decode

    per_message = [len(decode(p.payload)["links"]) for p in outbox.pending(1000)]
    assert len(sent) == len(per_message) >= 3 and max(per_message) <= 200 and sum(per_message) == 452
    links = _links(outbox)
    assert [l["n"] for l in links] == list(range(1, 453))
    assert links[0]["fact"]["kind"] == "beat"  # beats first: the next beat overwrites the uptime row
    prev = chain.genesis("dev-0001", stream.chain)
    for l in links:
        assert l["prev"] == prev
        prev = chain.link_hash(l["n"], l["prev"], l["fact"])
    assert [l["fact"]["id"] for l in links if l["fact"]["kind"] == "state"] == list(range(1, 452))
    assert stream.tick() == []  # nothing new
    clock.advance(minutes=1)
    beat(store, "agent")
    stream.tick()
    assert [(l["n"], l["fact"]["kind"]) for l in _links(outbox)[452:]] == [(453, "beat")]
    outbox.close()
    store.close()


def test_large_facts_go_out_in_messages_of_about_32_kb(tmp_path):
    from pishkhan.compliance import chain

    clock, store, outbox, publisher = _office(tmp_path)
    for i in range(60):
        store.record_state("display", "on", "x\n\u202e" * 250, note=f"{i:04d}" + "y" * 3000)  # clipped, made safe
    stream = FactStream(store=store, publisher=publisher, device_id="dev-0001")
    stream.tick()
    sizes = [len(p.payload) for p in outbox.pending(100)]
    assert len(sizes) > 1 and max(sizes) < chain.BYTES_PER_MESSAGE + 2_000
    links = _links(outbox)
    assert [l["n"] for l in links] == list(range(1, 61))
    assert {len(l["fact"]["detail"]) for l in links} == {2000} and {len(l["fact"]["reason"]) for l in links} == {200}
    assert set(links[0]["fact"]["reason"]) == {"x", "\ufffd"}
    outbox.close()
    store.close()


def test_a_message_the_outbox_refuses_leaves_the_chain_head_where_it_was(tmp_path):
    from pishkhan.exc import OutboxError

    clock, store, outbox, publisher = _office(tmp_path, max_bytes=1024)  # at most 102 bytes a message
    store.record_state("kiosk", "accepting")
    stream = FactStream(store=store, publisher=publisher, device_id="dev-0001")
    with pytest.raises(OutboxError, match="too large"):
        stream.tick()
    assert (stream.n, stream.state_id) == (0, 0)
    outbox.close()
    # the agent starts again with room: the chain starts at link 1, the refused facts in it
    from edge_agent.outbox import Outbox

    again = FactStream(store=store, publisher=type(publisher)(Outbox(tmp_path / "outbox.db"), publisher.topics,
                                                             "dev-0001", validate=True), device_id="dev-0001")
    assert (again.n, again.state_id, again.chain) == (0, 0, stream.chain)
    again.tick()
    assert [l["n"] for l in _links(again.outbox)] == [1]
    again.outbox.close()
    store.close()


def test_a_store_started_afresh_starts_a_new_chain_from_its_first_row(tmp_path):
    clock, store, outbox, publisher = _office(tmp_path)
    for i in range(30):
        store.record_state("counter:1", "open" if i % 2 else "closed")
    stream = FactStream(store=store, publisher=publisher, device_id="dev-0001")
    stream.tick()
    old_chain = stream.chain
    store.close()
    (tmp_path / "pishkhan.db").rename(tmp_path / "pishkhan.db.damaged")  # the store moved aside, as the guard advises
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"pishkhan.db{suffix}").unlink(missing_ok=True)
    fresh = Store(tmp_path / "pishkhan.db", clock=clock.now, boot=clock)
    fresh.record_state("kiosk", "accepting")
    stream._store = fresh
    outbox.ack([p.id for p in outbox.pending(1000)])
    stream.tick()
    links = _links(outbox)
    assert stream.chain != old_chain and [l["n"] for l in links] == [1]
    assert links[0]["fact"]["id"] == 1 and links[0]["fact"]["component"] == "kiosk"
    # and the new head is durable: an agent started now goes on with it
    again = FactStream(store=fresh, publisher=publisher, device_id="dev-0001")
    assert (again.chain, again.n, again.state_id) == (stream.chain, 1, 1)
    outbox.close()
    fresh.close()


def test_the_acl_lets_a_device_write_its_own_facts_and_no_one_elses(mqtt_broker):
    from test_acl import publish_code

    from pishkhan.protocol.topics import Topics

    topics = Topics()
    capture = mqtt_broker.capture()
    device = mqtt_broker.client("dev-0001", protocol="5")
    assert publish_code(device, topics.facts("dev-0001")) < 0x80
    assert publish_code(device, topics.facts("dev-0002")) == 0x87  # not authorised
    assert capture.wait(lambda c: c.topics() == [topics.facts("dev-0001")], 5), capture.topics()
