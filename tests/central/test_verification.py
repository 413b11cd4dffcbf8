"""The centre checks a device's daily report for itself: the fact chain, the same judge, the broker's presence.

Each test builds an office day on a real store and outbox (tests/fact_helpers.py),
hands the outbox's messages to a real Fleet (SQLite and PostgreSQL) and asks
central.verification what it makes of the day.
"""

from __future__ import annotations

import datetime as dt
import json

from fact_helpers import DAY, FactOffice, OneShift, at, ordinary_day

from central import verification
from central.fleet import Fleet
from pishkhan.compliance.judge import judge_day
from pishkhan.protocol.payloads import decode, encode

LATER = at(23, 0)


def verdict(fleet, office, now=LATER):
    return verification.verify_day(fleet.db, office.device, DAY, now=now)


def test_a_clean_day_is_verified(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    office.birth()
    office.deliver(fleet, at(6, 50))
    ordinary_day(office, fleet)
    office.report()
    office.deliver(fleet)
    v = verdict(fleet, office)
    assert (v.ok, v.reason) == (True, "verified"), v.detail
    assert v.text == "گزارش به تأیید مرکز رسید"
    assert v.detail["minutes"]["serving_minutes"] == 420
    office.close()


def test_no_report_or_no_facts_is_said_as_such(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    ordinary_day(office)
    assert verdict(fleet, office).reason == "no_report"
    office.report()
    office.deliver(fleet, stream="report")
    assert verdict(fleet, office).reason == "no_facts"
    office.close()


def test_the_chain_resumes_across_a_restart_without_a_gap(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    ordinary_day(office)
    before = office.facts.n
    # the agent restarts: a new FactStream on the same outbox file picks up the head
    office.facts = type(office.facts)(store=office.store, publisher=office.publisher, device_id=office.device)
    assert (office.facts.n, office.facts.chain) == (before, office.facts.chain)
    office.run_until(16, 0)
    office.report()
    office.deliver(fleet)
    assert verdict(fleet, office).ok
    office.close()


def test_a_fact_changed_in_a_resend_breaks_the_chain(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    ordinary_day(office)
    office.report()
    messages = office.take()
    fleet.ingest([(t, p, "2026-11-28T12:00:00.000Z") for t, p in messages])
    assert verdict(fleet, office).ok
    # the same link sent again, with the kiosk "accepting" where it was closed
    topic, payload = next((t, p) for t, p in messages if t.endswith("/facts"))
    message = decode(payload)
    message["seq"] += 50_000  # the same links again under another seq (an outbox resent after a restore): harmless
    fleet.ingest([(topic, encode(message), "2026-11-28T12:00:00.500Z")])
    assert verdict(fleet, office).ok
    link = next(l for l in message["links"] if l["fact"]["kind"] == "state")
    link["fact"]["state"] = "accepting"
    message["seq"] += 100_000
    fleet.ingest([(topic, encode(message), "2026-11-28T12:00:01.000Z")])
    v = verdict(fleet, office)
    assert (v.ok, v.reason) == (False, "chain_broken")
    assert v.detail["breaks"][0]["why"] == "changed"
    office.close()


def test_a_changed_fact_that_arrives_first_breaks_the_next_link(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    ordinary_day(office)
    office.report()
    out = []
    for topic, payload in office.take():
        if topic.endswith("/facts") and not out:
            message = decode(payload)
            message["links"][1]["fact"]["reason"] = "tampered"  # its hash changes; link 3's prev no longer matches
            payload = encode(message)
            out.append(1)
        fleet.ingest([(topic, payload, "2026-11-28T12:00:00.000Z")])
    v = verdict(fleet, office)
    assert v.reason == "chain_broken" and v.detail["breaks"][0] == {"n": 3, "why": "mismatch"}
    office.close()


def deliver_all_but_one_link(fleet, office):
    """What *office* has sent so far into *fleet*, less one facts message in the middle of its chain."""
    messages = office.take()
    facts = [i for i, (t, _) in enumerate(messages) if t.endswith("/facts")]
    lost = facts[len(facts) // 2]
    fleet.ingest([(t, p, "2026-11-28T12:00:00.000Z") for i, (t, p) in enumerate(messages) if i != lost])


def test_a_removed_link_is_pending_then_broken(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    ordinary_day(office)
    office.report()
    deliver_all_but_one_link(fleet, office)
    assert verdict(fleet, office, now=at(15, 35)).reason == "pending"  # 5 minutes after: it may be on its way
    v = verdict(fleet, office, now=at(16, 0))
    assert v.reason == "chain_broken" and v.detail["breaks"][0]["why"] == "missing"
    office.close()


def test_a_link_lost_one_day_does_not_make_the_next_day_unverifiable(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    ordinary_day(office)
    office.report()
    deliver_all_but_one_link(fleet, office)
    nextday = DAY + dt.timedelta(days=1)
    office.run_until(7, 30, day=nextday)
    office.fact("counter:1", "open")
    office.fact("kiosk", "accepting")
    office.run_until(15, 0, day=nextday)
    office.report(day=nextday)
    office.deliver(fleet)
    later = at(23, 0, nextday)
    assert verdict(fleet, office, now=later).reason == "chain_broken"
    v = verification.verify_day(fleet.db, office.device, nextday, now=later)
    assert v.ok, v
    office.close()


def test_a_new_chain_in_the_day_is_a_break_of_that_day_only(fleet_db, tmp_path):
    from edge_agent.facts import FactStream
    from edge_agent.outbox import Outbox
    from edge_agent.publish import Publisher

    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    ordinary_day(office)
    office.report()
    office.deliver(fleet)
    office.outbox.close()  # the outbox file is lost: a new one, a new chain (streamed from the store's first row)
    office.outbox = Outbox(tmp_path / "outbox-2.db", clock=lambda: office.clock.now().timestamp(),
                           boot_clock=office.clock.mono, boot="boot-1")
    office.outbox.conn.execute("UPDATE state SET next_seq = 100000")  # past the old file's: not duplicates
    office.publisher = Publisher(office.outbox, office.publisher.topics, office.device, validate=True)
    office.facts = FactStream(store=office.store, publisher=office.publisher, device_id=office.device)
    nextday = DAY + dt.timedelta(days=1)
    office.run_until(15, 0, day=nextday)
    office.report(day=nextday)
    office.deliver(fleet, at(15, 1, nextday))
    later = at(23, 0, nextday)
    v = verdict(fleet, office, now=later)
    assert v.reason == "chain_broken" and v.detail["why"] == "restarted"
    assert verification.verify_day(fleet.db, office.device, nextday, now=later).ok
    office.close()


def test_a_row_deleted_before_it_was_streamed_is_a_skip_in_the_chain(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    office.fact("kiosk", "not_accepting", "closed")
    office.fact("counter:1", "closed")
    office.run_until(7, 29)
    office.fact("counter:1", "open")
    office.fact("kiosk", "accepting")
    office.fact("kiosk", "not_accepting", "no_counter")  # the owner deletes this before the agent streams it
    office.fact("printer", "ok")
    office.store.execute("DELETE FROM state_log WHERE component = 'kiosk' AND reason = 'no_counter'")
    office.run_until(15, 0)
    office.report()
    office.deliver(fleet)
    v = verdict(fleet, office)
    assert v.reason == "chain_broken" and v.detail["breaks"][0]["why"] == "state_skipped"
    office.close()


def test_a_report_that_differs_from_the_centres_judgement_is_flagged(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    office.fact("kiosk", "not_accepting", "closed")
    office.fact("counter:1", "closed")
    office.run_until(7, 30)
    office.fact("counter:1", "open")
    office.run_until(8, 10)  # the kiosk opened 40 minutes late
    office.fact("kiosk", "accepting")
    office.run_until(15, 0)
    office.deliver(fleet)
    honest = judge_day(office.store, OneShift(), DAY)
    assert honest["closed_minutes"] == 40
    # the owner, root on the Pi, rewrites the late kiosk fact after it was streamed; the report then says 0
    office.store.execute("UPDATE state_log SET at = ? WHERE component = 'kiosk' AND state = 'accepting'",
                         ("2026-11-28T03:59:00.000000Z",))
    sent = office.report()
    assert sent["closed_minutes"] == 0
    office.deliver(fleet)
    v = verdict(fleet, office)
    assert (v.ok, v.reason) == (False, "report_differs")
    assert v.detail["minutes"]["closed_minutes"] == {"report": 0, "centre": 40}
    office.close()


def test_a_report_edited_on_its_way_is_flagged(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    ordinary_day(office)
    office.deliver(fleet)
    office.edited_report(5)
    office.deliver(fleet)
    assert verdict(fleet, office).reason == "report_differs"
    office.close()


def _streaming_until(office, fleet, hh, mm):
    """Minutes pass with the agent connected: each minute's beat and facts reach the centre that minute."""
    while office.now() < at(hh, mm):
        nxt = office.now().astimezone(at(0, 0).tzinfo) + dt.timedelta(minutes=1)
        office.run_until(nxt.hour, nxt.minute)
        office.deliver(fleet)


def _gone_day(office, fleet, *, agent_runs: bool, will: bool = True, back: tuple = (11, 0)):
    """Online until 09:00, gone until *back* (the broker's Last Will, or with no *will* just silence), online
    again; serving all day."""
    seq = office.birth()
    office.deliver(fleet, at(6, 50))
    office.fact("kiosk", "accepting")
    office.fact("counter:1", "open")
    _streaming_until(office, fleet, 9, 0)
    if will:
        office.offline("lost", seq=seq)
        office.deliver(fleet, at(9, 0), stream="status")  # the broker publishes the will
    office.run_until(*back, agent=agent_runs)  # the kiosk serves; the agent beats into its outbox, or not at all
    office.birth()
    office.deliver(fleet, at(*back))  # back: the birth, then the outbox's backlog
    _streaming_until(office, fleet, 15, 0)
    office.report()
    office.deliver(fleet)


def test_serving_while_gone_is_explained_by_the_outbox_heartbeats(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    _gone_day(office, fleet, agent_runs=True)
    gone = verification.gone_stretches(fleet.db, office.device, at(0, 0), at(23, 0))
    # the will's stretch; and from its last message on, silence (the day's facts are all in by 15:00)
    assert [(a, b, why) for a, b, why in gone] == [(at(9, 0), at(11, 0), "lost"), (at(15, 0), at(23, 0), "silent")]
    v = verdict(fleet, office)
    assert v.ok and v.detail["served_offline"] == 120  # shown, for people to look into a pattern of them
    office.close()


def test_minutes_claimed_serving_while_the_broker_saw_the_device_gone_are_flagged(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    _gone_day(office, fleet, agent_runs=False)
    # the device's own judgement: one boot from 06:50 to 15:00, so every minute up and serving
    assert judge_day(office.store, OneShift(), DAY)["serving_minutes"] == 420
    v = verdict(fleet, office)
    assert (v.ok, v.reason) == (False, "served_while_gone")
    assert v.detail["minutes"] == 120 - 2  # 09:00-11:00, less the minute at each end a beat just outside covers
    office.close()


def test_a_device_silent_for_an_hour_without_a_will_is_gone_from_its_last_message(fleet_db, tmp_path):
    """No Last Will (a modified agent): an hour with nothing streamed is still a stretch the device was gone, and
    the minutes it claims serving there are flagged unless heartbeats streamed afterwards explain them."""
    for agent_runs in (False, True):
        (tmp_path / str(agent_runs)).mkdir()
        fleet, office = Fleet(fleet_db), FactOffice(tmp_path / str(agent_runs), device=f"dev-{int(agent_runs)}")
        _gone_day(office, fleet, agent_runs=agent_runs, will=False, back=(10, 0))
        assert not fleet.db.query("SELECT 1 FROM presence WHERE device_id = ? AND state <> 'online'",
                                  (office.device,))  # the broker said nothing
        gone = verification.gone_stretches(fleet.db, office.device, at(0, 0), at(15, 0))
        assert gone == [(at(9, 0), at(10, 0), "silent")]
        v = verdict(fleet, office)
        if agent_runs:  # the outbox's beats, made while it was cut off and streamed on its return
            assert (v.ok, v.detail["served_offline"]) == (True, 60), v.detail
        else:
            assert (v.ok, v.reason, v.detail["minutes"]) == (False, "served_while_gone", 60 - 2), v.detail
            assert v.detail["gone"][0] == {"from": "2026-11-28T05:30:00.000000Z", "to": "2026-11-28T06:30:00.000000Z",
                                           "why": "silent"}
        office.close()


def test_a_device_is_silent_only_past_silent_after():
    heard = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.timezone.utc)
    last = "2026-11-28T06:00:00.000Z"
    assert not verification.silent(last, heard + verification.SILENT_AFTER)
    assert verification.silent(last, heard + verification.SILENT_AFTER + dt.timedelta(seconds=1))
    assert not verification.silent(None, heard)  # never heard: nothing to be silent about
    assert verification.silent("not a time", heard) and verification.silent(12, heard)


def test_the_office_page_lists_the_verdicts_and_never_breaks(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    ordinary_day(office)
    office.report()
    office.deliver(fleet)
    fleet.db.execute("INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?)",
                     (office.device, "2026-11-27", "", json.dumps({"periods": 5}), "2026-11-27T12:00:00.000Z"))
    days = verification.recent(fleet.db, office.device, today=DAY, days=3, now=LATER)
    assert [(d["date"], d["reason"]) for d in days] == [("2026-11-28", "verified"), ("2026-11-27", "unreadable"),
                                                        ("2026-11-26", "no_report")]
    office.close()


def _official_schedule(db, *, week: str, version: int = 1):
    days = ("saturday", "sunday", "monday", "tuesday", "wednesday", "thursday")
    doc = {"format": "pishkhan.schedule/1", "issuer": "مرکز", "scope": {"level": "national"}, "version": version,
           "effective_from": "2026-03-21", "week": {**{d: [week] for d in days}, "friday": []}, "exceptions": []}
    envelope = {"format": "pishkhan.signed/1", "payload": doc, "signature": {"alg": "ed25519", "key": "k", "value": "v"}}
    db.execute("INSERT INTO official(scope_key, kind, version, verification_code, effective_from, issuer, published_at, "
               "envelope) VALUES (?,?,?,?,?,?,?,?)", ("national", "schedule", version, f"CODE-{version}", "2026-03-21",
                                                      "مرکز", "2026-03-21T00:00:00.000Z", json.dumps(envelope)))


def test_a_report_judged_over_other_hours_than_the_official_schedule_is_flagged(fleet_db, tmp_path):
    from fact_helpers import FactOffice as Office

    class Shorter(OneShift):
        """The owner's own hours: opening at 08:00 hides a late opening."""

        def periods(self, day):
            return [(at(8, 0, day), at(14, 30, day))]

    fleet, office = Fleet(fleet_db), Office(tmp_path)
    ordinary_day(office)
    office.publisher.report(DAY.isoformat(), judge_day(office.store, Shorter(), DAY))
    office.deliver(fleet)
    assert verdict(fleet, office).ok  # no official schedule: the centre cannot know the hours
    _official_schedule(fleet.db, week="07:30-14:30")
    v = verdict(fleet, office)
    assert (v.ok, v.reason) == (False, "hours_differ")
    assert v.detail["official"] == [["2026-11-28T04:00:00.000000Z", "2026-11-28T11:00:00.000000Z"]]
    _official_schedule(fleet.db, week="08:00-14:30", version=2)  # the official hours change: the report agrees
    assert verdict(fleet, office).ok
    office.close()


def test_the_will_of_an_older_connection_delivered_late_does_not_make_the_device_gone(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    first = office.birth()
    office.deliver(fleet, at(9, 0))
    second = office.birth()  # a new connection took over the old one (a reconnect before the broker noticed)
    office.deliver(fleet, at(9, 1))
    office.offline("lost", seq=first)  # the broker fires the old connection's will only now
    office.deliver(fleet, at(9, 2))
    states = [r["state"] for r in fleet.db.query("SELECT state FROM presence ORDER BY id")]
    assert states == ["online", "online", "stale"]
    said = lambda: [(a, w) for a, _, w in verification.gone_stretches(  # noqa: E731 - what the broker said
        fleet.db, office.device, at(0, 0), at(23, 0)) if w != "silent"]
    assert said() == []
    office.offline("stopped", seq=second)  # the live connection's clean stop
    office.deliver(fleet, at(12, 0))
    assert said() == [(at(12, 0), "stopped")]
    office.close()
