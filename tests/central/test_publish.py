"""`pishkhan central publish|keys`: signing, topics by scope, the centre's trust list checked before anything is
published, the broker's PUBACK as the answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from central.keys import KeyRing
from central.publish import Broker, NotPublished, prepare, publish_document, topic_for, trust_list
from central.trust import TrustList
from pishkhan.boards.signing import verify
from pishkhan.exc import CentralError, PublishRefused
from pishkhan.protocol.payloads import validate
from pishkhan.protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[2]
TOPICS = Topics()


def central(*args, broker=None, user="centre", password_file=None) -> subprocess.CompletedProcess:
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    extra = []
    if broker is not None:
        extra = ["--broker", f"mqtt://{broker.host}:{broker.port_for(user)}", "--username", user,
                 "--password-file", str(password_file or broker.password_file(user))]
    return subprocess.run([sys.executable, "-m", "cli.main", "central", *args, *extra], capture_output=True,
                          text=True, timeout=60, env=environ, cwd=ROOT)


@pytest.fixture
def keys(tmp_path):
    ring = KeyRing(tmp_path / "keys")
    ring.new("national")
    ring.new("tehran", scope="province:23")
    ring.new("ministry")  # trusted by the centre for any scope's documents
    ring.new("command", kind="command")
    return ring


@pytest.fixture
def trust_file(tmp_path, keys) -> Path:
    """The centre's trust list, as `central monitor --trust` reads it: national, province 23, and one key for any."""
    path = tmp_path / "centre-trust.pem"
    path.write_text(TrustList.entry(keys.load("national").public, "national", "national")
                    + TrustList.entry(keys.load("tehran").public, "province:23", "tehran")
                    + TrustList.entry(keys.load("ministry").public, "any", "ministry"), encoding="ascii")
    return path


@pytest.fixture
def trust(trust_file) -> TrustList:
    return TrustList.load(trust_file)


