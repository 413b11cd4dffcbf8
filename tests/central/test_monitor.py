"""The fleet monitor against a real Mosquitto (passwords, ACL) with simulated offices and a real agent."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from mqtt_broker import MosquittoBroker  # noqa: F401
from mqtt_broker import mqtt_broker  # noqa: F401  (the shared fixture)
from services import free_port

from central.db import open_db
from central.fleet import Fleet as FleetState
from central.monitor import Monitor
from central.official import OUTDATED, board_currency, newest_boards
from central.trust import TrustList
from central.simulate import Behaviour, SimulatedFleet
from pishkhan.boards.signing import SigningKey
from pishkhan.exc import ConfigError
from pishkhan.protocol import payloads

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))
from agent_helpers import AgentProcess, write_config  # noqa: E402
from agent_helpers import wait_until as agent_wait_until  # noqa: E402

QUIET = Behaviour(telemetry_seconds=60, late_opening=0, printer_faults_per_day=0, outages_per_day=0)


def wait_until(predicate, timeout=15.0, step=0.05):
    return agent_wait_until(predicate, timeout, step)


def sim_users(broker, n, prefix="sim"):
    ids = [f"{prefix}-{i:05d}" for i in range(1, n + 1)]
    return broker.add_users(ids)


def register_sims(db, n, prefix="sim"):
    """Put the simulated offices in the centre's registry, where the simulator's births say they are."""
    from central.simulate import register_offices

    assert register_offices(db, n, prefix=prefix) == []


#: A trust list for tests that publish no document: a national key nobody signs with.
NO_DOCUMENTS = TrustList.of((SigningKey.generate().public, "national"))


def monitor_for(broker, db, **kwargs) -> Monitor:
    kwargs = {"batch_ms": 20, "trust": NO_DOCUMENTS} | kwargs
    return Monitor(db, host=broker.host, port=broker.port, username="centre", password=broker.passwords["centre"],
                   **kwargs)


def fleet_for(broker, n, password, **kwargs) -> SimulatedFleet:
    kwargs = {"behaviour": QUIET, "speed": 60.0, "keepalive": 5} | kwargs
    return SimulatedFleet(n, host=broker.host, port=broker.device_port, passwords=password, **kwargs)


@pytest.fixture
def sqlite_db(tmp_path):
    db = open_db(str(tmp_path / "fleet.db"))
    yield db
    db.close()


def online_count(db):
    return db.query_one("SELECT COUNT(*) AS n FROM devices WHERE online = 1")["n"]


def test_simulated_births_show_devices_online_with_provinces(mqtt_broker, sqlite_db):
    password = sim_users(mqtt_broker, 20)
    register_sims(sqlite_db, 20)
    with monitor_for(mqtt_broker, sqlite_db) as monitor:
        fleet = fleet_for(mqtt_broker, 20, password).start()
        try:
            assert fleet.wait_connected(timeout=20), fleet.stats()
            assert wait_until(lambda: online_count(sqlite_db) == 20), sqlite_db.query("SELECT * FROM devices")
            # a device's telemetry follows its birth (on a loaded machine, a little later)
            assert wait_until(lambda: all(d["telemetry"] for d in FleetState(sqlite_db).devices()))
            devices = FleetState(sqlite_db).devices()
            assert [d["device_id"] for d in devices] == [f"sim-{i:05d}" for i in range(1, 21)]
            assert {d["province"] for d in devices} == {f"{i:02d}" for i in range(0, 20)}
            assert all(d["office_name"].startswith("دفتر") and d["office_id"] for d in devices)
            assert all(d["telemetry"]["agent"]["outbox"]["depth"] == 0 for d in devices)
        finally:
            fleet.stop()
        assert wait_until(lambda: online_count(sqlite_db) == 0)
        monitor.drain()
        devices = FleetState(sqlite_db).devices()
        assert {d["status_reason"] for d in devices} == {"stopped"}
        assert [d["gaps"] for d in devices] == [0] * 20
        assert sum(d["duplicates"] for d in devices) == 0
        assert monitor.refused == 0


def test_dropped_simulated_device_goes_offline_by_its_will(mqtt_broker, sqlite_db):
    password = sim_users(mqtt_broker, 3)
    keepalive = 5
    with monitor_for(mqtt_broker, sqlite_db):
        fleet = fleet_for(mqtt_broker, 3, password, keepalive=keepalive).start()
        try:
            assert wait_until(lambda: online_count(sqlite_db) == 3)
            dropped = time.monotonic()
            fleet.drop("sim-00002", down_seconds=60)
            assert wait_until(lambda: online_count(sqlite_db) == 2, timeout=1.5 * keepalive)
            took = time.monotonic() - dropped
            row = sqlite_db.query_one("SELECT online, status_reason FROM devices WHERE device_id = 'sim-00002'")
            assert row == {"online": 0, "status_reason": "lost"}, took
            assert FleetState(sqlite_db).events(device="sim-00002")[0]["kind"] == "offline"
            # a silent device (network gone, socket open) is declared by the broker after 1.5 × keepalive
            fleet.hang("sim-00003", 60)
            assert not wait_until(lambda: online_count(sqlite_db) == 1, timeout=keepalive * 0.8)
            assert wait_until(lambda: online_count(sqlite_db) == 1, timeout=1.5 * keepalive + 2)
        finally:
            fleet.stop()


def test_sigkilled_agent_goes_offline_within_one_and_a_half_keepalives(mqtt_broker, sqlite_db, tmp_path):
    keepalive = 5
    config = write_config(tmp_path / "agent.toml", {
        "device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
        "hours": {"always_open": True},
        "mqtt": mqtt_broker.agent_settings("dev-0001", keepalive=keepalive, telemetry_seconds=3600)})
    with monitor_for(mqtt_broker, sqlite_db):
        agent = AgentProcess(config)
        try:
            assert wait_until(lambda: online_count(sqlite_db) == 1, timeout=30), agent.log()
            killed = time.monotonic()
            agent.kill()
            assert wait_until(lambda: online_count(sqlite_db) == 0, timeout=1.5 * keepalive), agent.log()
            assert time.monotonic() - killed <= 1.5 * keepalive
            device = FleetState(sqlite_db).device("dev-0001")
            assert device["status_reason"] == "lost"
            assert device["gaps"] == 0  # the Will carried the seq the birth announced
        finally:
            agent.close()


def test_an_agent_whose_outbox_is_deleted_is_seen_online_again_in_a_new_epoch(mqtt_broker, sqlite_db, tmp_path):
    """A re-imaged card or a deleted outbox numbers from 1 again: the centre follows it (docs/mqtt.md, Sequence
    numbers and epochs), and a replay of the old epoch is still a duplicate."""
    config = write_config(tmp_path / "agent.toml", {
        "device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
        "hours": {"always_open": True},
        "mqtt": mqtt_broker.agent_settings("dev-0001", keepalive=5, telemetry_seconds=3600)})
    with monitor_for(mqtt_broker, sqlite_db) as monitor:
        agent = AgentProcess(config)
        try:
            assert wait_until(lambda: online_count(sqlite_db) == 1, timeout=30), agent.log()
            assert agent.terminate() == 0
            assert wait_until(lambda: online_count(sqlite_db) == 0)
            old = FleetState(sqlite_db).device("dev-0001")
            for path in (tmp_path / "state").glob("outbox.db*"):
                path.unlink()
            agent = AgentProcess(config)
            assert wait_until(lambda: online_count(sqlite_db) == 1, timeout=30), agent.log()
            monitor.drain()
            new = FleetState(sqlite_db).device("dev-0001")
            assert old["epoch"] and new["epoch"] and new["epoch"] != old["epoch"]
            assert new["highest_seq"] <= 3 and new["duplicates"] == old["duplicates"]
            assert agent.terminate() == 0  # (the broker lets one connection a device in: the replay comes after)
            assert wait_until(lambda: online_count(sqlite_db) == 0)
            # a replay of the old epoch's birth (its key: device, epoch, seq) is a duplicate and changes nothing
            replay = payloads.in_epoch(payloads.birth(
                device="dev-0001", seq=old["will_seq"] or 2, sent_at=time.time(), agent_version="0", software_version="0",
                boot_id="old", started_at=time.time(), will_seq=1, protocol="5", board=None, schedule=None,
                clock={"synchronized": None, "source": None}), old["epoch"])
            replay["seq"] = sqlite_db.query_one("SELECT MAX(seq) AS s FROM seen WHERE epoch = ?", (old["epoch"],))["s"]
            client = mqtt_broker.client("dev-0001")
            try:
                client.publish(f"{mqtt_broker.root}/dev/dev-0001/status", payloads.encode(replay), qos=1).wait_for_publish(5)
            finally:
                client.disconnect()
            assert wait_until(lambda: FleetState(sqlite_db).device("dev-0001")["duplicates"] == old["duplicates"] + 1)
            after = FleetState(sqlite_db).device("dev-0001")
            assert not after["online"] and after["epoch"] == new["epoch"] and after["boot_id"] != "old"
        finally:
            agent.close()


def test_a_second_run_of_the_office_simulator_is_online(mqtt_broker, sqlite_db):
    """Each run of the simulator is a new outbox epoch: its offices, numbering from 1 again, are not duplicates."""
    password = sim_users(mqtt_broker, 3)
    register_sims(sqlite_db, 3)
    sqlite_db.execute("INSERT INTO seen(device_id, epoch, seq, at) VALUES ('sim-00001', 'gone', 1, ?)",
                      (payloads.format_time(time.time() - 40 * 86400),))
    with monitor_for(mqtt_broker, sqlite_db) as monitor:
        # the monitor's housekeeping prunes old sequence numbers, and writes its own health
        assert wait_until(lambda: not sqlite_db.query("SELECT 1 FROM seen WHERE epoch = 'gone'"))
        for run in range(2):
            fleet = fleet_for(mqtt_broker, 3, password).start()
            try:
                assert wait_until(lambda: online_count(sqlite_db) == 3), (run, sqlite_db.query("SELECT * FROM devices"))
            finally:
                fleet.stop()
            assert wait_until(lambda: online_count(sqlite_db) == 0)
        monitor.drain()
        assert sqlite_db.query_one("SELECT COUNT(DISTINCT epoch) AS n FROM epochs")["n"] == 6
    row = sqlite_db.query_one("SELECT * FROM monitors")
    assert row["monitor_id"] == monitor.client_id and row["received"] == monitor.received > 0
    assert row["connected"] == 0 and row["last_message_at"] and row["pending"] == 0  # its last beat, as it stopped


def test_malformed_messages_are_refused_and_the_monitor_goes_on(mqtt_broker, sqlite_db):
    centre = mqtt_broker.client("centre")
    topic = "pishkhan/v1/dev/dev-0001/telemetry"
    good = payloads.telemetry(device="dev-0001", seq=1, sent_at=time.time(),
                              agent={"uptime_s": 1, "outbox": {"depth": 0, "bytes": 0, "oldest_age_s": None,
                                                               "in_flight": 0, "dropped": {}, "refused": 0}})
    with monitor_for(mqtt_broker, sqlite_db) as monitor:
        centre.publish(topic, b"\xff not json", qos=1).wait_for_publish(5)
        centre.publish(topic, payloads.encode(good | {"seq": "one"}), qos=1).wait_for_publish(5)
        centre.publish(topic, payloads.encode(good | {"device": "dev-0002"}), qos=1).wait_for_publish(5)
        centre.publish("pishkhan/v1/all/board", b'{"format": "nonsense"}', qos=1).wait_for_publish(5)
        centre.publish(topic, payloads.encode(good), qos=1).wait_for_publish(5)
        assert wait_until(lambda: monitor.received == 5)
        monitor.drain()
        assert monitor.refused == 4
        assert monitor.client.is_connected()
        device = FleetState(sqlite_db).device("dev-0001")
        assert device["received"] == 1 and device["telemetry"]["agent"]["uptime_s"] == 1
        assert sqlite_db.query_one("SELECT COUNT(*) AS n FROM official")["n"] == 0


def _telemetry(device, seq):
    return payloads.encode(payloads.telemetry(
        device=device, seq=seq, sent_at=time.time(),
        agent={"uptime_s": seq, "outbox": {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0,
                                           "dropped": {}, "refused": 0}}))


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_monitor_with_a_session_gets_what_the_fleet_sent_while_it_was_stopped(mqtt_broker, sqlite_db, protocol):
    centre = mqtt_broker.client("centre")
    topic = "pishkhan/v1/dev/dev-0001/telemetry"
    with monitor_for(mqtt_broker, sqlite_db, client_id="monitor-a", protocol=protocol):
        centre.publish(topic, _telemetry("dev-0001", 1), qos=1).wait_for_publish(5)
        assert wait_until(lambda: (FleetState(sqlite_db).device("dev-0001") or {}).get("received") == 1)
    for seq in range(2, 31):  # while no monitor runs
        centre.publish(topic, _telemetry("dev-0001", seq), qos=1).wait_for_publish(5)
    with monitor_for(mqtt_broker, sqlite_db, client_id="monitor-a", protocol=protocol) as monitor:
        assert wait_until(lambda: FleetState(sqlite_db).device("dev-0001")["received"] == 30), \
            FleetState(sqlite_db).device("dev-0001")
        monitor.drain()
        d = FleetState(sqlite_db).device("dev-0001")
        assert (d["highest_seq"], d["gaps"], d["duplicates"]) == (30, 0, 0)
        assert d["telemetry"]["agent"]["uptime_s"] == 30


def test_a_monitor_without_a_session_misses_what_was_sent_while_it_was_stopped(mqtt_broker, sqlite_db):
    centre = mqtt_broker.client("centre")
    topic = "pishkhan/v1/dev/dev-0001/telemetry"
    with monitor_for(mqtt_broker, sqlite_db):
        centre.publish(topic, _telemetry("dev-0001", 1), qos=1).wait_for_publish(5)
        assert wait_until(lambda: (FleetState(sqlite_db).device("dev-0001") or {}).get("received") == 1)
    for seq in range(2, 11):
        centre.publish(topic, _telemetry("dev-0001", seq), qos=1).wait_for_publish(5)
    with monitor_for(mqtt_broker, sqlite_db) as monitor:
        centre.publish(topic, _telemetry("dev-0001", 11), qos=1).wait_for_publish(5)
        assert wait_until(lambda: FleetState(sqlite_db).device("dev-0001")["received"] == 2)
        monitor.drain()
        d = FleetState(sqlite_db).device("dev-0001")
        assert (d["highest_seq"], d["gaps"]) == (11, 9)  # the loss is visible as a gap


def test_the_monitor_reconnects_when_the_broker_comes_back(mqtt_broker, sqlite_db):
    topic = "pishkhan/v1/dev/dev-0001/telemetry"
    with monitor_for(mqtt_broker, sqlite_db, keepalive=5) as monitor:
        mqtt_broker.stop()
        assert wait_until(lambda: not monitor.connected.is_set(), timeout=15)
        time.sleep(1.0)  # at least one attempt refused while it is down
        mqtt_broker.start()
        assert monitor.subscribed.wait(40), "the monitor did not subscribe again"
        centre = mqtt_broker.client("centre")
        centre.publish(topic, _telemetry("dev-0001", 1), qos=1).wait_for_publish(5)
        assert wait_until(lambda: (FleetState(sqlite_db).device("dev-0001") or {}).get("received") == 1)


def test_a_message_the_database_will_not_store_is_refused_alone(mqtt_broker, sqlite_db, monkeypatch, caplog):
    """A fault planted in the write of one event: the batch around it is written, that one refused."""
    real = FleetState._on_event

    def on_event(self, c, m, received_at, batch):
        if m["event"] == "poison":
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return real(self, c, m, received_at, batch)
    monkeypatch.setattr(FleetState, "_on_event", on_event)
    centre = mqtt_broker.client("centre")
    dev = "pishkhan/v1/dev/dev-0001"
    event = lambda seq, name: payloads.encode(payloads.event(  # noqa: E731
        device="dev-0001", seq=seq, sent_at=time.time(), event=name))
    with monitor_for(mqtt_broker, sqlite_db, batch_ms=300) as monitor:
        for seq, (topic, payload) in enumerate([(f"{dev}/telemetry", None), (f"{dev}/event", "poison"),
                                                (f"{dev}/event", "printer_out"), (f"{dev}/telemetry", None)], 1):
            data = _telemetry("dev-0001", seq) if payload is None else event(seq, payload)
            centre.publish(topic, data, qos=1)
        assert wait_until(lambda: monitor.received == 4)
        monitor.drain()
        assert monitor.refused == 1
        d = FleetState(sqlite_db).device("dev-0001")
        assert (d["received"], d["highest_seq"], d["gaps"]) == (3, 4, 1)
        assert [e["kind"] for e in FleetState(sqlite_db).events(device="dev-0001")] == ["printer_out"]
        assert "will not store" in caplog.text and "Python int too large" in caplog.text
        centre.publish(f"{dev}/telemetry", _telemetry("dev-0001", 5), qos=1)  # and it goes on
        assert wait_until(lambda: FleetState(sqlite_db).device("dev-0001")["received"] == 4)


def test_a_monitor_whose_database_is_behind_stops_reading_and_loses_nothing(mqtt_broker, sqlite_db, monkeypatch):
    """The writer held up: what the monitor holds stays near max_pending, the rest waits at the broker."""
    import threading

    release = threading.Event()
    real = FleetState.ingest

    def held(self, batch):
        release.wait(30)
        return real(self, batch)
    monkeypatch.setattr(FleetState, "ingest", held)
    centre = mqtt_broker.client("centre")
    topic = "pishkhan/v1/dev/dev-0001/telemetry"
    with monitor_for(mqtt_broker, sqlite_db, max_pending=40, batch_size=10) as monitor:
        infos = [centre.publish(topic, _telemetry("dev-0001", seq), qos=1) for seq in range(1, 601)]
        infos[-1].wait_for_publish(10)
        time.sleep(1.5)
        held_back = monitor._pending
        assert 40 <= held_back <= 40 + monitor.BURST, held_back
        release.set()
        assert wait_until(lambda: (FleetState(sqlite_db).device("dev-0001") or {}).get("received") == 600,
                          timeout=30), FleetState(sqlite_db).device("dev-0001")
        assert monitor.drain()
        assert FleetState(sqlite_db).device("dev-0001")["gaps"] == 0


def test_the_monitor_speaks_mqtt_3_1_1_or_5_only(sqlite_db):
    with pytest.raises(ConfigError, match="--protocol: the monitor speaks MQTT 3.1.1 or 5, got '4'"):
        Monitor(sqlite_db, protocol="4", trust=NO_DOCUMENTS)


def test_the_monitor_has_no_mode_without_a_trust_list(sqlite_db):
    with pytest.raises(ConfigError, match="--trust: the monitor needs the centre's trust list"):
        Monitor(sqlite_db, trust=None)


def test_a_restarted_monitor_knows_the_fleet(mqtt_broker, tmp_path):
    password = sim_users(mqtt_broker, 5)
    path = str(tmp_path / "fleet.db")
    fleet = fleet_for(mqtt_broker, 5, password, behaviour=Behaviour(telemetry_seconds=0, late_opening=0,
                                                                   printer_faults_per_day=0, outages_per_day=0))
    db = open_db(path)
    with monitor_for(mqtt_broker, db):
        fleet.start()
        assert wait_until(lambda: online_count(db) == 5)
    db.close()
    fleet.drop("sim-00004", down_seconds=60)  # goes offline while no monitor runs
    time.sleep(0.5)
    db = open_db(path)
    try:
        devices = FleetState(db).devices()
        assert len(devices) == 5 and all(d["online"] for d in devices)  # known before a message arrives
        with monitor_for(mqtt_broker, db):
            # the retained Will of sim-00004 arrives on subscribe
            assert wait_until(lambda: online_count(db) == 4)
            fleet.stop()
            assert wait_until(lambda: online_count(db) == 0)
        devices = FleetState(db).devices()
        assert [d["gaps"] for d in devices] == [0] * 5, devices
    finally:
        fleet.stop(clean=False)
        db.close()


@pytest.fixture
def pg_db(request, postgres_url):
    import psycopg

    name = f"fleet_mon_{abs(hash(request.node.nodeid)) % 10**9}"
    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name}")
        c.execute(f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    dbs = []

    def make():
        db = open_db(url)
        dbs.append(db)
        return db
    yield make
    for db in dbs:
        db.close()


def test_two_monitors_sharing_a_subscription_see_every_message_once(mqtt_broker, pg_db):
    password = sim_users(mqtt_broker, 20)
    first, second = (monitor_for(mqtt_broker, pg_db(), share="centre") for _ in range(2))
    first.start()
    second.start()
    fleet = fleet_for(mqtt_broker, 20, password, speed=600.0,
                      behaviour=Behaviour(telemetry_seconds=30, late_opening=0, printer_faults_per_day=0,
                                          outages_per_day=0))
    try:
        fleet.start()
        db = pg_db()
        assert wait_until(lambda: online_count(db) == 20, timeout=20)
        time.sleep(3)  # telemetry every 30 simulated s = 0.05 s: a few hundred messages
        fleet.stop()
        assert wait_until(lambda: online_count(db) == 0, timeout=20)
        assert first.drain() and second.drain()
    finally:
        first.stop()
        second.stop()
        fleet.stop(clean=False)
    devices = FleetState(db).devices()
    assert len(devices) == 20
    published = fleet.published + len(devices)  # each clean stop's offline is published outside publish()
    received = sum(d["received"] for d in devices)
    assert received == published, (received, published)
    assert first.received > 0 and second.received > 0
    assert first.received + second.received == published  # each message reached one monitor
    assert sum(d["duplicates"] for d in devices) == 0
    assert [d["gaps"] for d in devices] == [0] * 20


def test_official_board_and_out_of_date_devices(mqtt_broker, sqlite_db, tmp_path):
    """Only the trusted national board is official; "out of date" is central.official.board_currency's answer."""
    key = SigningKey.generate()
    trust_path = tmp_path / "trust.pem"
    trust_path.write_text(TrustList.entry(key.public, "national", "ministry"))
    stranger = SigningKey.generate()
    board = json.loads((Path(__file__).resolve().parents[2] / "pishkhan/data/sample_board.json").read_text())
    board = board | {"version": 2}
    centre = mqtt_broker.client("centre")
    # an untrusted signature on the province topic, then the real national board v2
    forged = dict(board, scope={"level": "province", "province": "01"})
    centre.publish("pishkhan/v1/province/01/board", json.dumps(stranger.sign(forged)), qos=1,
                   retain=True).wait_for_publish(5)
    envelope = key.sign(board)
    centre.publish("pishkhan/v1/all/board", json.dumps(envelope), qos=1, retain=True).wait_for_publish(5)
    password = sim_users(mqtt_broker, 2)
    from pishkhan.boards.signing import verification_code
    code = verification_code(envelope)

    def shows(index, province):
        version = 1 if index == 1 else 2  # sim-00001 still shows version 1
        return {"version": str(version), "verification_code": code, "effective_from": "2026-03-21",
                "layers": [{"scope": "national", "version": version, "verification_code": code}]}
    with monitor_for(mqtt_broker, sqlite_db, trust=TrustList.load(trust_path)) as monitor:
        assert wait_until(lambda: monitor.documents == 1 and monitor.refused == 1)
        assert monitor.refusals == {"untrusted": 1}
        fleet = fleet_for(mqtt_broker, 2, password, boards=shows).start()
        try:
            assert wait_until(lambda: online_count(sqlite_db) == 2)
        finally:
            fleet.stop()
        monitor.drain()
    rows = sqlite_db.query("SELECT kind, scope_key, version, verification_code, effective_from, issuer FROM official")
    assert rows == [{"kind": "board", "scope_key": "national", "version": 2, "verification_code": code,
                     "effective_from": "2026-03-21", "issuer": board["issuer"]}]
    newest = newest_boards(sqlite_db)
    states = {d["device_id"]: board_currency(d, newest) for d in FleetState(sqlite_db).devices()}
    assert {device: s["state"] for device, s in states.items()} == {"sim-00001": OUTDATED, "sim-00002": "current"}
    layer = states["sim-00001"]["layers"][0]
    assert (layer["version"], layer["official_version"], layer["official_code"]) == (1, 2, code)


