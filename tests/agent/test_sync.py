"""Config sync end to end: the test centre publishes with `pishkhan central publish` (retained, real
Mosquitto), a running `pishkhan agent` installs through the one install path and reports once."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
from centre_helpers import (assert_all_valid, central, centre_keys, centre_trust, centre_trusts, quiet_for, reported,
                            trust_centre, write_json)

from central.publish import trust_list
from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trusted_keys
from pishkhan.config import load_config
from pishkhan.protocol.topics import Topics
from pishkhan.store.database import Store

TOPICS = Topics()


@pytest.fixture
def sample_schedule():
    return json.loads(resources.files("pishkhan.data").joinpath("sample_schedule.json").read_text(encoding="utf-8"))


@pytest.fixture
def centre(tmp_path):
    return centre_keys(tmp_path / "keys")


def refusals(capture):
    return [r for m in reported(capture) for r in m.get("refused", [])]


def test_board_and_schedule_installed_refusals_reported_once(tmp_path, mqtt_broker, agent_config, start_agent,
                                                             centre, sample_doc, sample_schedule):
    config = agent_config("dev-0001")
    trust_centre(config, centre)
    capture = mqtt_broker.capture()
    agent = start_agent(config)
    assert capture.wait(lambda c: c.decoded("status"), 20), agent.log()
    keys = tmp_path / "keys"

    # A board and a schedule, signed and published by the centre's CLI, are installed and reported.
    board = write_json(tmp_path / "board.json", sample_doc)
    done = central(mqtt_broker, "publish", "board", str(board), "--scope", "national", "--key", "national",
                   "--keys-dir", str(keys), "--trust", centre_trust(keys))
    assert done.returncode == 0, done.stderr
    assert "pishkhan/v1/all/board" in done.stdout and "accepted" in done.stdout
    assert capture.wait(lambda c: reported(c), 20), agent.log()
    first = reported(capture)[0]
    assert first["applied"]["board"]["version"] == str(sample_doc["version"])
    assert first["applied"]["board"]["layers"][0]["scope"] == "national"
    assert "refused" not in first

    schedule = write_json(tmp_path / "schedule.json", sample_schedule)
    done = central(mqtt_broker, "publish", "schedule", str(schedule), "--scope", "province:23",
                   "--key", "province", "--keys-dir", str(keys), "--trust", centre_trust(keys))
    assert done.returncode == 0, done.stderr
    assert capture.wait(lambda c: len(reported(c)) >= 2, 20), agent.log()
    second = reported(capture)[1]
    assert [(s["scope"], s["version"]) for s in second["applied"]["schedule"]] == [("province:23", 1)]

    with Store(load_config(config).store_path) as store:
        installs = store.audit_entries(action="board.install") + store.audit_entries(action="schedule.install")
        assert {e["detail"]["source"] for e in installs} == {"centre"}
        assert store.query_one("SELECT COUNT(*) FROM boards")[0] == 1

    # Forged: signed by a key nobody trusts. The centre's CLI refuses it; put on the broker anyway, the device too.
    newer = copy.deepcopy(sample_doc) | {"version": sample_doc["version"] + 1}
    SigningKey.generate().save(keys, "stranger")
    done = central(mqtt_broker, "publish", "board", str(write_json(tmp_path / "b2.json", newer)),
                   "--scope", "national", "--key", "stranger", "--keys-dir", str(keys), "--trust", centre_trust(keys))
    assert done.returncode == 1 and "not published (signature_invalid)" in done.stderr, done.stdout
    raw = mqtt_broker.client("centre")
    stranger_envelope = SigningKey.load(keys / "stranger.key").sign(newer)
    stranger_bytes = json.dumps(stranger_envelope, ensure_ascii=False, separators=(",", ":"))
    raw.publish(TOPICS.national("board"), stranger_bytes, qos=1, retain=True).wait_for_publish(10)
    assert capture.wait(lambda c: len(refusals(c)) >= 1, 20), agent.log()
    assert refusals(capture)[0]["reason"] == "untrusted_key"
    assert refusals(capture)[0]["topic"] == TOPICS.national("board")

    # Newer and genuine: installed.
    done = central(mqtt_broker, "publish", "board", str(tmp_path / "b2.json"), "--scope", "national",
                   "--key", "national", "--keys-dir", str(keys), "--trust", centre_trust(keys))
    assert done.returncode == 0, done.stderr
    assert capture.wait(lambda c: any(m["applied"]["board"]["version"] == str(newer["version"])
                                      for m in reported(c)), 20), agent.log()

    # Older: a genuine board of the first version, but not the bytes already handled.
    older = copy.deepcopy(sample_doc) | {"effective_from": "2026-04-01"}
    done = central(mqtt_broker, "publish", "board", str(write_json(tmp_path / "b1.json", older)),
                   "--scope", "national", "--key", "national", "--keys-dir", str(keys), "--trust", centre_trust(keys))
    assert done.returncode == 0, done.stderr
    assert capture.wait(lambda c: len(refusals(c)) >= 2, 20), agent.log()
    assert refusals(capture)[1]["reason"] == "older"
    assert "not newer" in refusals(capture)[1]["message"]

    # Wrong scope: a province board (signed by the province's own key) on the national topic.
    province_board = copy.deepcopy(sample_doc) | {"scope": {"level": "province", "province": "23"}, "version": 1}
    raw.publish(TOPICS.national("board"), json.dumps(centre["province"].sign(province_board)), qos=1,
                retain=True).wait_for_publish(10)
    assert capture.wait(lambda c: len(refusals(c)) >= 3, 20), agent.log()
    assert refusals(capture)[2]["reason"] == "wrong_scope"

    # Hostile input on the device's own topic: a key twice in one object.
    forged_text = '{"format": "pishkhan.signed/1", "payload": {}, "payload": {}, "signature": {}}'
    raw.publish(TOPICS.device_document("dev-0001", "board"), forged_text, qos=1, retain=True).wait_for_publish(10)
    assert capture.wait(lambda c: len(refusals(c)) >= 4, 20), agent.log()
    assert refusals(capture)[3]["reason"] == "malformed"
    assert "twice" in refusals(capture)[3]["message"] or "duplicate" in refusals(capture)[3]["message"]

    # Replay: the forged board's exact bytes again (not retained): ignored, not reported again.
    count = len(reported(capture))
    raw.publish(TOPICS.national("board"), stranger_bytes, qos=1).wait_for_publish(10)
    assert quiet_for(capture, 3, lambda c: len(reported(c)) > count), reported(capture)[count:]

    # A restart: every retained document comes again; nothing is applied or reported again.
    assert agent.terminate() == 0
    def births(c):
        return [m for m in c.decoded("status") if m["state"] == "online"]
    before = len(births(capture))
    agent = start_agent(config)
    assert capture.wait(lambda c: len(births(c)) > before, 20), agent.log()
    assert quiet_for(capture, 4, lambda c: len(reported(c)) > count), reported(capture)[count:]
    with Store(load_config(config).store_path) as store:
        assert [r["version"] for r in store.query("SELECT version FROM boards ORDER BY id")] == \
            [sample_doc["version"], newer["version"]]
        assert len(store.audit_entries(action="board.refused")) == 2  # the install path's: untrusted_key, older
        assert [e["detail"]["reason"] for e in reversed(store.audit_entries(action="sync.refused"))] == \
            ["untrusted_key", "older", "wrong_scope", "malformed"]
    assert_all_valid(capture)


def test_trust_list_only_from_a_national_key(tmp_path, mqtt_broker, agent_config, start_agent, centre):
    config = agent_config("dev-0001")
    trust_centre(config, centre)
    capture = mqtt_broker.capture()
    agent = start_agent(config)
    assert capture.wait(lambda c: c.decoded("status"), 20), agent.log()
    keys = tmp_path / "keys"
    newcomer = SigningKey.generate()
    document = trust_list(issuer="وزارت", version=1, add=[(newcomer.public, "province:31", "province 31")],
                          revoke=[centre["province"].public.fingerprint])
    path = write_json(tmp_path / "trust.json", document)

    # Signed by a province's key: the centre's CLI refuses it; put on the broker anyway, the device refuses it too.
    done = central(mqtt_broker, "publish", "trust", str(path), "--scope", "national", "--key", "province",
                   "--keys-dir", str(keys), "--trust", centre_trust(keys))
    assert done.returncode == 1 and "not published (key_not_allowed)" in done.stderr, done.stdout
    mqtt_broker.client("centre").publish(TOPICS.national("trust"), json.dumps(centre["province"].sign(document)),
                                         qos=1, retain=True).wait_for_publish(10)
    assert capture.wait(lambda c: refusals(c), 20), agent.log()
    assert refusals(capture)[0]["kind"] == "trust" and refusals(capture)[0]["reason"] == "wrong_scope"
    with Store(load_config(config).store_path) as store:
        assert newcomer.public.fingerprint not in trusted_keys(store)
        assert centre["province"].public.fingerprint in trusted_keys(store)

    # Signed by the national key: the newcomer is trusted for its province, the province key revoked.
    done = central(mqtt_broker, "publish", "trust", str(path), "--scope", "national", "--key", "national",
                   "--keys-dir", str(keys), "--trust", centre_trust(keys))
    assert done.returncode == 0, done.stderr
    assert capture.wait(lambda c: any(m["applied"]["trust"]["version"] == 1 for m in reported(c)), 20), agent.log()
    with Store(load_config(config).store_path) as store:
        trusted = trusted_keys(store)
        assert trusted[newcomer.public.fingerprint][1] == "province:31"
        assert centre["province"].public.fingerprint not in trusted
        assert store.audit_entries(action="key.distrust")[0]["actor"] == "centre"
        assert store.audit_entries(action="trust.update")[0]["detail"]["revoked"] == \
            [centre["province"].public.fingerprint]

    # The same version again, re-signed differently (a new list, same number): refused as older.
    again = trust_list(issuer="وزارت", version=1, add=[(centre["province"].public, "province:23", "back")])
    done = central(mqtt_broker, "publish", "trust", str(write_json(tmp_path / "t2.json", again)),
                   "--scope", "national", "--key", "national", "--keys-dir", str(keys), "--trust", centre_trust(keys))
    assert done.returncode == 0, done.stderr
    assert capture.wait(lambda c: len(refusals(c)) >= 2, 20), agent.log()
    assert refusals(capture)[1]["reason"] == "older"
    with Store(load_config(config).store_path) as store:
        assert centre["province"].public.fingerprint not in trusted_keys(store)
    assert_all_valid(capture)


def test_settings_documents_are_refused_with_the_reason(tmp_path, mqtt_broker, agent_config, start_agent, centre):
    config = agent_config("dev-0001")
    trust_centre(config, centre)
    capture = mqtt_broker.capture()
    agent = start_agent(config)
    assert capture.wait(lambda c: c.decoded("status"), 20), agent.log()
    envelope = centre["national"].sign({"format": "pishkhan.settings/1", "version": 1,
                                        "settings": {"display.seconds_per_page": 12}})
    mqtt_broker.client("centre").publish(TOPICS.device_document("dev-0001", "settings"), json.dumps(envelope),
                                         qos=1, retain=True).wait_for_publish(10)
    assert capture.wait(lambda c: refusals(c), 20), agent.log()
    assert refusals(capture)[0]["reason"] == "not_accepted"
    assert "configuration file" in refusals(capture)[0]["message"]
    assert_all_valid(capture)


def test_a_board_already_installed_from_usb_counts_as_applied(tmp_path, mqtt_broker, agent_config, start_agent,
                                                              centre, sample_doc):
    from pishkhan.boards.installed import install_board

    config = agent_config("dev-0001")
    trust_centre(config, centre)
    envelope = centre["national"].sign(sample_doc)
    with Store(load_config(config).store_path) as store:
        install_board(store, envelope, source="usb", actor="staff")
    mqtt_broker.client("centre").publish(TOPICS.national("board"), json.dumps(envelope), qos=1,
                                         retain=True).wait_for_publish(10)
    capture = mqtt_broker.capture()
    agent = start_agent(config)
    assert capture.wait(lambda c: reported(c), 20), agent.log()
    assert "refused" not in reported(capture)[0]
    assert reported(capture)[0]["applied"]["board"]["version"] == str(sample_doc["version"])


def test_a_document_refused_for_its_untrusted_key_is_installed_once_the_key_is_trusted(tmp_path, mqtt_broker, agent_config,
                                                                          start_agent, centre, sample_doc):
    config = agent_config("dev-0001")
    trust_centre(config, centre)
    capture = mqtt_broker.capture()
    agent = start_agent(config)
    assert capture.wait(lambda c: c.decoded("status"), 20), agent.log()
    keys = tmp_path / "keys"
    successor = SigningKey.generate()
    successor.save(keys, "successor")
    centre_trusts(keys, successor.public, scope="national", label="successor")  # the centre's, not yet the device's
    board = write_json(tmp_path / "board.json", sample_doc)
    done = central(mqtt_broker, "publish", "board", str(board), "--scope", "national", "--key", "successor",
                   "--keys-dir", str(keys), "--trust", centre_trust(keys))
    assert done.returncode == 0, done.stderr
    assert capture.wait(lambda c: refusals(c), 20), agent.log()
    assert refusals(capture)[0]["reason"] == "untrusted_key"

    document = trust_list(issuer="وزارت", version=1, add=[(successor.public, "national", "successor")])
    done = central(mqtt_broker, "publish", "trust", str(write_json(tmp_path / "t.json", document)),
                   "--scope", "national", "--key", "national", "--keys-dir", str(keys), "--trust", centre_trust(keys))
    assert done.returncode == 0, done.stderr
    # The retained board comes again after the trust change, and now verifies.
    assert capture.wait(lambda c: any((m["applied"]["board"] or {}).get("version") == str(sample_doc["version"])
                                      for m in reported(c)), 20), agent.log()
    with Store(load_config(config).store_path) as store:
        assert store.query_one("SELECT key_fingerprint FROM boards")[0] == successor.public.fingerprint
    assert_all_valid(capture)
