"""Alert rules as data, the alerts' lifecycle (open → acknowledged → resolved), a mass event as one grouped
alert, and the list's filters and paging — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from central.alerts import AlertRefused, Alerting

NOW = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.timezone.utc)  # 10:30 in Tehran


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def device(db, device_id, *, province="06", online=True, last_seen=NOW, in_hours=True, state="serving",
           telemetry=None, clock=None):
    """A registered device (its registry row) and its row as the monitor keeps it."""
    db.execute("INSERT INTO registry (device_id, province, office_id, office_name, registered_at, changed_at) "
               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO NOTHING",
               (device_id, province, f"o-{device_id}", f"دفتر {device_id}", iso(NOW), iso(NOW)))
    compliance = {"in_hours": in_hours, "state": state, "why": "", "since": iso(NOW - dt.timedelta(hours=2))}
    db.execute("INSERT INTO devices (device_id, province, office_id, office_name, online, status_since, last_seen, "
               "compliance, compliance_at, telemetry, clock) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (device_id) DO UPDATE SET online = excluded.online, last_seen = excluded.last_seen, "
               "compliance = excluded.compliance, telemetry = excluded.telemetry, clock = excluded.clock",
               (device_id, province, f"o-{device_id}", f"دفتر {device_id}", int(online), iso(last_seen),
                iso(last_seen), json.dumps(compliance), iso(last_seen), json.dumps(telemetry or {}),
                json.dumps(clock or {"synchronized": True})))


def later(minutes):
    return NOW + dt.timedelta(minutes=minutes)


def test_an_office_dark_in_its_hours_opens_an_alert_after_its_minutes_is_acknowledged_and_resolves(fleet_db):
    alerting = Alerting(fleet_db)
    alerting.rules.add(kind="offline", severity="critical", minutes=15, now=NOW)
    device(fleet_db, "dev-1", online=False, last_seen=later(-10))
    device(fleet_db, "dev-2", online=False, last_seen=later(-60), in_hours=False)  # dark after hours: no alert
    device(fleet_db, "dev-3")
    assert alerting.evaluate(now=NOW) == []  # dark 10 minutes of 15
    changes = alerting.evaluate(now=later(6))
    assert [(c.event, c.alert["device_id"], c.alert["state"]) for c in changes] == [("opened", "dev-1", "open")]
    alert = changes[0].alert
    assert alert["severity"] == "critical" and alert["since"] == iso(later(-10)) and alert["office_id"] == "o-dev-1"
    assert alerting.evaluate(now=later(7)) == []  # still dark: the same alert, no second row
    acked = alerting.acknowledge(alert["id"], by="ops-1", now=later(8))
    assert (acked["state"], acked["acknowledged_by"], acked["acknowledged_at"]) == \
        ("acknowledged", "ops-1", iso(later(8)))
    with pytest.raises(AlertRefused) as refused:
        alerting.acknowledge(alert["id"], by="ops-2", now=later(9))
    assert refused.value.reason == "not_open"
    with pytest.raises(AlertRefused) as refused:
        alerting.acknowledge(99999, by="ops-2", now=later(9))
    assert refused.value.reason == "unknown_alert"
    device(fleet_db, "dev-1", last_seen=later(10))  # back
    changes = alerting.evaluate(now=later(10))
    assert [(c.event, c.alert["id"], c.alert["state"], c.alert["resolved_at"]) for c in changes] == \
        [("resolved", alert["id"], "resolved", iso(later(10)))]
    assert changes[0].alert["acknowledged_by"] == "ops-1"  # the facts stay
    assert alerting.page()["total"] == 1
    device(fleet_db, "dev-1", last_seen=later(40))
    device(fleet_db, "dev-3", online=False, last_seen=later(20))  # another dark: a new alert …
    [opened] = alerting.evaluate(now=later(40))
    alerting.rules.disable(opened.alert["rule_id"])  # … resolved when its rule is switched off
    assert [(c.event, c.alert["id"]) for c in alerting.evaluate(now=later(41))] == [("resolved", opened.alert["id"])]
    assert alerting.evaluate(now=later(42)) == []


def test_a_mass_event_is_one_grouped_alert_per_province_that_later_devices_join(fleet_db):
    alerting = Alerting(fleet_db)
    alerting.rules.add(kind="offline", severity="critical", minutes=5, group_at=10, now=NOW)
    for n in range(12):
        device(fleet_db, f"a-{n:02d}", online=False, last_seen=later(-6))
    device(fleet_db, "b-1", province="23", online=False, last_seen=later(-6))
    device(fleet_db, "a-late")
    changes = alerting.evaluate(now=NOW)
    opened = sorted((c.alert["province"], c.alert["grouped"], c.alert["devices"], c.alert["device_id"])
                    for c in changes)
    assert opened == [("06", 1, 12, ""), ("23", 0, 1, "b-1")]
    group = next(c.alert for c in changes if c.alert["grouped"])
    assert len(group["members"]) == 12
    device(fleet_db, "a-late", online=False, last_seen=later(-1))
    assert alerting.evaluate(now=later(5)) == []  # joined the group: no new row
    assert alerting.alert(group["id"])["devices"] == 13
    for n in range(12):
        device(fleet_db, f"a-{n:02d}", last_seen=later(6))
    assert alerting.evaluate(now=later(6)) == []  # one still dark: the group stays open
    device(fleet_db, "a-late", last_seen=later(7))
    changes = alerting.evaluate(now=later(7))
    assert [(c.event, c.alert["id"]) for c in changes] == [("resolved", group["id"])]
    assert all(m["cleared_at"] for m in changes[0].alert["members"])


def test_each_kind_opens_for_the_device_that_meets_it_and_no_other(fleet_db):
    alerting = Alerting(fleet_db)
    for kind in ("closed_during_hours", "printer_out", "under_voltage", "disk_low", "clock_unsynchronised",
                 "late_opening"):
        alerting.rules.add(kind=kind, severity="warning", minutes=0, threshold=10.0 if kind == "disk_low" else None,
                           now=NOW)
    healthy = {"device": {"throttled": {"under_voltage": False}, "disk_free_bytes": 50, "disk_total_bytes": 100},
               "peripherals": {"printer": {"state": "ok", "at": iso(NOW)}}, "clock": {"synchronized": True}}
    device(fleet_db, "ok-1", telemetry=healthy)
    device(fleet_db, "closed-1", state="closed", telemetry=healthy)
    device(fleet_db, "printer-1", telemetry=healthy | {"peripherals": {"printer": {"state": "paper_out",
                                                                                    "at": iso(later(-3))}}})
    device(fleet_db, "volt-1", telemetry=healthy | {"device": {"throttled": {"under_voltage": True}}})
    device(fleet_db, "disk-1", telemetry=healthy | {"device": {"disk_free_bytes": 9, "disk_total_bytes": 100}})
    device(fleet_db, "clock-1", telemetry=healthy | {"clock": {"synchronized": False}})
    device(fleet_db, "late-1", telemetry=healthy)
    fleet_db.execute("INSERT INTO events (device_id, province, seq, kind, at, received_at, detail) "
                     "VALUES ('late-1', '06', 5, 'late_opening', ?, ?, '{}')", (iso(later(-30)), iso(later(-20))))
    opened = {(c.alert["kind"], c.alert["device_id"]) for c in alerting.evaluate(now=NOW)}
    assert opened == {("closed_during_hours", "closed-1"), ("printer_out", "printer-1"), ("under_voltage", "volt-1"),
                      ("disk_low", "disk-1"), ("clock_unsynchronised", "clock-1"), ("late_opening", "late-1")}
    printer = alerting.page(kind="printer_out")["rows"][0]
    assert printer["since"] == iso(later(-3))  # the printer fact's own time
    fleet_db.execute("INSERT INTO events (device_id, province, seq, kind, at, received_at, detail) "
                     "VALUES ('late-1', '06', 6, 'office.opened', ?, ?, '{}')", (iso(later(1)), iso(later(1))))
    device(fleet_db, "disk-1", telemetry=healthy)
    resolved = {(c.alert["kind"], c.alert["device_id"]) for c in alerting.evaluate(now=later(2)) if c.event == "resolved"}
    assert resolved == {("late_opening", "late-1"), ("disk_low", "disk-1")}


def test_the_list_filters_by_kind_province_and_state_and_pages(fleet_db):
    alerting = Alerting(fleet_db)
    alerting.rules.add(kind="offline", severity="critical", minutes=0, now=NOW)
    alerting.rules.add(kind="clock_unsynchronised", severity="warning", minutes=0, province="23", now=NOW)
    for n in range(5):
        device(fleet_db, f"d-{n}", online=False, last_seen=later(-1))
    device(fleet_db, "e-1", province="23", clock={"synchronized": False})
    device(fleet_db, "e-2", clock={"synchronized": False})  # province 06: outside the rule's scope
    changes = alerting.evaluate(now=NOW)
    assert len(changes) == 6
    alerting.acknowledge(changes[0].alert["id"], by="ops", now=NOW)
    first = alerting.page(kind="offline", per_page=2)
    assert (first["total"], first["pages"], len(first["rows"])) == (5, 3, 2)
    last = alerting.page(kind="offline", per_page=2, page=3)
    assert len(last["rows"]) == 1 and not {r["id"] for r in last["rows"]} & {r["id"] for r in first["rows"]}
    assert [r["device_id"] for r in alerting.page(province="23")["rows"]] == ["e-1"]
    assert alerting.page(state="acknowledged")["total"] == 1
    assert alerting.page(state="open")["total"] == 5
    assert alerting.page(state="unresolved")["total"] == 6
    with pytest.raises(AlertRefused) as refused:
        alerting.page(state="gone")
    assert refused.value.reason == "bad_filter"


def test_a_rule_is_refused_with_a_reason():
    from central.db import open_db

    alerting = Alerting(open_db(":memory:"))
    for kwargs, reason in (({"kind": "volcano", "severity": "warning"}, "bad_kind"),
                           ({"kind": "offline", "severity": "loud"}, "bad_severity"),
                           ({"kind": "offline", "severity": "warning", "minutes": -1}, "bad_minutes"),
                           ({"kind": "disk_low", "severity": "warning"}, "bad_threshold")):
        with pytest.raises(AlertRefused) as refused:
            alerting.rules.add(now=NOW, **kwargs)
        assert refused.value.reason == reason
    assert alerting.rules.install_defaults(now=NOW) == 8 and alerting.rules.install_defaults(now=NOW) == 0


def test_two_dashboards_evaluating_at_once_open_each_alert_once(fleet_db):
    import threading

    Alerting(fleet_db).rules.add(kind="offline", severity="critical", minutes=0, group_at=1000, now=NOW)
    for n in range(30):
        device(fleet_db, f"d-{n:02d}", online=False, last_seen=later(-1))
    start = threading.Barrier(2)
    opened, errors = [], []

    def dashboard():
        alerting = Alerting(fleet_db)
        start.wait()
        try:
            opened.extend(alerting.evaluate(now=NOW))
        except Exception as e:  # noqa: BLE001 — the test says which
            errors.append(e)

    threads = [threading.Thread(target=dashboard) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(opened) == 30 and Alerting(fleet_db).page()["total"] == 30


def test_the_alerts_command_adds_lists_disables_rules_and_acknowledges(tmp_path, capsys):
    from central.db import open_db
    from cli.main import main

    path = str(tmp_path / "fleet.db")
    db = open_db(path)
    device(db, "dev-1", online=False, last_seen=later(-1))
    db.close()
    assert main(["central", "alerts", "add-rule", "--db", path, "--kind", "offline", "--severity", "critical",
                 "--by", "ops"]) == 0
    rule_id = int(capsys.readouterr().out)
    assert main(["central", "alerts", "add-rule", "--db", path, "--kind", "disk_low", "--severity", "warning"]) == 1
    assert "disk_low needs a threshold" in capsys.readouterr().err
    db = open_db(path)
    [change] = Alerting(db).evaluate(now=NOW)
    db.close()
    assert main(["central", "alerts", "list", "--db", path]) == 0
    assert [json.loads(line)["device_id"] for line in capsys.readouterr().out.splitlines()] == ["dev-1"]
    assert main(["central", "alerts", "ack", str(change.alert["id"]), "--db", path, "--by", "ops-7"]) == 0
    assert json.loads(capsys.readouterr().out)["acknowledged_by"] == "ops-7"
    assert main(["central", "alerts", "disable-rule", str(rule_id), "--db", path]) == 0
    assert main(["central", "alerts", "rules", "--db", path]) == 0
    assert [(r["kind"], r["enabled"], r["created_by"]) for r in map(json.loads, capsys.readouterr().out.splitlines())] \
        == [("offline", 0, "ops")]
