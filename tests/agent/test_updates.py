"""The agent's updates part over the real broker: a retained release document arrives, the request file is written
only when the office's hours and the window allow (the store's clock moved by hand), and each new row of the
updater's journal goes out as an ``update`` event, with ``reported.release`` following it."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import stat
import threading

from agent_helpers import wait_until
from centre_helpers import assert_all_valid, reported
from release_helpers import release_doc

from edge_agent import sync, updates
from edge_agent.agent import Agent
from pishkhan.boards.signing import SigningKey, verification_code
from pishkhan.boards.trust import trust_key
from pishkhan.config import parse_config
from pishkhan.protocol.topics import Topics
from pishkhan.schedule.hours import WeeklyHours
from pishkhan.store.database import Store
from pishkhan.text.jalali import TEHRAN

#: Open 08:00-14:00 every day, Tehran time.
HOURS = WeeklyHours({day: [(dt.time(8), dt.time(14))] for day in range(7)})
JOURNAL = """CREATE TABLE update_steps (id INTEGER PRIMARY KEY, at TEXT NOT NULL, attempt TEXT NOT NULL,
  rollout TEXT NOT NULL DEFAULT '', document_code TEXT NOT NULL DEFAULT '', from_version TEXT NOT NULL DEFAULT '',
  to_version TEXT NOT NULL DEFAULT '', step TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '')"""


class Clock:
    def __init__(self, at):
        self.at = at

    def __call__(self):
        return self.at


def releases(capture):
    return [m["applied"]["release"] for m in reported(capture) if "release" in m["applied"]]


def test_a_release_document_becomes_a_request_only_in_the_window_and_the_journal_goes_out(tmp_path, mqtt_broker,
                                                                                          monkeypatch):
    (tmp_path / "VERSION").write_text("0.1.0\n")
    monkeypatch.setenv("PISHKHAN_VERSION_FILE", str(tmp_path / "VERSION"))
    clock = Clock(dt.datetime(2026, 12, 10, 10, 0, tzinfo=TEHRAN))  # the office is open
    request, journal = tmp_path / "update" / "request.json", tmp_path / "journal.sqlite"
    config = parse_config({"device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
                           "office": {"province": "23", "office_id": "OFF-1"},
                           "update": {"request": str(request), "journal": str(journal)},
                           "mqtt": mqtt_broker.agent_settings("dev-0001", telemetry_seconds=3600)})
    national = SigningKey.generate()
    store = Store(config.store_path, clock=clock)
    trust_key(store, national.public, scope="national", actor="test")
    agent = Agent(config, store=store, validate=True)
    sync.register(agent.context)
    part = updates.Updates(agent.context, hours=HOURS)
    capture = mqtt_broker.capture()
    thread = threading.Thread(target=agent.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: agent.session.connected, 15)
        # the birth is a fact in the store, for the update's health gate (once per process)
        assert wait_until(lambda: store.audit_entries(action="agent.birth"), 10)
        assert [e["detail"]["software_version"] for e in store.audit_entries(action="agent.birth")] == ["0.1.0"]
        envelope = national.sign(release_doc(1))
        raw = mqtt_broker.client("centre")
        raw.publish(Topics(mqtt_broker.root).national("release"), json.dumps(envelope), qos=1,
                    retain=True).wait_for_publish(10)
        assert wait_until(lambda: store.query_one("SELECT COUNT(*) FROM release_documents")[0] == 1, 15)

        part.poll()  # in hours: wait, say why, ask nothing
        assert not request.exists()
        assert capture.wait(lambda c: releases(c), 10)
        code = verification_code(envelope)
        assert releases(capture)[-1] == {"rollout": "R-20261207-1", "document_code": code, "scope": "national",
                                         "package_version": "0.9.0", "state": "waiting", "reason": "in_hours",
                                         "running_version": "0.1.0"}
        clock.at = clock.at.replace(hour=16)  # closed, but outside the window 22:00-05:00
        part.tick()
        assert not request.exists() and part.state["reason"] == "outside_window"

        clock.at = clock.at.replace(hour=23)
        part.tick()
        assert request.exists()
        asked = json.loads(request.read_text())
        assert asked["envelope"] == envelope and asked["device_id"] == "dev-0001"
        assert stat.S_IMODE(request.stat().st_mode) == 0o640
        assert part.state["state"] == "requested"
        request.unlink()
        part.tick()  # asked once per document
        assert not request.exists()

        with sqlite3.connect(journal) as db:
            db.execute(JOURNAL)
            db.execute("INSERT INTO update_steps(at, attempt, rollout, document_code, from_version, to_version, "
                       "step) VALUES (?,?,?,?,?,?,?)", ("2026-12-10T19:31:00Z", "a-1", "R-20261207-1", code,
                                                        "0.1.0", "0.9.0", "downloading"))
        part.poll()
        assert capture.wait(lambda c: c.decoded("event"), 10)
        event = capture.decoded("event")[-1]
        assert event["event"] == "update" and event["at"] == "2026-12-10T19:31:00Z"
        assert event["detail"] | {"detail": ""} == {"step": "downloading", "rollout": "R-20261207-1",
                                                    "document_code": code, "from_version": "0.1.0",
                                                    "to_version": "0.9.0", "reason": "", "attempt": "a-1",
                                                    "detail": ""}
        assert capture.wait(lambda c: releases(c)[-1]["state"] == "downloading", 10)
        part.poll()  # nothing new: nothing sent again
        assert store.get_setting(updates.JOURNAL_SETTING) == 1
        assert len(capture.decoded("event")) == 1

        # On the device's own topic: a document naming another device is refused, one naming this device installed.
        topic = Topics(mqtt_broker.root).device_document("dev-0001", "release")
        other = national.sign(release_doc(1, scope={"level": "device", "device": "dev-0002"}))
        raw.publish(topic, json.dumps(other), qos=1, retain=True).wait_for_publish(10)
        assert capture.wait(lambda c: any(r["reason"] == "wrong_scope" for m in reported(c)
                                          for r in m.get("refused", [])), 10)
        mine = national.sign(release_doc(1, scope={"level": "device", "device": "dev-0001"}, halted=True))
        raw.publish(topic, json.dumps(mine), qos=1, retain=True).wait_for_publish(10)
        assert wait_until(lambda: store.query_one("SELECT COUNT(*) FROM release_documents")[0] == 2, 10)
        assert part.tick()["scope"] == "device:dev-0001" and part.state["reason"] == "halted"
        assert_all_valid(capture)
    finally:
        agent.stop()
        thread.join(15)


def journal_row(journal, **row):
    with sqlite3.connect(journal) as db:
        db.execute(JOURNAL.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
        db.execute(f"INSERT INTO update_steps({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                   tuple(row.values()))


def test_a_passing_failure_is_asked_again_and_a_rolled_back_version_never(tmp_path, monkeypatch):
    (tmp_path / "VERSION").write_text("0.1.0\n")
    monkeypatch.setenv("PISHKHAN_VERSION_FILE", str(tmp_path / "VERSION"))
    clock = Clock(dt.datetime(2026, 12, 10, 23, 0, tzinfo=TEHRAN))
    request, journal = tmp_path / "request.json", tmp_path / "journal.sqlite"
    config = parse_config({"device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
                           "update": {"request": str(request), "journal": str(journal)},
                           "mqtt": {"enabled": False}})
    national = SigningKey.generate()
    store = Store(config.store_path, clock=clock)
    trust_key(store, national.public, scope="national", actor="test")
    agent = Agent(config, store=store)
    try:
        part = updates.Updates(agent.context, hours=HOURS)
        from pishkhan.releases.installed import install_release
        done = install_release(store, national.sign(release_doc(1)), source="centre", actor="test")
        code = done.verification_code
        part.tick()
        assert request.exists()
        request.unlink()
        common = {"attempt": "a-1", "rollout": "R-20261207-1", "document_code": code, "from_version": "0.1.0",
                  "to_version": "0.9.0"}
        journal_row(journal, at="2026-12-10T19:31:00Z", step="requested", **common)
        journal_row(journal, at="2026-12-10T19:32:00Z", step="failed", reason="download_failed", **common)
        part.tick()
        assert not request.exists() and part.state["state"] == "failed"  # not at once
        clock.at += dt.timedelta(minutes=31)
        part.tick()
        assert request.exists() and part.state["state"] == "requested"  # half an hour later: again
        request.unlink()
        clock.at += dt.timedelta(minutes=31)
        part.tick()
        assert not request.exists()  # the journal has said nothing new: no third request yet

        common |= {"attempt": "a-2"}
        journal_row(journal, at="2026-12-10T20:31:00Z", step="installing", **common)
        journal_row(journal, at="2026-12-10T20:35:00Z", step="rolled_back", reason="unhealthy",
                    **common | {"from_version": "0.9.0", "to_version": "0.1.0"})
        clock.at += dt.timedelta(hours=1)
        part.tick()
        assert not request.exists()
        assert (part.state["state"], part.state["reason"]) == ("rolled_back", "unhealthy")
        # a newer document for the same package: this device rolled it back, it waits
        install_release(store, national.sign(release_doc(2)), source="centre", actor="test")
        part.tick()
        assert not request.exists() and (part.state["state"], part.state["reason"]) == ("waiting", "failed_here")
    finally:
        agent.outbox.close()
        store.close()
