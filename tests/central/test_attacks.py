"""The centre's defences tried as an attacker would, against the real thing: a real Mosquitto with the project's
listeners and ACL, the monitor writing a real fleet database, and the dashboard under uvicorn over HTTP.

Each test is one attack (or a family of them at each bound). An attack that still succeeds is marked
``xfail(strict=True)`` with the reason; the rest must fail for the attacker.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from dashboard_client import Client, serving
from mqtt_broker import MosquittoBroker
from services import free_port, wait_for_port

from central import registry
from central.db import open_db
from central.fleet import SEQ_JUMP, TIME_AHEAD, TIME_BEHIND, Fleet
from central.monitor import Monitor
from central.trust import TrustList
from central.users import Users
from central.web.app import create_app
from pishkhan.boards.jsonlimits import MAX_DEPTH
from pishkhan.boards.signing import SigningKey
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))
from agent_helpers import wait_until as agent_wait_until  # noqa: E402

T = Topics()
ROOT = T.root
DEVICES = ("dev-0001", "dev-0002", "dev-0003", "dev-0004")
PASSWORDS = {"admin": "centre-pass-1", "ops23": "tehran-pass-2"}
SEQ_MAX = 2 ** 63 - 1
KEY = SigningKey.generate()


def now_iso(offset: float = 0.0) -> str:
    return payloads.format_time(time.time() + offset)


def outbox():
    return {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0, "dropped": {}, "refused": 0}


def birth(device, seq, *, province="23", office="23-1234", office_name="دفتر ۱۲۳۴", code="ABCD-EFGH", **extra):
    return payloads.birth(device=device, seq=seq, sent_at=now_iso(), agent_version="0.1.0",
                          software_version="0.1.0", boot_id="b1", started_at=now_iso(-60), will_seq=seq - 1,
                          protocol="5",
                          board={"version": "3", "verification_code": code, "effective_from": "2026-11-01",
                                 "layers": [{"scope": "national", "version": 3, "verification_code": code}]},
                          schedule=None, clock={"synchronized": True, "source": "adjtimex"},
                          province=province, office=office, office_name=office_name, **extra)


def tele(device, seq, *, readings=None, full=None, sent_at=None):
    return payloads.telemetry(device=device, seq=seq, sent_at=sent_at or now_iso(),
                              agent={"uptime_s": 1, "outbox": outbox()}, readings=readings, full=full)


def event(device, seq, kind="late_opening", *, when=None, detail=None, sent_at=None):
    sent = sent_at or now_iso()
    return payloads.event(device=device, seq=seq, sent_at=sent, event=kind, at=when or sent, detail=detail or {})


# -- the services ------------------------------------------------------------------------------------------------
class Centre:
    """A broker, a fleet database and the monitor writing it; device clients on the devices' listener."""

    def __init__(self, directory):
        self.broker = MosquittoBroker(directory / "broker", devices=DEVICES)
        self.broker.start()
        self.db = open_db(str(directory / "fleet.db"))
        registry.register(self.db, device_id="dev-0001", office_id="23-1234", province="23", office_name="دفتر ۱۲۳۴")
        registry.register(self.db, device_id="dev-0002", office_id="23-5678", province="23", office_name="دفتر ۵۶۷۸")
        self.trust = TrustList.of((KEY.public, "national"))
        self.monitor = None
        self.clients = {}
        self.seqs = dict.fromkeys(DEVICES, 10)

    def start_monitor(self, **kwargs) -> Monitor:
        self.monitor = Monitor(self.db, host=self.broker.host, port=self.broker.port, username="centre",
                               password=self.broker.passwords["centre"], trust=self.trust, batch_ms=10,
                               **kwargs).start()
        return self.monitor

    def device(self, name: str):
        if name not in self.clients:
            self.clients[name] = self.broker.client(name, client_id=name)
        return self.clients[name]

    def seq(self, device: str) -> int:
        self.seqs[device] += 1
        return self.seqs[device]

    def publish(self, user: str, topic: str, payload, *, retain=False, client=None):
        """Publish as *user* (QoS 1) and wait until the broker has taken it."""
        client = client or self.device(user)
        data = payloads.encode(payload) if isinstance(payload, dict) else payload
        info = client.publish(topic, data, qos=1, retain=retain)
        info.wait_for_publish(10)

    def send(self, device: str, stream: str, payload, **kw) -> None:
        """*device* publishes on its own *stream*; returns once the monitor has written or refused it."""
        done = self.monitor.received
        self.publish(device, T.device(device, stream), payload, **kw)
        assert wait_until(lambda: self.monitor.received > done), f"the monitor never took {stream}"
        self.monitor.drain()

    def marker(self, device: str):
        """A good telemetry from *device* after whatever it published before, written (same client: in order)."""
        self.send(device, "telemetry", tele(device, self.seq(device)))

    def row(self, device: str):
        return self.db.query_one("SELECT * FROM devices WHERE device_id = ?", (device,))

    def refused_since(self, before) -> dict:
        return {k: v - before.get(k, 0) for k, v in self.monitor.refusals.items() if v - before.get(k, 0)}

    def close(self):
        if self.monitor:
            self.monitor.stop()
        self.broker.close()
        self.db.close()


def wait_until(predicate, timeout=10.0, step=0.02) -> bool:
    return agent_wait_until(predicate, timeout=timeout, step=step)


@pytest.fixture
def centre(tmp_path):
    c = Centre(tmp_path)
    c.start_monitor()
    yield c
    c.close()


@pytest.fixture
def dashboard(centre):
    """The dashboard over the centre's fleet database; ``(url, users)``."""
    users = Users(centre.db)
    for name, password in PASSWORDS.items():
        users.add(name, password, province="23" if name == "ops23" else None)
    with serving(create_app(Fleet(centre.db), users=users, metrics_cache_seconds=0)) as url:
        yield url, users


def logged_in(url, user="admin", *, address=None) -> Client:
    client = Client(url, address=address)
    status, _, _ = client.login(user, PASSWORDS[user])
    assert status == 303
    return client


# == identity and the broker ==================================================================================
def test_a_device_cannot_write_another_devices_streams(centre):
    """dev-0002 publishes an event, a Last-Will-like offline and a report on dev-0001's topics: the ACL drops them."""
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    assert centre.row("dev-0001")["online"] == 1
    victim = "dev-0001"
    centre.publish("dev-0002", T.device(victim, "event"), event(victim, 900))
    centre.publish("dev-0002", T.device(victim, "status"),
                   payloads.offline(device=victim, seq=901, sent_at=now_iso(), reason="lost", boot_id="b1"),
                   retain=True)
    centre.publish("dev-0002", T.device(victim, "telemetry"), tele(victim, 902, readings={"x": {"y": 1}}, full=True))
    centre.marker("dev-0002")
    time.sleep(0.3)
    centre.monitor.drain()
    assert centre.row(victim)["online"] == 1
    assert centre.db.query("SELECT seq FROM seen WHERE device_id = ? AND seq >= 900", (victim,)) == []


@pytest.mark.parametrize("topic", ["all/board", "all/trust", "province/23/board", "province/24/schedule",
                                   "dev/dev-0001/inbox", "dev/dev-0001/cmd", "all/#", "$SYS/broker/x"])
def test_a_device_cannot_write_the_centres_topics(centre, topic):
    watcher = centre.broker.capture("centre", [f"{ROOT}/#"])
    try:
        full = topic if topic.startswith("$") else f"{ROOT}/{topic}".replace("/#", "/x")
        centre.publish("dev-0002", full, {"schema": "pishkhan.board/1", "fee": 1}, retain=True)
        centre.marker("dev-0002")
        time.sleep(0.3)
        assert full not in watcher.topics()
    finally:
        watcher.stop()