def broker_for(mqtt_broker) -> Broker:
    return Broker.from_args(f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}", username="centre",
                            password_file=mqtt_broker.password_file("centre"))


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_keys_new_and_list(tmp_path):
    done = central("keys", "new", "tehran", "--scope", "province:23", "--dir", str(tmp_path / "k"))
    assert done.returncode == 0, done.stderr
    done = central("keys", "new", "ops", "--kind", "command", "--dir", str(tmp_path / "k"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "k" / "ops.key").stat().st_mode & 0o077 == 0
    done = central("keys", "list", "--json", "--dir", str(tmp_path / "k"))
    listed = {k["name"]: k for k in json.loads(done.stdout)}
    assert listed["tehran"]["scope"] == "province:23" and listed["ops"]["kind"] == "command"
    assert listed["ops"]["fingerprint"] == KeyRing(tmp_path / "k").load("ops").public.fingerprint
    done = central("keys", "new", "ops", "--dir", str(tmp_path / "k"))
    assert done.returncode == 1 and "exists already" in done.stderr
    done = central("keys", "new", "x", "--scope", "everywhere", "--dir", str(tmp_path / "k"))
    assert done.returncode == 1 and "national, province:CODE or office:CODE" in done.stderr


def test_keys_trust_list_writes_the_issuer_keys_with_their_scopes(keys, tmp_path, capsys):
    """The monitor's --trust file from the keys folder, not typed by hand."""
    from cli.main import main

    out = tmp_path / "trust.pem"
    assert main(["central", "keys", "trust-list", "--dir", str(keys.directory), "--out", str(out)]) == 0
    assert "3 issuer key(s)" in capsys.readouterr().out
    listed = TrustList.load(out).keys
    scopes = {fingerprint: scope for fingerprint, (_key, scope) in listed.items()}
    assert scopes == {keys.load("national").public.fingerprint: "national",
                      keys.load("tehran").public.fingerprint: "province:23",
                      keys.load("ministry").public.fingerprint: "national"}  # the command key is not one
    assert main(["central", "keys", "trust-list", "--dir", str(tmp_path / "empty"), "--out", str(out)]) == 1
    assert "no issuer keys" in capsys.readouterr().err


def test_topics_by_scope():
    assert topic_for(TOPICS, "board", "national") == ("pishkhan/v1/all/board", "national")
    assert topic_for(TOPICS, "schedule", "province:23") == ("pishkhan/v1/province/23/schedule", "province:23")
    assert topic_for(TOPICS, "board", "device:dev-0001") == ("pishkhan/v1/dev/dev-0001/board", None)
    assert topic_for(TOPICS, "board", "office:23-1234", device="dev-0001") == \
        ("pishkhan/v1/dev/dev-0001/board", "office:23-1234")
    with pytest.raises(CentralError, match="needs --device"):
        topic_for(TOPICS, "board", "office:23-1234")
    with pytest.raises(CentralError, match="national only"):
        topic_for(TOPICS, "trust", "province:23")
    with pytest.raises(CentralError, match="holidays at scope device"):
        topic_for(TOPICS, "holidays", "device:dev-0001")
    with pytest.raises(CentralError, match="--scope must be"):
        topic_for(TOPICS, "board", "galaxy")


def test_prepare_signs_and_refuses_mistakes(keys, trust, sample_doc):
    key = keys.load("national")
    envelope = prepare("board", sample_doc, key=key, expected_scope="national", trust=trust)
    payload, signer = verify(envelope, {key.public.fingerprint: key.public})
    assert payload == sample_doc and signer.fingerprint == key.public.fingerprint
    assert prepare("board", envelope, expected_scope="national", trust=trust) is envelope  # signed: as it is

    def refused(data, *, kind="board", key=key, expected_scope="national") -> NotPublished:
        with pytest.raises(NotPublished) as e:
            prepare(kind, data, key=key, expected_scope=expected_scope, trust=trust)
        return e.value

    wrong = refused(sample_doc, expected_scope="province:23")
    assert wrong.reason == "wrong_scope" and "for national, but --scope publishes it for province:23" in str(wrong)
    wrong = refused(sample_doc, kind="schedule")
    assert wrong.reason == "wrong_format" and "format 'pishkhan.schedule/1'" in str(wrong)
    wrong = refused(sample_doc, key=None)
    assert wrong.reason == "not_signed" and "not signed: give --key" in str(wrong)
    wrong = refused(sample_doc | {"version": "twelve"})
    assert wrong.reason == "invalid" and "breaks its schema" in str(wrong)
    wrong = refused([sample_doc])
    assert wrong.reason == "not_an_object"
    with pytest.raises(CentralError, match="--trust: `central publish` needs the centre's trust list"):
        prepare("board", sample_doc, key=key, expected_scope="national", trust=None)


def test_a_document_is_checked_against_the_centres_trust_list_as_it_is_signed(keys, trust, sample_doc):
    """Signed here or before: the key must be in the trust list, with a scope allowed for the document's."""
    tehran, ministry = keys.load("tehran"), keys.load("ministry")
    province_23 = sample_doc | {"scope": {"level": "province", "province": "23"}}
    province_24 = sample_doc | {"scope": {"level": "province", "province": "24"}}
    office = sample_doc | {"scope": {"level": "office", "office": "24-5678"}}
    assert prepare("board", province_23, key=tehran, expected_scope="province:23", trust=trust)
    assert prepare("board", province_24, key=ministry, expected_scope="province:24", trust=trust)  # 'any'
    for data, scope in ((province_24, "province:24"), (sample_doc, "national"), (office, None)):
        for given in (data, tehran.sign(data)):  # signed now with --key, or a signed envelope
            with pytest.raises(NotPublished) as e:
                prepare("board", given, key=tehran, expected_scope=scope, device_level=scope is None, trust=trust)
            assert e.value.reason == "key_not_allowed", (scope, str(e.value))
            assert "may sign only province:23" in str(e.value)
    keys.new("stranger")
    stranger = keys.load("stranger")
    with pytest.raises(NotPublished) as e:
        prepare("board", sample_doc, key=stranger, expected_scope="national", trust=trust)
    assert e.value.reason == "signature_invalid" and "not a trusted issuer key" in str(e.value)


def test_a_trust_list_is_published_only_signed_by_a_national_key(keys, trust):
    document = trust_list(issuer="وزارت", version=1, revoke=["abc"])
    assert prepare("trust", document, key=keys.load("national"), expected_scope="national", trust=trust)
    for name in ("tehran", "ministry"):  # a province's key; a key for any scope (devices take only 'national')
        with pytest.raises(NotPublished) as e:
            prepare("trust", document, key=keys.load(name), expected_scope="national", trust=trust)
        assert e.value.reason == "key_not_allowed", name
        assert "a trust list is signed only by a key with scope national" in str(e.value)


def test_a_board_edited_after_signing_is_not_published(mqtt_broker, keys, trust_file, sample_doc, tmp_path):
    envelope = keys.load("national").sign(sample_doc)
    envelope["payload"]["categories"][0]["services"][0]["office_fee"] = 1  # the fee, lowered after signing
    path = write_json(tmp_path / "edited.json", envelope)
    watch = mqtt_broker.capture(filters=[TOPICS.national("board")])
    done = central("publish", "board", str(path), "--scope", "national", "--trust", str(trust_file),
                   broker=mqtt_broker)
    assert done.returncode == 1, done.stdout
    assert "not published (signature_invalid)" in done.stderr
    assert "the document was changed after signing" in done.stderr
    assert not watch.wait(lambda c: c.messages, 2), watch.messages  # nothing reached the broker

    with pytest.raises(NotPublished) as refused:
        publish_document(broker_for(mqtt_broker), "board", envelope, scope="national",
                         trust=TrustList.load(trust_file))
    assert refused.value.reason == "signature_invalid"
    assert not watch.wait(lambda c: c.messages, 1), watch.messages


def test_a_province_24_board_signed_with_the_province_23_key_is_not_published(mqtt_broker, keys, trust_file,
                                                                              sample_doc, tmp_path):
    board = sample_doc | {"scope": {"level": "province", "province": "24"}}
    unsigned = write_json(tmp_path / "board-24.json", board)
    signed = write_json(tmp_path / "board-24.signed.json", keys.load("tehran").sign(board))
    watch = mqtt_broker.capture(filters=[TOPICS.province("24", "board")])
    for path, key in ((unsigned, ["--key", "tehran", "--keys-dir", str(keys.directory)]), (signed, [])):
        done = central("publish", "board", str(path), "--scope", "province:24", *key, "--trust", str(trust_file),
                       broker=mqtt_broker)
        assert done.returncode == 1, done.stdout
        assert "not published (key_not_allowed)" in done.stderr
        assert "may sign only province:23 documents, but this document is for province:24" in done.stderr
    assert not watch.wait(lambda c: c.messages, 2), watch.messages


def test_a_genuine_board_passes_the_check_and_is_published(mqtt_broker, keys, trust_file, sample_doc, tmp_path):
    board = sample_doc | {"scope": {"level": "province", "province": "23"}}
    path = write_json(tmp_path / "board-23.json", keys.load("tehran").sign(board))
    watch = mqtt_broker.capture(filters=[TOPICS.province("23", "board")])
    done = central("publish", "board", str(path), "--scope", "province:23", "--trust", str(trust_file),
                   broker=mqtt_broker)
    assert done.returncode == 0, done.stderr
    assert f"verified against {trust_file}" in done.stdout
    assert watch.wait(lambda c: c.messages, 10)
    assert json.loads(watch.messages[0][1])["payload"] == board


def test_publish_has_no_mode_without_a_trust_list(mqtt_broker, keys, sample_doc, tmp_path):
    path = write_json(tmp_path / "board.json", sample_doc)
    watch = mqtt_broker.capture(filters=[TOPICS.national("board")])
    done = central("publish", "board", str(path), "--scope", "national", "--key", "national",
                   "--keys-dir", str(keys.directory), broker=mqtt_broker)
    assert done.returncode == 2 and "--trust" in done.stderr
    unreadable = tmp_path / "no-such-trust.pem"
    done = central("publish", "board", str(path), "--scope", "national", "--key", "national",
                   "--keys-dir", str(keys.directory), "--trust", str(unreadable), broker=mqtt_broker)
    assert done.returncode == 1 and f"--trust: cannot read {unreadable}" in done.stderr
    with pytest.raises(CentralError, match="--trust: `central publish` needs the centre's trust list"):
        publish_document(broker_for(mqtt_broker), "board", sample_doc, scope="national", key=keys.load("national"),
                         trust=None)
    assert not watch.wait(lambda c: c.messages, 2), watch.messages


def test_publish_is_retained_and_acknowledged(mqtt_broker, keys, trust, sample_doc, tmp_path):
    broker = broker_for(mqtt_broker)
    done = publish_document(broker, "board", sample_doc, scope="national", key=keys.load("national"), trust=trust)
    assert done["topic"] == "pishkhan/v1/all/board" and done["reason_code"] in (0x00, 0x10)
    late = mqtt_broker.capture(filters=[TOPICS.national("board")])
    assert late.wait(lambda c: c.messages, 10)
    topic, payload, retained, _ = late.messages[0]
    assert retained and json.loads(payload)["payload"] == sample_doc
    assert json.loads(payload)["signature"]["key"] == keys.load("national").public.fingerprint
    assert validate(json.loads(payload), "document")


def test_publish_denied_by_the_acl_exits_1_with_the_reason_code(mqtt_broker, keys, trust_file, sample_doc,
                                                                tmp_path):
    path = tmp_path / "board.json"
    path.write_text(json.dumps(sample_doc, ensure_ascii=False), encoding="utf-8")
    done = central("publish", "board", str(path), "--scope", "national", "--key", "national",
                   "--keys-dir", str(keys.directory), "--trust", str(trust_file), broker=mqtt_broker, user="dev-0001")
    assert done.returncode == 1
    assert "refused the publish to pishkhan/v1/all/board by user dev-0001" in done.stderr
    assert "0x87" in done.stderr
    late = mqtt_broker.capture(filters=[TOPICS.national("board")])
    assert not late.wait(lambda c: c.messages, 2)  # nothing retained

    broker = Broker.from_args(f"mqtt://{mqtt_broker.host}:{mqtt_broker.device_port}", username="dev-0001",
                              password_file=mqtt_broker.password_file("dev-0001"))
    with pytest.raises(PublishRefused) as refused:
        publish_document(broker, "board", sample_doc, scope="national", key=keys.load("national"),
                         trust=TrustList.load(trust_file))
    assert (refused.value.reason, refused.value.mqtt_code) == ("not_authorized", 0x87)


def test_wrong_password_and_no_broker_are_clear_errors(mqtt_broker, keys, trust_file, sample_doc, tmp_path):
    path = tmp_path / "board.json"
    path.write_text(json.dumps(sample_doc, ensure_ascii=False), encoding="utf-8")
    wrong = tmp_path / "wrong.password"
    wrong.write_text("nope\n")
    done = central("publish", "board", str(path), "--scope", "national", "--key", "national",
                   "--keys-dir", str(keys.directory), "--trust", str(trust_file), broker=mqtt_broker,
                   password_file=wrong)
    assert done.returncode == 1 and "refused the connection for user centre" in done.stderr
    done = central("publish", "board", str(path), "--scope", "national", "--key", "national",
                   "--keys-dir", str(keys.directory), "--trust", str(trust_file), "--broker", "mqtt://127.0.0.1:1")
    assert done.returncode == 1 and "cannot reach the broker" in done.stderr


def test_command_without_an_answer_times_out(mqtt_broker, keys):
    done = central("command", "dev-0002", "ping", "--key", "command", "--keys-dir", str(keys.directory),
                   "--wait", "1", broker=mqtt_broker)
    assert done.returncode == 1 and "no result from dev-0002" in done.stderr
