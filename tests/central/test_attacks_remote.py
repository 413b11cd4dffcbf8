"""Attacks on remote actions (central/remote.py) by the office's own device, through a real Mosquitto: it answers a
ping with a result the size of the broker's limit, with JSON nested past any parser's depth, with NaN, and with a
result for a command it was never sent. The audit keeps a bounded result, and the action ends with an outcome."""

from __future__ import annotations

import datetime as dt
import json
import threading
from types import SimpleNamespace

from central import remote
from central.db import open_db
from central.keys import KeyRing
from central.publish import Broker
from pishkhan.protocol.topics import Topics

NATIONAL = SimpleNamespace(username="admin", province=None)
DAY = dt.date(2026, 12, 7)
NOW = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone.utc)


class HostileDevice:
    """A device on the real broker that answers each command with what ``answers(command_id)`` gives (raw bytes)."""

    def __init__(self, mqtt_broker, answers, device_id="dev-0001"):
        topics, self.answers = Topics(), answers
        self.client = mqtt_broker.client(device_id)

        def on_message(client, userdata, message):
            command_id = json.loads(message.payload)["payload"]["id"]
            for payload in self.answers(command_id):
                client.publish(topics.result(device_id), payload, qos=1)

        self.client.on_message = on_message
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(topics.cmd(device_id), 1)
        assert done.wait(5)


def result(command_id, detail, **extra) -> bytes:
    return json.dumps({"schema": "result/1", "device": "dev-0001", "seq": 1, "sent_at": "2026-12-07T08:00:00Z",
                       "correlation_id": command_id, "command": "ping", "ok": True, "detail": detail, **extra},
                      separators=(",", ":")).encode()


def test_a_hostile_answer_is_audited_bounded(tmp_path, mqtt_broker):
    db = open_db(str(tmp_path / "fleet.db"))
    db.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES ('dev-0001', '23', "
               "'23-0001', 'دفتر')")
    ring = KeyRing(tmp_path / "keys")
    ring.new("command", kind="command")
    broker = Broker.from_args(f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}", username="centre",
                              password_file=mqtt_broker.password_file("centre"))
    commander = remote.BrokerCommander(broker, key=ring.load("command"), timeout=5)
    script = []
    device = HostileDevice(mqtt_broker, lambda command_id: script.pop(0)(command_id))

    def ask(i):
        return remote.ask(db, commander, device_id="dev-0001", action="ping", user=NATIONAL, day=DAY,
                          now=NOW + dt.timedelta(seconds=i))

    # 1. a result as large as the broker lets through (7 MB of detail), NaN and a reason that is not text
    script.append(lambda cid: [result(cid, {"note": "x" * 7_000_000, "keys": {str(i): i for i in range(20_000)}},
                                      reason={"a": ["b"] * 10_000}).replace(b'"keys"', b'"nan":NaN,"keys"')])
    row = ask(0)
    assert row["outcome"] == "ok" and len(row["result"]) <= remote.MAX_RESULT_CHARS
    json.loads(row["result"], parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # no NaN kept
    # 2. an answer nested past the parser's depth, then a forged answer for another command, then the real one
    script.append(lambda cid: [result(cid, {}).replace(b'"detail":{}', b'"detail":' + b"[" * 200_000 + b"]" * 200_000),
                               result("another-command", {"forged": True}), result(cid, {"agent_version": "0.1"})])
    row = ask(1)
    assert row["outcome"] == "ok" and json.loads(row["result"])["detail"] == {"agent_version": "0.1"}
    assert [r["outcome"] for r in remote.history(db, "dev-0001")] == ["ok", "ok"]
    device.client.disconnect()
    db.close()
