"""Config sync's rules, in process (an agent with MQTT off, documents handed to ConfigSync.handle)."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
from centre_helpers import centre_keys, trust_centre

from edge_agent.agent import Agent
from edge_agent.sync import ConfigSync
from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.config import load_config
from pishkhan.protocol.topics import Topics

TOPICS = Topics()
DEVICE_BOARD = TOPICS.device_document("dev-0001", "board")


@pytest.fixture
def sync(tmp_path):
    """(ConfigSync, keys, the reported messages it wrote) for an office 23-1234 in province 23."""
    keys = centre_keys(tmp_path / "keys")
    path = tmp_path / "agent.toml"
    path.write_text(f'[device]\nid = "dev-0001"\nstate_dir = "{tmp_path / "state"}"\n[hours]\nalways_open = true\n'
                    '[office]\noffice_id = "23-1234"\nprovince = "23"\n[mqtt]\nenabled = false\n', encoding="utf-8")
    trust_centre(path, keys)
    agent = Agent(load_config(path), validate=True)
    keys["office"] = SigningKey.generate()
    trust_key(agent.store, keys["office"].public, scope="office:23-1234", actor="test")

    def sent():
        return [json.loads(r.payload) for r in agent.outbox.pending(1000) if r.stream == "reported"]
    yield ConfigSync(agent.context), keys, sent
    agent.outbox.close()
    agent.store.close()


def office_board(sample_doc, office="23-1234", version=1):
    return copy.deepcopy(sample_doc) | {"scope": {"level": "office", "office": office}, "version": version}


def test_office_board_on_the_device_topic(sync, sample_doc):
    s, keys, sent = sync
    envelope = keys["national"].sign(sample_doc)
    assert s.handle(TOPICS.national("board"), json.dumps(envelope).encode()) == "applied"
    assert s.handle(DEVICE_BOARD, json.dumps(keys["office"].sign(office_board(sample_doc))).encode()) == "applied"
    layers = sent()[-1]["applied"]["board"]["layers"]
    assert [l["scope"] for l in layers] == ["national", "office:23-1234"]


@pytest.mark.parametrize("topic, make, reason", [
    (DEVICE_BOARD, lambda k, d: k["office"].sign(office_board(d, office="99-1")), "wrong_scope"),
    (DEVICE_BOARD, lambda k, d: k["national"].sign(d), "wrong_scope"),
    (TOPICS.national("board"), lambda k, d: k["province"].sign(d), "wrong_scope"),  # key may not sign national
    (TOPICS.province("23", "schedule"), lambda k, d: k["province"].sign(d), "wrong_scope"),  # a board there
    (TOPICS.national("board"), lambda k, d: {"format": "pishkhan.signed/1", "payload": d}, "forged"),
    (TOPICS.national("board"), lambda k, d: k["national"].sign(d | {"version": "v1"}), "invalid"),
    (TOPICS.national("board"), lambda k, d: [1, 2, 3], "malformed"),
])
def test_refusals(sync, sample_doc, topic, make, reason):
    s, keys, sent = sync
    assert s.handle(topic, json.dumps(make(keys, sample_doc)).encode()) == "refused"
    assert sent()[-1]["refused"][0]["reason"] == reason
    assert sent()[-1]["refused"][0]["topic"] == topic
    assert s.store.query_one("SELECT COUNT(*) FROM boards")[0] == 0


def test_another_provinces_board_signed_by_its_own_province_key_is_refused(sync, sample_doc):
    """The broker lets every device read every province's topics (``province/+/#``): the office's own check is
    what keeps a board of province 07 (Fars), signed by a key trusted for 07, off an office of 23 (Tehran)."""
    from pishkhan.boards.install import check_signed
    from pishkhan.boards.installed import BOARD

    s, keys, sent = sync
    fars = SigningKey.generate()
    trust_key(s.store, fars.public, scope="province:07", actor="test")
    board = copy.deepcopy(sample_doc) | {"scope": {"level": "province", "province": "07"}, "version": 1}
    envelope = fars.sign(board)
    assert check_signed(s.store, envelope, BOARD)[0].scope.key == "province:07"  # a sound board for an office of 07
    assert s.handle(TOPICS.province("07", "board"), json.dumps(envelope).encode()) == "refused"
    assert sent()[-1]["refused"][0]["reason"] == "wrong_scope"
    assert s.store.query_one("SELECT COUNT(*) FROM boards")[0] == 0


@pytest.mark.parametrize("payload, words", [
    (b"\xff\xfe not utf-8", "not UTF-8"),
    (b"[" * 100 + b"]" * 100, "deeper than"),
    (b'{"a": 1e999}', "too large"),
    (b" " * (4 * 1024 * 1024 + 1), "larger than"),
])
def test_hostile_bytes_are_malformed(sync, payload, words):
    s, keys, sent = sync
    assert s.handle(TOPICS.national("board"), payload) == "refused"
    refusal = sent()[-1]["refused"][0]
    assert refusal["reason"] == "malformed" and words in refusal["message"]


def test_same_bytes_twice_are_handled_once(sync, sample_doc):
    s, keys, sent = sync
    payload = json.dumps(keys["national"].sign(sample_doc)).encode()
    assert s.handle(TOPICS.national("board"), payload) == "applied"
    assert s.handle(TOPICS.national("board"), payload) is None
    assert s.handle(TOPICS.national("board"), b"") is None  # a retained document cleared
    assert len(sent()) == 1


def test_holidays_and_schedules_go_to_the_schedule_path(sync):
    s, keys, sent = sync
    schedule = json.loads(resources.files("pishkhan.data").joinpath("sample_schedule.json").read_text("utf-8"))
    assert s.handle(TOPICS.province("23", "holidays"), json.dumps(keys["province"].sign(schedule)).encode()) \
        == "refused"
    assert sent()[-1]["refused"][0]["reason"] == "wrong_scope"  # a schedule on the holidays topic
    assert s.handle(TOPICS.province("23", "schedule"), json.dumps(keys["province"].sign(schedule)).encode()) \
        == "applied"
    assert sent()[-1]["applied"]["schedule"][0]["scope"] == "province:23"
    audit = s.store.audit_entries(action="schedule.install")[0]
    assert audit["actor"] == "centre" and audit["detail"]["source"] == "centre"


def test_trust_list_rules(sync):
    from central.publish import trust_list

    s, keys, sent = sync
    topic = TOPICS.national("trust")

    def handle(document, key="national"):
        result = s.handle(topic, json.dumps(keys[key].sign(document)).encode())
        return result, (sent()[-1].get("refused") or [{}])[0].get("reason")

    own = keys["national"].public.fingerprint
    assert handle(trust_list(issuer="x", version=1, revoke=[own])) == ("refused", "refused")
    assert handle(trust_list(issuer="x", version=1)) == ("refused", "invalid")  # nothing to do
    anyone = SigningKey.generate().public
    assert handle(trust_list(issuer="x", version=1, add=[(anyone, "any", "")])) == ("refused", "invalid")
    assert handle(trust_list(issuer="x", version=1, add=[(anyone, "command", "")]) | {"extra": 1}) == \
        ("refused", "malformed")
    assert handle(trust_list(issuer="x", version=2, add=[(anyone, "command", "ops")])) == ("applied", None)
    assert handle(trust_list(issuer="x", version=2, revoke=["abc"])) == ("refused", "older")
    assert handle(trust_list(issuer="x", version=3, revoke=["abc"]), key="command") == ("refused", "wrong_scope")