def _pishkhan(*args, timeout=60, **kwargs):
    import os
    import subprocess

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PISHKHAN_LOG_LEVEL="INFO")
    return subprocess.Popen([sys.executable, "-m", "cli.main", *map(str, args)], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def test_monitor_and_simulate_commands(mqtt_broker, tmp_path):
    shared = mqtt_broker.add_users([f"cli-{i:05d}" for i in range(1, 4)])
    (tmp_path / "devices.password").write_text(shared + "\n")
    url = f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}"
    path = tmp_path / "fleet.db"
    trust = tmp_path / "trust.pem"
    trust.write_text(TrustList.entry(SigningKey.generate().public, "national"))
    monitor = _pishkhan("central", "monitor", "--broker", url, "--db", path, "--username", "centre",
                        "--password-file", mqtt_broker.password_file("centre"), "--trust", trust, "--seconds", 12,
                        "--listen", f"127.0.0.1:{free_port()}")  # its dashboard evaluates the alert rules too
    time.sleep(3)
    simulate = _pishkhan("central", "simulate", "--devices", 3, "--prefix", "cli", "--register", "--db", path,
                         "--broker", f"mqtt://{mqtt_broker.host}:{mqtt_broker.device_port}",
                         "--password-file", tmp_path / "devices.password", "--seconds", 3,
                         "--releases", "--bad-release", "9.9.9")  # the release actors start too
    out, _ = simulate.communicate(timeout=60)
    assert simulate.returncode == 0, out
    assert "connected=3" in out, out
    log, _ = monitor.communicate(timeout=60)
    assert monitor.returncode == 0, log
    db = open_db(str(path))
    try:
        devices = FleetState(db).devices()
        assert [(d["device_id"], d["online"], d["status_reason"]) for d in devices] == \
            [(f"cli-{i:05d}", False, "stopped") for i in range(1, 4)], log
        assert [d["province"] for d in devices] == ["00", "01", "02"]  # registered by simulate --register
        assert "registered 3 simulated offices" in out, out
        assert db.query_one("SELECT COUNT(*) AS n FROM alert_rules WHERE created_by = 'default'")["n"] == 8, log
    finally:
        db.close()
    bad = _pishkhan("central", "monitor", "--broker", "http://x", "--db", tmp_path / "other.db", "--trust", trust)
    out, _ = bad.communicate(timeout=30)
    assert bad.returncode == 1 and "--broker: expected mqtt://HOST[:PORT]" in out, out
    untrusting = _pishkhan("central", "monitor", "--db", tmp_path / "other.db")
    out, _ = untrusting.communicate(timeout=30)
    assert untrusting.returncode == 2 and "--trust" in out and "required" in out, out
    gone = _pishkhan("fleet", "monitor", "--trust", trust)  # one name for one command
    out, _ = gone.communicate(timeout=30)
    assert gone.returncode == 2 and "invalid choice: 'fleet'" in out, out
