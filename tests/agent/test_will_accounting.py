"""Every missing ``seq`` at the centre is accounted for (docs/mqtt.md, "Gaps and duplicates"), whatever kills the
agent while it connects and drains: a real ``pishkhan agent`` process SIGKILLed at each step, a real Mosquitto
(passwords, ACL) stopped, stalled and restarted, and the centre's real monitor writing to SQLite. At the end the
centre's loss is the true loss (nothing was lost: 0), its duplicates are resends, and the numbers it never
received are exactly the announced Last Wills the broker never sent and the telemetry the outbox dropped."""

from __future__ import annotations

import json
import socket
import sqlite3
import sys
import threading
import time
from pathlib import Path

from agent_helpers import outbox_path, wait_until

from central.db import open_db
from central.fleet import Fleet
from central.monitor import Monitor
from central.trust import TrustList
from edge_agent.outbox import Outbox
from edge_agent.publish import Publisher
from pishkhan.boards.signing import SigningKey
from pishkhan.protocol.topics import Topics

DEVICE = "dev-0001"
TOPICS = Topics()
#: Small enough that the telemetry written while the broker is away is coalesced (dropped, and counted).
OUTBOX_BYTES = 100_000  # the least mqtt.outbox_max_bytes allows
EVENTS = 120
STALE_TELEMETRY = 80
#: What an agent logs once it is up (edge_agent.agent.Agent.start).
STARTED = "agent started for device"
PAD = {"office": {"note": "x" * 1500}}  # ~1.7 kB a telemetry: 80 pass the bound


def outbox_rows(path: Path, sql: str) -> list[tuple]:
    """Rows of the agent's outbox file, read beside the agent (it may not exist yet)."""
    if not path.exists():
        return []
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # the file is being made, its tables not yet there
        return []


def wills(path: Path) -> list[tuple[int, int]]:
    return outbox_rows(path, "SELECT seq, exposed FROM wills ORDER BY seq")


class Stall:
    """A listener on the broker's port that accepts connections and never answers (a broker that hangs)."""

    def __init__(self, host: str, port: int):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(8)
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread, which would hold the port
        except OSError:
            pass
        self.sock.close()
        self._thread.join(5)
        for conn in self.held:
            conn.close()


