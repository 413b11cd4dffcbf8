"""What one device can send the centre, tried as an attacker would: every message goes through
Fleet.ingest into a real SQLite and PostgreSQL database, and each refusal is checked by its reason code."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import pytest
from test_fleet import T, at, birth, msg, outbox

from central import registry, status
from central.fleet import EVENTS_PER_DAY, MAX_TELEMETRY_BYTES, REPORT_DAYS, SEQ_JUMP, Fleet
from pishkhan.exc import ProtocolError
from pishkhan.protocol import payloads

SEQ_MAX = 2 ** 63 - 1
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def ingest(fleet, *messages, received=100):
    """Each ``(stream, message)`` (a dict, or bytes as they come) into *fleet*, received at ``at(received)``."""
    batch = []
    for i, (stream, device, message) in enumerate(messages):
        payload = message if isinstance(message, bytes) else payloads.encode(message)
        batch.append((T.device(device, stream), payload, at(received + i)))
    return fleet.ingest(batch)


def tele(device, seq, *, sent=60, readings=None, full=None):
    return ("telemetry", device, payloads.telemetry(device=device, seq=seq, sent_at=at(sent), readings=readings,
                                                    full=full, agent={"uptime_s": 1, "outbox": outbox()}))


def event(device, seq, kind="late_opening", *, sent=60, when=None, detail=None):
    return ("event", device, payloads.event(device=device, seq=seq, sent_at=at(sent), event=kind,
                                            at=when if when is not None else at(sent), detail=detail or {}))


def report(device, seq, body, *, date="2026-11-30", sent=80):
    return ("report", device, payloads.report(device=device, seq=seq, sent_at=at(sent), date=date, report=body))


def register(db, *devices, province="23"):
    """Place *devices* in the centre's registry (their alerts and reports count only then)."""
    for device in devices:  # the office test_fleet's births claim
        registry.register(db, device_id=device, office_id="23-1234", province=province, office_name="دفتر ۱۲۳۴")


def refused_for(fleet, counts, reason, device):
    assert counts.refused == 1 and counts.accepted == 0, (counts.reasons, fleet.refusals())
    assert counts.reasons == {reason: 1}
    flag = fleet.refusals(device=device)[0]
    assert flag["last_reason"] == reason and flag["by_reason"][reason] >= 1
    return flag


# -- types and bounds of what is stored or drawn -------------------------------------------------------------
@pytest.mark.parametrize("message", [
    report("dev-h", 5, {"events": 7}),                                       # once a page's 500
    report("dev-h", 5, {"timeline": [{"state": "serving", "start": 1, "end": 2}]}),
    report("dev-h", 5, {"timeline": [{"state": "serving", "start": at(0), "end": at(60)}] * 1441}),
    ("reported", "dev-h", payloads.reported(device="dev-h", seq=5, sent_at=at(60),
                                            applied={"board": {"version": "3", "layers": 4}})),
    ("status", "dev-h", {**birth("dev-h", 5, 1, will_seq=4), "board": {
        "version": "3", "verification_code": "A", "effective_from": "2026-11-01", "layers": 7}}),
    ("status", "dev-h", {**birth("dev-h", 5, 1, will_seq=4), "office": "23-\u202e4321"}),  # drawn as 23-1234
    ("status", "dev-h", {**birth("dev-h", 5, 1, will_seq=4), "office_name": "دفتر " * 100}),
    ("status", "dev-h", {**birth("dev-h", 5, 1, will_seq=4), "junk": "x" * 3000}),
    tele("dev-h", 5, readings={"office": {f"k{i}": i for i in range(65)}}),   # keys of a group are counted
    tele("dev-h", 5, readings={f"group{i}": {"a": 1} for i in range(17)}),    # and groups
    ("telemetry", "dev-h", {**tele("dev-h", 5)[2], "extra": {"a": 1}}),       # nothing unknown at the top
    event("dev-h", 5, detail={"a": {"b": {"c": {"d": 1}}}}),                  # nesting is bounded
    event("dev-h", 5, detail={"why": "x" * 2001}),                            # and string lengths
])
def test_fields_the_centre_stores_are_typed_and_bounded(fleet_db, message):
    fleet = Fleet(fleet_db)
    counts = ingest(fleet, message)
    refused_for(fleet, counts, "schema", "dev-h")
    assert fleet.device("dev-h") is None and fleet.events() == []