def test_a_client_id_takeover_does_not_knock_the_victim_off(centre):
    """dev-0002 connects with dev-0001's client id: the broker makes it dev-0002's, dev-0001 stays connected."""
    victim = centre.device("dev-0001")
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    lost = threading.Event()
    victim.on_disconnect = lambda *a: lost.set()
    for _ in range(3):
        thief = centre.broker.client("dev-0002", client_id="dev-0001")
        time.sleep(0.3)
        thief.disconnect()
        thief.loop_stop()
    assert not lost.is_set()
    centre.monitor.drain()
    assert centre.row("dev-0001")["online"] == 1


def test_a_last_will_spoofed_on_another_devices_topic_is_not_delivered(centre):
    import paho.mqtt.client as mqtt

    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    watcher = centre.broker.capture("centre", [T.device("dev-0001", "status")])
    watcher.wait(lambda w: w.messages)  # the retained birth
    watcher.clear()
    thief = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev-0002", protocol=mqtt.MQTTv311)
    thief.username_pw_set("dev-0002", centre.broker.passwords["dev-0002"])
    will = payloads.offline(device="dev-0001", seq=99_999, sent_at=now_iso(), reason="lost", boot_id="b1")
    thief.will_set(T.device("dev-0001", "status"), payloads.encode(will), qos=1, retain=True)
    try:
        thief.connect(centre.broker.host, centre.broker.device_port, 30)
        thief.loop(1.0)
        thief.socket().close()  # dropped without DISCONNECT: the broker sends the will, if it took it
    except (OSError, AttributeError):
        pass
    time.sleep(1.0)
    try:
        assert watcher.messages == []
    finally:
        watcher.stop()
    centre.monitor.drain()
    assert centre.row("dev-0001")["online"] == 1


def test_a_birth_without_a_registry_entry_counts_nowhere(centre, dashboard):
    url, _ = dashboard
    centre.send("dev-0003", "status", birth("dev-0003", centre.seq("dev-0003"), province="24", office="24-9999"),
                retain=True)
    centre.send("dev-0003", "event", event("dev-0003", centre.seq("dev-0003")))
    assert centre.row("dev-0003")["province"] == ""
    admin = logged_in(url)
    status, _, body = admin.get("/api/fleet")
    assert status == 200
    fleet = json.loads(body)
    assert "24" not in {p["province"] for p in fleet["provinces"]}
    assert all(a.get("device_id") != "dev-0003" for a in fleet["alerts"])
    status, _, body = admin.get("/api/devices?province=24")
    assert status == 200 and json.loads(body)["devices"] == []


def test_a_birth_claiming_another_province_changes_nothing(centre, dashboard):
    url, _ = dashboard
    centre.send("dev-0002", "status", birth("dev-0002", centre.seq("dev-0002"), province="24", office="24-5678",
                                            office_name="دفتر جعلی"), retain=True)
    row = centre.row("dev-0002")
    assert (row["province"], row["office_id"]) == ("23", "23-5678")
    kinds = [e["kind"] for e in Fleet(centre.db).events(device="dev-0002")]
    assert "identity_mismatch" in kinds
    status, _, body = logged_in(url).get("/api/devices?province=24")
    assert json.loads(body)["devices"] == []


