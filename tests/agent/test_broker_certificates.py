"""The fleet's broker, devices by certificate: real Mosquitto 2.0.11 with the listener and ACL the centre ships
(central/broker, pishkhan.protocol.topics.mosquitto_certificate_listener), certificates from the centre's CA
(central/ca.py), MQTT 5 clients so a refused publish is seen (PUBACK 0x87).

One broker for the module; each test signs its own certificates. Revocation goes through the real command
(`pishkhan central devices revoke … --reload-broker PIDFILE`), which sends the SIGHUP Mosquitto reads the
CRL again on.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from agent_helpers import AgentProcess, write_config
from mqtt_broker import MosquittoBroker, _make_cert, _pem, _pem_key

from central import certificates
from central.ca import CertificateAuthority
from central.db import open_db
from cli.main import main as pishkhan
from pishkhan.protocol.topics import Topics

T = Topics()
NOT_AUTHORISED = 0x87


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """A started broker with the fleet's certificate listener, its CA, and a fleet database."""
    base = tmp_path_factory.mktemp("fleet-broker")
    ca = CertificateAuthority.create(base / "ca")
    broker = MosquittoBroker(base / "broker", ca=ca)
    broker.start()
    db = open_db(str(base / "fleet.db"))
    yield {"broker": broker, "ca": ca, "db": db, "dir": base}
    db.close()
    broker.close()


def enrol(fleet, device: str, **kw):
    """A certificate for *device* from the fleet CA, recorded as the enrolment service records it."""
    cert, cert_path, key_path = fleet["broker"].sign(device, **kw)
    fleet["db"].write(lambda c: certificates.record_issued(c, cert, device_id=device, how="enrolled"))
    return cert_path, key_path


ACCEPTED = 0  # a reason code below 0x80 (0x10: accepted, no subscriber) is shown as ACCEPTED


def publish(client, topic: str) -> int:
    """Publish at QoS 1; the PUBACK's reason code, ACCEPTED for any success."""
    done, code = threading.Event(), []
    client.on_publish = lambda c, u, mid, reason_code, props: (
        code.append(ACCEPTED if reason_code.value < 0x80 else reason_code.value), done.set())
    client.publish(topic, b"{}", qos=1)
    assert done.wait(5), "no PUBACK"
    return code[0]


def subscribe(client, *filters) -> list:
    """Subscribe *client* to *filters*; the list the topics of its messages arrive in."""
    got, granted = [], threading.Event()
    client.on_message = lambda c, u, m: got.append(m.topic)
    client.on_subscribe = lambda c, u, mid, codes, props: granted.set()
    client.subscribe([(f, 1) for f in filters])
    assert granted.wait(5)
    return got


def test_a_device_reaches_its_own_topics_and_no_other(fleet):
    broker = fleet["broker"]
    device = broker.tls_client(*enrol(fleet, "dev-2301"))
    centre = broker.client("centre")
    assert publish(device, T.telemetry("dev-2301")) == ACCEPTED
    assert publish(device, T.status("dev-2301")) == ACCEPTED
    # another device's streams: refused, by the certificate's name (the client id is whatever paho chose)
    assert publish(device, T.telemetry("dev-2302")) == NOT_AUTHORISED
    assert publish(device, T.cmd("dev-2301")) == NOT_AUTHORISED  # its inbox is read-only
    # its own inbox arrives; another's does not
    got = subscribe(device, T.cmd("dev-2301"), T.cmd("dev-2302"))
    centre.publish(T.cmd("dev-2302"), b"{}", qos=1).wait_for_publish(5)
    centre.publish(T.cmd("dev-2301"), b"{}", qos=1).wait_for_publish(5)
    assert _waited(lambda: got)
    assert got == [T.cmd("dev-2301")]  # the other's was published first and never came


def test_a_certificate_from_another_ca_is_refused_at_the_handshake(fleet, tmp_path):
    broker = fleet["broker"]
    other = _make_cert("Another CA", None, ca=True)
    key, cert = _make_cert("dev-2301", other)
    (tmp_path / "c.pem").write_bytes(_pem(cert))
    (tmp_path / "c.key").write_bytes(_pem_key(key))
    assert broker.handshake(tmp_path / "c.pem", tmp_path / "c.key") == "TLSV1_ALERT_UNKNOWN_CA"


def test_an_expired_certificate_is_refused(fleet):
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=100)
    assert fleet["broker"].handshake(*enrol(fleet, "dev-2303", now=past, days=90)) == \
        "SSLV3_ALERT_CERTIFICATE_EXPIRED"


