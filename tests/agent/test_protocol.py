"""pishkhan.protocol: topic names, payload builders and their JSON Schemas, the broker ACL, docs/mqtt.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from pishkhan.exc import ProtocolError
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics, mosquitto_acl

ROOT = Path(__file__).resolve().parents[2]
T = Topics()


def test_topic_names():
    assert T.status("dev-7") == "pishkhan/v1/dev/dev-7/status"
    assert T.national("board") == "pishkhan/v1/all/board"
    assert T.province("23", "schedule") == "pishkhan/v1/province/23/schedule"
    assert T.device_document("dev-7", "board") == "pishkhan/v1/dev/dev-7/board"
    assert Topics("x/y/").telemetry("d") == "x/y/dev/d/telemetry"
    assert T.inbox("dev-7", "23") == ["pishkhan/v1/dev/dev-7/cmd", "pishkhan/v1/dev/dev-7/board",
                                      "pishkhan/v1/dev/dev-7/schedule", "pishkhan/v1/dev/dev-7/settings",
                                      "pishkhan/v1/dev/dev-7/release", "pishkhan/v1/all/#", "pishkhan/v1/province/23/#"]


@pytest.mark.parametrize("bad", ["", "a/b", "a+", "#", "x\0"])
def test_a_device_id_must_be_one_topic_level(bad):
    with pytest.raises(ProtocolError, match="cannot be an MQTT topic level"):
        T.status(bad)


def test_parse_is_the_inverse_of_the_names():
    assert T.parse(T.event("dev-7")).device == "dev-7"
    assert T.parse(T.province("23", "board")).province == "23"
    assert T.parse(T.national("trust")).kind == "trust"
    for bad in ("pishkhan/v1/dev/dev-7/gossip", "other/v1/all/board", "pishkhan/v1/all/settings"):
        with pytest.raises(ProtocolError):
            T.parse(bad)


def test_acl_gives_each_device_only_its_own_branch():
    acl = mosquitto_acl()
    assert "pattern write pishkhan/v1/dev/%u/event" in acl
    assert "pattern read pishkhan/v1/dev/%u/cmd" in acl
    assert "pattern write pishkhan/v1/dev/%u/cmd" not in acl
    assert not [line for line in acl.splitlines() if line.startswith("pattern") and "%c" in line]
    assert "user centre\ntopic readwrite pishkhan/v1/#" in acl


@pytest.mark.parametrize("name", payloads.SCHEMA_FILES)
def test_every_schema_file_is_a_valid_json_schema(name):
    Draft202012Validator.check_schema(payloads.schema(name))


def sample_messages():
    now = 1_800_000_000.0
    common = {"device": "dev-1", "seq": 5, "sent_at": now}
    return {
        "birth": payloads.birth(**common, agent_version="0.1.0", software_version="0.1.0", boot_id="b",
                                started_at=now, will_seq=4, protocol="5",
                                board={"version": "12+3", "verification_code": "ABCD-EFGH", "effective_from": "2026-03-21",
                                       "layers": [{"scope": "national", "version": 12, "verification_code": "ABCD-EFGH"}]},
                                schedule={"version": 3}, clock={"synchronized": True, "source": "ntp"}),
        "offline": payloads.offline(**common, reason="lost", boot_id="b"),
        "telemetry": payloads.telemetry(**common, agent={"uptime_s": 5, "outbox": {
            "depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0, "dropped": {}, "refused": 0}}),
        "event": payloads.event(**common, event="printer.out", detail={"minutes": 5}),
        "report": payloads.report(**common, date="2026-12-01", report={"serving_minutes": 400}),
        "reported": payloads.reported(**common, applied={"board": {"version": 12}}),
        "result": payloads.result(**common, correlation_id="c1", command="ping", ok=True),
    }


def test_builders_make_valid_messages():
    for name, message in sample_messages().items():
        assert payloads.problems(message) == [], name
        assert payloads.decode(payloads.encode(message)) == message
    assert sample_messages()["event"]["sent_at"] == "2027-01-15T08:00:00.000Z"


@pytest.mark.parametrize("name, change, complaint", [
    ("birth", lambda m: m.pop("will_seq"), "'will_seq' is a required property"),
    ("birth", lambda m: m.update(seq=0), "seq: 0 is less than the minimum"),
    ("birth", lambda m: m.update(sent_at="yesterday"), "sent_at: 'yesterday' does not match"),
    ("offline", lambda m: m.update(reason="connected"), "reason: 'connected' is not one of"),
    ("telemetry", lambda m: m["agent"]["outbox"].pop("depth"), "'depth' is a required property"),
    ("event", lambda m: m.update(event="Bad Name"), "event: 'Bad Name' does not match"),
    ("result", lambda m: m.update(ok="yes"), "ok: 'yes' is not of type 'boolean'"),
    ("report", lambda m: m.pop("device"), "'device' is a required property"),
])
def test_broken_messages_are_named(name, change, complaint):
    message = sample_messages()[name]
    change(message)
    found = payloads.problems(message)
    assert any(complaint in p for p in found), found
    with pytest.raises(ProtocolError, match="breaks its schema"):
        payloads.validate(message)


def test_unknown_kind_and_body_clashes_are_refused():
    assert payloads.problems({"schema": "gossip/1"}) == ["schema: unknown message kind 'gossip/1'"]
    with pytest.raises(ProtocolError, match="envelope fields"):
        payloads.envelope("event", device="d", seq=1, sent_at=0, **{"schema": "x"})
    with pytest.raises(ProtocolError, match="not UTF-8 JSON"):
        payloads.decode(b"\xff")


def test_docs_mqtt_names_every_topic_and_schema():
    doc = (ROOT / "docs" / "mqtt.md").read_text(encoding="utf-8")
    for name in payloads.SCHEMA_FILES:
        assert f"pishkhan/protocol/schemas/{name}.json" in doc, name
    for stream in ("status", "telemetry", "event", "report", "reported", "result", "cmd"):
        assert f"dev/{{device_id}}/{stream}" in doc, stream
    for kind in ("board", "schedule", "holidays", "trust"):
        assert f"all/{kind}" in doc
    assert re.search(r"outbox_max_bytes", doc)


def test_schemas_ship_with_the_package():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"pishkhan.protocol.schemas" = ["*.json"]' in text
    ids = {json.loads((ROOT / "pishkhan/protocol/schemas" / f"{n}.json").read_text())["$id"] for n in payloads.SCHEMA_FILES}
    assert len(ids) == len(payloads.SCHEMA_FILES)
