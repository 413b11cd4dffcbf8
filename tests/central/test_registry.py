"""Device identity comes from the centre's registry, never from the device.

Real protocol messages through Fleet.ingest, on SQLite and PostgreSQL; the CLI through the
installed ``pishkhan`` command.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from cli_runner import run

from central import registry
from central.db import open_db
from central.fleet import Fleet
from central.metrics import exposition
from central.registry import RegistryRefused
from central.report import daily_report
from central.status import alerts, fleet_view
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics

T = Topics()
T0 = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.timezone.utc)  # 08:30 in Tehran
#: The pages' "now": soon after the messages below (a device silent past SILENT_AFTER would be offline).
NOW = T0 + dt.timedelta(minutes=2)
DAY = dt.date(2026, 12, 1)


def at(seconds: float) -> str:
    return payloads.format_time(T0 + dt.timedelta(seconds=seconds))


class Device:
    """One device's messages, each with the next sequence number."""

    def __init__(self, device_id):
        self.id, self.seq = device_id, 0

    def _next(self):
        self.seq += 1
        return self.seq

    def birth(self, t, *, province, office, office_name="دفتر"):
        will = self._next()
        return self._msg("status", payloads.birth(
            device=self.id, seq=self._next(), sent_at=at(t), agent_version="0.1.0", software_version="0.1.0",
            boot_id="b1", started_at=at(0), will_seq=will, protocol="5", board=None, schedule=None,
            clock={"synchronized": True, "source": "adjtimex"}, province=province, office=office,
            office_name=office_name), t)

    def event(self, t, kind="late_opening", minutes=12):
        return self._msg("event", payloads.event(device=self.id, seq=self._next(), sent_at=at(t), event=kind,
                                                 at=at(t - 60), detail={"minutes": minutes}), t)

    def report(self, t, minutes=300):
        return self._msg("report", payloads.report(device=self.id, seq=self._next(), sent_at=at(t),
                                                   date=DAY.isoformat(),
                                                   report={"serving_minutes": minutes, "scheduled_minutes": minutes,
                                                           "events": []}), t)

    def will(self, t):
        return self._msg("status", payloads.offline(device=self.id, seq=1, sent_at=at(0), reason="lost",
                                                    boot_id="b1"), t)

    def _msg(self, stream, message, t):
        return (T.device(self.id, stream), payloads.encode(message), at(t + 1))


def _totals(fleet, province):
    view = fleet_view(fleet, day=DAY, now=NOW)
    return next((p for p in view["provinces"] if p["province"] == province), {"total": 0})


# -- the case ------------------------------------------------------------------------------
def test_a_device_claiming_another_province_stays_where_the_registry_puts_it_and_raises_an_alert(fleet_db):
    registry.register(fleet_db, device_id="dev-0003", office_id="23-0003", province="23", office_name="دفتر ونک")
    registry.register(fleet_db, device_id="dev-2401", office_id="24-0001", province="24", office_name="دفتر اراک")
    fleet = Fleet(fleet_db)
    mine, other = Device("dev-0003"), Device("dev-2401")
    counts = fleet.ingest([other.birth(0, province="24", office="24-0001", office_name="دفتر اراک"),
                           other.report(50, minutes=100),
                           mine.birth(10, province="24", office="24-5678", office_name="دفتر جعلی"),
                           mine.event(20), mine.report(60, minutes=400)])
    assert counts.refused == 0, counts.reasons
    d = fleet.device("dev-0003")
    assert (d["province"], d["office_id"], d["office_name"]) == ("23", "23-0003", "دفتر ونک")  # nothing changed
    [alert] = [e for e in fleet.events(device="dev-0003") if e["kind"] == "identity_mismatch"]
    assert alert["province"] == "23"
    assert alert["detail"]["claimed"] == {"province": "24", "office_id": "24-5678", "office_name": "دفتر جعلی"}
    assert alert["detail"]["registered"]["province"] == "23" and set(alert["detail"]["fields"]) == {
        "province", "office_id", "office_name"}
    assert "identity_mismatch" in [a["kind"] for a in alerts(fleet, day=DAY, province="23")]  # the page shows it
    assert _totals(fleet, "24")["total"] == 1 and _totals(fleet, "23")["total"] == 1
    assert [r["device_id"] for r in fleet_view(fleet, day=DAY, now=NOW, province="24")["devices"]] == ["dev-2401"]
    report = daily_report(fleet_db, DAY)
    by = {p["province"]: p for p in report["provinces"]}
    assert by["24"]["serving_minutes"] == 100 and by["24"]["offices_known"] == 1  # not 500, not 2 offices
    assert by["23"]["serving_minutes"] == 400
    assert {o["office_id"] for o in report["offices"]} == {"23-0003", "24-0001"}  # never 24-5678
    text = exposition(fleet, today=lambda: DAY, now=lambda: NOW).decode()
    assert 'pishkhan_devices_online{province="24"} 1.0' in text


