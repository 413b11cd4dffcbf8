"""Signed commands: end to end through `pishkhan central command` and a running agent on a real
Mosquitto, and the allowed set run in process (a fake process runner for systemctl)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json

import pytest
from centre_helpers import assert_all_valid, central, centre_keys, results, trust_centre

from edge_agent.agent import Agent
from edge_agent.commands import Commands
from pishkhan.screen_override import SETTING as SCREEN_SETTING, screen_override
from pishkhan.config import load_config
from pishkhan.protocol.commands import make_command
from pishkhan.protocol.payloads import problems
from pishkhan.protocol.topics import Topics
from pishkhan.store.database import Store

TOPICS = Topics()


@pytest.fixture
def centre(tmp_path):
    return centre_keys(tmp_path / "keys")


def record_snapshot(state_dir, store) -> bytes:
    """What display/snapshot.py leaves behind: a PNG under state_dir/snapshots and its row."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 36), (20, 90, 160)).save(buf, "PNG")
    data = buf.getvalue()
    folder = state_dir / "snapshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "20261201T0800-abc.png"
    path.write_bytes(data)
    store.execute("INSERT INTO display_snapshots(at, path, sha256, board_version, verification_code, screen_state, "
                  "width, height) VALUES (?,?,?,?,?,?,?,?)",
                  ("2026-12-01T08:00:00.000000Z", str(path), hashlib.sha256(data).hexdigest(), "12+3", "K7QM-2XHD",
                   "on", 64, 36))
    return data


def test_commands_end_to_end(tmp_path, mqtt_broker, agent_config, start_agent, centre):
    config = agent_config("dev-0001")
    trust_centre(config, centre)
    cfg = load_config(config)
    with Store(cfg.store_path) as store:
        png = record_snapshot(cfg.state_dir, store)
    capture = mqtt_broker.capture()
    agent = start_agent(config)
    assert capture.wait(lambda c: c.decoded("status"), 20), agent.log()
    keys = ["--key", "command", "--keys-dir", str(tmp_path / "keys")]

    done = central(mqtt_broker, "command", "dev-0001", "ping", *keys)
    assert done.returncode == 0, done.stderr + agent.log()
    answer = json.loads(done.stdout)
    assert answer["ok"] is True and answer["command"] == "ping" and answer["detail"]["pong"] is True

    saved = tmp_path / "shot.png"
    done = central(mqtt_broker, "command", "dev-0001", "snapshot", *keys, "--save-snapshot", str(saved))
    assert done.returncode == 0, done.stderr + agent.log()
    assert saved.read_bytes() == png
    shot = [r for r in results(capture) if r["command"] == "snapshot"][0]
    assert base64.b64decode(shot["detail"]["png_base64"]) == png
    assert shot["detail"]["sha256"] == hashlib.sha256(png).hexdigest()
    assert shot["detail"]["board_version"] == "12+3"

    # Forged: signed by an issuer key, not a command key.
    done = central(mqtt_broker, "command", "dev-0001", "ping", "--key", "national",
                   "--keys-dir", str(tmp_path / "keys"))
    assert done.returncode == 1
    assert json.loads(done.stdout[:done.stdout.rindex("}") + 1])["reason"] == "forged"
    assert "forged" in done.stderr

    # Unknown and bad arguments, through the CLI.
    done = central(mqtt_broker, "command", "dev-0001", "format_disk", *keys)
    assert done.returncode == 1 and '"reason": "unknown"' in done.stdout
    done = central(mqtt_broker, "command", "dev-0001", "set_log_level", "level=LOUD", *keys)
    assert done.returncode == 1 and '"reason": "bad_args"' in done.stdout

    # Expired and replayed, sent raw by the centre.
    raw = mqtt_broker.client("centre")
    old = make_command(centre["command"], device="dev-0001", name="ping",
                       now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1), command_id="old-one")
    raw.publish(TOPICS.cmd("dev-0001"), json.dumps(old), qos=1).wait_for_publish(10)
    twice = make_command(centre["command"], device="dev-0001", name="ping", command_id="twice")
    for _ in range(2):
        raw.publish(TOPICS.cmd("dev-0001"), json.dumps(twice), qos=1).wait_for_publish(10)
    raw.publish(TOPICS.cmd("dev-0001"), "not json", qos=1).wait_for_publish(10)

    def by_id(c, cid):
        return [r for r in results(c) if r["correlation_id"] == cid]
    assert capture.wait(lambda c: by_id(c, "old-one") and len(by_id(c, "twice")) == 2
                        and by_id(c, ""), 20), agent.log()
    assert by_id(capture, "old-one")[0]["reason"] == "expired"
    assert [r["ok"] for r in by_id(capture, "twice")] == [True, False]
    assert by_id(capture, "twice")[1]["reason"] == "replayed"
    assert by_id(capture, "")[-1]["reason"] == "malformed"
    for refused in [r for r in results(capture) if not r["ok"]]:
        assert refused["detail"]["message"]

    with Store(cfg.store_path) as store:
        reasons = {e["detail"]["reason"] for e in store.audit_entries(action="command.refuse")}
        assert {"forged", "unknown", "bad_args", "expired", "replayed"} <= reasons
    assert_all_valid(capture)