# == hostile documents on every topic the monitor reads, retained ===========================================
def _nested(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


HOSTILE = {
    "nested_5000": _nested(5000),
    "nested_just_over": _nested(MAX_DEPTH + 1),
    "not_utf8": b'{"a":"\xff\xfe"}',
    "overlong_utf8": b'{"a":"\xc0\xaf"}',
    "lone_surrogate": b'{"a":"\\ud800"}',
    "nan": b'{"a":NaN}',
    "infinity": b'{"a":Infinity}',
    "huge_float": b'{"a":1e400}',
    "huge_int": b'{"seq":' + b"9" * 5000 + b"}",
    "list": b"[" * 3000 + b"]" * 3000,
    "duplicate": b'{"a":1,"a":2}',
    "empty": b" ",
}


def test_hostile_retained_documents_on_every_subscribed_topic_leave_the_monitor_writing(tmp_path):
    """Before the monitor starts, every topic it subscribes to holds a hostile retained message (the centre's
    document topics by the centre's own login, each device stream by its device); it starts, refuses each,
    and goes on writing."""
    c = Centre(tmp_path)
    try:
        centre_client = c.broker.client("centre")
        topics = [f"{ROOT}/all/board", f"{ROOT}/all/schedule", f"{ROOT}/all/holidays", f"{ROOT}/all/trust",
                  f"{ROOT}/all/whatever/deeper", f"{ROOT}/province/23/board", f"{ROOT}/province/23/x/y"]
        names = list(HOSTILE)
        for i, topic in enumerate(topics):
            c.publish("centre", topic, HOSTILE[names[i % len(names)]], retain=True, client=centre_client)
        streams = ("status", "telemetry", "event", "report", "reported", "result", "facts")
        for i, stream in enumerate(streams):
            c.publish("dev-0001", T.device("dev-0001", stream), HOSTILE[names[(i + 7) % len(names)]], retain=True)
        retained = len(topics) + len(streams)
        monitor = c.start_monitor()
        assert wait_until(lambda: monitor.received >= retained), (monitor.received, monitor.refusals)
        monitor.drain()
        assert monitor.problems() == []
        assert monitor.refused == retained, monitor.refusals
        c.marker("dev-0002")
        assert c.row("dev-0002")["received"] >= 1
        # and once more live, the worst one on each
        for topic in topics:
            c.publish("centre", topic, HOSTILE["nested_5000"], client=centre_client)
        c.marker("dev-0002")
        assert wait_until(lambda: monitor.received >= retained + len(topics) + 2)
        assert monitor.problems() == []
    finally:
        c.close()


# == every bound, through the monitor ==========================================================================
def outcome(centre, device, stream, payload) -> str:
    """What the monitor made of *payload* on *device*'s *stream*: ``accepted`` or the refusal's reason."""
    before = dict(centre.monitor.refusals)
    centre.send(device, stream, payload)
    refused = centre.refused_since(before)
    assert len(refused) <= 1, refused
    return next(iter(refused), "accepted")


def padded(message: dict, size: int) -> bytes:
    """*message* as JSON padded with blanks to exactly *size* bytes."""
    data = payloads.encode(message)
    assert len(data) <= size
    return data[:-1] + b" " * (size - len(data)) + b"}"


def test_each_kind_at_its_size_bound_and_one_byte_over(centre):
    for stream in ("status", "telemetry", "event", "reported"):
        _at_size_bound(centre, stream)


def _at_size_bound(centre, stream):
    limit = payloads.MAX_PAYLOAD_BYTES[stream]
    seq = centre.seq
    make = {"status": lambda: birth("dev-0001", seq("dev-0001")),
            "telemetry": lambda: tele("dev-0001", seq("dev-0001")),
            "event": lambda: event("dev-0001", seq("dev-0001")),
            "reported": lambda: payloads.reported(device="dev-0001", seq=seq("dev-0001"), sent_at=now_iso(),
                                                  applied={})}[stream]
    assert outcome(centre, "dev-0001", stream, padded(make(), limit)) == "accepted"
    assert outcome(centre, "dev-0001", stream, padded(make(), limit + 1)) == "too_large"


def test_a_message_larger_than_any_the_centre_reads_is_stopped_at_the_broker(centre):
    """A device may publish (and retain) 20 MB on its own stream: the broker must not take it, keep it and hand
    it to every monitor that starts."""
    watcher = centre.broker.capture("centre", [T.device("dev-0003", "status")])
    try:
        client = centre.device("dev-0003")
        client.publish(T.device("dev-0003", "status"), b"{" + b" " * (20 * 1024 * 1024) + b"}", qos=1, retain=True)
        time.sleep(1.5)
        assert watcher.messages == []
    finally:
        watcher.stop()


def test_hostile_json_on_a_device_stream_is_refused_by_reason(centre):
    for name in ("nested_5000", "not_utf8", "overlong_utf8", "nan", "infinity", "huge_float", "huge_int",
                 "lone_surrogate", "duplicate"):
        body = payloads.encode(tele("dev-0001", centre.seq("dev-0001"), readings={"device": {"cpu_temp_c": 1}}))
        hostile = HOSTILE[name]
        inner = hostile[hostile.index(b":") + 1:-1]  # the hostile value, put where a reading goes
        data = HOSTILE[name] if name == "nested_5000" else body.replace(
            b'"cpu_temp_c":1', b'"cpu_temp_c":' + inner if name != "duplicate" else b'"cpu_temp_c":1,"cpu_temp_c":2')
        reason = outcome(centre, "dev-0001", "telemetry", data)
        assert reason in ("not_json", "too_deep", "duplicate_key", "schema"), (name, reason)
        assert centre.monitor.problems() == []


def test_seq_at_and_beyond_its_bounds(centre, dashboard):
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    admin = logged_in(dashboard[0])
    for seq, expected in ((SEQ_MAX + 1, "schema"), (0, "schema"), (-1, "schema"), (10 ** 30, "schema"),
                          (SEQ_MAX, "accepted")):
        message = tele("dev-0001", 5)
        data = payloads.encode(message).replace(b'"seq":5', b'"seq":' + str(seq).encode())
        assert outcome(centre, "dev-0001", "telemetry", data) == expected, seq
        row = centre.row("dev-0001")
        status, _, body = admin.get("/api/device/dev-0001")
        assert status == 200
        assert row["highest_seq"] - row["received"] - row["seq_skipped"] < SEQ_JUMP
        assert str(SEQ_MAX - 20) not in body.decode()  # no page shows 9.2·10^18 lost messages
    kinds = [e["kind"] for e in Fleet(centre.db).events(device="dev-0001")]
    assert kinds.count("seq_jumped") == 1


def _today_at(clock: str) -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT") + clock


@pytest.mark.parametrize("when, expected", [
    (lambda: now_iso(TIME_AHEAD.total_seconds() - 120), "accepted"),
    (lambda: now_iso(TIME_AHEAD.total_seconds() + 120), "time"),
    (lambda: now_iso(-TIME_BEHIND.total_seconds() + 120), "accepted"),
    (lambda: now_iso(-TIME_BEHIND.total_seconds() - 120), "time"),
    (lambda: "9999-12-31T23:59:59Z", "time"),
    (lambda: "0001-01-01T00:00:00Z", "time"),
    (lambda: _today_at("99:99:99Z"), "time"),          # the pattern's digits, not a time
    (lambda: _today_at("24:00:00Z"), "time"),
    (lambda: _today_at("00:00:60Z"), "time"),          # no leap second in a UTC time the centre reads
    (lambda: _today_at("00:00:00.0000001Z"), "schema"),
], ids=["ahead_edge", "ahead_over", "behind_edge", "behind_over", "year_9999", "year_1", "hour_99", "hour_24",
        "second_60", "seven_digits"])
def test_event_times_at_each_edge_of_the_window(centre, dashboard, when, expected):
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    for field in ("sent_at", "when"):
        message = event("dev-0001", centre.seq("dev-0001"), **{field: when()})
        assert outcome(centre, "dev-0001", "event", message) == expected, field
    admin = logged_in(dashboard[0])
    for path in ("/", "/api/fleet", "/device/dev-0001", "/api/device/dev-0001", "/report.csv", "/metrics"):
        assert admin.get(path)[0] == 200, path


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59Z", "2026-01-05T99:99:99Z", "2026-01-05T23:59:60Z"])
def test_a_birth_with_an_impossible_time_is_refused_and_breaks_no_page(centre, dashboard, value):
    """(A birth's ``started_at`` is not stored, so only its ``sent_at`` matters.)"""
    field = "sent_at"
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    message = birth("dev-0001", centre.seq("dev-0001"))
    message[field] = value
    assert outcome(centre, "dev-0001", "status", message) == "time"
    admin = logged_in(dashboard[0])
    for path in ("/", "/devices", "/device/dev-0001", "/api/device/dev-0001"):
        assert admin.get(path)[0] == 200, path


def test_bidi_and_invisible_characters_in_keys_are_refused(centre):
    for readings in ({"office": {"\u202ekey": 1}},     # bidi in a key
                     {"\u2066group": {"a": 1}},        # bidi in a group's name
                     {"office": {"a\u200bb": 1}},      # an invisible character in a key
                     {"office": {"k": "\u202e4321"}},  # and in a value
                     {"office": {"a\nb": 1}}):         # a line feed is allowed in text, not in a key
        assert outcome(centre, "dev-0001", "telemetry",
                       tele("dev-0001", centre.seq("dev-0001"), readings=readings)) == "unsafe_text", readings


def test_bidi_in_an_event_detail_key_is_refused(centre):
    message = event("dev-0001", centre.seq("dev-0001"), detail={"\u202ewhy": "x"})
    assert outcome(centre, "dev-0001", "event", message) == "unsafe_text"


def test_an_escaped_bidi_key_is_refused(centre):
    data = payloads.encode(tele("dev-0001", centre.seq("dev-0001"), readings={"office": {"XXkey": 1}}))
    assert outcome(centre, "dev-0001", "telemetry", data.replace(b"XX", b"\\u202e")) == "unsafe_text"


def test_strings_and_key_counts_at_their_bounds(centre):
    seq = lambda: centre.seq("dev-0001")  # noqa: E731
    assert outcome(centre, "dev-0001", "event", event("dev-0001", seq(), detail={"why": "ی" * 2000})) == "accepted"
    assert outcome(centre, "dev-0001", "event", event("dev-0001", seq(), detail={"why": "ی" * 2001})) == "schema"
    at_bound = {"office": {f"k{i}": i for i in range(64)}}
    assert outcome(centre, "dev-0001", "telemetry", tele("dev-0001", seq(), readings=at_bound)) == "accepted"
    over = {"office": {f"k{i}": i for i in range(65)}}
    assert outcome(centre, "dev-0001", "telemetry", tele("dev-0001", seq(), readings=over)) == "schema"
    long_key = {"office": {"k" * 101: 1}}
    assert outcome(centre, "dev-0001", "telemetry", tele("dev-0001", seq(), readings=long_key)) == "schema"


def test_huge_numbers_as_readings_break_no_page(centre, dashboard):
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    data = payloads.encode(tele("dev-0001", centre.seq("dev-0001"), full=True,
                                readings={"device": {"cpu_temp_c": 1, "load_1m": 2, "uptime_s": 3}}))
    data = data.replace(b'"cpu_temp_c":1', b'"cpu_temp_c":1.7976931348623157e308')
    data = data.replace(b'"load_1m":2', b'"load_1m":-1e-320').replace(b'"uptime_s":3', b'"uptime_s":' + b"9" * 30)
    centre.send("dev-0001", "telemetry", data)
    admin = logged_in(dashboard[0])
    for path in ("/", "/devices", "/device/dev-0001", "/api/device/dev-0001", "/metrics", "/report.csv"):
        assert admin.get(path)[0] == 200, path


# == the dashboard's doors ===================================================================================
class CountingUsers(Users):
    checked = 0

    def authenticate(self, username, password):
        self.checked += 1
        return super().authenticate(username, password)


def test_forty_guesses_at_once_from_forty_addresses_check_five_passwords(centre):
    from concurrent.futures import ThreadPoolExecutor

    users = CountingUsers(centre.db)
    users.add("admin", PASSWORDS["admin"])
    with serving(create_app(Fleet(centre.db), users=users)) as url:
        def guess(i):
            return Client(url, address=f"10.{i // 200}.{i % 200}.9").login("admin", f"guess-{i}")[0]
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(guess, range(40)))
        assert users.checked == 5, statuses
        assert statuses.count(429) == 36
        # nor does a name spelled otherwise get five more: it names no user
        for name in ("Admin", "ADMIN", "admin\u200b", "admin%00", "ａｄｍｉｎ"):
            assert Client(url, address="10.99.0.1").login(name, PASSWORDS["admin"])[0] in (401, 429)


