"""The fleet's state from real protocol messages, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from central import registry
from central.db import open_db
from central.fleet import Fleet
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics

T = Topics()
T0 = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.timezone.utc)


def at(seconds: float) -> str:
    return payloads.format_time(T0 + dt.timedelta(seconds=seconds))


def birth(device, seq, t, *, will_seq, province="23", board_version="3"):
    return payloads.birth(device=device, seq=seq, sent_at=at(t), agent_version="0.1.0", software_version="0.1.0",
                          boot_id="b1", started_at=at(0), will_seq=will_seq, protocol="5",
                          board={"version": board_version, "verification_code": "ABCD-EFGH", "effective_from": "2026-11-01",
                                 "layers": [{"scope": "national", "version": int(board_version),
                                             "verification_code": "ABCD-EFGH"}]},
                          schedule=None, clock={"synchronized": True, "source": "adjtimex"},
                          province=province, office="23-1234", office_name="دفتر ۱۲۳۴")


def msg(stream, device, message):
    return (T.device(device, stream), payloads.encode(message))


def outbox(seq_ok=True):
    return {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0, "dropped": {}, "refused": 0}


def test_birth_telemetry_events_and_reports_make_the_device(fleet_db):
    registry.register(fleet_db, device_id="dev-1", office_id="23-1234", province="23", office_name="دفتر ۱۲۳۴")
    fleet = Fleet(fleet_db)
    batch = [
        msg("status", "dev-1", birth("dev-1", 2, 1, will_seq=1)),
        msg("telemetry", "dev-1", payloads.telemetry(device="dev-1", seq=3, sent_at=at(60),
                                                     agent={"uptime_s": 60, "outbox": outbox()},
                                                     readings={"device": {"cpu_temp_c": 50.5}})),
        msg("event", "dev-1", payloads.event(device="dev-1", seq=4, sent_at=at(70), event="late_opening",
                                             detail={"minutes": 12})),
        msg("report", "dev-1", payloads.report(device="dev-1", seq=5, sent_at=at(80), date="2026-11-30",
                                               report={"serving_minutes": 400})),
    ]
    counts = fleet.ingest([(t, p, at(100)) for t, p in batch])
    assert (counts.accepted, counts.duplicates, counts.refused) == (4, 0, 0)
    d = fleet.device("dev-1")
    assert d["online"] and d["province"] == "23" and d["office_name"] == "دفتر ۱۲۳۴"
    assert d["board"]["version"] == "3" and d["telemetry"]["device"]["cpu_temp_c"] == 50.5
    assert (d["highest_seq"], d["received"], d["gaps"], d["duplicates"]) == (5, 4, 0, 0)  # seq 1: the live will
    assert d["unsent_wills"] == 1
    assert [e["kind"] for e in fleet.events(device="dev-1")] == ["late_opening"]
    assert fleet.events(province="23")[0]["detail"] == {"minutes": 12}
    assert json.loads(fleet_db.query_one("SELECT report FROM reports WHERE device_id = ?", ("dev-1",))["report"]) \
        == {"serving_minutes": 400}


def test_duplicates_and_gaps_are_counted(fleet_db):
    fleet = Fleet(fleet_db)
    tele = lambda s: msg("telemetry", "dev-2", payloads.telemetry(  # noqa: E731
        device="dev-2", seq=s, sent_at=at(s), agent={"uptime_s": s, "outbox": outbox()}))
    fleet.ingest([(*tele(s), at(s)) for s in (1, 2, 3, 3, 2, 7)])
    d = fleet.device("dev-2")
    assert (d["received"], d["duplicates"], d["highest_seq"], d["gaps"]) == (4, 2, 7, 3)
    fleet.ingest([(*tele(5), at(9))])  # a late arrival fills part of the gap
    assert fleet.device("dev-2")["gaps"] == 2


def test_the_last_will_of_this_connection_wins_over_its_own_birth(fleet_db):
    fleet = Fleet(fleet_db)
    will = payloads.offline(device="dev-3", seq=10, sent_at=at(0), reason="lost", boot_id="b1")  # made at connect
    fleet.ingest([(*msg("status", "dev-3", birth("dev-3", 11, 1, will_seq=10)), at(1))])
    fleet.ingest([(*msg("status", "dev-3", will), at(300))])
    d = fleet.device("dev-3")
    # offline since the last message the centre had from it, not since the broker gave up (the will is not news
    # from the device: it does not move last_seen either)
    assert not d["online"] and d["status_reason"] == "lost" and d["status_since"] == d["last_seen"] == at(1)
    # the retained birth of the dead connection, delivered again late, does not bring it back
    fleet.ingest([(*msg("status", "dev-3", birth("dev-3", 11, 1, will_seq=10)), at(301))])
    assert not fleet.device("dev-3")["online"]
    assert fleet.device("dev-3")["duplicates"] == 1
    # a new connection's birth does
    fleet.ingest([(*msg("status", "dev-3", birth("dev-3", 13, 400, will_seq=12)), at(400))])
    assert fleet.device("dev-3")["online"]
    assert [e["kind"] for e in fleet.events(device="dev-3")] == ["offline"]


def test_bad_messages_are_refused_and_the_batch_goes_on(fleet_db):
    fleet = Fleet(fleet_db)
    good = msg("status", "dev-4", birth("dev-4", 2, 1, will_seq=1))
    batch = [
        (T.device("dev-4", "telemetry"), b"{not json", at(1)),
        (T.device("dev-4", "telemetry"), payloads.encode({"schema": "telemetry/1", "device": "dev-4"}), at(1)),
        (T.device("dev-9", "status"), good[1], at(1)),  # says dev-4 on dev-9's topic
        (T.device("dev-4", "event"), good[1], at(1)),   # a status on the event topic
        ("pishkhan/v1/elsewhere", good[1], at(1)),
        (*good, at(2)),
    ]
    counts = fleet.ingest(batch)
    assert counts.refused == 5 and counts.accepted == 1
    assert [d["device_id"] for d in fleet.devices()] == ["dev-4"]


def test_a_restarted_monitor_knows_the_fleet(tmp_path):
    path = tmp_path / "fleet.db"
    with open_db(str(path)) as db:
        for i in range(30):
            registry.register(db, device_id=f"dev-{i}", office_id=f"{i % 3}-{i}", province=str(i % 3))
        Fleet(db).ingest([(*msg("status", f"dev-{i}", birth(f"dev-{i}", 2, 1, will_seq=1, province=str(i % 3))), at(2))
                          for i in range(30)])
    with open_db(f"sqlite:///{path}") as db:
        fleet = Fleet(db)
        assert len(fleet.devices()) == 30 and len(fleet.devices(province="01")) == 10  # registered as "1"
        assert all(d["online"] for d in fleet.devices())


def test_a_batch_applies_each_devices_messages_in_order(fleet_db):
    fleet = Fleet(fleet_db)
    tele = lambda s, sent, readings: msg("telemetry", "dev-5", payloads.telemetry(  # noqa: E731
        device="dev-5", seq=s, sent_at=at(sent), agent={"uptime_s": s, "outbox": outbox()}, readings=readings))
    state = lambda name: msg("event", "dev-5", payloads.event(  # noqa: E731
        device="dev-5", seq=9, sent_at=at(40), event="compliance_state", detail={"state": name}))
    batch = [
        tele(1, 10, {"device": {"cpu_temp_c": 50}, "office": {"waiting": {"A": 3}}, "compliance": {"state": "serving"}}),
        tele(2, 20, {"device": {"cpu_temp_c": 51}}),           # only what changed
        tele(3, 5, {"device": {"cpu_temp_c": 99}}),            # made before seq 2: older news, not applied
        state("closed"),
        msg("telemetry", "dev-6", payloads.telemetry(device="dev-6", seq=1, sent_at=at(1),
                                                     agent={"uptime_s": 1, "outbox": outbox()})),
    ]
    counts = fleet.ingest([(*m, at(100 + i)) for i, m in enumerate(batch)])
    assert (counts.accepted, counts.duplicates) == (5, 0)
    d = fleet.device("dev-5")
    assert d["telemetry"]["device"] == {"cpu_temp_c": 51} and d["telemetry"]["office"] == {"waiting": {"A": 3}}
    assert d["telemetry_at"] == at(20)
    assert d["compliance"] == {"state": "closed"}  # the event came after the telemetry
    assert (d["received"], d["highest_seq"], d["last_seen"]) == (4, 9, at(103))
    assert fleet.device("dev-6")["received"] == 1
    # the next batch reads what this one wrote
    fleet.ingest([(*tele(10, 50, {"office": {"waiting": {"B": 1}}}), at(200))])
    d = fleet.device("dev-5")
    assert d["telemetry"]["office"] == {"waiting": {"A": 3, "B": 1}} and d["telemetry"]["device"] == {"cpu_temp_c": 51}
    assert (d["received"], d["highest_seq"], d["last_seen"], d["gaps"]) == (5, 10, at(200), 5)


@pytest.mark.parametrize("payload, why", [
    (b'{"schema": "telemetry/1", "seq": NaN}', "not_json"),
    # orjson reads an integer beyond 64 bits as a float: the schema then refuses it where an integer belongs
    (payloads.encode(payloads.telemetry(device="dev-7", seq=1, sent_at=at(1), agent={"uptime_s": 1,
                     "outbox": outbox()})).replace(b'"seq":1,', b'"seq":123456789012345678901234567890,'),
     "schema"),
    (b'{"device": "\\ud800"}', "not_json"),
    (b"\xff\xfe{}", "not_json"),
    (b"[1, 2]", "not_json"),
    # PostgreSQL cannot keep a NUL in text: refused by name, before it can fail a whole batch
    (payloads.encode(payloads.telemetry(device="dev-7", seq=1, sent_at=at(1), agent={"uptime_s": 1,
                     "outbox": outbox()}, readings={"device": {"model": "Pi\x004"}})), "unsafe_text"),
])
def test_payloads_json_cannot_carry_are_refused_by_name(fleet_db, payload, why):
    fleet = Fleet(fleet_db)
    counts = fleet.ingest([(T.device("dev-7", "telemetry"), payload, at(1))])
    assert counts.refused == 1 and counts.accepted == 0
    assert counts.reasons == {why: 1}
    assert fleet.refusals(device="dev-7")[0] | {"last_at": None, "last_message": None} == {
        "device_id": "dev-7", "refused": 1, "last_reason": why, "by_reason": {why: 1}, "last_at": None,
        "last_message": None}


def test_a_batch_larger_than_one_statement_takes_every_device(fleet_db):
    """1,200 devices in one batch: the statements go in chunks of 500 rows, text of every kind intact."""
    fleet = Fleet(fleet_db)
    name = 'دفتر "۱۲" \\ back\\slash, {braces} و ZWNJ\u200cدار'
    batch = [(*msg("telemetry", f"d-{i:04d}", payloads.telemetry(
        device=f"d-{i:04d}", seq=i + 1, sent_at=at(i), agent={"uptime_s": i, "outbox": outbox()},
        readings={"office": {"name": name, "waiting": {"A": i}}})), at(1000 + i)) for i in range(1200)]
    batch.append(batch[700])  # a repeat inside the batch
    counts = fleet.ingest(batch)
    assert (counts.accepted, counts.duplicates, counts.refused) == (1200, 1, 0)
    devices = fleet.devices()
    assert len(devices) == 1200
    assert all(d["telemetry"]["office"] == {"name": name, "waiting": {"A": int(d["device_id"][2:])}} for d in devices)
    assert [(d["received"], d["highest_seq"]) for d in devices[:3]] == [(1, 1), (1, 2), (1, 3)]
    assert fleet.device("d-0700")["duplicates"] == 1 and fleet.device("d-0700")["last_seen"] == at(1700)


# -- outbox epochs (docs/mqtt.md, Sequence numbers and epochs) -------------------------------------
def _in(epoch, message):
    return payloads.in_epoch(message, epoch)


def test_a_device_whose_outbox_starts_again_is_followed_into_its_new_epoch(fleet_db):
    fleet = Fleet(fleet_db)
    tele = lambda e, s, t: msg("telemetry", "dev-e", _in(e, payloads.telemetry(  # noqa: E731
        device="dev-e", seq=s, sent_at=at(t), agent={"uptime_s": t, "outbox": outbox()})))
    old, new = "0a1b2c3d4e5f6071", "f0e1d2c3b4a59687"
    fleet.ingest([(*msg("status", "dev-e", _in(old, birth("dev-e", 2, 10, will_seq=1))), at(10)),
                  (*tele(old, 3, 20), at(20)), (*tele(old, 5, 30), at(30))])  # seq 4 lost in the old epoch
    before = fleet.device("dev-e")
    assert before["epoch"] == old and before["online"] and before["gaps"] == 1  # 4 (1 is the live will)
    # The card is re-imaged: a new outbox numbers from 1 again, its clock behind the old one's.
    fleet.ingest([(*msg("status", "dev-e", _in(new, birth("dev-e", 2, 5, will_seq=1))), at(100)),
                  (*tele(new, 3, 6), at(101))])
    d = fleet.device("dev-e")
    assert (d["epoch"], d["online"], d["duplicates"], d["highest_seq"], d["received"]) == (new, True, 0, 3, 2)
    assert d["last_seen"] == at(101) and d["telemetry"]["agent"]["uptime_s"] == 6
    assert d["lost_before"] == 1 and d["gaps"] == 1  # the old epoch's loss (4) is kept; seq 1 is each one's will
    # A replay of the old epoch is still a duplicate, and its retained birth does not undo the new one.
    counts = fleet.ingest([(*msg("status", "dev-e", _in(old, birth("dev-e", 2, 10, will_seq=1))), at(200)),
                           (*tele(old, 3, 20), at(200))])
    assert (counts.duplicates, counts.accepted) == (2, 0)
    # A late message of the old epoch never seen before is kept as what it says (an event), but the old epoch's
    # Last Will does not take the device offline: its news is of a connection that is gone.
    counts = fleet.ingest([(*msg("event", "dev-e", _in(old, payloads.event(
                               device="dev-e", seq=6, sent_at=at(40), event="printer_out"))), at(201)),
                           (*msg("status", "dev-e", _in(old, payloads.offline(
                               device="dev-e", seq=1, sent_at=at(9), reason="lost", boot_id="b1"))), at(202))])
    assert counts.accepted == 2
    d = fleet.device("dev-e")
    assert d["online"] and d["epoch"] == new and (d["highest_seq"], d["received"]) == (3, 2)
    assert [e["kind"] for e in fleet.events(device="dev-e")] == ["printer_out"]
    # The device's own Last Will in its new epoch does.
    fleet.ingest([(*msg("status", "dev-e", _in(new, payloads.offline(
        device="dev-e", seq=1, sent_at=at(5), reason="lost", boot_id="b1"))), at(400))])
    d = fleet.device("dev-e")
    assert not d["online"] and d["status_since"] == at(101)


def test_an_old_card_put_back_and_a_device_from_before_epochs(fleet_db):
    fleet = Fleet(fleet_db)
    # The old card put back: the device connects with it, so it is the device's epoch again.
    a, b = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"
    fleet.ingest([(*msg("status", "dev-f", _in(a, birth("dev-f", 2, 10, will_seq=1))), at(10))])
    fleet.ingest([(*msg("status", "dev-f", _in(b, birth("dev-f", 2, 20, will_seq=1))), at(20))])
    fleet.ingest([(*msg("status", "dev-f", _in(a, birth("dev-f", 4, 30, will_seq=3))), at(30))])
    d = fleet.device("dev-f")
    assert d["epoch"] == a and d["online"] and d["will_seq"] == 3
    # A device from before epochs goes on in the epoch '', and may move into one.
    fleet.ingest([(*msg("status", "dev-g", birth("dev-g", 41, 10, will_seq=40)), at(10))])
    assert fleet.ingest([(*msg("status", "dev-g", birth("dev-g", 41, 10, will_seq=40)), at(11))]).duplicates == 1
    assert fleet.device("dev-g")["epoch"] == ""
    fleet.ingest([(*msg("status", "dev-g", _in("c0ffeec0ffee0000", birth("dev-g", 2, 20, will_seq=1))), at(20))])
    d = fleet.device("dev-g")
    assert d["online"] and d["epoch"] == "c0ffeec0ffee0000" and (d["highest_seq"], d["received"]) == (2, 1)


def test_a_fleet_database_from_before_epochs_keeps_its_sequence_numbers(fleet_db):
    fleet_db.execute("DROP TABLE seen")  # as it was: keyed on device and seq
    fleet_db.execute("CREATE TABLE seen (device_id TEXT NOT NULL, seq BIGINT NOT NULL, at TEXT NOT NULL, "
                     "PRIMARY KEY (device_id, seq))")
    fleet_db.execute("CREATE INDEX seen_at ON seen(at)")
    fleet_db.execute("INSERT INTO seen(device_id, seq, at) VALUES ('dev-h', 41, ?)", (at(10),))
    fleet_db.setup()
    fleet_db.setup()  # once migrated, nothing more to do
    assert fleet_db.query("SELECT device_id, epoch, seq FROM seen") == [{"device_id": "dev-h", "epoch": "", "seq": 41}]
    fleet = Fleet(fleet_db)
    assert fleet.ingest([(*msg("status", "dev-h", birth("dev-h", 41, 10, will_seq=40)), at(11))]).duplicates == 1
    counts = fleet.ingest([(*msg("status", "dev-h", _in("dddddddddddddddd", birth("dev-h", 41, 12, will_seq=40))),
                            at(12))])
    assert counts.accepted == 1 and fleet.device("dev-h")["online"]


def test_the_office_page_shows_the_devices_uptime_not_the_agents(tmp_path):
    from central.web import present

    fleet_db = open_db(str(tmp_path / "fleet.db"))
    fleet = Fleet(fleet_db)
    fleet.ingest([(*msg("status", "dev-u", birth("dev-u", 2, 10, will_seq=1) | {"booted_at": at(-86400 - 7200)}),
                   at(10)),
                  (*msg("telemetry", "dev-u", payloads.telemetry(device="dev-u", seq=3, sent_at=at(20), agent={
                      "uptime_s": 30, "outbox": outbox()}, readings={"device": {"uptime_s": 93_600}})), at(20))])
    d = fleet.device("dev-u")
    assert d["booted_at"] == at(-86400 - 7200)
    rows = {r["key"]: r["value"] for r in present.readings(d["telemetry"])}
    assert rows["uptime_s"] == 93_600 and rows["agent.uptime_s"] == 30
    shown = present.booted(d, now=T0)
    assert shown == {"at": at(-86400 - 7200), "uptime": "۱ روز و ۲ ساعت روشن"}
    # a birth whose booted_at lies outside the time window is kept, without it
    fleet.ingest([(*msg("status", "dev-u", birth("dev-u", 5, 30, will_seq=4) | {"booted_at": "1970-01-01T00:00:00Z"}),
                   at(30))])
    d = fleet.device("dev-u")
    assert d["online"] and d["will_seq"] == 4 and d["booted_at"] is None
    assert present.booted(d, now=T0) == {"at": None, "uptime": None}
    fleet_db.close()
