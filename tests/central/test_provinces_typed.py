"""A province typed any way (``6``, ``06``, ``۰۶``) is one province everywhere a person gives one: the registry
stores it normalised and refuses one that is none of the 31; the commands' ``--province`` read it through the one
normaliser; the office simulator numbers its offices' provinces with the real codes 00-30."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from central import registry
from central.alerts import AlertRefused, Alerting
from central.db import open_db
from central.registry import RegistryRefused
from central.simulate import PROVINCES, office_of
from pishkhan import provinces
from tests.central.test_alerts import NOW, device


def test_the_registry_stores_a_province_normalised_and_refuses_an_unknown_one(tmp_path):
    db = open_db(str(tmp_path / "fleet.db"))
    assert registry.register(db, device_id="dev-a", office_id="6-1", province="6").province == "06"
    assert registry.register(db, device_id="dev-b", office_id="6-2", province="۰۶").province == "06"
    assert registry.register(db, device_id="dev-c", office_id="6-3", province=" 06 ").province == "06"
    assert registry.register(db, device_id="dev-a", office_id="6-1", province="06").province == "06"  # the same
    assert registry.move(db, device_id="dev-c", office_id="23-3", province="۲۳").province == "23"
    assert [e.device_id for e in registry.entries(db, province="۶")] == ["dev-a", "dev-b"]
    assert {r["province"] for r in db.query("SELECT province FROM devices")} <= {"06", "23"}
    for typed in ("31", "99", "۳۱"):
        with pytest.raises(RegistryRefused) as refused:
            registry.register(db, device_id="dev-x", office_id="x-1", province=typed)
        assert refused.value.reason == "unknown_province"
    with pytest.raises(RegistryRefused) as refused:
        registry.move(db, device_id="dev-a", office_id="x-1", province="45")
    assert refused.value.reason == "unknown_province"
    # a registry from before: 6 stored as typed is still found by 06
    db.execute("UPDATE registry SET province = '6' WHERE device_id = 'dev-b'")
    assert [e.device_id for e in registry.entries(db, province="06")] == ["dev-a", "dev-b"]
    # a birth claiming 6 for a device registered in 06 claims the same province
    assert registry.mismatch(("06", "6-1", ""), ("6", "6-1", "")) is None
    assert registry.mismatch(("06", "6-1", ""), ("07", "6-1", ""))["fields"] == ["province"]
    db.close()


def test_an_alert_rules_province_is_normalised_and_an_unknown_one_refused(tmp_path):
    db = open_db(str(tmp_path / "fleet.db"))
    rules = Alerting(db).rules
    rule = rules.add(kind="offline", severity="critical", province="۶", now=NOW)
    assert db.query_one("SELECT province FROM alert_rules WHERE rule_id = ?", (rule,))["province"] == "06"
    with pytest.raises(AlertRefused) as refused:
        rules.add(kind="offline", severity="critical", province="31", now=NOW)
    assert refused.value.reason == "unknown_province"
    db.close()


def test_the_simulator_numbers_provinces_with_the_real_codes():
    assert PROVINCES == provinces.CODES and PROVINCES[0] == "00" and PROVINCES[-1] == "30"
    assert [office_of(i)["province"] for i in (1, 2, 31, 32)] == ["00", "01", "30", "00"]
    assert all(provinces.name(office_of(i)["province"]) for i in range(1, 63))


def test_the_commands_province_option_reads_it_through_the_normaliser(tmp_path, capsys, monkeypatch):
    from cli.main import main

    assert [provinces.option(t) for t in ("6", "۰۶", " 06 ", "")] == ["06", "06", "06", ""]
    with pytest.raises(argparse.ArgumentTypeError):
        provinces.option("31")
    path = str(tmp_path / "fleet.db")
    db = open_db(path)
    device(db, "dev-1", province="06", online=False, last_seen=NOW)
    device(db, "dev-2", province="23", online=False, last_seen=NOW)
    db.execute("UPDATE devices SET province = '6' WHERE device_id = 'dev-1'")  # stored before normalising
    Alerting(db).rules.add(kind="offline", severity="critical", now=NOW)
    Alerting(db).evaluate(now=NOW)
    db.close()
    for typed in ("6", "06", "۰۶"):
        assert main(["central", "report", "--db", path, "--province", typed, "--format", "json"]) == 0
        assert [p["province"] for p in json.loads(capsys.readouterr().out)["provinces"]] == ["6"], typed
        assert main(["central", "alerts", "list", "--db", path, "--province", typed]) == 0
        assert [json.loads(x)["device_id"] for x in capsys.readouterr().out.splitlines()] == ["dev-1"], typed
    with pytest.raises(SystemExit):
        main(["central", "report", "--db", path, "--province", "31"])
    assert "is not a province code" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-centre-passphrase-6\n"))
    assert main(["central", "users", "add", "ops6", "--db", path, "--province", "۶"]) == 0
    assert capsys.readouterr().out.strip() == "user ops6: province 06"