def test_a_payload_larger_than_its_kind_allows_is_refused_before_it_is_read(fleet_db):
    fleet = Fleet(fleet_db)
    big = payloads.encode(tele("dev-h", 5)[2]).replace(b'"readings":{}', b'"readings":{"office":{"w":"'
                                                        + b"x" * 70_000 + b'"}}')
    refused_for(fleet, ingest(fleet, ("telemetry", "dev-h", big)), "too_large", "dev-h")


# -- device strings ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("message", [
    ("status", "dev-b", {**birth("dev-b", 5, 1, will_seq=4), "office_name": "دفتر \u202e۴۳۲۱"}),
    ("status", "dev-b", {**birth("dev-b", 5, 1, will_seq=4), "office_name": "دفتر\u200f ۱۲"}),
    event("dev-b", 5, detail={"why": "kiosk\x1b[31m"}),
    event("dev-b", 5, detail={"opened\u2066": "x"}),                          # keys too
    tele("dev-b", 5, readings={"device": {"net_iface": "eth\u202e0"}}),
])
def test_bidi_and_control_characters_in_device_strings_are_refused(fleet_db, message):
    fleet = Fleet(fleet_db)
    flag = refused_for(fleet, ingest(fleet, message), "unsafe_text", "dev-b")
    assert "\u202e" not in flag["last_message"] and "\x1b" not in flag["last_message"]
    assert fleet.device("dev-b") is None


def test_text_a_device_needs_stays_allowed(fleet_db):
    """ZWNJ, Persian text and a line feed in a sentence are what devices send."""
    fleet = Fleet(fleet_db)
    counts = ingest(fleet, ("status", "dev-p", {**birth("dev-p", 2, 1, will_seq=1), "office_name": "دفتر پیشخوان\u200cها"}),
                    event("dev-p", 3, detail={"message": "board refused:\n  \"fee\" is negative"}))
    assert (counts.accepted, counts.refused) == (2, 0)
    [claim] = registry.quarantined(fleet_db)  # what its birth claims, kept beside the registry's word
    assert claim["claimed_office_name"] == "دفتر پیشخوان\u200cها"


# -- times ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("message", [
    ("reported", "dev-t", payloads.reported(device="dev-t", seq=5, sent_at="2099-01-01T00:00:00.000Z", applied={})),
    event("dev-t", 5, when="9999-12-31T23:59:59.000Z"),                       # OverflowError in the Jalali pages
    event("dev-t", 5, when="2026-02-31T08:00:00.000Z"),                       # not a day
    event("dev-t", 5, when="2020-01-01T08:00:00.000Z"),                       # long before any outbox keeps
    report("dev-t", 5, {"timeline": [{"state": "serving", "start": at(0), "end": "9999-01-01T00:00:00Z"}]}),
    report("dev-t", 5, {}, date="2999-01-01"),
    tele("dev-t", 5, readings={"compliance": {"state": "serving", "since": "2199-01-01T00:00:00Z"}}),
    tele("dev-t", 5, sent=3 * 86400),                                         # sent_at three days ahead
])
def test_times_outside_the_window_of_the_centres_clock_are_refused(fleet_db, message):
    fleet = Fleet(fleet_db)
    refused_for(fleet, ingest(fleet, message), "time", "dev-t")
    assert fleet.events() == []


def test_alerts_are_ordered_by_the_centres_receive_time(fleet_db):
    """A device's clock orders nothing: an event it dates in the future comes after one received later."""
    fleet = Fleet(fleet_db)
    register(fleet_db, "dev-a", "dev-c")
    ingest(fleet, ("status", "dev-a", birth("dev-a", 2, 1, will_seq=1)),
           ("status", "dev-c", birth("dev-c", 2, 1, will_seq=1)))
    ingest(fleet, event("dev-a", 3, sent=3600 * 20, when=at(3600 * 20)), received=200)  # 20 h ahead: allowed
    ingest(fleet, event("dev-c", 3, when=at(150)), received=300)
    rows = status.alerts(fleet, day=dt.date(2026, 12, 1))
    assert [r["device_id"] for r in rows] == ["dev-c", "dev-a"]


