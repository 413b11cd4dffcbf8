"""A late opening follows the office's later state: the event fires at the threshold, while the office is
still closed; the pages then show when it opened and the true minutes late (central.status.follow_opening)."""

from __future__ import annotations

import datetime as dt
import re

import dashboard_fleet as F
import pytest

from central import registry, status
from central.db import open_db
from central.fleet import Fleet


def judged(start: dt.datetime, end: dt.datetime, opened_at=None) -> dict:
    """The judge's late opening as the agent sends it: the whole event is the message's detail."""
    return {"id": f"late_opening@{F.iso(start)}", "kind": "late_opening", "start": F.iso(start), "end": F.iso(end),
            "minutes": int((end - start).total_seconds() // 60),
            "detail": {"opened_at": F.iso(opened_at) if opened_at else None, "why": "kiosk"}}


class Office:
    """One office of province 23 whose messages go through the centre's real ingest."""

    def __init__(self, db):
        self.db, self.fleet = db, Fleet(db)
        self.device = F.Device("dev-2399", "23", "دفتر پیشخوان پونک")
        registry.register(db, device_id=self.device.id, office_id=self.device.office, province="23",
                          office_name=self.device.name)
        self.device.will = self.device.birth(F.tehran(7, 45), None)

    def late_event(self):
        """At 08:05 the agent's judge fires: closed since 08:00, not opened yet."""
        start, end = F.tehran(8), F.tehran(8, 5)
        self.device.send("event", F.payloads.event(device=self.device.id, seq=self.device.next(), sent_at=F.iso(end),
                                                   event="late_opening", at=F.iso(start), detail=judged(start, end)),
                         end)

    def state(self, at: dt.datetime, state: str, since: dt.datetime):
        """The agent's telemetry: the current minute's compliance state."""
        self.device.send("telemetry", F.payloads.telemetry(
            device=self.device.id, seq=self.device.next(), sent_at=F.iso(at), agent={"uptime_s": 60.0, "outbox": {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0,
                                                                       "dropped": {}, "refused": 0}},
            readings={"compliance": {"in_hours": True, "state": state, "why": "", "since": F.iso(since)}}), at)

    def flush(self):
        counts = self.fleet.ingest(self.device.messages)
        assert counts.refused == 0, counts.reasons
        self.device.messages = []

    def late(self, now: dt.datetime) -> dict:
        view = status.fleet_view(self.fleet, day=F.TODAY, province="23", state="late", now=now)
        assert [d["device_id"] for d in view["devices"]] == [self.device.id]
        [late] = view["devices"][0]["late_events"]
        return late


@pytest.fixture
def office(tmp_path):
    db = open_db(str(tmp_path / "fleet.db"))
    yield Office(db)
    db.close()


def test_the_fleet_follows_the_office_from_not_opened_to_opened(office):
    office.late_event()
    office.state(F.tehran(8, 10), "closed", F.tehran(8))
    office.flush()
    late = office.late(F.tehran(8, 11))
    assert (late["opened_at"], late["minutes"]) == (None, 10)  # still closed at 08:10, by its own state
    assert status.parse_time(late["closed_until"]) == F.tehran(8, 10)
    office.state(F.tehran(8, 30), "serving", F.tehran(8, 25))
    office.flush()
    late = office.late(F.tehran(8, 31))
    assert status.parse_time(late["opened_at"]) == F.tehran(8, 25)
    assert (late["minutes"], late["opened_from"]) == (25, "state")


def test_a_simulated_office_that_said_it_opened_is_not_not_opened_yet(office):
    """The simulator's office sends its late opening (the minutes it was late) as it opens, then ``office.opened``."""
    dev, at = office.device, F.tehran(8, 23)
    for kind, detail in (("late_opening", {"minutes": 23}), ("office.opened", {})):
        dev.send("event", F.payloads.event(device=dev.id, seq=dev.next(), sent_at=F.iso(at), event=kind, detail=detail),
                 at)
    office.flush()
    late = office.late(F.tehran(8, 30))
    assert (status.parse_time(late["opened_at"]), late["minutes"], late["opened_from"]) == (at, 23, "opened")


def test_the_office_page_and_the_alerts_show_the_opening_not_not_opened_yet(office):
    from starlette.testclient import TestClient

    from central.users import Users
    from central.web.app import create_app

    office.late_event()
    office.state(F.tehran(8, 40), "serving", F.tehran(8, 25))
    office.flush()
    Users(office.db).add("admin", "centre-pass-1")
    client = TestClient(create_app(office.fleet, now=lambda: F.tehran(8, 41)))
    token = re.search(r'name="csrf_token" value="(\w+)"', client.get("/login").text)[1]
    client.post("/login", data={"username": "admin", "password": "centre-pass-1", "csrf_token": token})
    [alert] = client.get("/api/fleet").json()["alerts"]
    assert alert["opening"]["minutes"] == 25 and alert["opening"]["opened_from"] == "state"
    for page in (client.get("/").text, client.get("/device/dev-2399").text,
                 client.get("/devices?province=23&state=late").text):
        assert "گشایش ۰۸:۲۵" in page and "تأخیر ۲۵ دقیقه" in page
        assert "هنوز باز نشده" not in page


def test_the_opening_from_the_offices_own_events_or_its_later_report():
    start = F.iso(F.tehran(8))
    fired = {"at": start, "minutes": 5, "opened_at": None, "end": F.iso(F.tehran(8, 5))}
    opened = status.follow_opening(fired, opened=[F.iso(F.tehran(7, 50)), F.iso(F.tehran(8, 31)),
                                                  F.iso(F.tehran(9, 0))])
    assert (status.parse_time(opened["opened_at"]), opened["minutes"], opened["opened_from"]) == \
        (F.tehran(8, 31), 31, "opened")
    assert status.follow_opening(fired)["closed_until"] == F.iso(F.tehran(8, 5))
    # the day's report (sent after hours) carries the judge's whole late opening: it wins over the first event
    device = {"device_id": "d", "province": "23", "office_id": "", "office_name": "", "online": True,
              "last_seen": None, "status_since": None, "status_reason": None}
    event = {"device_id": "d", "kind": "late_opening", "at": start,
             "detail": judged(F.tehran(8), F.tehran(8, 5))}
    report = {"events": [judged(F.tehran(8), F.tehran(8, 40), opened_at=F.tehran(8, 40))]}
    row = status.device_day(device, events=[event], report=report, newest={}, currency={"state": "unknown"})
    [late] = row["late_events"]
    assert (status.parse_time(late["opened_at"]), late["minutes"], late["opened_from"]) == \
        (F.tehran(8, 40), 40, "event")