# -- in process: the allowed set with a fake runner ------------------------------------------------
class FakeRunner:
    def __init__(self, returncode=0):
        self.calls = []
        self.returncode = returncode

    def __call__(self, args):
        import subprocess

        self.calls.append(args)
        return subprocess.CompletedProcess(args, self.returncode, "", "unit failed" if self.returncode else "")


@pytest.fixture
def local(tmp_path, centre):
    """An agent with MQTT off (everything stays in its outbox), trusting the centre, and its Commands."""
    cfg_path = tmp_path / "agent.toml"
    cfg_path.write_text(f'[device]\nid = "dev-0001"\nstate_dir = "{tmp_path / "state"}"\n'
                        '[hours]\nalways_open = true\n[mqtt]\nenabled = false\n', encoding="utf-8")
    trust_centre(cfg_path, centre)
    agent = Agent(load_config(cfg_path), validate=True)
    runner = FakeRunner()
    commands = Commands(agent.context, runner=runner)
    yield agent, commands, runner, centre["command"]
    agent.outbox.close()
    agent.store.close()


def send(commands, key, name, **args):
    envelope = make_command(key, device="dev-0001", name=name, args=args)
    return commands.handle(TOPICS.cmd("dev-0001"), json.dumps(envelope).encode())


def test_a_command_replayed_after_the_agent_restarts_is_refused(local, tmp_path):
    import sqlite3

    agent, commands, runner, key = local
    envelope = make_command(key, device="dev-0001", name="restart_service", args={"service": "kiosk"})
    payload = json.dumps(envelope)
    assert commands.handle(TOPICS.cmd("dev-0001"), payload.encode())["ok"] is True
    agent.outbox.close()
    agent.store.close()
    raw = sqlite3.connect(agent.config.store_path)  # the nonce is in the file, not only in memory
    try:
        assert raw.execute("SELECT nonce FROM command_nonces").fetchall() == [(envelope["payload"]["nonce"],)]
    finally:
        raw.close()
    again = Agent(load_config(tmp_path / "agent.toml"), validate=True)  # the agent restarted
    try:
        result = Commands(again.context, runner=runner).handle(TOPICS.cmd("dev-0001"), payload.encode())
        assert result["ok"] is False and result["reason"] == "replayed"
        assert runner.calls == [["systemctl", "restart", "pishkhan-kiosk.service"]]  # it ran once
    finally:
        again.outbox.close()
        again.store.close()


def test_restart_service_runs_systemctl_as_a_list(local):
    agent, commands, runner, key = local
    result = send(commands, key, "restart_service", service="kiosk")
    assert result["ok"] is True
    assert runner.calls == [["systemctl", "restart", "pishkhan-kiosk.service"]]
    runner.returncode = 1
    result = send(commands, key, "restart_service", service="display")
    assert result["ok"] is False and result["reason"] == "failed" and "unit failed" in result["detail"]["message"]
    result = send(commands, key, "restart_service", service="kiosk; rm -rf /")
    assert result["reason"] == "bad_args" and len(runner.calls) == 2


