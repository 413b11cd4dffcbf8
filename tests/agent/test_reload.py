"""A signed ``reload_config`` puts the new file in force in every part, or says a restart is needed.

One in-process agent with every part of ``pishkhan agent`` (:data:`edge_agent.agent.PARTS`) on a real
Mosquitto; the centre signs and sends the command; each class of setting is checked on the wire: the
birth (office name and province), the documents' subscription (the new province's, not the old one's), the
compliance threshold (an event the new one makes due), and the keys only a restart applies.
"""

from __future__ import annotations

import datetime as dt
import json
import threading

from agent_helpers import wait_until, write_config
from centre_helpers import results

from edge_agent.agent import Agent, add_parts
from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.config import load_config
from pishkhan.hardware.clock import FakeClock
from pishkhan.protocol.commands import make_command
from pishkhan.protocol.payloads import problems
from pishkhan.protocol.topics import Topics
from pishkhan.store.database import Store
from pishkhan.text.jalali import TEHRAN

TOPICS = Topics()
DAY = dt.date(2026, 11, 28)  # a Saturday: 07:30-14:30 by the default hours


def at(hh, mm):
    return dt.datetime.combine(DAY, dt.time(hh, mm), TEHRAN)


def test_reload_config_reaches_every_part_or_asks_for_a_restart(tmp_path, mqtt_broker):
    sections = {"device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
                "office": {"name": "دفتر کهنه", "province": "23", "office_id": "23-1234"},
                "compliance": {"closed_minutes": 30},
                "hardware": {"health": "fake", "clock": "trusted"},
                "mqtt": mqtt_broker.agent_settings("dev-0001", telemetry_seconds=3600)}
    path = write_config(tmp_path / "agent.toml", sections)
    clock = FakeClock(at(7, 25), synced=True)
    store = Store(load_config(path).store_path, clock=clock.now, boot=clock)
    key = SigningKey.generate()
    trust_key(store, key.public, scope="command", label="centre commands", actor="test")
    store.record_state("printer", "ok")
    store.record_state("counter:1", "open")
    store.record_state("kiosk", "accepting")
    centre = mqtt_broker.client("centre")
    for province in ("23", "24"):  # documents already waiting, retained, on both provinces
        centre.publish(f"{TOPICS.root}/province/{province}/board", json.dumps({"not": "a document", "province": province}), qos=1, retain=True).wait_for_publish(10)
    capture = mqtt_broker.capture()
    agent = add_parts(Agent(load_config(path), store=store, validate=True))
    thread = threading.Thread(target=agent.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    try:
        def refused_topics():
            return [r["topic"] for m in capture.decoded("reported") for r in (m.get("refused") or [])]

        assert capture.wait(lambda c: c.decoded("status") and refused_topics(), 15)
        assert refused_topics() == [f"{TOPICS.root}/province/23/board"]
        births = capture.decoded("status")
        assert (births[-1]["office_name"], births[-1]["province"]) == ("دفتر کهنه", "23")
        assert wait_until(lambda: store.query_one("SELECT 1 FROM uptime WHERE process = 'agent'"), 10)

        compliance = agent.parts["compliance"]
        while clock.now() < at(7, 40):  # serving from the opening
            compliance.tick()
            clock.advance(minutes=1)
        store.record_state("kiosk", "not_accepting", "closed")
        while clock.now() <= at(7, 52):  # closed 12 minutes: no event under a 30-minute threshold
            compliance.tick()
            clock.advance(minutes=1)
        assert capture.decoded("event") == []

        sections["office"] = {"name": "دفتر تازه", "province": "24", "office_id": "24-0042"}
        sections["compliance"] = {"closed_minutes": 5}
        sections["mqtt"] = sections["mqtt"] | {"telemetry_seconds": 1800}
        sections["kiosk"] = {"idle_timeout": 90}
        write_config(path, sections)
        command = make_command(key, device="dev-0001", name="reload_config", command_id="reload-1", now=clock.now())
        centre.publish(TOPICS.cmd("dev-0001"), json.dumps(command), qos=1).wait_for_publish(10)
        assert capture.wait(lambda c: results(c), 15)
        [result] = results(capture)
        assert result["ok"] is True, result
        assert result["detail"]["changed"] == ["compliance.closed_minutes", "kiosk.idle_timeout", "mqtt.telemetry_seconds",
                                               "office.name", "office.office_id", "office.province"]
        assert result["detail"]["applied"] == ["compliance.closed_minutes", "office.name", "office.office_id",
                                               "office.province"]
        # Applied in the agent, but the kiosk, the wall and the panel read the office at start: listed too.
        assert result["detail"]["restart_needed"] == ["kiosk.idle_timeout", "mqtt.telemetry_seconds", "office.name",
                                                      "office.office_id", "office.province"]
        office = ["office.name", "office.office_id", "office.province"]
        assert result["detail"]["restart"] == {"pishkhan-agent": ["kiosk.idle_timeout", "mqtt.telemetry_seconds"],
                                               "pishkhan-kiosk": ["kiosk.idle_timeout"] + office,
                                               "pishkhan-display": office, "pishkhan-panel": office}

        # The name, office and province: a new birth says them.
        assert capture.wait(lambda c: c.decoded("status")[-1].get("office_name") == "دفتر تازه", 10)
        birth = capture.decoded("status")[-1]
        assert (birth["province"], birth["office"]) == ("24", "24-0042")
        assert birth["will_seq"] == births[-1]["will_seq"]  # the same connection, the same Last Will
        # The province: its documents come (the retained one on province/24), the old province's no longer.
        assert capture.wait(lambda c: f"{TOPICS.root}/province/24/board" in refused_topics(), 10)
        centre.publish(f"{TOPICS.root}/province/23/schedule", json.dumps({"late": "23"}), qos=1,
                       retain=True).wait_for_publish(10)
        centre.publish(f"{TOPICS.root}/province/24/schedule", json.dumps({"late": "24"}), qos=1,
                       retain=True).wait_for_publish(10)
        assert capture.wait(lambda c: f"{TOPICS.root}/province/24/schedule" in refused_topics(), 10)
        assert f"{TOPICS.root}/province/23/schedule" not in refused_topics()
        assert not any(f.startswith(f"{TOPICS.root}/province/23/") for f in agent.session.subscriptions)
        # The compliance threshold: the closure, 13 minutes now, is an event under the new 5.
        compliance.tick()
        assert capture.wait(lambda c: c.decoded("event"), 10)
        assert [e["event"] for e in capture.decoded("event")] == ["closed_during_hours"]
    finally:
        agent.stop()
        thread.join(20)
        for province in ("23", "24"):
            for kind in ("board", "schedule"):
                centre.publish(f"{TOPICS.root}/province/{province}/{kind}", b"", qos=1, retain=True).wait_for_publish(10)
        centre.disconnect()
        store.close()
    assert not thread.is_alive()
    for message in [m for m in capture.decoded() if m.get("device") == "dev-0001"]:  # the agent's, not the centre's
        assert problems(message) == [], message


def test_a_reload_without_a_broker_counts_lanes_and_counters_and_lists_the_device_for_a_restart(tmp_path):
    state = tmp_path / "state"
    path = tmp_path / "agent.toml"
    head = f'[device]\nid = "dev-0001"\nstate_dir = "{state}"\n[mqtt]\nenabled = false\n'
    path.write_text(head, encoding="utf-8")
    agent = add_parts(Agent(load_config(path)))
    try:
        path.write_text(head.replace('id = "dev-0001"', 'id = "dev-0002"') + '[office]\nprovince = "24"\n'
                        '[[lanes]]\ncode = "A"\ntitle = "همه"\nprefix = "A"\ncategories = ["*"]\n'
                        '[[counters]]\nnumber = 1\nlanes = ["A"]\n', encoding="utf-8")
        detail = agent.context.reload_config()
        assert detail["changed"] == ["counters", "device.id", "lanes", "office.province"]
        assert detail["applied"] == ["counters", "lanes", "office.province"]
        assert detail["restart_needed"] == ["counters", "device.id", "lanes", "office.province"]
        assert detail["restart"]["pishkhan-agent"] == ["device.id"]
        assert detail["restart"]["pishkhan-panel"] == ["counters", "device.id", "lanes", "office.province"]
        assert agent.parts["telemetry"].office()["waiting"] == {"A": 0}  # the new lanes, at once
    finally:
        agent.outbox.close()
        agent.store.close()


def test_every_setting_the_office_services_read_is_in_their_restart_list():
    """A setting the kiosk, wall or panel code names (``config.office.name``) must be in reload.SERVICES,
    or a reload would call it applied while that service still runs on the old value."""
    import re
    from pathlib import Path

    from edge_agent.context import matches
    from edge_agent.reload import SERVICES
    from pishkhan.config import SETTINGS

    sections = sorted({s.section for s in SETTINGS})
    named = re.compile(r"\.(" + "|".join(sections) + r")\.([a-z_]+)\b")
    root = Path(__file__).resolve().parents[2]
    units = {"kiosk": "pishkhan-kiosk", "display": "pishkhan-display", "panel": "pishkhan-panel"}
    known = {f"{s.section}.{s.key}" for s in SETTINGS}
    found = {}
    for folder, unit in units.items():
        cli = root / "cli" / f"{folder}.py"
        for path in [*(root / folder).rglob("*.py"), *([cli] if cli.exists() else [])]:
            for section, key in named.findall(path.read_text(encoding="utf-8")):
                if f"{section}.{key}" in known:
                    found.setdefault(unit, set()).add(f"{section}.{key}")
    assert set(found) == set(units.values())  # the scan sees each service's code
    missing = {unit: sorted(k for k in keys if not matches(k, SERVICES[unit])) for unit, keys in found.items()}
    assert missing == {unit: [] for unit in found}
