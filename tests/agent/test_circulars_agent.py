"""The circulars part, in process (an agent with MQTT off): an index on its topic installed through config sync,
its attachment fetched over real HTTPS with the centre's CA pinned and kept whole, the backoff, the bounds, a kill
mid-write leaving no final file, and the events going into the outbox exactly once across restarts."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import http.server
import json
import os
import signal
import ssl
import subprocess
import sys
import textwrap
import threading

import pytest
from centre_helpers import centre_keys, trust_centre
from circular_helpers import PDF, SHA, entry, index
from enrolment_helpers import make_ca

from edge_agent.agent import Agent
from edge_agent.circulars import Circulars, HttpsTransport, backoff, repository_base
from edge_agent.sync import ConfigSync
from pishkhan.circulars.files import AttachmentStore
from pishkhan.circulars.library import Library
from pishkhan.config import load_config
from pishkhan.exc import CircularRefused
from pishkhan.protocol.topics import Topics

TOPICS = Topics()
PROVINCE = {"level": "province", "province": "23"}


@contextlib.contextmanager
def https_pool(folder, cert, key):
    """A static HTTPS server of *folder* on 127.0.0.1; yields its base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    folder = tmp_path_factory.mktemp("centre")
    ca, cert, key = make_ca(folder / "tls")
    stranger = make_ca(folder / "stranger")[0]
    (folder / "www/circulars/pool").mkdir(parents=True)
    (folder / f"www/circulars/pool/{SHA}.pdf").write_bytes(PDF)
    with https_pool(folder / "www", cert, key) as url:
        yield {"url": url, "ca": ca.cert_file, "stranger": stranger.cert_file, "www": folder / "www"}


class Clock:
    def __init__(self, at):
        self.at = at

    def __call__(self):
        return self.at


@pytest.fixture
def office(tmp_path, pool):
    """``office(ca=…)``: a fresh Agent (MQTT off) of office 23-1234 over one state folder; closed at the end."""
    keys = centre_keys(tmp_path / "keys")
    path = tmp_path / "agent.toml"
    path.write_text(f'[device]\nid = "dev-0001"\nstate_dir = "{tmp_path / "state"}"\n[hours]\nalways_open = true\n'
                    '[office]\noffice_id = "23-1234"\nprovince = "23"\n[mqtt]\nenabled = false\n'
                    f'[update]\nrepository = "{pool["url"]}"\nca_file = "{pool["ca"]}"\n', encoding="utf-8")
    trust_centre(path, keys)
    opened = []

    def make(**kwargs):
        agent = Agent(load_config(path), validate=True)
        opened.append(agent)
        return agent, ConfigSync(agent.context), Circulars(agent.context, **kwargs), keys
    yield make
    for agent in opened:
        agent.outbox.close()
        agent.store.close()


def events(agent, name=None):
    found = [json.loads(r.payload) for r in agent.outbox.pending(1000) if r.stream == "event"]
    return [e for e in found if name is None or e["event"] == name]


def test_an_index_on_its_topic_is_installed_fetched_over_pinned_https_and_reported_once(office, tmp_path):
    agent, sync, part, keys = office()
    envelope = keys["province"].sign(index(1, scope=PROVINCE, circulars=[entry("۱۴۰۵/۱۲۳", urgent=True)]))
    assert sync.handle(TOPICS.province("23", "circulars"), json.dumps(envelope).encode()) == "applied"
    # another province's index on this province's topic, and a province index on the national topic: wrong_scope
    assert sync.handle(TOPICS.national("circulars"), json.dumps(envelope).encode()) == "refused"
    assert agent.store.audit_entries(action="sync.refused")[0]["detail"]["reason"] == "wrong_scope"
    assert part.fetch_due() == {"province:23/1405/123": "kept"}
    kept = tmp_path / "state" / "circulars" / f"{SHA}.pdf"
    assert kept.read_bytes() == PDF and not list(kept.parent.glob("*.part"))
    lib = Library(agent.store, tmp_path / "state" / "circulars")
    e = lib.entry("province:23", "1405/123")
    assert lib.file(e) == kept and e.fetched_at
    assert part.report() == 1 and part.report() == 0
    lib.acknowledge("province:23", "1405/123", who="مریم احمدی", now=agent.store.now())
    assert part.report() == 1
    got = [(ev["event"], ev["detail"]) for ev in events(agent)]
    at = got[0][1]["at"]
    assert got[0] == ("circular_received", {"scope": "province:23", "number": "1405/123", "sha256": SHA, "at": at})
    assert got[1][0] == "circular_acknowledged" and got[1][1]["by"] == "مریم احمدی"
    # a crash after the outbox took the event and before the store marked it: the outbox's key refuses a second
    agent.store.execute("UPDATE circulars SET reported_at = NULL")
    agent.store.execute("UPDATE circular_acks SET reported_at = NULL")
    assert part.report() == 2
    agent.outbox.close()
    agent.store.close()
    again, _, part2, _ = office()  # a restart: nothing new, nothing repeated
    assert part2.report() == 0
    assert [ev["event"] for ev in events(again)] == ["circular_received", "circular_acknowledged"]
    assert part2.fetch_due() == {}  # kept: not fetched again


