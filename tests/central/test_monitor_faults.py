"""The monitor never loses what it acknowledged and records only what verifies.

Against a real Mosquitto (passwords, ACL): hostile documents, faults planted
in the writer, dead threads in a real `pishkhan central monitor` process, and
that process SIGKILLed at random moments while the fleet publishes at QoS 1.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mqtt_broker import mqtt_broker  # noqa: F401  (the shared fixture)

from central.db import open_db
from central.fleet import Fleet as FleetState
from central.monitor import Monitor
from central.official_record import OfficialRecord
from central.trust import TrustList
from pishkhan.boards.signing import SigningKey, verification_code
from pishkhan.exc import KeyFileError
from pishkhan.protocol import payloads

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))
from agent_helpers import wait_until  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BOARD = json.loads((ROOT / "pishkhan/data/sample_board.json").read_text(encoding="utf-8"))


#: A trust list for tests that record no document: a national key nobody signs with.
NO_DOCUMENTS = TrustList.of((SigningKey.generate().public, "national"))


def monitor_for(broker, db, **kwargs) -> Monitor:
    kwargs = {"batch_ms": 20, "trust": NO_DOCUMENTS} | kwargs
    return Monitor(db, host=broker.host, port=broker.port, username="centre", password=broker.passwords["centre"],
                   **kwargs)


def _telemetry(device, seq):
    return payloads.encode(payloads.telemetry(
        device=device, seq=seq, sent_at=time.time(),
        agent={"uptime_s": seq, "outbox": {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0,
                                           "dropped": {}, "refused": 0}}))


@pytest.fixture
def sqlite_db(tmp_path):
    db = open_db(str(tmp_path / "fleet.db"))
    yield db
    db.close()


def nested(levels: int) -> bytes:
    return b'{"payload":' + b"[" * levels + b"]" * levels + b"}"


def received(db, device="dev-0001") -> int:
    return (FleetState(db).device(device) or {}).get("received", 0)


# -- one strict loader ------------------------------------------------------------------------
def test_a_deeply_nested_document_is_refused_and_the_monitor_goes_on_writing(mqtt_broker, sqlite_db):
    """5,000 levels on all/board (retained) and province/23/board: refused, counted; the writer lives."""
    centre = mqtt_broker.client("centre")
    centre.publish("pishkhan/v1/all/board", nested(5000), qos=1, retain=True).wait_for_publish(5)
    topic = "pishkhan/v1/dev/dev-0001/telemetry"
    try:
        with monitor_for(mqtt_broker, sqlite_db) as monitor:
            assert wait_until(lambda: monitor.received == 1)  # the retained one, at subscribe
            centre.publish("pishkhan/v1/province/23/board", nested(5000), qos=1).wait_for_publish(5)
            centre.publish("pishkhan/v1/province/23/schedule", nested(40), qos=1).wait_for_publish(5)
            centre.publish(topic, b'{"a":' * 3000 + b"1" + b"}" * 3000, qos=1).wait_for_publish(5)
            centre.publish(topic, _telemetry("dev-0001", 1), qos=1).wait_for_publish(5)
            assert wait_until(lambda: received(sqlite_db) == 1)
            monitor.drain()
            assert monitor.refused == 4 and monitor.received == 5
            assert monitor.refusals["too_deep"] >= 3, monitor.refusals
            assert monitor.problems() == []
        # restarted, the retained one again: refused again, and the writer goes on
        with monitor_for(mqtt_broker, sqlite_db) as monitor:
            assert wait_until(lambda: monitor.refused == 1)
            centre.publish(topic, _telemetry("dev-0001", 2), qos=1).wait_for_publish(5)
            assert wait_until(lambda: received(sqlite_db) == 2)
            assert monitor.problems() == []
    finally:
        centre.publish("pishkhan/v1/all/board", b"", qos=1, retain=True).wait_for_publish(5)
    assert sqlite_db.query_one("SELECT COUNT(*) AS n FROM official")["n"] == 0


def test_every_topic_is_bounded_in_size(mqtt_broker, sqlite_db):
    centre = mqtt_broker.client("centre")
    big = b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    with monitor_for(mqtt_broker, sqlite_db) as monitor:
        centre.publish("pishkhan/v1/dev/dev-0001/event", big, qos=1).wait_for_publish(5)
        centre.publish("pishkhan/v1/province/23/board", b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}',
                       qos=1).wait_for_publish(10)
        assert wait_until(lambda: monitor.received == 2)
        assert monitor.refused == 2 and monitor.refusals["too_large"] >= 1, monitor.refusals  # the fleet's own
        # reason names come with its validation rework; the document's is the loader's
        assert sqlite_db.query_one("SELECT COUNT(*) AS n FROM events")["n"] == 0


# -- the writer survives one message's fault ------------------------------------------------------
def test_an_exception_in_ingest_refuses_that_message_and_the_writer_goes_on(mqtt_broker, sqlite_db, monkeypatch):
    """Faults planted in parsing one message (not a ProtocolError) and in checking one document."""
    real_parse = FleetState.parse

    def parse(self, topic, payload, **kwargs):
        if b'"uptime_s":3,' in payload:
            raise RecursionError("planted: maximum recursion depth exceeded")
        return real_parse(self, topic, payload, **kwargs)
    monkeypatch.setattr(FleetState, "parse", parse)
    monkeypatch.setattr(OfficialRecord, "check", lambda self, topic, payload: 1 / 0)
    centre = mqtt_broker.client("centre")
    topic = "pishkhan/v1/dev/dev-0001/telemetry"
    with monitor_for(mqtt_broker, sqlite_db, batch_ms=300) as monitor:
        for seq in range(1, 6):
            centre.publish(topic, _telemetry("dev-0001", seq), qos=1)
        centre.publish("pishkhan/v1/all/holidays", b'{"payload": {}}', qos=1).wait_for_publish(5)
        assert wait_until(lambda: monitor.received == 6)
        monitor.drain()
        assert (monitor.refused, dict(monitor.refusals)) == (2, {"unstorable": 1, "fault": 1})
        d = FleetState(sqlite_db).device("dev-0001")
        assert (d["received"], d["highest_seq"], d["gaps"]) == (4, 5, 1)
        centre.publish(topic, _telemetry("dev-0001", 6), qos=1).wait_for_publish(5)
        assert wait_until(lambda: received(sqlite_db) == 5)
        assert monitor.problems() == []


def test_a_writer_that_dies_is_reported_and_acknowledges_nothing_more(mqtt_broker, sqlite_db, monkeypatch):
    from central import monitor_writer

    def broken(self, batch):
        raise SystemExit("planted: the writer itself fails")
    centre = mqtt_broker.client("centre")
    with monitor_for(mqtt_broker, sqlite_db, client_id="monitor-dies") as monitor:
        monkeypatch.setattr(monitor_writer.Writer, "_write", broken)
        centre.publish("pishkhan/v1/dev/dev-0001/telemetry", _telemetry("dev-0001", 1), qos=1).wait_for_publish(5)
        assert wait_until(lambda: monitor.problems())
        assert [reason for reason, _ in monitor.problems()] == ["writer_dead"]
        monkeypatch.undo()
    # not acknowledged, so the broker kept it for the session: a new monitor writes it
    with monitor_for(mqtt_broker, sqlite_db, client_id="monitor-dies"):
        assert wait_until(lambda: received(sqlite_db) == 1)


# -- a dead thread ends the process ------------------------------------------------------------------
PLANT = """
import sys, threading
from central import monitor, monitor_writer
which = sys.argv.pop(1)
if which == "network":
    real = monitor.Monitor._network_step
    def step(self):
        if self.subscribed.is_set():
            raise SystemExit("planted: the network thread ends")
        return real(self)
    monitor.Monitor._network_step = step