def test_a_birth_that_agrees_or_claims_nothing_raises_no_alert(fleet_db):
    registry.register(fleet_db, device_id="dev-0003", office_id="23-0003", province="23")
    fleet = Fleet(fleet_db)
    dev = Device("dev-0003")
    fleet.ingest([dev.birth(0, province="23", office="23-0003", office_name="هر نامی"),  # the registry has none
                  dev.birth(30, province="", office="", office_name="")])
    assert [e["kind"] for e in fleet.events(device="dev-0003")] == []
    assert fleet.device("dev-0003")["office_name"] == ""


# -- quarantine ------------------------------------------------------------------------------------
def test_a_device_not_in_the_registry_is_quarantined_shown_apart_and_counted_nowhere(fleet_db):
    registry.register(fleet_db, device_id="dev-2301", office_id="23-0001", province="23")
    fleet = Fleet(fleet_db)
    known, stranger = Device("dev-2301"), Device("dev-9999")
    fleet.ingest([known.birth(0, province="23", office="23-0001"), known.report(40, minutes=200),
                  stranger.birth(5, province="23", office="23-7777", office_name="دفتر ناشناس"),
                  stranger.event(10), stranger.report(50, minutes=999), stranger.will(70)])
    [q] = registry.quarantined(fleet_db)
    assert q["device_id"] == "dev-9999" and q["retired_at"] is None and not q["online"]
    assert (q["claimed_province"], q["claimed_office_id"], q["claimed_office_name"]) == ("23", "23-7777",
                                                                                         "دفتر ناشناس")
    view = fleet_view(fleet, day=DAY, now=NOW)
    assert view["totals"]["total"] == 1 and [r["device_id"] for r in view["devices"]] == ["dev-2301"]
    assert fleet_view(fleet, day=DAY, now=NOW, state="offline")["devices"] == []
    report = daily_report(fleet_db, DAY)
    assert report["totals"]["serving_minutes"] == 200 and report["totals"]["offices_known"] == 1
    assert [o["device_id"] for o in report["offices"]] == ["dev-2301"]
    assert all(a["device_id"] != "dev-9999" for a in alerts(fleet, day=DAY))
    text = exposition(fleet, today=lambda: DAY, now=lambda: NOW).decode()
    assert 'province=""' not in text and "999" not in text

    registry.register(fleet_db, device_id="dev-9999", office_id="23-0009", province="23")  # ops decides
    assert registry.quarantined(fleet_db) == []
    assert fleet_view(fleet, day=DAY, now=NOW)["totals"]["total"] == 2
    registry.retire(fleet_db, device_id="dev-9999")
    [q] = registry.quarantined(fleet_db)
    assert q["device_id"] == "dev-9999" and q["retired_at"]
    assert fleet_view(fleet, day=DAY, now=NOW)["totals"]["total"] == 1