def test_a_device_certificate_is_refused_at_the_centres_listener(fleet):
    broker = fleet["broker"]
    cert_path, key_path = enrol(fleet, "dev-2304")
    assert broker.handshake(cert_path, key_path) == "accepted"
    assert broker.handshake(cert_path, key_path, port=broker.port) != "accepted"
    # nor does its name, without the centre's password, open it
    import paho.mqtt.client as mqtt

    plain = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    plain.username_pw_set("dev-2304")
    answer = threading.Event()
    codes = []
    plain.on_connect = lambda c, u, f, reason_code, p: (codes.append(reason_code), answer.set())
    plain.connect(broker.host, broker.port)
    plain.loop_start()
    try:
        assert answer.wait(5) and codes[0].is_failure
    finally:
        plain.loop_stop()


def test_a_revoked_device_is_refused_after_revoke(fleet, capsys):
    broker = fleet["broker"]
    revoked_files, kept_files = enrol(fleet, "dev-2305"), enrol(fleet, "dev-2306")
    open_before = broker.tls_client(*revoked_files)
    before = broker.log().count("Reloading config")
    code = pishkhan(["central", "devices", "revoke", "dev-2305", "--reason", "stolen", "--ca", str(fleet["ca"].directory),
                     "--db", str(fleet["dir"] / "fleet.db"), "--crl", str(broker.crl_path),
                     "--reload-broker", str(broker.pid_path)])
    assert code == 0, capsys.readouterr()
    assert "revoked 1 certificate(s)" in capsys.readouterr().out
    assert _waited(lambda: broker.log().count("Reloading config") > before)
    assert broker.handshake(*revoked_files) == "SSLV3_ALERT_CERTIFICATE_REVOKED"
    assert broker.handshake(*kept_files) == "accepted"  # the others go on
    # Mosquitto 2.0.11 does not cut a connection already open on SIGHUP (docs/broker.md) ...
    assert publish(open_before, T.event("dev-2305")) == ACCEPTED
    # ... so --broker closes it: the centre takes over the device's client id on its own listener
    closed = threading.Event()
    open_before.on_disconnect = lambda *a: closed.set()
    password = broker.password_file("centre")
    assert pishkhan(["central", "devices", "revoke", "dev-2305", "--reason", "stolen", "--ca", str(fleet["ca"].directory),
                     "--db", str(fleet["dir"] / "fleet.db"), "--crl", str(broker.crl_path),
                     "--broker", f"mqtt://{broker.host}:{broker.port}", "--username", "centre",
                     "--password-file", str(password)]) == 0
    assert closed.wait(5) and "closed its open connection" in capsys.readouterr().out
    assert broker.handshake(*revoked_files) == "SSLV3_ALERT_CERTIFICATE_REVOKED"  # and it cannot come back
    open_before.loop_stop()
    assert fleet["db"].read(lambda c: certificates.state_in(c, "dev-2305")).state == "revoked"
    kinds = [r["kind"] for r in fleet["db"].query("SELECT kind FROM enrolment_log WHERE device_id = 'dev-2305'")]
    assert kinds == ["revoked"]


def test_a_crl_past_its_next_update_refuses_every_device(fleet, tmp_path):
    """Why the CRL is refreshed daily (`pishkhan central devices crl`): OpenSSL refuses all once it is stale."""
    broker = MosquittoBroker(tmp_path / "stale", ca=fleet["ca"])
    broker.start()
    try:
        files = enrol(fleet, "dev-2307")
        assert broker.handshake(*files) == "accepted"
        fleet["ca"].write_crl((), path=broker.crl_path, now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=31))
        broker.reload()
        assert broker.handshake(*files) != "accepted"
        assert pishkhan(["central", "devices", "crl", "--ca", str(fleet["ca"].directory), "--crl", str(broker.crl_path),
                         "--db", str(fleet["dir"] / "fleet.db"), "--reload-broker", str(broker.pid_path)]) == 0
        assert _waited(lambda: broker.handshake(*files) == "accepted")
    finally:
        broker.close()


def test_an_enrolled_devices_agent_reaches_the_centre(fleet, tmp_path):
    """The real `pishkhan agent` with a certificate from the centre's CA: its birth reaches the centre."""
    broker = fleet["broker"]
    capture = broker.capture(filters=[T.status("dev-2308")])
    cert_path, key_path = enrol(fleet, "dev-2308")
    mqtt = {"url": f"mqtts://{broker.host}:{broker.tls_port}", "tls": True, "ca_file": str(broker.ca_file),
            "cert_file": str(cert_path), "key_file": str(key_path), "telemetry_seconds": 3600,
            "reconnect_min_seconds": 0.2, "reconnect_max_seconds": 1.0}
    config = write_config(tmp_path / "agent.toml", {"device": {"id": "dev-2308", "state_dir": str(tmp_path / "s")},
                                                    "hours": {"always_open": True}, "mqtt": mqtt})
    agent = AgentProcess(config)
    try:
        assert capture.wait(lambda c: any(m.get("state") == "online" for m in c.decoded("status")), 20), agent.log()
        # it came in by its certificate: the broker took the username from the certificate's name
        assert f"on port {broker.tls_port}" in broker.log() and "u'dev-2308'" in broker.log()
    finally:
        agent.close()
        capture.stop()


def _waited(predicate, timeout: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
