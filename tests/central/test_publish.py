"""`pishkhan central publish|keys`: signing, topics by scope, the broker's PUBACK as the answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from central.keys import KeyRing
from central.publish import Broker, prepare, publish_document, topic_for
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
    ring.new("command", kind="command")
    return ring


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


def test_prepare_signs_and_refuses_mistakes(keys, sample_doc):
    key = keys.load("national")
    envelope = prepare("board", sample_doc, key=key, expected_scope="national")
    payload, signer = verify(envelope, {key.public.fingerprint: key.public})
    assert payload == sample_doc and signer.fingerprint == key.public.fingerprint
    assert prepare("board", envelope, expected_scope="national") is envelope  # already signed: as it is
    with pytest.raises(CentralError, match="for national, but --scope publishes it for province:23"):
        prepare("board", sample_doc, key=key, expected_scope="province:23")
    with pytest.raises(CentralError, match="format 'pishkhan.schedule/1'"):
        prepare("schedule", sample_doc, key=key, expected_scope="national")
    with pytest.raises(CentralError, match="not signed: give --key"):
        prepare("board", sample_doc, expected_scope="national")
    broken = sample_doc | {"version": "twelve"}
    with pytest.raises(CentralError, match="breaks its schema"):
        prepare("board", broken, key=key, expected_scope="national")


def test_publish_is_retained_and_acknowledged(mqtt_broker, keys, sample_doc, tmp_path):
    broker = Broker.from_args(f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}", username="centre",
                              password_file=mqtt_broker.password_file("centre"))
    done = publish_document(broker, "board", sample_doc, scope="national", key=keys.load("national"))
    assert done["topic"] == "pishkhan/v1/all/board" and done["reason_code"] in (0x00, 0x10)
    late = mqtt_broker.capture(filters=[TOPICS.national("board")])
    assert late.wait(lambda c: c.messages, 10)
    topic, payload, retained, _ = late.messages[0]
    assert retained and json.loads(payload)["payload"] == sample_doc
    assert json.loads(payload)["signature"]["key"] == keys.load("national").public.fingerprint
    assert validate(json.loads(payload), "document")


def test_publish_denied_by_the_acl_exits_1_with_the_reason_code(mqtt_broker, keys, sample_doc, tmp_path):
    path = tmp_path / "board.json"
    path.write_text(json.dumps(sample_doc, ensure_ascii=False), encoding="utf-8")
    done = central("publish", "board", str(path), "--scope", "national", "--key", "national",
                   "--keys-dir", str(keys.directory), broker=mqtt_broker, user="dev-0001")
    assert done.returncode == 1
    assert "refused the publish to pishkhan/v1/all/board by user dev-0001" in done.stderr
    assert "0x87" in done.stderr
    late = mqtt_broker.capture(filters=[TOPICS.national("board")])
    assert not late.wait(lambda c: c.messages, 2)  # nothing retained

    broker = Broker.from_args(f"mqtt://{mqtt_broker.host}:{mqtt_broker.device_port}", username="dev-0001",
                              password_file=mqtt_broker.password_file("dev-0001"))
    with pytest.raises(PublishRefused) as refused:
        publish_document(broker, "board", sample_doc, scope="national", key=keys.load("national"))
    assert refused.value.reason_code == 0x87


def test_wrong_password_and_no_broker_are_clear_errors(mqtt_broker, keys, sample_doc, tmp_path):
    path = tmp_path / "board.json"
    path.write_text(json.dumps(sample_doc, ensure_ascii=False), encoding="utf-8")
    wrong = tmp_path / "wrong.password"
    wrong.write_text("nope\n")
    done = central("publish", "board", str(path), "--scope", "national", "--key", "national",
                   "--keys-dir", str(keys.directory), broker=mqtt_broker, password_file=wrong)
    assert done.returncode == 1 and "refused the connection for user centre" in done.stderr
    done = central("publish", "board", str(path), "--scope", "national", "--key", "national",
                   "--keys-dir", str(keys.directory), "--broker", "mqtt://127.0.0.1:1")
    assert done.returncode == 1 and "cannot reach the broker" in done.stderr


def test_command_without_an_answer_times_out(mqtt_broker, keys):
    done = central("command", "dev-0002", "ping", "--key", "command", "--keys-dir", str(keys.directory),
                   "--wait", "1", broker=mqtt_broker)
    assert done.returncode == 1 and "no result from dev-0002" in done.stderr
