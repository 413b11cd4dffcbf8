"""The office's facts through the agent, on a real Mosquitto: birth extras, telemetry, compliance.

In-process agents run their main loop on a thread (as ``pishkhan agent``
does) against the real broker; the simulated morning writes facts stamped by
a :class:`FakeClock` into a real store file, as tests/compliance/test_day.py
does, and moves the agent's minute by hand.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from agent_helpers import wait_until, write_config

from edge_agent import compliance as compliance_part
from edge_agent import telemetry as telemetry_part
from edge_agent.agent import Agent
from edge_agent.outbox import Outbox
from edge_agent.telemetry import Changes, changed, parse_systemctl_show
from pishkhan.boards.installed import install_board
from pishkhan.boards.trust import trust_key
from pishkhan.config import load_config, parse_config
from pishkhan.hardware.clock import FakeClock
from pishkhan.hardware.health import FakeHealth, decode_throttled
from pishkhan.protocol.payloads import problems
from pishkhan.queue.core import Queue
from pishkhan.schedule.installed import install_schedule
from pishkhan.store.database import Store
from pishkhan.text.jalali import TEHRAN

DAY = dt.date(2026, 11, 28)  # a Saturday: 07:30-14:30 by the default hours
SCHEDULE = {"format": "pishkhan.schedule/1", "issuer": "کارگروه استان", "scope": {"level": "province", "province": "23"},
            "version": 3, "effective_from": "2026-03-21",
            "week": {"saturday": ["07:30-14:30"], "sunday": ["07:30-14:30"], "monday": ["07:30-14:30"],
                     "tuesday": ["07:30-14:30"], "wednesday": ["07:30-14:30"], "thursday": ["07:30-12:30"],
                     "friday": []},
            "exceptions": []}


def at(hh, mm, day=DAY):
    return dt.datetime.combine(day, dt.time(hh, mm), TEHRAN)


def assert_all_valid(messages):
    assert messages
    for message in messages:
        assert problems(message) == [], message


# -- a real `pishkhan agent` process ------------------------------------------------------
def test_pishkhan_agent_birth_and_telemetry_carry_the_office(tmp_path, mqtt_broker, start_agent, issuer_key):
    state = tmp_path / "state"
    config = write_config(tmp_path / "dev.toml", {
        "device": {"id": "dev-0001", "state_dir": str(state)},
        "office": {"province": "23", "office_id": "23-0042", "name": "دفتر پیشخوان شماره ۴۲"},
        "hardware": {"health": "fake", "clock": "trusted"},
        "mqtt": mqtt_broker.agent_settings("dev-0001", telemetry_seconds=1)})
    with Store(load_config(config).store_path) as store:
        trust_key(store, issuer_key.public, label="province", actor="test")
        installed = install_schedule(store, issuer_key.sign(SCHEDULE), source="cli", actor="test",
                                     province="23", office="23-0042")
    capture = mqtt_broker.capture()
    agent = start_agent(config)
    assert capture.wait(lambda c: c.decoded("status") and len(c.decoded("telemetry")) >= 2, 30), agent.log()
    birth = capture.decoded("status")[0]
    assert (birth["province"], birth["office"], birth["office_name"]) == ("23", "23-0042", "دفتر پیشخوان شماره ۴۲")
    assert birth["schedule"]["version"] == 3
    assert birth["schedule"]["verification_code"] == installed.verification_code
    assert birth["schedule"]["scope"] == "province:23"
    assert birth["clock"] == {"synchronized": True, "source": "trusted (hardware.clock)"}
    first, second = capture.decoded("telemetry")[:2]
    assert first["full"] is True and second["full"] is False
    assert first["readings"]["device"]["cpu_temp_c"] == 48.5  # hardware.health = "fake"
    assert first["readings"]["device"]["wifi_signal_dbm"] is None  # absent, not invented
    assert first["readings"]["clock"] == birth["clock"]
    assert first["readings"]["office"]["issued_today"] == 0
    assert "clock" not in second["readings"] and "office" not in second["readings"]
    assert agent.terminate() == 0
    assert_all_valid(capture.decoded())


def test_the_agent_beats_at_once_so_its_first_minute_counts_as_up(tmp_path, mqtt_broker, start_agent):
    state = tmp_path / "state"
    config = write_config(tmp_path / "dev.toml", {
        "device": {"id": "dev-0001", "state_dir": str(state)}, "hours": {"always_open": True},
        "hardware": {"health": "fake", "clock": "trusted"},
        "mqtt": mqtt_broker.agent_settings("dev-0001", telemetry_seconds=3600)})
    capture = mqtt_broker.capture()
    started = dt.datetime.now(dt.timezone.utc)
    agent = start_agent(config)
    assert capture.wait(lambda c: c.decoded("status"), 30), agent.log()

    def first_beat():
        with Store(load_config(config).store_path) as store:
            rows = store.query("SELECT first_at FROM uptime WHERE process = 'agent'")
        row = rows[0] if rows else None
        return row and dt.datetime.fromisoformat(row["first_at"].replace("Z", "+00:00"))
    deadline = time.monotonic() + 10
    while not first_beat() and time.monotonic() < deadline:
        time.sleep(0.2)
    beat = first_beat()
    assert beat and (beat - started).total_seconds() < 15, (beat, started)  # not a minute after the start
    assert agent.terminate() == 0


# -- in-process agents ------------------------------------------------------------------------
class Running:
    """An Agent with the office parts, its main loop on a thread, against the real broker."""

    def __init__(self, config, *, store, health=None):
        self.agent = Agent(config, store=store, validate=True)
        self.readings = telemetry_part.register(self.agent.context, health=health, services=lambda: {})
        self.compliance = compliance_part.Compliance(self.agent.context)  # its minute is moved by the test
        self.agent.add_telemetry_part("compliance", self.compliance.state_now)
        self.thread = threading.Thread(target=self.agent.run, kwargs={"handle_signals": False}, daemon=True)
        self.thread.start()
        assert wait_until(lambda: self.agent.session is not None and self.agent.session.connected, 15)

    def stop(self):
        self.agent.stop()
        self.thread.join(20)
        assert not self.thread.is_alive()


@pytest.fixture
def office(tmp_path, mqtt_broker):
    """``office(clock=None, **sections)`` → (config, store); the store stamped by *clock* when given."""
    stores = []

    def make(clock=None, **sections):
        data = {"device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
                "hardware": {"health": "fake", "clock": "trusted"},
                "mqtt": mqtt_broker.agent_settings("dev-0001", telemetry_seconds=3600)} | sections
        config = parse_config(data)
        store = Store(config.store_path, clock=clock.now, boot=clock) if clock else Store(config.store_path)
        stores.append(store)
        return config, store
    yield make
    for store in stores:
        store.close()


def test_telemetry_reports_readings_office_and_peripherals_as_changes(office, mqtt_broker, issuer_key,
                                                                      signed_board):
    config, store = office(hours={"always_open": True})
    trust_key(store, issuer_key.public, label="test", actor="test")
    install_board(store, signed_board, source="cli", actor="test")
    health = FakeHealth(uptime_s=5000.0, cpu_temp_c=50.0, throttled=decode_throttled(0x50000), load_1m=0.4,
                        mem_total_kb=1_900_000, mem_available_kb=1_000_000, net_iface="wlan0", wifi_signal_dbm=-61.0)
    capture = mqtt_broker.capture()
    running = Running(config, store=store, health=health)
    agent = running.agent
    try:
        def telemetry(n):
            assert capture.wait(lambda c: len(c.decoded("telemetry")) >= n, 15)
            return capture.decoded("telemetry")[n - 1]

        agent.send_telemetry()
        full = telemetry(1)
        assert full["full"] is True
        device = full["readings"]["device"]
        assert device["cpu_temp_c"] == 50.0 and device["wifi_signal_dbm"] == -61.0
        assert device["throttled"]["under_voltage_occurred"] is True and device["throttled"]["under_voltage"] is False
        assert device["disk_free_bytes"] is None  # the fake has none: absent
        assert set(device["services"]) == {"agent"}  # no systemd here: our services are absent
        assert full["readings"]["peripherals"] == {"printer": None, "display": None, "audio": None}
        assert full["readings"]["office"] == {"waiting": {"A": 0, "B": 0, "C": 0}, "counters_open": [],
                                              "issued_today": 0, "served_today": 0}

        agent.send_telemetry()  # nothing changed
        assert telemetry(2)["readings"] == {} and telemetry(2)["full"] is False

        queue = Queue(store, config)
        for n in (1, 2):
            queue.open_counter(n, actor="test")
        for code in ("ID-01", "ID-01", "VEH-01"):
            queue.issue(code)
        queue.call_next(1)
        queue.serve(1)
        queue.finish(1)
        store.record_state("printer", "paper_out", "paper out")
        health.readings["cpu_temp_c"] = 50.6  # inside the 1 °C band: no change
        health.readings["wifi_signal_dbm"] = -70.0
        agent.send_telemetry()
        delta = telemetry(3)["readings"]
        assert delta["office"] == {"waiting": {"A": 1, "B": 1, "C": 0}, "counters_open": [1, 2],
                                   "issued_today": 3, "served_today": 1}
        assert delta["peripherals"] == {"printer": {"state": "paper_out", "reason": "paper out",
                                                    "at": store.last_state("printer")["at"]}}
        assert delta["device"] == {"wifi_signal_dbm": -70.0}
        assert "clock" not in delta

        health.readings["cpu_temp_c"] = 51.1  # 1.1 °C from the value last sent
        health.readings["uptime_s"] = 12.0  # the machine rebooted
        agent.send_telemetry()
        assert telemetry(4)["readings"] == {"device": {"cpu_temp_c": 51.1, "uptime_s": 12.0}}
    finally:
        running.stop()
    assert_all_valid(capture.decoded())


def test_a_late_opening_is_one_event_across_a_restart_and_the_report_comes_once(office, mqtt_broker):
    clock = FakeClock(at(7, 0), synced=True)
    config, store = office(clock, compliance={"report_time": "07:50"})
    capture = mqtt_broker.capture()

    def minutes_until(running, hh, mm):
        while clock.now() < at(hh, mm):
            running.compliance.tick()
            clock.advance(minutes=1)

    store.record_state("kiosk", "not_accepting", "closed")
    store.record_state("printer", "ok")
    store.record_state("counter:1", "closed")
    running = Running(config, store=store)
    minutes_until(running, 7, 30)
    store.record_state("kiosk", "not_accepting", "no_counter")
    minutes_until(running, 7, 38)
    running.agent.send_telemetry()
    running.stop()  # the agent restarts mid-morning; the store stays

    store = Store(config.store_path, clock=clock.now, boot=clock)
    running = Running(config, store=store)
    try:
        minutes_until(running, 7, 42)
        store.record_state("counter:1", "open")
        store.record_state("kiosk", "accepting")
        minutes_until(running, 7, 55)
        assert capture.wait(lambda c: c.decoded("report"), 15)
        running.agent.send_telemetry()
        assert capture.wait(lambda c: len(c.decoded("telemetry")) >= 2, 15)
    finally:
        running.stop()
        store.close()

    events = capture.decoded("event")
    assert [e["event"] for e in events] == ["late_opening"]
    late = events[0]
    assert late["at"] == "2026-11-28T04:00:00.000Z"  # 07:30 Tehran
    assert late["detail"]["id"] == "late_opening@2026-11-28T04:00:00.000000Z"
    assert late["detail"]["detail"]["opened_at"] is None  # it fired while the office was still closed
    reports = capture.decoded("report")
    assert [r["date"] for r in reports] == ["2026-11-28"]
    report = reports[0]["report"]
    assert report["late_opening_minutes"] == 12 and report["closed_minutes"] == 12
    assert report["serving_minutes"] == 8 and report["unknown_minutes"] == 0
    assert report["province"] == "23" and report["device"] == "dev-0001"
    first, last = capture.decoded("telemetry")
    assert first["readings"]["compliance"] == {"in_hours": True, "state": "closed", "why": "kiosk not_accepting (no_counter)",
                                               "since": "2026-11-28T04:00:00.000Z"}
    assert last["readings"]["compliance"] == {"in_hours": True, "state": "serving", "why": "",
                                              "since": "2026-11-28T04:12:00.000Z"}
    assert_all_valid(capture.decoded())


def test_send_report_sends_again_on_request(office, mqtt_broker):
    clock = FakeClock(at(15, 0), synced=True)
    config, store = office(clock)
    capture = mqtt_broker.capture()
    running = Running(config, store=store)
    try:
        running.compliance.tick()  # after closing: today's report is due
        compliance_part.send_report(running.agent.context, DAY.isoformat())  # the centre's resend_report
        assert capture.wait(lambda c: len(c.decoded("report")) >= 2, 15)
        with pytest.raises(Exception, match="after today"):
            compliance_part.send_report(running.agent.context, DAY + dt.timedelta(days=1))
    finally:
        running.stop()
    reports = capture.decoded("report")
    assert [r["date"] for r in reports] == ["2026-11-28", "2026-11-28"]
    assert reports[0]["seq"] != reports[1]["seq"]
    assert reports[0]["report"]["scheduled_minutes"] == 420
    assert_all_valid(capture.decoded())


# -- without a broker ----------------------------------------------------------------------------
def test_what_was_published_is_remembered_in_the_store_not_only_the_outbox(tmp_path):
    clock = FakeClock(at(7, 0), synced=True)
    config = parse_config({"device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
                           "mqtt": {"enabled": False}})
    store = Store(config.store_path, clock=clock.now, boot=clock)
    store.record_state("kiosk", "not_accepting", "closed")
    store.record_state("counter:1", "closed")
    agent = Agent(config, store=store, validate=True)
    part = compliance_part.Compliance(agent.context)
    while clock.now() < at(7, 40):
        part.tick()
        clock.advance(minutes=1)
    assert [m.stream for m in agent.outbox.pending(100)] == ["event"]
    agent.outbox.close()
    # a fresh outbox file (the old one moved aside): the store still knows what went out
    fresh = Agent(config, store=store, outbox=Outbox(tmp_path / "other-outbox.db"))
    again = compliance_part.Compliance(fresh.context)
    again.tick()
    assert fresh.outbox.pending(100) == []
    fresh.outbox.close()
    store.close()


def test_no_judgement_on_a_clock_that_is_not_synchronised(tmp_path):
    clock = FakeClock(at(7, 40), synced=False)
    config = parse_config({"device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
                           "mqtt": {"enabled": False}})
    store = Store(config.store_path, clock=clock.now, boot=clock)
    store.record_state("kiosk", "not_accepting", "closed")
    agent = Agent(config, store=store)
    part = compliance_part.Compliance(agent.context)
    part.tick()
    assert agent.outbox.pending(100) == []
    assert part.state_now() == {"in_hours": None, "state": "unknown", "why": "clock not synchronised", "since": None}
    assert store.last_state("clock")["state"] == "not_synchronised"  # the heartbeat still says so
    agent.outbox.close()
    store.close()


def test_a_full_set_hourly_and_after_telemetry_was_dropped():
    now = [0.0]
    changes = Changes(clock=lambda: now[0])
    figures = {"outbox": {"dropped": {}}}
    readings = {"office": {"issued_today": 1, "waiting": {"A": 0}}, "clock": {"synchronized": True}}
    assert changes.filter(readings, figures) == (readings, True)
    now[0] = 60
    assert changes.filter(readings, figures) == ({}, False)
    now[0] = 120
    assert changes.filter(readings, {"outbox": {"dropped": {"telemetry.full": 2}}}) == (readings, True)
    now[0] = 180
    assert changes.filter(readings, {"outbox": {"dropped": {"telemetry.full": 2, "event.age": 1}}}) == ({}, False)
    now[0] = 120 + 3600
    assert changes.filter(readings, {"outbox": {"dropped": {"telemetry.full": 2}}})[1] is True


def test_what_counts_as_a_change():
    assert not changed("device.cpu_temp_c", 50.0, 50.9, 60)
    assert changed("device.cpu_temp_c", 50.0, 51.0, 60)
    assert not changed("device.uptime_s", 1000.0, 1060.0, 60)  # grew as time passed
    assert changed("device.uptime_s", 1000.0, 20.0, 60)  # a reboot
    assert not changed("device.services", {"kiosk": 100.0}, {"kiosk": 160.0}, 60)
    assert changed("device.services", {"kiosk": 100.0}, {"kiosk": 3.0}, 60)  # the kiosk restarted
    assert changed("device.services", {"kiosk": 100.0}, {"kiosk": None}, 60)  # it stopped
    assert changed("office.issued_today", 3, 4, 60)
    assert changed("device.cpu_temp_c", None, 50.0, 60)  # a reading that appears


def test_systemctl_show_gives_uptimes_of_active_services_only():
    text = ("Id=pishkhan-kiosk.service\nActiveState=active\nActiveEnterTimestampMonotonic=5000000\n\n"
            "Id=pishkhan-display.service\nActiveState=failed\nActiveEnterTimestampMonotonic=4000000\n\n"
            "Id=pishkhan-panel.service\nActiveState=active\nActiveEnterTimestampMonotonic=0\n")
    assert parse_systemctl_show(text, telemetry_part.SERVICES, now_us=65_000_000) == {
        "kiosk": 60.0, "display": None, "panel": None}


def test_pishkhan_agent_plugs_in_the_office_parts(tmp_path):
    from edge_agent.agent import add_parts

    config = parse_config({"device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
                           "mqtt": {"enabled": False}})
    agent = add_parts(Agent(config))
    try:
        assert {"province", "office", "office_name", "schedule", "clock"} <= set(agent.birth_parts)
        assert list(agent.telemetry_parts) == ["device", "peripherals", "office", "clock", "compliance", "update"]
        assert isinstance(agent.telemetry_changes, Changes)
        assert [t[0] for t in agent._tasks if getattr(t[2], "__self__", None) is agent.parts["compliance"]] == [60.0]
    finally:
        agent.outbox.close()