else:
    real = monitor_writer.Writer._write
    def write(self, batch):
        raise SystemExit("planted: the writer thread ends")
    monitor_writer.Writer._write = write
from cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _trust_file(tmp_path, key=None, scope="national") -> Path:
    path = tmp_path / "trust.pem"
    path.write_text(TrustList.entry((key or SigningKey.generate()).public, scope), encoding="utf-8")
    return path


def _monitor_command(broker, tmp_path, *extra) -> list[str]:
    return ["central", "monitor", "--broker", f"mqtt://{broker.host}:{broker.port}", "--db",
            str(tmp_path / "fleet.db"), "--username", "centre", "--password-file",
            str(broker.password_file("centre")), "--trust", str(_trust_file(tmp_path)), *extra]


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                PISHKHAN_LOG_LEVEL="INFO")


@pytest.mark.parametrize("thread", ["network", "writer"])
def test_a_dead_thread_ends_the_process_with_a_failure(mqtt_broker, tmp_path, thread):
    proc = subprocess.Popen([sys.executable, "-c", PLANT, thread, *_monitor_command(mqtt_broker, tmp_path)],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        if thread == "writer":
            # one message to write, sent again until the monitor (slow to subscribe on a loaded machine) takes it
            centre = mqtt_broker.client("centre")
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline:
                centre.publish("pishkhan/v1/dev/dev-0001/telemetry", _telemetry("dev-0001", 1), qos=1)
                time.sleep(0.5)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 1, out
    assert f"ending the monitor: the {thread} thread is dead" in out, out


# -- acknowledged only once written: SIGKILL at random moments ------------------------------------------
def test_a_monitor_killed_at_random_moments_loses_no_message(mqtt_broker, tmp_path):
    """Five devices publish 400 telemetry messages each at QoS 1 while the monitor (a real process with a
    fixed client id) is SIGKILLed three times at random moments and started again: every message is in the
    database afterwards, and each device shows no gap."""
    devices, per_device = [f"dev-{i:04d}" for i in range(1, 6)], 400
    mqtt_broker.add_users(devices)
    command = [sys.executable, "-m", "cli.main", *_monitor_command(mqtt_broker, tmp_path, "--client-id",
                                                                   "monitor-killed")]
    log = open(tmp_path / "monitor.log", "ab")

    def start():
        return subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT)
    rng = random.Random()
    monitor = [start()]
    assert wait_until(lambda: b"subscribing" in (tmp_path / "monitor.log").read_bytes(), 30)
    time.sleep(0.3)  # the session exists at the broker before the fleet speaks
    clients = [mqtt_broker.client(d) for d in devices]
    infos = []
    kills = []

    def killer():  # SIGKILL at random moments while the fleet goes on publishing, then start it again
        for first in (True, False, False):
            time.sleep(rng.uniform(0.3, 1.0) if first else rng.uniform(1.3, 2.0))  # connected and writing
            monitor[0].send_signal(signal.SIGKILL)
            monitor[0].wait(10)
            kills.append(time.monotonic())
            monitor[0] = start()
    thread = threading.Thread(target=killer)
    thread.start()
    try:
        for seq in range(1, per_device + 1):
            for device, client in zip(devices, clients):
                infos.append(client.publish(f"pishkhan/v1/dev/{device}/telemetry", _telemetry(device, seq), qos=1))
            time.sleep(0.01)
        thread.join(30)
        for info in infos:
            info.wait_for_publish(20)
        db = open_db(str(tmp_path / "fleet.db"))
        try:
            def all_in():
                rows = db.query("SELECT device_id, received, highest_seq FROM devices ORDER BY device_id")
                return [(r["device_id"], r["received"], r["highest_seq"]) for r in rows]
            expected = [(d, per_device, per_device) for d in devices]
            assert wait_until(lambda: all_in() == expected, timeout=20), (all_in(), (tmp_path / "monitor.log"))
            seen = db.query_one("SELECT COUNT(*) AS n FROM seen")["n"]
            assert seen == len(devices) * per_device
        finally:
            db.close()
    finally:
        thread.join(30)
        monitor[0].terminate()
        try:
            monitor[0].wait(20)
        except subprocess.TimeoutExpired:
            monitor[0].kill()
    assert len(kills) == 3