def test_a_session_cookie_is_dead_after_logout_even_replayed_elsewhere(centre, dashboard):
    url, _ = dashboard
    a = logged_in(url)
    cookie = a.cookie("pishkhan_session")
    assert a.get("/api/fleet")[0] == 200
    a.get("/")
    assert a.post("/logout")[0] == 303
    replay = Client(url, address="10.1.2.3")
    assert replay.get("/api/fleet", headers={"Cookie": f"pishkhan_session={cookie}"})[0] == 401
    # nor is a cookie of another dashboard (another secret), nor one edited to name another user
    other = create_app(Fleet(centre.db), users=Users(centre.db))
    forged = other.state.site.sessions.make(Users(centre.db).get("admin"))
    assert replay.get("/api/fleet", headers={"Cookie": f"pishkhan_session={forged}"})[0] == 401
    b = logged_in(url, "ops23")
    mine = b.cookie("pishkhan_session")
    edited = mine.replace("ops23", "admin")
    assert replay.get("/api/fleet", headers={"Cookie": f"pishkhan_session={edited}"})[0] == 401


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_every_unsafe_method_on_every_route_needs_the_token(centre, dashboard, method):
    url, _ = dashboard
    a = logged_in(url)
    app = create_app(Fleet(centre.db))
    paths = {re.sub(r"\{[^}]+\}", "dev-0001", r.path) for r in app.routes if hasattr(r, "path")}
    for path in sorted(paths) + ["/verify/ABCD-EFGH", "/nowhere"]:
        status, headers, _ = a.request(method, path, data={"username": "admin", "password": PASSWORDS["admin"]})
        assert status == 403, (method, path, status)
        assert headers["X-Frame-Options"] == "DENY"
        # a cross-site form: the victim's cookies come along, a token of the attacker's own browser does not do
        attacker = Client(url)
        attacker.get("/login")
        status = a.request(method, path, data={"csrf_token": attacker.token})[0]
        assert status == 403, (method, path, status)
    assert a.get("/api/fleet")[0] == 200  # nothing was obeyed: logout included


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example", "https://evil.example/",
                                    "/\t/evil.example", "/%2F/evil.example", "\\\\evil.example", "/\r\n/evil"])
def test_login_never_redirects_off_the_site(dashboard, target):
    url, _ = dashboard
    client = Client(url)
    client.get("/login")
    status, headers, _ = client.post("/login", {"username": "admin", "password": PASSWORDS["admin"], "next": target})
    assert status == 303
    location = headers["Location"]
    browser = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")  # what a browser makes of it
    assert browser.startswith("/") and not browser.startswith("//"), location  # (%2F in a path stays a path)


def test_the_error_answers_carry_the_security_headers(dashboard):
    url, _ = dashboard
    a = logged_in(url)
    answers = [a.get("/nowhere"), a.get("/device/nobody"), a.get("/logout"), a.post("/logout", token=False),
               a.get("/report?date=not-a-date"), a.get("/api/devices?state=x"), Client(url).get("/api/fleet"),
               a.get("/verify/" + "A" * 100)]
    for status, headers, _ in answers:
        assert status >= 400
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff", status
        assert "script-src" in headers["Content-Security-Policy"] or "default-src" in headers["Content-Security-Policy"]


def test_a_province_user_sees_nothing_of_another_province(centre, dashboard):
    url, _ = dashboard
    registry.register(centre.db, device_id="dev-0004", office_id="24-0001", province="24", office_name="دفتر ۲۴")
    centre.send("dev-0004", "status", birth("dev-0004", centre.seq("dev-0004"), province="24", office="24-0001"),
                retain=True)
    centre.send("dev-0004", "event", event("dev-0004", centre.seq("dev-0004")))
    ops = logged_in(url, "ops23")
    for path in ("/api/device/dev-0004", "/device/dev-0004", "/device/dev-0004/snapshot.png"):
        assert ops.get(path)[0] == 404, path
    for path in ("/api/devices?province=24", "/api/fleet?province=24", "/api/fleet", "/report.csv?province=24",
                 "/api/report?province=24", "/metrics"):
        status, _, body = ops.get(path)
        assert status == 200, path
        assert b"dev-0004" not in body and b"24-0001" not in body, path
    assert b"dev-0004" in logged_in(url).get("/api/devices?province=24")[2]


# == the pages a device's text reaches ===========================================================================
FORMULAS = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\uff1d1+1", " =1+1", "\u00a0=1+1"]


def test_no_device_text_reaches_the_csv_as_a_formula(centre, dashboard):
    url, _ = dashboard
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001"), office=FORMULAS[0],
                                            office_name=FORMULAS[1]), retain=True)
    for text in FORMULAS:
        for stream, message in (
                ("event", event("dev-0001", centre.seq("dev-0001"), detail={"why": text, "reason": text})),
                ("telemetry", tele("dev-0001", centre.seq("dev-0001"), readings={"office": {"k": text}})),
                ("report", payloads.report(device="dev-0001", seq=centre.seq("dev-0001"), sent_at=now_iso(),
                                           date=dt.datetime.now(dt.timezone.utc).date().isoformat(),
                                           report={"scheduled_minutes": 60, "serving_minutes": 60,
                                                   "judged_minutes": 60}))):
            centre.send("dev-0001", stream, message)
    import csv
    import io
    admin = logged_in(url)
    for day in ("", "?date=" + dt.date.today().isoformat()):
        status, _, body = admin.get("/report.csv" + day)
        assert status == 200
        for row in csv.reader(io.StringIO(body.decode("utf-8"))):
            for cell in row:
                assert not cell.lstrip(" \u00a0").startswith(("=", "+", "-", "@", "\uff1d", "\t", "\r")) \
                    or re.fullmatch(r"-?\d+(\.\d+)?", cell), (row, cell)


ODD_CODES = ["۱۲۳۴-۵۶۷۸", "١٢٣٤-٥٦٧٨", "abcd-efgh", " ABCD-EFGH ", "ABCD EFGH", "ABCD%2FEFGH", "%00", "A" * 10_000,
             "ß" * 9, "ﬃ" * 9, "\u202eHGFE-DCBA", "..", "ABCD-EFG\u0307", "<script>", "ABCD-EFGH\x00"]


def test_verify_with_odd_codes_never_fails_and_vouches_for_nothing(centre, dashboard):
    url, _ = dashboard
    # a device claims the code ABCD-EFGH: a device's word is never evidence
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001"), code="ABCD-EFGH"), retain=True)
    client = Client(url)
    for path in [f"{api}/verify/{quote(code, safe='')}" for code in ODD_CODES for api in ("", "/api")]:
        status, headers, body = client.get(path)
        assert status in ((200, 400) if path.startswith("/api/") else (400, 404)), (path, status)
        assert headers["X-Frame-Options"] == "DENY"
        if status == 200:
            assert json.loads(body)["found"] is False and json.loads(body)["documents"] == []
        assert b"<script>" not in body