@pytest.mark.parametrize("payload", [b"\xff\xfe not utf-8", b"not json", b"[" * 100 + b"]" * 100,
                                     b" " * (4 * 1024 * 1024 + 1)])
def test_a_command_refused_before_its_signature_is_read_is_audited_and_not_called_a_board(local, payload):
    agent, commands, runner, key = local
    result = commands.handle(TOPICS.cmd("dev-0001"), payload)
    assert result["ok"] is False and result["reason"] == "malformed"
    assert "board" not in result["detail"]["message"]
    audit = agent.store.audit_entries(action="command.refuse")
    assert [e["detail"]["reason"] for e in audit] == ["malformed"]
    assert runner.calls == []


def test_restart_of_the_agent_itself_runs_after_its_result(local):
    agent, commands, runner, key = local
    order = []
    original = agent.publisher.result
    agent.publisher.result = lambda *a, **k: (order.append("result"), original(*a, **k))[1]
    commands.runner = lambda args: (order.append(args), FakeRunner()(args))[1]
    assert send(commands, key, "restart_service", service="agent")["ok"] is True
    assert order == ["result", ["systemctl", "restart", "pishkhan-agent.service"]]


def test_screen_override_is_stored_with_an_expiry_and_audited(local):
    agent, commands, runner, key = local
    result = send(commands, key, "screen", power="off")
    assert result["ok"] is True
    value = agent.store.get_setting(SCREEN_SETTING)
    assert value["power"] == "off" and value["command"] == result["correlation_id"]
    assert screen_override(agent.store)["power"] == "off"
    later = agent.store.now() + dt.timedelta(hours=13)
    assert screen_override(agent.store, later) is None
    assert agent.store.audit_entries(action="screen.override")[0]["subject"] == "off"


def test_set_log_level_and_reload_config(local, tmp_path):
    import logging

    agent, commands, runner, key = local
    assert send(commands, key, "set_log_level", level="DEBUG")["ok"] is True
    assert logging.getLogger("pishkhan").level == logging.DEBUG
    logging.getLogger("pishkhan").setLevel(logging.NOTSET)
    path = agent.config.path
    path.write_text(path.read_text() + '[office]\nname = "دفتر تازه"\n', encoding="utf-8")
    result = send(commands, key, "reload_config")
    assert result["ok"] is True and result["detail"]["changed"] == ["office.name"]
    assert agent.config.get("office.name") == "دفتر تازه"
    path.write_text("[office\n", encoding="utf-8")
    result = send(commands, key, "reload_config")
    assert result["ok"] is False and "not valid TOML" in result["detail"]["message"]
    assert agent.config.get("office.name") == "دفتر تازه"


def test_resend_report_publishes_the_days_report(local):
    agent, commands, runner, key = local
    for _ in range(2):  # a re-send is a new message each time
        result = send(commands, key, "resend_report", date="2026-11-30")
        assert result["ok"] is True, result
    reports = [json.loads(r.payload) for r in agent.outbox.pending(100) if r.stream == "report"]
    assert [r["date"] for r in reports] == ["2026-11-30", "2026-11-30"]
    assert reports[0]["report"]["device"] == "dev-0001"


def test_snapshot_without_one_or_with_a_tampered_file(local):
    agent, commands, runner, key = local
    result = send(commands, key, "snapshot")
    assert result["ok"] is False and result["reason"] == "no_snapshot"
    record_snapshot(agent.config.state_dir, agent.store)
    path = next((agent.config.state_dir / "snapshots").glob("*.png"))
    path.write_bytes(path.read_bytes() + b"x")
    result = send(commands, key, "snapshot")
    assert result["ok"] is False and result["reason"] == "snapshot_corrupt"


def test_every_result_follows_its_schema(local):
    agent, commands, runner, key = local
    send(commands, key, "ping")
    send(commands, key, "nope")
    rows = [r for r in agent.outbox.pending(100) if r.stream == "result"]
    assert [json.loads(r.payload)["ok"] for r in rows] == [True, False]
    for row in rows:
        assert problems(json.loads(row.payload)) == []