def test_a_failed_fetch_backs_off_and_leaves_nothing(office, pool, tmp_path):
    agent, sync, part, keys = office(transport=HttpsTransport(ca_file=pool["stranger"]))
    other = b"another circular" * 10
    envelope = keys["national"].sign(index(1, circulars=[entry("1405/1"), entry("1405/2", data=other)]))
    assert sync.handle(TOPICS.national("circulars"), json.dumps(envelope).encode()) == "applied"
    clock = Clock(agent.store.now())
    agent.store.clock = clock
    assert part.fetch_due() == {"national/1405/1": "download_failed", "national/1405/2": "download_failed"}
    row = agent.store.query_one("SELECT * FROM circulars WHERE number = '1405/1'")
    assert row["fetch_attempts"] == 1 and row["last_error"].startswith("download_failed: the server's certificate")
    assert part.fetch_due() == {}  # not due for a minute
    part._transport = HttpsTransport(ca_file=pool["ca"])
    clock.at += dt.timedelta(seconds=61)
    # 1405/2's file is not in the pool: 404 is download_failed, its wait doubles
    assert part.fetch_due() == {"national/1405/1": "kept", "national/1405/2": "download_failed"}
    row = agent.store.query_one("SELECT * FROM circulars WHERE number = '1405/2'")
    assert row["fetch_attempts"] == 2 and row["next_fetch_at"] > agent.store.now_iso()
    # a file whose bytes differ from the index: wrong_hash, nothing under the final name
    (pool["www"] / f"circulars/pool/{hashlib.sha256(other).hexdigest()}.pdf").write_bytes(other[:-1] + b"X")
    clock.at += dt.timedelta(seconds=backoff(2) + 1)
    assert part.fetch_due() == {"national/1405/2": "wrong_hash"}
    assert sorted(p.name for p in (tmp_path / "state" / "circulars").iterdir()) == [f"{SHA}.pdf"]
    assert [e["detail"]["code"] for e in agent.store.audit_entries(action="circular.fetch_failed")] == \
        ["wrong_hash", "download_failed", "download_failed", "download_failed"]
    assert events(agent, "circular_received") == [] and part.report() == 1


def test_backoff_and_the_repository():
    assert [backoff(n) for n in (1, 2, 3, 9, 30)] == [60, 120, 240, 15360, 21600]
    assert repository_base(repository="", enrolment_server="https://centre.test:8443/enrol") == \
        "https://centre.test:8443/"
    assert repository_base(repository="https://pool.test/x/", enrolment_server="") == "https://pool.test/x/"
    assert repository_base(repository="", enrolment_server="") == ""


def test_the_bounds_name_themselves(tmp_path):
    files = AttachmentStore(tmp_path / "c", max_file=100, max_folder=150, min_free=0)
    data = b"x" * 100
    sha = hashlib.sha256(data).hexdigest()
    cases = [(lambda: files.keep(sha, 101, [data]), "file size"),
             (lambda: AttachmentStore(tmp_path / "c", min_free=10 ** 18).keep(sha, 100, [data]), "free disk")]
    for action, bound in cases:
        with pytest.raises(CircularRefused) as refused:
            action()
        assert refused.value.reason == "too_large" and f"bound: {bound}" in str(refused.value)
    files.keep(sha, 100, [data[:50], data[50:]])
    other = b"y" * 60
    with pytest.raises(CircularRefused) as refused:
        files.keep(hashlib.sha256(other).hexdigest(), 60, [other])
    assert refused.value.reason == "too_large" and "bound: folder size" in str(refused.value)
    with pytest.raises(CircularRefused) as refused:  # more bytes than named: stopped, nothing left
        files.keep(hashlib.sha256(b"z" * 10).hexdigest(), 10, [b"z" * 10, b"z"])
    assert refused.value.reason == "wrong_hash"
    assert [p.name for p in files.folder.iterdir()] == [f"{sha}.pdf"] and files.verify(sha)