def test_one_device_cannot_fill_the_alert_list(fleet_db):
    fleet = Fleet(fleet_db)
    register(fleet_db, "dev-n", "dev-o")
    ingest(fleet, ("status", "dev-n", birth("dev-n", 2, 1, will_seq=1)),
           ("status", "dev-o", birth("dev-o", 2, 1, will_seq=1)))
    ingest(fleet, event("dev-o", 3, "printer_out"), received=150)
    ingest(fleet, *[event("dev-n", 3 + i, "printer_out", sent=100 + i) for i in range(60)], received=200)
    rows = status.alerts(fleet, day=dt.date(2026, 12, 1), limit=50)
    devices = [r["device_id"] for r in rows]
    assert devices.count("dev-n") == status.ALERTS_PER_DEVICE and devices[-1] == "dev-o"
    assert "nth" not in rows[0] and rows[0]["detail"] == {}
    assert [r["received_at"] for r in rows] == sorted((r["received_at"] for r in rows), reverse=True)


# -- how much one device stores -----------------------------------------------------------------------------------
def stored_events(fleet_db, device, kind=None) -> int:
    sql, params = "SELECT COUNT(*) AS n FROM events WHERE device_id = ?", [device]
    if kind:
        sql, params = sql + " AND kind = ?", params + [kind]
    return int(fleet_db.query_one(sql, tuple(params))["n"])


def test_one_device_stores_at_most_a_days_budget_of_events_and_is_flagged_once(fleet_db):
    fleet = Fleet(fleet_db)
    register(fleet_db, "dev-f", "dev-g")
    ingest(fleet, ("status", "dev-f", birth("dev-f", 2, 1, will_seq=1)))
    flood = [event("dev-f", 3 + i, "printer_out", sent=100 + i, detail={"why": "x" * 1500})
             for i in range(EVENTS_PER_DAY + 60)]
    first = ingest(fleet, *flood[:EVENTS_PER_DAY - 10], received=200)
    second = ingest(fleet, *flood[EVENTS_PER_DAY - 10:], received=400)  # the budget crosses batches
    assert first.refused == 0 and second.accepted == 10 and second.reasons == {"over_budget": 60}
    assert stored_events(fleet_db, "dev-f", "printer_out") == EVENTS_PER_DAY
    assert fleet.refusals(device="dev-f")[0]["by_reason"] == {"over_budget": 60}
    assert status.alerts(fleet, day=dt.date(2026, 12, 1))[0]["kind"] == "over_budget"  # ops sees the flood
    # more of the flood, of this day and of the day before, later that day: refused, and no second alert
    again = ingest(fleet, *[event("dev-f", 200 + i, "display_off", sent=500 + i) for i in range(30)],
                   *[event("dev-f", 300 + i, when=at(-86400 + i)) for i in range(EVENTS_PER_DAY + 5)], received=600)
    assert again.reasons == {"over_budget": 35} and again.accepted == EVENTS_PER_DAY
    [alert] = [e for e in fleet.events(device="dev-f", limit=1000) if e["kind"] == "over_budget"]
    assert alert["detail"] == {"stream": "event", "day": "2026-12-01", "limit": EVENTS_PER_DAY}
    assert stored_events(fleet_db, "dev-f") == 2 * EVENTS_PER_DAY + 1
    # another device's events, and this device's of the next day, are their own budget
    assert ingest(fleet, event("dev-g", 3), received=700).accepted == 1
    assert ingest(fleet, event("dev-f", 500, when=at(86400)), received=86400).accepted == 1


def test_a_device_back_after_days_offline_sends_its_whole_outbox(fleet_db):
    """Events count against the day they happened on, not the day they arrive."""
    fleet = Fleet(fleet_db)
    backlog = [event("dev-b", 3 + d * 20 + i, "closed_during_hours", sent=-86400 * d + i, when=at(-86400 * d + i))
               for d in range(14) for i in range(20)]
    counts = ingest(fleet, *backlog)
    assert (counts.accepted, counts.refused) == (280, 0)


def test_a_report_of_a_date_long_ago_is_refused(fleet_db):
    """Reports only of the last days (REPORT_DAYS): not one for each of the ~367 dates the time window allows."""
    fleet = Fleet(fleet_db)
    oldest = dt.date(2026, 12, 1) - dt.timedelta(days=REPORT_DAYS)  # received 2026-12-01 08:31 in Tehran
    assert ingest(fleet, report("dev-r", 3, {"serving_minutes": 10}, date=oldest.isoformat())).accepted == 1
    too_old = (oldest - dt.timedelta(days=1)).isoformat()
    refused_for(fleet, ingest(fleet, report("dev-r", 4, {"serving_minutes": 10}, date=too_old)), "over_budget",
                "dev-r")
    assert [r["date"] for r in fleet_db.query("SELECT date FROM reports WHERE device_id = 'dev-r'")] \
        == [oldest.isoformat()]
    assert ingest(fleet, report("dev-r", 5, {}, date="2026-01-01"), received=200).reasons == {"over_budget": 1}
    [alert] = [e for e in fleet.events(device="dev-r") if e["kind"] == "over_budget"]  # once a device and day
    assert alert["detail"] == {"stream": "report", "day": too_old, "oldest": oldest.isoformat()}