def test_the_centres_loss_is_the_true_loss_whatever_kills_the_agent(mqtt_broker, tmp_path, start_agent):
    from agent_helpers import write_config

    config = write_config(tmp_path / "agent.toml", {
        "device": {"id": DEVICE, "state_dir": str(tmp_path / "state")},
        "hours": {"always_open": True},
        "mqtt": mqtt_broker.agent_settings(DEVICE, keepalive=5, telemetry_seconds=1, inflight_window=10,
                                           outbox_max_bytes=OUTBOX_BYTES)})
    path = outbox_path(config)
    # What waits in the outbox before the agent first runs: events to drain, and stale telemetry it coalesces.
    outbox = Outbox(path, max_bytes=OUTBOX_BYTES)
    publisher = Publisher(outbox, TOPICS, DEVICE, validate=True)
    events = [publisher.event("test.drain", detail={"i": i}) for i in range(EVENTS)]
    stale = [publisher.telemetry(agent={"uptime_s": i, "outbox": {"depth": 0, "bytes": 0, "oldest_age_s": None,
                                                                   "in_flight": 0, "dropped": {}, "refused": 0}},
                                 readings=PAD)
             for i in range(STALE_TELEMETRY)]
    assert outbox.stats()["dropped"].get("telemetry.coalesced", 0) > 0  # the bound is met: telemetry coalesced
    outbox.close()

    db = open_db(str(tmp_path / "fleet.db"))
    monitor = Monitor(db, host=mqtt_broker.host, port=mqtt_broker.port, username="centre",
                      password=mqtt_broker.passwords["centre"], client_id="centre-gaps", batch_ms=20,
                      trust=TrustList.of((SigningKey.generate().public, "national")))
    fleet = Fleet(db)

    def centre():
        return fleet.device(DEVICE) or {"received": 0, "online": False}

    def got_events():
        return {r["seq"] for r in db.query("SELECT seq FROM seen WHERE device_id = ?", (DEVICE,))} & set(events)

    kills = []

    def kill(agent, step):
        agent.kill()
        kills.append(step)

    with monitor:
        # 1. The broker is down: the agent reserves its will's number and dies before any connection.
        mqtt_broker.stop()
        agent = start_agent(config)
        assert wait_until(lambda: agent.log().count(STARTED) >= 1, 20), agent.log()
        time.sleep(0.7)  # a few attempts, all refused
        kill(agent, "reserved, broker down")
        # 2. Again.
        agent = start_agent(config)
        assert wait_until(lambda: agent.log().count(STARTED) >= 2, 20), agent.log()
        time.sleep(0.7)
        kill(agent, "reserved again, broker down")
        # 3. A broker that accepts the connection and never answers: the will went out with the CONNECT.
        stall = Stall(mqtt_broker.host, mqtt_broker.device_port)
        try:
            agent = start_agent(config)
            assert wait_until(lambda: stall.held, 20), agent.log()
            time.sleep(0.3)
            kill(agent, "connecting, no CONNACK")
        finally:
            stall.close()
        # 4. The broker is back: killed as soon as the centre has the birth (draining has begun).
        mqtt_broker.start()
        agent = start_agent(config)
        assert wait_until(lambda: centre()["online"], 20), agent.log()
        kill(agent, "born")
        # 5. Killed mid-drain: what the broker had acknowledged and the outbox had not is sent again.
        agent = start_agent(config)
        assert wait_until(lambda: len(got_events()) >= EVENTS // 2, 20), agent.log()
        kill(agent, "mid-drain")
        # 6. The broker restarts (a clean stop) while the agent drains.
        agent = start_agent(config)
        assert wait_until(lambda: len(got_events()) >= EVENTS * 3 // 4, 20), agent.log()
        mqtt_broker.restart()
        assert wait_until(lambda: len(got_events()) == EVENTS, 20), agent.log()
        # 7. The broker goes away and the agent dies while it tries to reconnect.
        mqtt_broker.stop()
        time.sleep(1.0)
        kill(agent, "reconnecting, broker down")
        # 8. Back, and a clean stop once everything is out (again if a telemetry made as it stopped stayed behind).
        mqtt_broker.start()
        for _ in range(3):
            agent = start_agent(config)
            assert wait_until(lambda: centre()["online"] and not outbox_rows(path, "SELECT 1 FROM messages LIMIT 1")
                              and outbox_rows(path, "SELECT COUNT(*) FROM dropped")[0][0] > 0, 20), agent.log()
            time.sleep(1.2)  # one more telemetry, which says what the outbox dropped
            assert wait_until(lambda: not outbox_rows(path, "SELECT 1 FROM messages LIMIT 1"), 5), agent.log()
            assert monitor.drain()
            live = centre()  # its will is announced, not sent (the connection lives): a hole, not a loss
            assert live["online"] and live["unsent_wills"] == 1 and live["gaps"] == 0, live
            assert agent.terminate() == 0, agent.log()
            if not outbox_rows(path, "SELECT 1 FROM messages LIMIT 1"):
                break
        made = outbox_rows(path, "SELECT next_seq - 1 FROM state")[0][0]
        assert wait_until(lambda: centre()["highest_seq"] == made and not centre()["online"], 20), agent.log()
        assert monitor.drain()

    d = fleet.device(DEVICE)
    received = {r["seq"] for r in db.query("SELECT seq FROM seen WHERE device_id = ?", (DEVICE,))}
    unsent = {r["seq"] for r in db.query("SELECT seq FROM wills WHERE device_id = ?", (DEVICE,))}
    dropped = outbox_rows(path, "SELECT SUM(count) FROM dropped WHERE stream = 'telemetry'")[0][0]
    missing = set(range(1, made + 1)) - received - unsent
    # Nothing was lost: every event arrived, and the numbers never received are the announced wills the broker
    # never sent and the telemetry the outbox said it dropped — exactly.
    assert set(events) <= received
    assert outbox_rows(path, "SELECT seq FROM wills") == []  # every reserved will number is accounted for
    assert d["telemetry_dropped"] == dropped == len(missing) > 0, (d, dropped, sorted(missing))
    assert d["highest_seq"] - d["received"] - d["unsent_wills"] - d["telemetry_dropped"] == 0, d
    assert d["gaps"] == 0 and d["lost_before"] == 0, d
    assert d["received"] == len(received) and d["duplicates"] >= 0
    assert len(kills) == 6
    db.close()
    print(f"made {made}, received {len(received)}, duplicates {d['duplicates']}, unsent wills {sorted(unsent)}, "
          f"telemetry dropped {dropped}, lost {d['gaps']}", file=sys.stderr)


def test_a_will_number_is_used_again_until_it_reaches_a_broker(tmp_path):
    path = tmp_path / "outbox.db"
    with Outbox(path) as box:
        seq, _ = box.reserve_will()
        assert box.unannounced_wills() == [seq]  # recorded as gone before its attempt: a crash now spends it
        box.unexpose_will(seq)  # the attempt's socket never opened
        assert box.reserve_will()[0] == seq and box.unannounced_wills(exposed=False) == [seq]
        box.unexpose_will(seq)
    with Outbox(path) as box:  # a restart: the number never left the device, so it is used again
        assert box.reserve_will()[0] == seq
        again, _ = box.reserve_will()
        assert again > seq and box.unannounced_wills() == [seq, again]  # both recorded as gone to a broker
        publisher = Publisher(box, TOPICS, DEVICE, validate=True)
        spent = publisher.telemetry(agent={"uptime_s": 1, "outbox": box.stats() | {"in_flight": 0, "refused": 0}},
                                    will_seq=seq)
        birth = publisher.birth(agent_version="0", software_version="0", boot_id="b", started_at=0.0,
                                will_seq=again, protocol="5", board=None, schedule=None,
                                clock={"synchronized": None, "source": None})
        assert spent == seq and birth > again and box.unannounced_wills(exposed=False) == []


def test_the_bounds_never_drop_a_message_in_flight(tmp_path):
    with Outbox(tmp_path / "outbox.db", max_bytes=20_000) as box:
        publisher = Publisher(box, TOPICS, DEVICE)
        first = [publisher.telemetry(agent={"uptime_s": i}, readings=PAD, coalesce=f"k{i}") for i in range(3)]
        held = [p.id for p in box.pending(3)]
        box.busy = lambda: held
        for i in range(20):
            publisher.telemetry(agent={"uptime_s": i}, readings=PAD, coalesce=f"n{i}")
        assert box.stats()["dropped"].get("telemetry.full", 0) > 0
        assert {p.seq for p in box.pending(100)} >= set(first)  # those in the client's hands are still there


class FakeSession:
    """The agent's MQTT session without a network: the test plays paho's callbacks."""

    def __init__(self, settings, **callbacks):
        self.settings, self.callbacks, self.connected = settings, callbacks, False

    def subscribe(self, topic_filter, qos=1):
        pass

    def will(self) -> dict:
        import json

        return json.loads(self.callbacks["will"]()[1])


def test_an_agent_spends_a_will_that_reached_a_broker_and_no_birth_announced(tmp_path):
    from agent_helpers import write_config

    from edge_agent.agent import Agent
    from pishkhan.config import load_config

    config = load_config(write_config(tmp_path / "agent.toml", {
        "device": {"id": DEVICE, "state_dir": str(tmp_path / "state")}, "hours": {"always_open": True},
        "mqtt": {"host": "127.0.0.1", "port": 9}}))
    agent = Agent(config, session_factory=FakeSession)
    session = agent.session
    first = session.will()
    session.callbacks["on_never_opened"]()
    assert session.will() == first  # refused attempts: the same number
    session.callbacks["on_socket_open"]()  # the next attempt reached a broker, and died before its CONNACK
    second = session.will()["seq"]
    assert second > first["seq"] and agent.outbox.unannounced_wills(exposed=False) == [second]
    spent = [p for p in agent.outbox.pending(10) if p.seq == first["seq"]]
    # the first number went out as that very will, sent by the agent: never two payloads under one number
    assert [p.stream for p in spent] == ["status"] and json.loads(spent[0].payload) == first
    session.callbacks["on_socket_open"]()
    session.callbacks["on_connected"]()
    agent.outbox.close()
    # A restart before the birth was written: the new agent spends the number, whose connection lived.
    again = Agent(config, session_factory=FakeSession)
    third = again.session.will()["seq"]
    assert third > second and [p.stream for p in again.outbox.pending(10) if p.seq == second] == ["status"]
    again.outbox.close()


def test_a_birth_the_bounds_drop_gives_its_will_number_back(tmp_path):
    with Outbox(tmp_path / "outbox.db", max_bytes=100_000) as box:
        publisher = Publisher(box, TOPICS, DEVICE)
        will, _ = box.reserve_will()
        box.expose_will(will)
        publisher.birth(agent_version="0", software_version="0", boot_id="b", started_at=0.0, will_seq=will,
                        protocol="5", board=None, schedule=None, clock={"synchronized": None, "source": None})
        assert box.unannounced_wills() == []
        while not box.stats()["dropped"].get("status.full"):
            publisher.event("test.fill", detail={"pad": "x" * 5000})
        assert box.unannounced_wills() == [will]  # the agent sends it on a telemetry message of its own