KILLED = """
import hashlib, sys, time
from pishkhan.circulars.files import AttachmentStore
data = b"x" * 4096 * 50
def slow():
    for i in range(50):
        yield data[i * 4096:(i + 1) * 4096]
        if i == 10:
            print("writing", flush=True)
            time.sleep(60)
AttachmentStore(sys.argv[1], min_free=0).keep(hashlib.sha256(data).hexdigest(), len(data), slow())
"""


def test_a_kill_mid_write_leaves_no_final_file_and_the_part_is_cleaned(tmp_path):
    folder = tmp_path / "circulars"
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(KILLED), str(folder)], stdout=subprocess.PIPE,
                            env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert proc.stdout.readline() == b"writing\n"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    names = [p.name for p in folder.iterdir()]
    assert len(names) == 1 and names[0].endswith(".part")
    assert AttachmentStore(folder).clean() == 1 and not list(folder.iterdir())


def test_over_the_real_broker_a_retained_index_is_kept_and_both_events_reach_the_centre(tmp_path, mqtt_broker, pool,
                                                                                         monkeypatch):
    """The whole office side on a running agent: a retained province index, the file over pinned HTTPS on the
    worker thread, ``circular_received`` and then ``circular_acknowledged`` on the device's event topic."""
    import threading as _threading

    from agent_helpers import wait_until
    from centre_helpers import assert_all_valid

    from edge_agent import circulars, sync
    from pishkhan.boards.signing import SigningKey
    from pishkhan.boards.trust import trust_key
    from pishkhan.config import parse_config
    from pishkhan.store.database import Store

    monkeypatch.setattr(circulars, "POLL_SECONDS", 0.2)
    config = parse_config({"device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
                           "office": {"province": "23", "office_id": "OFF-1"},
                           "update": {"repository": pool["url"], "ca_file": str(pool["ca"])},
                           "mqtt": mqtt_broker.agent_settings("dev-0001", telemetry_seconds=3600)})
    key = SigningKey.generate()
    store = Store(config.store_path)
    trust_key(store, key.public, scope="province:23", actor="test")
    agent = Agent(config, store=store, validate=True)
    (tmp_path / "state" / "circulars").mkdir(parents=True, exist_ok=True)
    (tmp_path / "state" / "circulars" / f"{'0' * 64}.part").write_bytes(b"half")  # a power cut's leftover
    sync.register(agent.context)
    circulars.register(agent.context)
    capture = mqtt_broker.capture()
    thread = _threading.Thread(target=agent.run, kwargs={"handle_signals": False}, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: agent.session.connected, 15)
        raw = mqtt_broker.client("centre")
        raw.publish(Topics(mqtt_broker.root).province("23", "circulars"),
                    json.dumps(key.sign(index(1, scope=PROVINCE))), qos=1, retain=True).wait_for_publish(10)

        def sent(name):
            return [e for e in capture.decoded("event") if e["event"] == name]
        assert capture.wait(lambda c: sent("circular_received"), 15)
        lib = Library(store, tmp_path / "state" / "circulars")
        assert lib.file(lib.entry("province:23", "1405/123")).read_bytes() == PDF
        assert not list((tmp_path / "state" / "circulars").glob("*.part"))
        lib.acknowledge("province:23", "1405/123", who="staff", now=store.now())
        assert capture.wait(lambda c: sent("circular_acknowledged"), 10)
        assert sent("circular_acknowledged")[0]["detail"] | {"at": ""} == \
            {"scope": "province:23", "number": "1405/123", "sha256": SHA, "at": "", "by": "staff"}
        assert len(sent("circular_received")) == 1
        assert_all_valid(capture)
    finally:
        agent.stop()
        thread.join(15)