# -- minutes ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    {"scheduled_minutes": 400, "judged_minutes": 500, "serving_minutes": 500},
    {"scheduled_minutes": 400, "judged_minutes": 300, "serving_minutes": 200},  # do not add up
    {"scheduled_minutes": 400, "judged_minutes": 400, "serving_minutes": 400, "late_opening_minutes": 401},
    {"serving_minutes": 1000, "closed_minutes": 1000},                         # more than a day
])
def test_report_minutes_add_up_and_stay_within_the_schedule(fleet_db, body):
    fleet = Fleet(fleet_db)
    refused_for(fleet, ingest(fleet, report("dev-m", 5, body)), "minutes", "dev-m")
    assert fleet_db.query("SELECT * FROM reports") == []


# -- duplicate keys ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("payload", [
    # the same key twice: orjson would keep the last
    payloads.encode(event("dev-d", 5)[2]).replace(b'"event":"late_opening"',
                                                  b'"event":"late_opening","event":"printer_out"'),
    payloads.encode(event("dev-d", 5)[2])[:-1] + b',"detail":{"a":1}}',
    payloads.encode(event("dev-d", 5, detail={"a": 1})[2]).replace(b'{"a":1}', b'{"a" :1, "a"\n: 2}'),
    # with a backslash in the text the fast count is not used: the strict parser decides
    payloads.encode(event("dev-d", 5, detail={"why": 'say "x":'})[2]).replace(b'"why"', b'"a":1,"a"'),
])
def test_a_key_twice_in_one_object_is_refused_at_the_centre_as_at_the_device(fleet_db, payload):
    fleet = Fleet(fleet_db)
    with pytest.raises(ProtocolError) as refused:  # the device's own reading of it
        payloads.decode(payload)
    assert refused.value.reason == "duplicate_key"
    refused_for(fleet, ingest(fleet, ("event", "dev-d", payload)), "duplicate_key", "dev-d")


def test_keys_that_look_alike_in_the_text_are_not_duplicates(fleet_db):
    fleet = Fleet(fleet_db)
    tricky = event("dev-d", 5, detail={"why": 'a "b": c', "b": 1})
    spaced = json.dumps(event("dev-d", 6, detail={"x": 1})[2], indent=1, separators=(",", " : ")).encode()
    counts = ingest(fleet, tricky, ("event", "dev-d", spaced))
    assert (counts.accepted, counts.refused) == (2, 0), counts.reasons


# -- full telemetry replaces --------------------------------------------------------------------------------------
def test_full_telemetry_replaces_the_readings_and_changes_only_are_merged(fleet_db):
    fleet = Fleet(fleet_db)
    ingest(fleet, tele("dev-f", 1, sent=10, full=True, readings={
        "device": {"cpu_temp_c": 50, "disk_free_bytes": 10}, "office": {"waiting": {"A": 1, "B": 2}}}))
    ingest(fleet, tele("dev-f", 2, sent=20, full=False, readings={"office": {"waiting": {"C": 3}}}))
    assert fleet.device("dev-f")["telemetry"]["office"] == {"waiting": {"A": 1, "B": 2, "C": 3}}
    # the readings shrink: keys and groups the full message does not have are gone
    ingest(fleet, tele("dev-f", 3, sent=30, full=True, readings={"office": {"waiting": {"A": 4}}}))
    kept = fleet.device("dev-f")["telemetry"]
    assert kept["office"] == {"waiting": {"A": 4}} and "device" not in kept and kept["full"] is True
    # in one batch, too
    ingest(fleet, tele("dev-f", 4, sent=40, full=False, readings={"office": {"waiting": {"Z": 1}}}),
           tele("dev-f", 5, sent=50, full=True, readings={"clock": {"synchronized": True}}))
    assert set(fleet.device("dev-f")["telemetry"]) == {"agent", "full", "clock"}


