"""Remote actions from the office page (central/remote.py, central/web/remote.py): a national user's ping,
snapshot and resend of the day's report, each a signed command through a real Mosquitto to a device that checks
the signature, audited at the centre (who, when, the result) on SQLite and PostgreSQL; CSRF-safe; a province
user neither sees the buttons nor may use them."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from types import SimpleNamespace

import dashboard_fleet as F
import pytest
from dashboard_client import logged_in
from services import chromium

from central import remote
from central.keys import KeyRing
from central.publish import Broker
from central.web.app import create_app

NATIONAL = SimpleNamespace(username="admin", province=None)
PROVINCE = SimpleNamespace(username="ops23", province="23")


class Scripted(remote.Commander):
    """A commander answering from a script: a result message, or an exception to raise."""

    def __init__(self, *answers):
        self.answers, self.sent = list(answers), []

    def send(self, *, device, name, args):
        self.sent.append((device, name, args))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _device(db, device_id="dev-0001", province="23"):
    db.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES (?,?,?,?)",
               (device_id, province, f"{province}-0001", "دفتر"))


def test_every_outcome_is_audited(fleet_db):
    _device(fleet_db)
    now = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone.utc)
    ok = {"correlation_id": "c1", "ok": True, "detail": {"png_base64": "A" * 1000, "sha256": "ab"}}
    commander = Scripted(ok, {"correlation_id": "c2", "ok": False, "reason": "no_snapshot"},
                         remote.NoAnswer("no result from dev-0001"))
    rows = [remote.ask(fleet_db, commander, device_id="dev-0001", action=a, user=NATIONAL, day=dt.date(2026, 12, 7),
                       now=now + dt.timedelta(seconds=i))
            for i, a in enumerate(("snapshot", "snapshot", "resend_report"))]
    assert [(r["outcome"], r["reason"], r["asked_by"]) for r in rows] == \
        [("ok", "", "admin"), ("refused", "no_snapshot", "admin"), ("no_answer", "no_answer", "admin")]
    assert commander.sent[2] == ("dev-0001", "resend_report", {"date": "2026-12-07"})
    kept = json.loads(rows[0]["result"])
    assert "png_base64" not in kept["detail"] and kept["detail"]["png_base64_chars"] == 1000
    for user, action, device, reason in ((PROVINCE, "ping", "dev-0001", "not_national"),
                                         (NATIONAL, "restart_service", "dev-0001", "unknown_action"),
                                         (NATIONAL, "ping", "dev-9999", "unknown_device")):
        with pytest.raises(remote.ActionRefused) as refused:
            remote.ask(fleet_db, Scripted(), device_id=device, action=action, user=user, day=now.date(), now=now)
        assert refused.value.reason == reason
    with pytest.raises(remote.ActionRefused) as refused:
        remote.ask(fleet_db, None, device_id="dev-0001", action="ping", user=NATIONAL, day=now.date(),
                   now=now + dt.timedelta(minutes=1))
    assert refused.value.reason == "not_configured"
    history = remote.history(fleet_db, "dev-0001")
    assert len(history) == 4 and history[0]["outcome"] == "not_sent" and history[0]["reason"] == "not_configured"


class Device:
    """A device on the real broker: checks each command's signature with the centre's command key, answers."""

    def __init__(self, mqtt_broker, public_key, device_id="dev-0001"):
        from pishkhan.boards.signing import verify
        from pishkhan.protocol import payloads
        from pishkhan.protocol.topics import Topics

        self.got, topics = [], Topics()
        self.client = mqtt_broker.client(device_id)

        def on_message(client, userdata, message):
            envelope = json.loads(message.payload)
            payload, _ = verify(envelope, [public_key])  # raises on a forged command: no answer then
            self.got.append(payload)
            result = payloads.result(device=device_id, seq=len(self.got), sent_at=payloads.format_time(
                dt.datetime.now(dt.timezone.utc)), correlation_id=payload["id"], command=payload["name"], ok=True,
                detail={"agent_version": "0.1.0"} if payload["name"] == "ping" else {})
            client.publish(topics.result(device_id), payloads.encode(result), qos=1)

        self.client.on_message = on_message
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(topics.cmd(device_id), 1)
        assert done.wait(5)


def test_the_office_page_sends_and_audits_for_a_national_user_only(tmp_path, mqtt_broker):
    from central.db import open_db

    db = open_db(str(tmp_path / "fleet.db"))
    data = F.build(db)
    _device(db, "dev-0001", "23")
    ring = KeyRing(tmp_path / "keys")
    ring.new("command", kind="command")
    key = ring.load("command")
    Device(mqtt_broker, key.public)
    broker = Broker.from_args(f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}", username="centre",
                              password_file=mqtt_broker.password_file("centre"))
    app = create_app(data["fleet"], now=lambda: F.NOW, commander=remote.BrokerCommander(broker, key=key, timeout=5))
    with logged_in(db, app) as (url, clients):
        admin, ops23 = clients["admin"], clients["ops23"]
        page = admin.get("/device/dev-0001")[2].decode()
        assert 'id="action-ping"' in page and 'id="action-resend_report"' in page
        assert 'id="actions"' not in ops23.get("/device/dev-0001")[2].decode()  # theirs, yet no buttons
        with chromium() as driver:  # the page's own form, its CSRF token and all, in a real browser
            from selenium.webdriver.support.ui import WebDriverWait

            driver.get(url + "/login")
            driver.find_element("id", "username").send_keys("admin")
            driver.find_element("id", "password").send_keys("centre-pass-1")
            driver.find_element("id", "login").click()
            WebDriverWait(driver, 10).until(lambda d: "/login" not in d.current_url)
            driver.get(url + "/device/dev-0001")
            driver.find_element("id", "action-ping").click()
            WebDriverWait(driver, 10).until(lambda d: d.find_elements("css selector", "tr[data-action='ping']"))
            assert driver.current_url.endswith("/device/dev-0001#actions")
            assert driver.find_element("css selector", "tr[data-action='ping']").get_attribute("data-outcome") == "ok"
        status, _, body = admin.post("/api/device/dev-0001/action", {"action": "resend_report"})
        row = json.loads(body)
        assert status == 200 and (row["outcome"], row["asked_by"], row["action"]) == ("ok", "admin", "resend_report")
        assert json.loads(row["args"]) == {"date": F.TODAY.isoformat()}
        page = admin.get("/device/dev-0001")[2].decode()
        assert len(re.findall(r'data-outcome="ok"', page)) == 2
        # a province user may not, even with a good token; no token at all is refused before anything is sent
        status, _, body = ops23.post("/api/device/dev-0001/action", {"action": "ping"})
        assert status == 403 and json.loads(body)["error"] == "not_national"
        assert admin.post("/api/device/dev-0001/action", {"action": "ping"}, token=False)[0] == 403
        audited = db.query("SELECT asked_by, action, outcome FROM remote_actions ORDER BY asked_at")
        assert sorted((r["asked_by"], r["action"], r["outcome"]) for r in audited) == \
            [("admin", "ping", "ok"), ("admin", "resend_report", "ok")]
    db.close()


def test_the_dashboard_command_line_makes_a_commander(tmp_path):
    from cli import central as cli_central
    from cli.main import build_parser

    ring = KeyRing(tmp_path / "keys")
    ring.new("command", kind="command")
    base = ["central", "dashboard", "--db", str(tmp_path / "fleet.db")]
    assert cli_central._commander(build_parser().parse_args(base)) is None
    args = build_parser().parse_args(base + ["--command-key", "command", "--keys-dir", str(tmp_path / "keys"),
                                             "--broker", "mqtt://127.0.0.1:1884", "--username", "centre"])
    commander = cli_central._commander(args)
    assert isinstance(commander, remote.BrokerCommander) and commander.broker.port == 1884
    assert commander.key.public.fingerprint == ring.load("command").public.fingerprint


def test_without_a_commander_an_action_is_refused_and_audited(tmp_path):
    from central.db import open_db
    from central.fleet import Fleet

    db = open_db(str(tmp_path / "fleet.db"))
    _device(db)
    with logged_in(db, create_app(Fleet(db), now=lambda: F.NOW)) as (url, clients):
        status, headers, _ = clients["admin"].post("/device/dev-0001/action", {"action": "ping"})
        assert status == 303 and "refused=not_configured" in headers["Location"]
        assert 'id="actions-refused"' in clients["admin"].get(headers["Location"])[2].decode()
        assert clients["admin"].post("/api/device/dev-0001/action", {"action": "ping"})[0] == 503
    assert [(r["outcome"], r["reason"]) for r in remote.history(db, "dev-0001")] == [("not_sent", "not_configured")] * 2
    db.close()