def test_a_device_registered_before_it_is_first_heard_takes_the_registrys_identity(fleet_db):
    registry.register(fleet_db, device_id="dev-0501", office_id="5-0501", province="5", office_name="اراک")
    fleet = Fleet(fleet_db)
    fleet.ingest([Device("dev-0501").birth(0, province="5", office="5-0501", office_name="اراک")])
    d = fleet.device("dev-0501")
    assert (d["province"], d["office_id"], d["office_name"]) == ("05", "5-0501", "اراک")
    assert registry.quarantined(fleet_db) == []


def test_move_changes_where_a_device_is_counted_and_births_do_not(fleet_db):
    registry.register(fleet_db, device_id="dev-0003", office_id="23-0003", province="23", office_name="ونک")
    fleet = Fleet(fleet_db)
    dev = Device("dev-0003")
    fleet.ingest([dev.birth(0, province="23", office="23-0003", office_name="ونک")])
    moved = registry.move(fleet_db, device_id="dev-0003", office_id="24-0100", province="24")
    assert (moved.province, moved.office_id, moved.office_name) == ("24", "24-0100", "ونک")
    d = fleet.device("dev-0003")
    assert (d["province"], d["office_id"]) == ("24", "24-0100")
    fleet.ingest([dev.birth(100, province="23", office="23-0003", office_name="ونک")])  # an old claim
    assert fleet.device("dev-0003")["province"] == "24"
    assert [e["detail"]["fields"] for e in fleet.events(device="dev-0003")] == [["province", "office_id"]]


# -- refusals ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("values, reason", [
    ({"device_id": "dev/0003"}, "bad_device_id"),
    ({"device_id": ""}, "bad_device_id"),
    ({"device_id": "d" * 65}, "bad_device_id"),
    ({"province": "24a"}, "bad_province"),
    ({"province": "1234"}, "bad_province"),
    ({"province": ""}, "bad_province"),
    ({"office_id": "23 1234"}, "bad_office_id"),
    ({"office_id": "-23"}, "bad_office_id"),
    ({"office_id": "23-\u202e4321"}, "bad_office_id"),
    ({"office_name": "دفتر \u202eونک"}, "bad_office_name"),
    ({"office_name": "x" * 121}, "bad_office_name"),
])
def test_bad_identities_are_refused_with_a_reason(fleet_db, values, reason):
    args = {"device_id": "dev-0003", "office_id": "23-0003", "province": "23", "office_name": "ونک"} | values
    with pytest.raises(RegistryRefused) as info:
        registry.register(fleet_db, **args)
    assert info.value.reason == reason
    assert registry.entries(fleet_db, retired=True) == []


def test_registering_twice_moving_or_retiring_the_unknown_are_refused_with_a_reason(fleet_db):
    first = registry.register(fleet_db, device_id="dev-0003", office_id="23-0003", province="23")
    assert registry.register(fleet_db, device_id="dev-0003", office_id="23-0003", province="23") == first
    with pytest.raises(RegistryRefused) as info:
        registry.register(fleet_db, device_id="dev-0003", office_id="24-5678", province="24")
    assert info.value.reason == "already_registered"
    for change in (lambda: registry.move(fleet_db, device_id="dev-0404", office_id="23-1", province="23"),
                   lambda: registry.retire(fleet_db, device_id="dev-0404")):
        with pytest.raises(RegistryRefused) as info:
            change()
        assert info.value.reason == "not_registered"
    registry.retire(fleet_db, device_id="dev-0003")
    with pytest.raises(RegistryRefused) as info:
        registry.retire(fleet_db, device_id="dev-0003")
    assert info.value.reason == "not_registered"
    again = registry.register(fleet_db, device_id="dev-0003", office_id="24-5678", province="24")
    assert again.active and again.province == "24"


def test_a_hostile_claim_is_refused_and_one_stored_past_validation_is_shown_as_unreadable(fleet_db):
    hostile = Device("dev-9999").birth(0, province="23", office="23-\u202e4321", office_name="x" * 200)
    assert Fleet(fleet_db).ingest([hostile]).refused == 1
    assert registry.quarantined(fleet_db) == []
    Fleet(fleet_db, validate=False).ingest([hostile])  # as if validation had let it through
    [q] = registry.quarantined(fleet_db)
    assert (q["claimed_province"], q["claimed_office_id"], q["claimed_office_name"]) == ("23", "?", "?")