def test_change_only_telemetry_cannot_grow_the_stored_readings_without_bound(fleet_db):
    """Each message is small and valid; their merge is refused once it would pass the bound."""
    fleet = Fleet(fleet_db)
    value = "x" * 1900
    refused = 0
    for n in range(60):
        readings = {f"g{n % 15}": {f"k{n}-{i}": value for i in range(20)}}
        counts = ingest(fleet, tele("dev-g", n + 1, sent=n + 1, full=False, readings=readings), received=100 + n)
        refused += counts.refused
        assert counts.reasons in ({}, {"too_large": 1})
    stored = fleet_db.query_one("SELECT telemetry FROM devices WHERE device_id = ?", ("dev-g",))["telemetry"]
    assert refused > 0 and len(stored.encode()) <= MAX_TELEMETRY_BYTES
    assert fleet.refusals(device="dev-g")[0]["last_reason"] == "too_large"
    # a full message starts afresh
    counts = ingest(fleet, tele("dev-g", 100, sent=200, full=True, readings={"device": {"a": 1}}), received=300)
    assert counts.accepted == 1 and fleet.device("dev-g")["telemetry"]["device"] == {"a": 1}


# -- seq jumps ----------------------------------------------------------------------------------------------------
def test_a_seq_jump_is_flagged_once_and_not_counted_as_lost(fleet_db):
    fleet = Fleet(fleet_db)
    register(fleet_db, "dev-s")
    ingest(fleet, *[tele("dev-s", s, sent=s) for s in range(1, 501)])
    assert status.lost_messages(fleet.device("dev-s")) == 0
    ingest(fleet, tele("dev-s", SEQ_MAX, sent=600), received=700)
    ingest(fleet, tele("dev-s", 502, sent=610), tele("dev-s", SEQ_MAX - 5, sent=620), received=800)
    d = fleet.device("dev-s")
    assert d["highest_seq"] == SEQ_MAX and d["seq_skipped"] == SEQ_MAX - 501
    assert status.lost_messages(d) == 0 and d["gaps"] == 0
    jumps = fleet.events(device="dev-s")
    assert [(e["kind"], e["detail"]) for e in jumps] == [
        ("seq_jumped", {"from": 500, "to": SEQ_MAX, "skipped": SEQ_MAX - 501})]
    row = status.fleet_view(fleet, day=dt.date(2026, 12, 1))["devices"][0]
    assert row["gaps"] == 0
    assert [a["kind"] for a in status.alerts(fleet, day=dt.date(2026, 12, 1))] == ["seq_jumped"]
    from central.metrics import FleetCollector

    gaps = {m.name: m for m in FleetCollector(fleet, today=lambda: dt.date(2026, 12, 1)).collect()}
    assert [s.value for s in gaps["pishkhan_sequence_gaps"].samples] == [0]


def test_an_ordinary_gap_is_still_counted(fleet_db):
    fleet = Fleet(fleet_db)
    ingest(fleet, tele("dev-s", 1), tele("dev-s", SEQ_JUMP))
    d = fleet.device("dev-s")
    assert status.lost_messages(d) == SEQ_JUMP - 2 and fleet.events(device="dev-s") == []


# -- refusals by reason, device flagged ---------------------------------------------------------------------------
def test_refusals_are_counted_by_reason_and_the_device_is_flagged(fleet_db):
    fleet = Fleet(fleet_db)
    counts = ingest(fleet, ("status", "dev-r", birth("dev-r", 2, 1, will_seq=1)),
                    event("dev-r", 3, detail={"why": "a\u202eb"}),
                    event("dev-r", 4, detail={"why": "a\u202eb"}),
                    report("dev-r", 5, {"serving_minutes": 1000, "closed_minutes": 1000}),
                    ("event", "dev-r", b"{"),
                    ("event", "dev-x", b"[]"))
    assert counts.accepted == 1 and counts.refused == 5
    assert counts.reasons == {"unsafe_text": 2, "minutes": 1, "not_json": 2}
    assert fleet.totals.reasons == counts.reasons
    flags = {f["device_id"]: f for f in fleet.refusals()}
    assert flags["dev-r"]["refused"] == 4 and flags["dev-r"]["last_reason"] == "not_json"
    assert flags["dev-r"]["by_reason"] == {"unsafe_text": 2, "minutes": 1, "not_json": 1}
    assert flags["dev-x"]["refused"] == 1
    ingest(fleet, event("dev-r", 6, detail={"why": "\x07"}), received=500)
    again = fleet.refusals(device="dev-r")[0]
    assert again["refused"] == 5 and again["last_reason"] == "unsafe_text" and again["last_at"] == at(500)