ODD_IDS = ["a/b", "..", "../..", "%00", "dev-0001%00", "dev-0001\u202e", "\u202e1000-ved", "x" * 5000,
           "dev-0001/../dev-0001", "%2e%2e", "dev%2F0001", "<b>", "'; DROP TABLE devices; --"]


def test_the_office_page_for_an_odd_id_is_not_found_never_an_error(centre, dashboard):
    url, _ = dashboard
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    admin = logged_in(url)
    for path in [p.format(quote(device, safe="/%")) for device in ODD_IDS
                 for p in ("/device/{}", "/api/device/{}", "/device/{}/snapshot.png")]:
        status, headers, body = admin.get(path)
        assert status in (404, 400) or (status == 200 and "dev-0001" in path.replace("%00", "x")), (path, status)
        assert status != 500 and headers["X-Content-Type-Options"] == "nosniff"
        assert b"<b>" not in body
    assert centre.db.query_one("SELECT COUNT(*) AS n FROM devices")["n"] >= 1


def test_a_real_code_vouches_only_as_itself(centre, dashboard):
    """A genuine national board comes over MQTT and is recorded; its code vouches, look-alikes of it do not."""
    import dashboard_fleet as F
    from pishkhan.boards.signing import verification_code

    envelope = KEY.sign(F.national_board(4, fee_step=0))
    code = verification_code(envelope)
    done = centre.monitor.received
    centre.publish("centre", f"{ROOT}/all/board", json.dumps(envelope).encode(), retain=True,
                   client=centre.broker.client("centre"))
    assert wait_until(lambda: centre.monitor.received > done)
    centre.monitor.drain()
    assert centre.monitor.documents == 1, centre.monitor.refusals
    client = Client(dashboard[0])
    assert client.get(f"/verify/{code}")[0] == 200
    assert client.get(f"/verify/{quote(' ' + code.lower() + ' ')}")[0] == 200  # the same code, as typed
    fullwidth = "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in code)
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    for twin in (code.replace("-", ""), code.replace("-", " "), code + "\u200b", "\u202e" + code, fullwidth,
                 code[:-1] + code[-1] + "\u0307", code.replace("-", "\u2010")) + ((persian,) if persian != code else ()):
        status, _, body = client.get(f"/api/verify/{quote(twin, safe='')}")
        assert status in (200, 400) and (status == 400 or json.loads(body)["found"] is False), twin


# == more bounds: what one device can do to the numbers and the lists ============================================
def today() -> str:
    return dt.datetime.now(dt.timezone.utc).date().isoformat()


def day_report(device, seq, *, date=None, body_date=None, serving=60):
    body = {"scheduled_minutes": 60, "serving_minutes": serving, "closed_minutes": 60 - serving,
            "judged_minutes": 60}
    if body_date:
        body["date"] = body_date
    return payloads.report(device=device, seq=seq, sent_at=now_iso(), date=date or today(), report=body)


def test_a_report_whose_body_names_another_day_is_refused(centre):
    yesterday = (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)).isoformat()
    message = day_report("dev-0001", centre.seq("dev-0001"), body_date=yesterday)
    assert outcome(centre, "dev-0001", "report", message) != "accepted"
    assert centre.db.query("SELECT * FROM reports") == []


def test_a_report_before_the_birth_is_filed_under_the_registry_province(centre):
    centre.send("dev-0001", "report", day_report("dev-0001", centre.seq("dev-0001")))
    assert [r["province"] for r in centre.db.query("SELECT province FROM reports")] == ["23"]


def test_one_device_cannot_fill_the_alert_list(centre, dashboard):
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    centre.send("dev-0002", "status", birth("dev-0002", centre.seq("dev-0002"), office="23-5678"), retain=True)
    centre.send("dev-0001", "event", event("dev-0001", centre.seq("dev-0001"), "printer_out"))
    client = centre.device("dev-0002")
    for _ in range(300):  # then a flood, each dated as late as the window allows
        client.publish(T.device("dev-0002", "event"),
                       payloads.encode(event("dev-0002", centre.seq("dev-0002"), sent_at=now_iso(80_000))), qos=1)
    centre.marker("dev-0002")
    assert wait_until(lambda: centre.row("dev-0002")["received"] >= 302)
    centre.monitor.drain()
    alerts = json.loads(logged_in(dashboard[0]).get("/api/fleet")[2])["alerts"]
    assert any(a.get("device_id") == "dev-0001" for a in alerts), alerts[:3]


def test_a_retired_device_counts_nowhere(centre, dashboard):
    centre.send("dev-0002", "status", birth("dev-0002", centre.seq("dev-0002"), office="23-5678",
                                            office_name="دفتر ۵۶۷۸"), retain=True)
    registry.retire(centre.db, device_id="dev-0002")
    retired = centre.seq("dev-0002")
    centre.send("dev-0002", "event", event("dev-0002", retired, "printer_out"))
    centre.send("dev-0002", "report", day_report("dev-0002", centre.seq("dev-0002")))
    admin = logged_in(dashboard[0])
    fleet = json.loads(admin.get("/api/fleet")[2])
    assert not [a for a in fleet["alerts"] if a.get("device_id") == "dev-0002" and a.get("seq", 0) >= retired], \
        fleet["alerts"]
    report = json.loads(admin.get("/api/report")[2])
    assert report["totals"]["offices_reporting"] == 0, report["totals"]


def test_full_telemetry_replaces_and_change_only_cannot_grow_without_bound(centre, dashboard):
    send = lambda readings, full: centre.send("dev-0001", "telemetry",  # noqa: E731
                                              tele("dev-0001", centre.seq("dev-0001"), readings=readings, full=full))
    send({"office": {"old": 1}}, True)
    send({"office": {"new": 2}}, True)
    assert '"old"' not in centre.row("dev-0001")["telemetry"] and '"new"' in centre.row("dev-0001")["telemetry"]
    for i in range(40):  # change-only, each new groups and keys: what is kept stays bounded
        send({f"g{i}-{j}": {f"k{k:02d}": "x" * 40 for k in range(30)} for j in range(2)}, False)
    assert len(centre.row("dev-0001")["telemetry"].encode()) <= 70_000
    assert logged_in(dashboard[0]).get("/device/dev-0001")[0] == 200


def test_seq_jumps_at_the_bound(centre):
    for seq in (1, 1 + SEQ_JUMP):                      # a hole of SEQ_JUMP - 1: counted as lost
        centre.send("dev-0001", "telemetry", tele("dev-0001", seq))
    centre.send("dev-0001", "telemetry", tele("dev-0001", 4 + SEQ_JUMP))  # two more lost would pass the bound
    centre.send("dev-0001", "telemetry", tele("dev-0001", 5 + 2 * SEQ_JUMP))  # a jump by itself
    row = centre.row("dev-0001")
    assert row["highest_seq"] - row["received"] - row["seq_skipped"] == SEQ_JUMP - 1
    kinds = [e["kind"] for e in Fleet(centre.db).events(device="dev-0001")]
    assert kinds.count("seq_jumped") == 2


def test_an_empty_retained_payload_on_a_device_stream_is_refused_and_harmless(centre):
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    before = centre.monitor.refused
    centre.send("dev-0001", "status", b"", retain=True)
    assert centre.monitor.refused == before + 1 and centre.monitor.problems() == []
    assert centre.row("dev-0001")["online"] == 1