def test_a_refused_message_is_acknowledged_once_counted_and_not_sent_again(mqtt_broker, tmp_path):
    """A refusal is final: SIGKILLed after counting it, the restarted monitor (same session) does not get it again,
    while the good message after it is in the database."""
    command = [sys.executable, "-m", "cli.main", *_monitor_command(mqtt_broker, tmp_path, "--client-id",
                                                                   "monitor-refuses")]
    log = tmp_path / "monitor.log"
    with log.open("ab") as out:
        monitor = subprocess.Popen(command, cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT)
        try:
            db = open_db(str(tmp_path / "fleet.db"))
            centre = mqtt_broker.client("centre")
            assert wait_until(lambda: "subscribing" in log.read_text(), 30)  # the session exists at the broker
            time.sleep(0.3)
            centre.publish("pishkhan/v1/dev/dev-0001/telemetry", b"[1, 2]", qos=1).wait_for_publish(5)
            centre.publish("pishkhan/v1/dev/dev-0001/telemetry", _telemetry("dev-0001", 1), qos=1).wait_for_publish(5)
            assert wait_until(lambda: received(db) == 1, 20)
            time.sleep(0.5)
            monitor.send_signal(signal.SIGKILL)
            monitor.wait(10)
            first = log.read_text().count("refused a message")
            monitor = subprocess.Popen(command + ["--seconds", "3"], cwd=ROOT, env=_env(), stdout=out,
                                       stderr=subprocess.STDOUT)
            assert monitor.wait(30) == 0
            assert (first, log.read_text().count("refused a message")) == (1, 1)
            assert received(db) == 1 and FleetState(db).device("dev-0001")["duplicates"] == 0
            db.close()
        finally:
            monitor.kill()