# -- a report before the birth -------------------------------------------------------------------------------------
def test_a_report_before_the_device_is_registered_is_filed_under_its_province_once_it_is(fleet_db):
    fleet = Fleet(fleet_db)
    ingest(fleet, report("dev-e", 3, {"serving_minutes": 10}), event("dev-e", 4, "late_opening"),
           ("status", "dev-e", birth("dev-e", 2, 1, will_seq=1, province="24")))
    assert fleet_db.query_one("SELECT province FROM reports WHERE device_id = 'dev-e'")["province"] == ""
    assert status.reports_of_day(fleet_db, dt.date(2026, 11, 30), province="24") == {}  # a birth places nothing
    registry.register(fleet_db, device_id="dev-e", office_id="24-1000", province="24")
    assert status.reports_of_day(fleet_db, dt.date(2026, 11, 30), province="24").keys() == {"dev-e"}
    assert [e["province"] for e in fleet.events(device="dev-e")] == ["24"]
    # registered first: filed under its province at once, whatever comes first in the batch
    registry.register(fleet_db, device_id="dev-q", office_id="23-1000", province="23")
    ingest(fleet, report("dev-q", 3, {"serving_minutes": 10}), ("status", "dev-q", birth("dev-q", 2, 1, will_seq=1)))
    assert fleet_db.query_one("SELECT province FROM reports WHERE device_id = 'dev-q'")["province"] == "23"


# -- snapshots ------------------------------------------------------------------------------------------------------
def snapshot(device, seq, png, *, sha=None, **extra):
    detail = {"at": at(50), "sha256": sha or hashlib.sha256(png).hexdigest(), "board_version": "12+3",
              "verification_code": "K7QM-2XHD", "screen_state": "on", "width": 1920, "height": 1080,
              "bytes": len(png), "png_base64": base64.b64encode(png).decode("ascii"), **extra}
    return ("result", device, payloads.result(device=device, seq=seq, sent_at=at(60), correlation_id="c-1",
                                              command="snapshot", ok=True, detail=detail))


def test_a_snapshot_result_is_stored_for_the_device_page(fleet_db):
    fleet = Fleet(fleet_db)
    counts = ingest(fleet, ("status", "dev-k", birth("dev-k", 2, 1, will_seq=1)), snapshot("dev-k", 3, PNG))
    assert (counts.accepted, counts.refused) == (2, 0)
    row = fleet_db.query_one("SELECT * FROM snapshots WHERE device_id = ?", ("dev-k",))
    assert bytes(row["png"]) == PNG and row["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert (row["at"], row["board_version"]) == (at(50), "12+3")
    result = fleet.events(device="dev-k")[0]
    assert result["kind"] == "command_result" and "png_base64" not in result["detail"]["detail"]
    assert result["detail"]["detail"]["sha256"] == row["sha256"]
    newer = PNG + b"more"
    ingest(fleet, snapshot("dev-k", 4, newer), received=300)
    assert bytes(fleet_db.query_one("SELECT png FROM snapshots WHERE device_id = 'dev-k'")["png"]) == newer


@pytest.mark.parametrize("png, sha, reason", [
    (PNG, "0" * 64, "snapshot"),                                   # not what the device said
    (b"GIF89a" + bytes(100), None, "snapshot"),                    # not a PNG
    (b"\x89PNG\r\n\x1a\n" + bytes(2 * 1024 * 1024), None, "schema"),  # larger than the agent sends
])
def test_a_snapshot_that_is_not_what_it_says_is_refused(fleet_db, png, sha, reason):
    fleet = Fleet(fleet_db)
    stream, device, message = snapshot("dev-k", 3, png, sha=sha)
    refused_for(fleet, ingest(fleet, (stream, device, payloads.encode(message))), reason, "dev-k")
    assert fleet_db.query("SELECT device_id FROM snapshots") == []


# -- the database -----------------------------------------------------------------------------------------------------
def test_an_existing_database_gets_the_new_column(fleet_db):
    """A database made before ``devices.seq_skipped`` gets it, rows kept, when it is opened (set up) again."""
    fleet_db.execute("ALTER TABLE devices DROP COLUMN seq_skipped")
    fleet_db.execute("INSERT INTO devices(device_id, highest_seq, received) VALUES ('dev-old', 9, 7)")
    fleet_db.setup()
    row = fleet_db.query_one("SELECT * FROM devices WHERE device_id = 'dev-old'")
    assert (row["seq_skipped"], status.lost_messages(row)) == (0, 2)
    fleet_db.setup()  # and again: nothing to add