def test_an_old_genuine_board_replayed_or_moved_changes_nothing(centre, dashboard):
    import dashboard_fleet as F
    from central.official import newest_boards

    centre_client = centre.broker.client("centre")
    old, new = KEY.sign(F.national_board(3, fee_step=0)), KEY.sign(F.national_board(4, fee_step=5))
    for topic, envelope in ((f"{ROOT}/all/board", new), (f"{ROOT}/all/board", old),
                            (f"{ROOT}/province/23/board", new), (f"{ROOT}/all/schedule", new)):
        done = centre.monitor.received
        centre.publish("centre", topic, json.dumps(envelope).encode(), client=centre_client)
        assert wait_until(lambda: centre.monitor.received > done)
    centre.monitor.drain()
    assert centre.monitor.documents == 2, centre.monitor.refusals  # v4, then v3 as the older version it is
    assert centre.monitor.refusals.get("wrong_scope", 0) + centre.monitor.refusals.get("key_not_allowed", 0) >= 1
    rows = centre.db.query("SELECT scope_key, kind, version FROM official ORDER BY version")
    assert [(r["scope_key"], r["kind"], r["version"]) for r in rows] == [("national", "board", 3),
                                                                         ("national", "board", 4)]


ODD_QUERIES = ["province=%00", "province=" + "9" * 5000, "province=..%2F", "date=9999-12-31", "date=0001-01-01",
               "date=2026-02-30", "date=" + "1" * 5000, "state=%F0%9F", "date=2026-13-01", "format=json&date=x",
               "province=23&province=24", "date=%D9%A1%D9%A4%D9%A0%D9%A5-%D9%A0%D9%A9-%D9%A1%D9%A6"]


def test_odd_query_parameters_on_every_page_are_never_an_error(centre, dashboard):
    url, _ = dashboard
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    for user in ("admin", "ops23"):
        client = logged_in(url, user)
        for path in ("/", "/api/fleet", "/devices", "/api/devices", "/report", "/api/report", "/report.csv",
                     "/device/dev-0001", "/metrics"):
            for query in ODD_QUERIES:
                status, headers, _ = client.get(f"{path}?{query}")
                assert status in (200, 400, 404), (user, path, query, status)
    # the province names the CSV file: it cannot add a parameter to Content-Disposition
    status, headers, _ = logged_in(url).get("/report.csv?province=" + quote('1"; filename="evil.exe'))
    assert status == 400 or headers["Content-Disposition"].count("filename") == 1


def test_odd_basic_auth_and_forms_are_refused_not_an_error(centre, dashboard):
    import base64

    url, _ = dashboard
    client = Client(url)
    for header in ("Basic " + "A" * 100_000, "Basic !!!", "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
                   "Basic " + base64.b64encode(b"admin").decode(), "Basic " + base64.b64encode(b":").decode(),
                   "Basic " + base64.b64encode(("a" * 10_000 + ":" + "b" * 10_000).encode()).decode(), "Bearer x"):
        try:
            status = client.get("/metrics", headers={"Authorization": header})[0]
        except (ConnectionError, OSError):  # uvicorn's own header limit (16 kB) answers 400 and closes
            assert len(header) > 16_000
            continue
        assert status in (401, 429, 431, 400), (header[:20], status)
    client.get("/login")
    for form in ({"username": "u" * 10_000, "password": "p"}, {"username": "admin\x00", "password": "x" * 60_000},
                 {"username": "\ud800", "password": "x"}):
        try:
            status = client.post("/login", form)[0]
        except UnicodeEncodeError:
            continue
        assert status in (401, 403, 429), status
    assert all(len(r["username"]) <= 64 and len(r["address"]) <= 64
               for r in centre.db.query("SELECT username, address FROM door_failures"))
    long_address = Client(url, address="1" * 5000)
    long_address.get("/login")
    assert long_address.post("/login", {"username": "admin", "password": "wrong-one"})[0] in (401, 429)
    assert all(len(r["address"]) <= 64 for r in centre.db.query("SELECT address FROM door_failures"))


def test_a_snapshot_is_served_as_an_image_and_nothing_else(centre, dashboard):
    import base64
    import hashlib

    png = b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(1)</script></html>" * 10
    detail = {"png_base64": base64.b64encode(png).decode(), "sha256": hashlib.sha256(png).hexdigest(),
              "bytes": len(png)}
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    message = payloads.result(device="dev-0001", seq=centre.seq("dev-0001"), sent_at=now_iso(),
                              correlation_id="c1", command="snapshot", ok=True, detail=detail)
    reason = outcome(centre, "dev-0001", "result", message)
    status, headers, body = logged_in(dashboard[0]).get("/device/dev-0001/snapshot.png")
    if reason == "accepted":
        assert status == 200 and headers["Content-Type"] == "image/png" and body == png
        assert headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in headers["Content-Security-Policy"] \
            or "default-src 'none'" in headers["Content-Security-Policy"] or "default-src 'self'" in \
            headers["Content-Security-Policy"]
    else:
        assert status == 404


def test_a_device_cannot_forge_an_alert_only_the_centre_raises(centre):
    """The centre's own alerts (a Last Will seen, a birth that disagrees with the registry, a seq jump, a
    refused document) share the events table with the devices' events: a device's event of that name would
    read as the centre's finding."""
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    for kind in ("offline", "identity_mismatch", "seq_jumped", "document_refused"):
        seq = centre.seq("dev-0001")
        forged = event("dev-0001", seq, kind, detail={"reason": "lost", "claimed": {"province": "24"}})
        assert outcome(centre, "dev-0001", "event", forged) == "wrong_kind", kind
        assert centre.db.query("SELECT kind FROM events WHERE device_id = 'dev-0001' AND seq = ?", (seq,)) == []


def test_an_office_page_draws_device_text_as_text(centre, dashboard):
    tag = "<img src=x onerror=alert(1)>"
    message = birth("dev-0001", centre.seq("dev-0001"))
    message["agent_version"] = message["software_version"] = tag[:60]
    centre.send("dev-0001", "status", message, retain=True)
    assert outcome(centre, "dev-0001", "telemetry", tele("dev-0001", centre.seq("dev-0001"), full=True,
                                                         readings={"office": {tag: tag}})) == "accepted"
    assert outcome(centre, "dev-0001", "event", event("dev-0001", centre.seq("dev-0001"), "printer_out",
                                                      detail={"why": tag, tag[:50]: "x"})) == "accepted"
    assert tag in centre.row("dev-0001")["telemetry"] and tag in centre.row("dev-0001")["agent_version"]
    admin = logged_in(dashboard[0])
    for path in ("/", "/devices", "/devices?province=23", "/device/dev-0001", "/report"):
        status, _, body = admin.get(path)
        assert status == 200 and b"<img" not in body, path


def test_seq_holes_just_under_the_jump_bound_add_up_to_any_number_of_lost_messages(centre, dashboard):
    """Each hole just under SEQ_JUMP is not a jump by itself: counted as lost, 20 messages made 20 million."""
    first = centre.seq("dev-0001")
    for i in range(20):
        centre.publish("dev-0001", T.device("dev-0001", "telemetry"), tele("dev-0001", first + i * SEQ_JUMP))
    centre.marker("dev-0001")  # seq first + 1: below the highest, after the others
    row = centre.row("dev-0001")
    kinds = [e["kind"] for e in Fleet(centre.db).events(device="dev-0001")]
    lost = row["highest_seq"] - row["received"] - row["seq_skipped"]
    assert lost <= SEQ_JUMP and kinds.count("seq_jumped") >= 1, (lost, kinds)
    status, _, body = logged_in(dashboard[0]).get("/metrics")
    gaps = re.search(r'pishkhan_sequence_gaps\{province="23"\} ([0-9.e+]+)', body.decode())
    assert gaps and float(gaps[1]) <= SEQ_JUMP, gaps