# -- a database from before the registry ----------------------------------------------------------
def test_an_older_database_keeps_no_identity_a_birth_gave(tmp_path):
    path = tmp_path / "fleet.db"
    with open_db(str(path)) as db:
        db.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES (?,?,?,?)",
                   ("dev-0003", "24", "24-5678", "دفتر جعلی"))  # what the monitor before the registry wrote
        db.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES (?,?,?,?)",
                   ("dev-0001", "23", "23-0001", "x"))
        db.execute("INSERT INTO registry(device_id, province, office_id, office_name, registered_at, changed_at) "
                   "VALUES ('dev-0001', '23', '23-0001', 'x', '', '')")
    with open_db(str(path)) as db:
        rows = {r["device_id"]: r["province"] for r in db.query("SELECT device_id, province FROM devices")}
        assert rows == {"dev-0003": "", "dev-0001": "23"}
        assert [q["device_id"] for q in registry.quarantined(db)] == ["dev-0003"]


# -- the command line ----------------------------------------------------------------------------------
def test_the_devices_command_adds_lists_moves_and_retires(tmp_path):
    env = dict(os.environ, PISHKHAN_STATE_DIR=str(tmp_path / "state"))
    db = str(tmp_path / "fleet.db")
    out = run("central", "devices", "add", "dev-0003", "--office", "23-0003", "--province", "23",
              "--name", "دفتر ونک", "--db", db, env=env).stdout
    assert out.startswith("registered dev-0003\t23\t23-0003\tدفتر ونک\tactive")
    run("central", "devices", "add", "dev-2401", "--office", "24-0001", "--province", "24", "--db", db, env=env)
    listed = run("central", "devices", "list", "--db", db, env=env).stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [["dev-0003", "23", "23-0003"], ["dev-2401", "24", "24-0001"]]
    assert run("central", "devices", "list", "--province", "24", "--db", db, env=env).stdout.startswith("dev-2401\t")
    run("central", "devices", "move", "dev-0003", "--office", "11-0003", "--province", "11", "--db", db, env=env)
    run("central", "devices", "retire", "dev-2401", "--db", db, env=env)
    with open_db(db) as fleet_db:
        assert [(e.device_id, e.province, e.office_name) for e in registry.entries(fleet_db)] == [
            ("dev-0003", "11", "دفتر ونک")]
        Fleet(fleet_db).ingest([Device("dev-7777").birth(0, province="23", office="23-7777")])
    assert run("central", "devices", "list", "--retired", "--db", db, env=env).stdout.count("retired") == 1
    quarantined = run("central", "devices", "list", "--quarantined", "--db", db, env=env).stdout
    assert "dev-7777\tquarantined" in quarantined and "claims 23/23-7777" in quarantined
    assert "dev-2401\tquarantined" not in quarantined  # retired but never heard from: nothing to show


@pytest.mark.parametrize("args, reason", [
    (("add", "dev-0003", "--office", "23-0003", "--province", "2a"), "bad_province"),
    (("add", "dev/0003", "--office", "23-0003", "--province", "23"), "bad_device_id"),
    (("add", "dev-0003", "--office", "23 0003", "--province", "23"), "bad_office_id"),
    (("move", "dev-0404", "--office", "23-0003", "--province", "23"), "not_registered"),
    (("retire", "dev-0404"), "not_registered"),
    (("list", "--province", "tehran"), "bad_province"),
])
def test_the_devices_command_refuses_bad_input_with_a_reason_code(tmp_path, args, reason):
    env = dict(os.environ, PISHKHAN_STATE_DIR=str(tmp_path / "state"))
    out = run("central", "devices", *args, "--db", str(tmp_path / "fleet.db"), env=env, ok=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith(f"pishkhan: error: {reason}: "), out.stderr