# -- only what verifies, with a key allowed for its scope ------------------------------------------------
def test_only_a_genuine_document_signed_with_a_key_for_its_scope_is_official(mqtt_broker, sqlite_db):
    national, province_23 = SigningKey.generate(), SigningKey.generate()
    trust = TrustList.of((national.public, "national"), (province_23.public, "province:23"))
    genuine = national.sign(BOARD | {"version": 7})
    tampered = copy.deepcopy(genuine)
    tampered["payload"]["categories"][0]["services"][0]["government_fee"] = 1  # edited after signing
    board_24 = province_23.sign(BOARD | {"version": 3, "scope": {"level": "province", "province": "24"}})
    board_23 = province_23.sign(BOARD | {"version": 4, "scope": {"level": "province", "province": "23"}})
    centre = mqtt_broker.client("centre")
    with monitor_for(mqtt_broker, sqlite_db, trust=trust) as monitor:
        centre.publish("pishkhan/v1/all/board", json.dumps(tampered), qos=1).wait_for_publish(5)
        centre.publish("pishkhan/v1/province/24/board", json.dumps(board_24), qos=1).wait_for_publish(5)
        centre.publish("pishkhan/v1/all/board", json.dumps(province_23.sign(BOARD | {"version": 8})),
                       qos=1).wait_for_publish(5)
        centre.publish("pishkhan/v1/all/board", json.dumps(genuine), qos=1).wait_for_publish(5)
        centre.publish("pishkhan/v1/province/23/board", json.dumps(board_23), qos=1).wait_for_publish(5)
        assert wait_until(lambda: monitor.received == 5)
        monitor.drain()
        assert dict(monitor.refusals) == {"untrusted": 1, "key_not_allowed": 2}
    rows = sqlite_db.query("SELECT scope_key, version, verification_code FROM official ORDER BY scope_key")
    assert rows == [{"scope_key": "national", "version": 7, "verification_code": verification_code(genuine)},
                    {"scope_key": "province:23", "version": 4, "verification_code": verification_code(board_23)}]


def test_a_trust_list_key_must_say_its_scope(tmp_path):
    key = SigningKey.generate().public
    bare = tmp_path / "bare.pem"
    bare.write_text(key.pem())
    with pytest.raises(KeyFileError, match="--trust: .* key 1 has no 'Scope:' line"):
        TrustList.load(bare)
    wrong = tmp_path / "wrong.pem"
    wrong.write_text("Scope: everywhere\n" + key.pem())
    with pytest.raises(KeyFileError, match="key scope must be"):
        TrustList.load(wrong)
    two = tmp_path / "two.pem"
    other = SigningKey.generate().public
    two.write_text(TrustList.entry(key, "national", "ministry") + "\n" + TrustList.entry(other, "province:23"))
    loaded = TrustList.load(two)
    assert {fp: scope for fp, (_, scope) in loaded.keys.items()} == {key.fingerprint: "national",
                                                                   other.fingerprint: "province:23"}