# == the real commands ============================================================================================
def _command_env():
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    return root, dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_the_monitor_command_survives_hostile_retained_messages_on_every_topic(tmp_path):
    """``pishkhan central monitor`` started over a broker whose every subscribed topic holds something hostile:
    it runs its seconds and ends with 0, having written the good message after them."""
    import subprocess
    import sys

    c = Centre(tmp_path)
    try:
        centre_client = c.broker.client("centre")
        for i, topic in enumerate(["all/board", "all/schedule", "all/holidays", "all/trust", "province/23/board",
                                   "province/99/schedule/x"]):
            c.publish("centre", f"{ROOT}/{topic}", list(HOSTILE.values())[i], retain=True, client=centre_client)
        for i, stream in enumerate(("status", "telemetry", "event", "report", "reported", "result", "facts")):
            c.publish("dev-0001", T.device("dev-0001", stream), list(HOSTILE.values())[-1 - i], retain=True)
        c.publish("dev-0002", T.device("dev-0002", "status"), birth("dev-0002", 50, office="23-5678"), retain=True)
        trust = tmp_path / "trust.pem"
        trust.write_text(TrustList.entry(KEY.public, "national"), encoding="utf-8")
        root, env = _command_env()
        command = [sys.executable, "-m", "cli.main", "central", "monitor", "--broker",
                   f"mqtt://{c.broker.host}:{c.broker.port}", "--db", str(tmp_path / "own.db"), "--username",
                   "centre", "--password-file", str(c.broker.password_file("centre")), "--trust", str(trust),
                   "--seconds", "4"]
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        db = open_db(str(tmp_path / "own.db"))
        try:
            assert db.query_one("SELECT online FROM devices WHERE device_id = 'dev-0002'") == {"online": 1}
        finally:
            db.close()
    finally:
        c.close()


def test_the_dashboard_command_answers_every_attack_without_an_error(centre):
    """``pishkhan central dashboard`` over the attacked database: odd paths, odd queries, forged forms."""
    import subprocess
    import sys

    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    Users(centre.db).add("admin", PASSWORDS["admin"])
    root, env = _command_env()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "central", "dashboard", "--db",
                             str(centre.db.path if hasattr(centre.db, "path") else ""), "--listen",
                             f"127.0.0.1:{port}"], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=30)
        url = f"http://127.0.0.1:{port}"
        admin = logged_in(url)
        for path in ["/report.csv?province=%00", "/report.csv?province=" + quote('1"; filename="x.exe'),
                     "/device/%00", "/device/..%2F..", "/verify/" + "A" * 10_000, "/verify/%D9%A1",
                     "/api/fleet?province=" + "9" * 3000, "/report?date=9999-12-31"]:
            status = admin.get(path)[0]
            assert status in (200, 400, 404), (path, status)
        assert admin.post("/logout", token=False)[0] == 403
        assert proc.poll() is None
    finally:
        proc.terminate()
        out = proc.communicate(timeout=15)[0].decode(errors="replace")
    assert "Traceback" not in out and "Exception in ASGI" not in out, out[-3000:]


def test_a_connection_without_a_last_will_still_shows_the_device_gone(centre):
    """A modified agent connects without a will and drops: the broker tells no one, yet once nothing of the device
    has come for longer than SILENT_AFTER it is offline on the pages and gone for verification, from its last
    message."""
    import paho.mqtt.client as mqtt

    from central import status, verification

    liar = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev-0001", protocol=mqtt.MQTTv311)
    liar.username_pw_set("dev-0001", centre.broker.passwords["dev-0001"])
    liar.connect(centre.broker.host, centre.broker.device_port, 2)  # no will_set
    liar.loop_start()
    done = centre.monitor.received
    liar.publish(T.device("dev-0001", "status"), payloads.encode(birth("dev-0001", 20)), qos=1,
                 retain=True).wait_for_publish(5)
    assert wait_until(lambda: centre.monitor.received > done)
    liar.loop_stop()
    liar.socket().close()  # gone, without DISCONNECT: the broker notices within 1.5 × keepalive (3 s)
    time.sleep(4)
    centre.monitor.drain()
    row = centre.row("dev-0001")
    last = dt.datetime.fromisoformat(row["last_seen"].replace("Z", "+00:00"))
    fleet = centre.monitor.fleet
    day = dt.datetime.now(dt.timezone.utc).date()

    def shown(now):
        view = status.fleet_view(fleet, day=day, now=now)
        device = status.device_row(row, now=now)
        return [d["online"] for d in view["devices"] if d["device_id"] == "dev-0001"] + [device["online"]]

    assert shown(last + dt.timedelta(seconds=30)) == [True, True]  # not yet past its heartbeat's minutes
    later = last + verification.SILENT_AFTER + dt.timedelta(seconds=1)
    assert shown(later) == [False, False]
    assert status.fleet_view(fleet, day=day, now=later, state="offline")["totals"]["offline"] >= 1
    gone = verification.gone_stretches(centre.db, "dev-0001", last - dt.timedelta(hours=1), later)
    assert [(a, w) for a, _, w in gone] == [(last, "silent")] and gone[0][1] == later


def test_what_a_refusal_keeps_of_the_hostile_text_is_safe_and_bounded(centre):
    from pishkhan.text.safety import refused_character

    for key in ("\u202e" + "k" * 90, "a\u2066b", "x\u200fy"):
        assert outcome(centre, "dev-0001", "telemetry",
                       tele("dev-0001", centre.seq("dev-0001"), readings={"office": {key: "\u202e" * 50}})) \
            == "unsafe_text"
    rows = centre.db.query("SELECT last_message FROM refusals")
    assert rows
    for row in rows:
        assert len(row["last_message"]) <= 300 and refused_character(row["last_message"], lines=False) is None, row


def test_nothing_a_visitor_types_comes_back_as_markup(dashboard):
    url, _ = dashboard
    tag = "<img src=x onerror=alert(1)>"
    anonymous = Client(url)
    for path in (f"/login?next={quote(tag)}", f"/login?next=/{quote(tag)}", f"/verify/{quote(tag[:9])}",
                 f"/nowhere/{quote(tag)}"):
        status, _, body = anonymous.get(path)
        assert b"<img" not in body, (path, status)
    admin = logged_in(url)
    for path in (f"/device/{quote(tag)}", f"/devices?state={quote(tag)}", f"/report?date={quote(tag)}",
                 f"/?province={quote(tag)}"):
        status, _, body = admin.get(path)
        assert status != 500 and b"<img" not in body, (path, status)


def test_one_device_flooding_its_event_stream_stores_a_bounded_number(centre):
    client = centre.device("dev-0001")
    first = centre.seq("dev-0001")
    detail = {"why": "x" * 1500}
    for i in range(600):
        client.publish(T.device("dev-0001", "event"),
                       payloads.encode(event("dev-0001", first + 1 + i, "printer_out", detail=detail)), qos=1)
    centre.seqs["dev-0001"] = first + 600
    centre.marker("dev-0001")
    assert wait_until(lambda: centre.row("dev-0001")["received"] >= 601)
    stored = centre.db.query_one("SELECT COUNT(*) AS n FROM events WHERE device_id = 'dev-0001'")["n"]
    assert stored <= 120, f"{stored} events of one device stored within seconds"


def test_a_device_reads_no_other_devices_streams_and_cannot_log_in_at_the_centres_listener(centre):
    import paho.mqtt.client as mqtt

    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    spy = centre.broker.client("dev-0002", client_id="dev-0002")
    got = []
    spy.on_message = lambda c, u, m: got.append(m.topic)
    for topic_filter in (f"{ROOT}/dev/dev-0001/#", f"{ROOT}/dev/+/status", f"{ROOT}/#", "#", "$SYS/#",
                         f"$share/g/{ROOT}/dev/+/event"):
        spy.subscribe(topic_filter, 1)
    time.sleep(0.5)
    centre.marker("dev-0001")
    centre.send("dev-0001", "event", event("dev-0001", centre.seq("dev-0001")))
    time.sleep(0.5)
    assert [t for t in got if "/dev/dev-0001/" in t or t.startswith("$SYS")] == [], got
    # the device's password at the centre's listener
    refused = threading.Event()
    intruder = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pishkhan-monitor-x", protocol=mqtt.MQTTv311)
    intruder.username_pw_set("dev-0002", centre.broker.passwords["dev-0002"])
    intruder.on_connect = lambda c, u, f, rc, p: refused.set() if rc.is_failure else None
    intruder.connect(centre.broker.host, centre.broker.port, 30)
    intruder.loop_start()
    try:
        assert refused.wait(5)
    finally:
        intruder.loop_stop()


# == what becomes official ===================================================================================
def test_only_a_genuine_document_with_a_key_for_its_scope_becomes_official(tmp_path):
    import copy
    import subprocess
    import sys

    import dashboard_fleet as F

    province_key = SigningKey.generate()
    c = Centre(tmp_path)
    c.trust = TrustList.of((KEY.public, "national"), (province_key.public, "province:23"))
    try:
        monitor = c.start_monitor()
        sender = c.broker.client("centre")
        tampered = copy.deepcopy(KEY.sign(F.national_board(5, fee_step=0)))
        tampered["payload"]["categories"][0]["services"][0]["government_fee"] = 1  # a 1-rial fee
        attempts = [
            (f"{ROOT}/all/board", tampered),                                          # edited after signing
            (f"{ROOT}/province/24/board", province_key.sign(F.province_board("24", 1))),  # 23's key, 24's board
            (f"{ROOT}/province/23/board", province_key.sign(F.province_board("24", 1))),  # 24's board on 23's topic
            (f"{ROOT}/all/board", province_key.sign(F.national_board(6, fee_step=0))),    # a province key, national
            (f"{ROOT}/all/board", SigningKey.generate().sign(F.national_board(7, fee_step=0))),  # nobody's key
        ]
        for topic, envelope in attempts:
            done = monitor.received
            c.publish("centre", topic, json.dumps(envelope).encode(), client=sender)
            assert wait_until(lambda: monitor.received > done)
        monitor.drain()
        assert monitor.documents == 0 and monitor.refused == len(attempts), monitor.refusals
        assert {"untrusted", "key_not_allowed"} <= set(monitor.refusals), monitor.refusals
        assert c.db.query("SELECT * FROM official") == []
    finally:
        c.close()
    root, env = _command_env()
    done = subprocess.run([sys.executable, "-m", "cli.main", "central", "monitor", "--broker", "mqtt://127.0.0.1:1",
                           "--db", str(tmp_path / "x.db"), "--seconds", "1"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "trust" in (done.stdout + done.stderr).lower()


# == the fact chain ============================================================================================
def facts_message(device, seq, chain, facts, *, n=1, prev=None):
    from pishkhan.compliance import chain as fact_chain

    links = fact_chain.chain_links(facts, n=n, prev=prev or fact_chain.genesis(device, chain))
    return payloads.facts(device=device, seq=seq, sent_at=now_iso(), chain=chain, links=links), links[-1]["hash"]


ODD_FACT_TIMES = ["9999-99-99T99:99:99+99:99", "0", "-", "T", "2026-13-45T25:61:61Z", "99999999999999999999999",
                  "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-23:59", "2026-12-07T10:00:00.0000000000001Z"]


def test_facts_with_odd_times_break_no_page_and_verify_nothing(centre, dashboard):
    """A fact's ``at`` has only a loose pattern in the schema (digits, T, Z, :, ., +, -), and is stored as sent
    (an honest agent's are always the store's own form; a window would refuse a year-old store's first chain):
    what passes it must not make the office page fail, nor a day verify."""
    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    stamp = dt.datetime.now(dt.timezone.utc).isoformat()
    good = {"kind": "beat", "process": "agent", "boot": "b1", "at": stamp, "mono": "1.0", "synced": True}
    day = stamp[:10]
    odd = ODD_FACT_TIMES + [f"{day}T08:99:99+00:00", f"{day}T24:00:00+00:00", f"{day}T09:00:00+99:99",
                            f"{day}T09:00:00", f"{day}T09:00:00-", f"{day}T10:00:00+00:00+00:00"]
    facts = [good] + [{**good, "at": when, "mono": str(i + 2)} for i, when in enumerate(odd)]
    message, _ = facts_message("dev-0001", centre.seq("dev-0001"), "chainAAAA1", facts)
    reason = outcome(centre, "dev-0001", "facts", message)
    admin = logged_in(dashboard[0])
    centre.send("dev-0001", "report", day_report("dev-0001", centre.seq("dev-0001")))
    for path in ("/device/dev-0001", "/api/device/dev-0001", "/", "/report", "/metrics"):
        status, _, _ = admin.get(path)
        assert status == 200, (path, status, reason)
    verdicts = json.loads(admin.get("/api/device/dev-0001")[2])["verdicts"]
    assert verdicts and not any(v["ok"] for v in verdicts), (reason, verdicts)


def test_a_day_of_many_facts_does_not_hold_the_office_page(centre, dashboard):
    """One device streams 20,000 beats dated today (a beat a minute is 1,440): its office page still answers
    within seconds."""
    from pishkhan.store.database import iso

    centre.send("dev-0001", "status", birth("dev-0001", centre.seq("dev-0001")), retain=True)
    start = dt.datetime.now(dt.timezone.utc).replace(hour=5, minute=0, second=0, microsecond=0)
    client = centre.device("dev-0001")
    n, prev = 1, None
    for m in range(100):
        facts = [{"kind": "beat", "process": "agent", "boot": "b1",
                  "at": iso(start + dt.timedelta(seconds=m * 200 + i)), "mono": f"{m * 200 + i + 1}.0",
                  "synced": True} for i in range(200)]
        message, prev = facts_message("dev-0001", centre.seq("dev-0001"), "chainBBBB1", facts, n=n, prev=prev)
        n += 200
        client.publish(T.device("dev-0001", "facts"), payloads.encode(message), qos=1)
    centre.marker("dev-0001")
    assert wait_until(lambda: centre.db.query_one("SELECT COUNT(*) AS n FROM fact_links")["n"] == 20_000, 60)
    centre.send("dev-0001", "report", day_report("dev-0001", centre.seq("dev-0001")))
    admin = logged_in(dashboard[0])
    began = time.monotonic()
    status, _, _ = admin.get("/device/dev-0001")
    took = time.monotonic() - began
    assert status == 200 and took < 5, took


# == nothing acknowledged is lost while the database is held ==========================================
def test_messages_that_arrive_while_another_process_holds_the_database_are_all_written(centre):
    """Another process (a CLI command, the dashboard's doors) holds the SQLite file's write lock for 2 s while
    a device sends 50 messages: none is refused or lost, every one is in the database after."""
    import sqlite3

    centre.marker("dev-0001")
    holder = sqlite3.connect(str(centre.db.path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    client = centre.device("dev-0001")
    first = centre.seq("dev-0001")
    for i in range(50):
        client.publish(T.device("dev-0001", "telemetry"), payloads.encode(tele("dev-0001", first + i)), qos=1)
    centre.seqs["dev-0001"] = first + 49
    time.sleep(2)
    holder.execute("ROLLBACK")
    holder.close()
    centre.marker("dev-0001")
    assert centre.monitor.refused == 0, centre.monitor.refusals
    seqs = {r["seq"] for r in centre.db.query("SELECT seq FROM seen WHERE device_id = 'dev-0001'")}
    assert set(range(first, first + 50)) <= seqs
