"""Attacks on the centre's enrolment server: a forged client address, hostile hardware serials, one key on two
devices, one claim raced by two devices, a renewal that tries to rename the device, names the broker's ACL would
read as wildcards. Real HTTPS (tests/enrolment_helpers.py), SQLite and PostgreSQL where the store matters."""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest
import requests
from cryptography import x509
from enrolment_helpers import BROKER, make_ca, serving

from central.ca import CertificateRefused
from central.db import open_db
from central.enrolment import claims
from central.enrolment.service import Enrolment, EnrolmentRefused
from pishkhan import claimcode, tls
from pishkhan.exc import CentralError


@pytest.fixture
def centre(tmp_path):
    """A fleet database, the centre's CA (with its server certificate and key) and the enrolment service."""
    db = open_db(str(tmp_path / "fleet.db"))
    ca, cert, key = make_ca(tmp_path)
    service = Enrolment(db, ca=ca, broker_url=BROKER, renew_url="https://127.0.0.1:1")
    yield SimpleNamespace(db=db, ca=ca, cert=cert, key=key, service=service)
    db.close()


def _body(code, key=None, serial="10000000abcdef01"):
    return {"claim": code, "csr": tls.make_csr(key or tls.new_key()).decode(), "hardware_serial": serial}


def test_a_forged_x_forwarded_for_does_not_escape_the_per_address_limit(centre, tmp_path):
    db, ca, service, cert, key = centre.db, centre.ca, centre.service, centre.cert, centre.key
    try:
        with serving(service, tls_cert=cert, tls_key=key) as url, requests.Session() as s:
            answers = [s.post(url + "/v1/enroll", json=_body(claimcode.new_code()), verify=str(ca.cert_file),
                              headers={"X-Forwarded-For": f"198.51.100.{i}", "Forwarded": f"for=198.51.100.{i}"},
                              timeout=10).json()["reason"] for i in range(6)]
        assert answers == ["claim_invalid"] * 5 + ["rate_limited"]
        assert db.query("SELECT DISTINCT address FROM enrolment_log WHERE kind = 'enrolment_refused'") == \
            [{"address": "127.0.0.1"}]
    finally:
        db.close()


def test_behind_a_configured_proxy_its_forwarded_address_is_the_clients():
    from central.enrolment.server import create_app, uvicorn_config

    plain = uvicorn_config(create_app(None), host="127.0.0.1", port=1, tls_cert="c", tls_key="k")
    proxied = uvicorn_config(create_app(None), host="127.0.0.1", port=1, tls_cert="c", tls_key="k",
                             trusted_proxies="10.0.0.5")
    assert (plain.proxy_headers, proxied.proxy_headers, proxied.forwarded_allow_ips) == (False, True, "10.0.0.5")


BAD_SERIALS = ["10000000\x00abcdef", "1000\u202e0000", "10000000\nEVIL", "\u2066abc\u2069", "\x7f", "a\u200fb",
               "<script>", "x" * 201]


def test_a_hardware_serial_with_nul_bidi_or_control_characters_is_refused(fleet_db, tmp_path):
    ca, _cert, _key = make_ca(tmp_path)
    service = Enrolment(fleet_db, ca=ca, broker_url=BROKER, renew_url="https://127.0.0.1:1")
    service.limit.rule = type(service.limit.rule)(max_tries=10_000)
    code, _ = claims.new_claim(fleet_db, office_id="23-5", province="23")
    for serial in BAD_SERIALS:
        with pytest.raises(EnrolmentRefused) as e:
            service.enroll(_body(code, serial=serial), address="10.0.0.1")
        assert e.value.reason == "bad_request", serial
    assert claims.list_claims(fleet_db)[0].used_at is None
    assert service.enroll(_body(code, serial="10000000abcdef01"), address="10.0.0.1")["device_id"]


def test_the_device_sends_a_serial_only_when_it_is_plain_letters_and_digits(tmp_path):
    from provisioning.hardware_serial import PiSerial

    tree, cpuinfo = tmp_path / "serial-number", tmp_path / "cpuinfo"
    cpuinfo.write_text("Serial\t\t: 10000000abcdef01\n")
    tree.write_bytes(b"0000\xe2\x80\xae0000\0")  # a bidi override in the device tree
    assert PiSerial(device_tree=tree, cpuinfo=cpuinfo).read() == "10000000abcdef01"
    tree.write_bytes(b"\x00\x01\x02\0")
    assert PiSerial(device_tree=tree, cpuinfo=tmp_path / "none").read() == ""


def test_one_key_cannot_enrol_two_devices(centre, tmp_path):
    db, ca, service = centre.db, centre.ca, centre.service
    key = tls.new_key()
    first = service.enroll(_body(claims.new_claim(db, office_id="23-1", province="23")[0], key), address="10.0.0.1")
    second_code = claims.new_claim(db, office_id="23-2", province="23")[0]
    with pytest.raises(EnrolmentRefused) as e:  # a cloned SD card, or a key copied off another device
        service.enroll(_body(second_code, key), address="10.0.0.2")
    assert e.value.reason == "key_reused"
    assert [r["device_id"] for r in db.query("SELECT device_id FROM certificates")] == [first["device_id"]]
    assert service.enroll(_body(second_code), address="10.0.0.2")["device_id"].startswith("23-2-")  # a new key: fine
    db.close()


def test_one_claim_raced_by_two_devices_enrols_exactly_one(fleet_db, tmp_path):
    ca, _cert, _key = make_ca(tmp_path)
    service = Enrolment(fleet_db, ca=ca, broker_url=BROKER, renew_url="https://127.0.0.1:1")
    code, _ = claims.new_claim(fleet_db, office_id="23-6", province="23")
    bodies = [_body(code) for _ in range(4)]
    results, start = [None] * 4, threading.Barrier(4)

    def go(i):
        start.wait()
        try:
            results[i] = service.enroll(bodies[i], address=f"10.0.1.{i}")["device_id"]
        except EnrolmentRefused as e:
            results[i] = e.reason

    threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [r for r in results if r.startswith("23-6-")]
    assert len(winners) == 1 and sorted(r for r in results if r not in winners) == ["claim_used"] * 3, results
    assert [r["device_id"] for r in fleet_db.query("SELECT device_id FROM certificates")] == winners
    assert [r["device_id"] for r in fleet_db.query("SELECT device_id FROM registry")] == winners


def test_a_claim_is_never_spent_twice_even_if_its_row_was_read_stale(centre, tmp_path, monkeypatch):
    """The UPDATE that spends a claim is the last word: a stale read (a lost lock) must not enrol a second device."""
    db, ca, service = centre.db, centre.ca, centre.service
    code, _ = claims.new_claim(db, office_id="23-8", province="23")
    stale = claims.find_in.__wrapped__ if hasattr(claims.find_in, "__wrapped__") else claims.find_in
    fresh = db.read(lambda c: stale(c, claimcode.normalise(code)))
    first = service.enroll(_body(code), address="10.0.0.1")
    monkeypatch.setattr(claims, "find_in", lambda c, normalised, lock=False: fresh)
    with pytest.raises(EnrolmentRefused) as e:
        service.enroll(_body(code), address="10.0.0.2")
    assert e.value.reason == "claim_used"
    assert [r["device_id"] for r in db.query("SELECT device_id FROM registry")] == [first["device_id"]]
    db.close()


def test_a_renewal_cannot_rename_the_device_and_a_csr_over_other_bytes_is_refused(centre, tmp_path):
    db, ca, service = centre.db, centre.ca, centre.service
    key = tls.new_key()
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=70)
    then = Enrolment(db, ca=ca, broker_url=BROKER, renew_url="https://127.0.0.1:1", clock=lambda: past)
    answer = then.enroll(_body(claims.new_claim(db, office_id="23-9", province="23", now=past)[0], key),
                         address="10.0.0.1")
    csr = tls.make_csr(tls.new_key(), common_name="23-1-00000000")
    renewed = service.renew({"certificate": answer["certificate"], "csr": csr.decode(),
                             "signature": tls.sign_with(key, csr)}, address="10.0.0.1")
    assert tls.common_name(x509.load_pem_x509_certificate(renewed["certificate"].encode())) == answer["device_id"]
    other = tls.make_csr(tls.new_key())
    with pytest.raises(EnrolmentRefused) as e:
        service.renew({"certificate": answer["certificate"], "csr": other.decode(),
                       "signature": tls.sign_with(key, csr)}, address="10.0.0.1")
    assert e.value.reason == "bad_signature"
    db.close()


@pytest.mark.parametrize("name", ["23-1/#", "23-1+", "#", "+", "23-1/x", "23-1\x00", "%u", "23 1"])
def test_no_certificate_or_claim_names_an_mqtt_wildcard_or_a_topic_level(tmp_path, name):
    """Mosquitto's ACL substitutes the certificate's name for %u; a '/', '+' or '#' in it would widen the pattern."""
    db = open_db(str(tmp_path / "fleet.db"))
    ca, _cert, _key = make_ca(tmp_path)
    with pytest.raises(CertificateRefused):
        ca.sign_device(tls.make_csr(tls.new_key()), device_id=name)
    with pytest.raises(CentralError):
        claims.new_claim(db, office_id=name, province="23")
    db.close()


def test_a_certificate_named_like_a_centre_account_gets_only_a_devices_rights(tmp_path):
    """The centre's accounts (``user centre`` in the ACL) must not be reachable by a certificate's name on the
    devices' listener: that listener reads an ACL of device patterns alone."""
    import threading as th

    from mqtt_broker import MosquittoBroker

    from central.ca import CertificateAuthority

    ca = CertificateAuthority.create(tmp_path / "ca")
    broker = MosquittoBroker(tmp_path / "broker", ca=ca)
    broker.start()
    try:
        _cert, cert_path, key_path = broker.sign("centre")  # an operator's slip, or a CA used for more than devices
        client = broker.tls_client(cert_path, key_path)
        done, codes = th.Event(), []
        client.on_publish = lambda c, u, mid, reason_code, props: (codes.append(reason_code.value), done.set())
        client.publish("pishkhan/v1/dev/23-1234-0000000a/report", b"{}", qos=1)  # another device's stream
        assert done.wait(5), "no PUBACK"
        assert codes == [0x87]
        client.disconnect()
        client.loop_stop()
    finally:
        broker.close()


def test_a_repeated_enrolment_or_a_renewal_does_not_wipe_an_addresss_refusals(tmp_path):
    """Anyone holding one enrolled device could otherwise guess claim codes without limit: four guesses, then
    the same (idempotent) enrolment again to clear the count, and so on."""
    import datetime as dt

    db = open_db(str(tmp_path / "fleet.db"))
    ca, _cert, _key = make_ca(tmp_path)
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=70)
    then = Enrolment(db, ca=ca, broker_url=BROKER, renew_url="https://127.0.0.1:1", clock=lambda: past)
    service = Enrolment(db, ca=ca, broker_url=BROKER, renew_url="https://127.0.0.1:1")
    key = tls.new_key()
    mine = _body(claims.new_claim(db, office_id="23-4", province="23", now=past)[0], key)
    answer = then.enroll(mine, address="203.0.113.9")
    reasons = []
    for _round in range(3):
        for attempt in ("guess", "guess", "repeat", "renew"):
            try:
                if attempt == "guess":
                    service.enroll(_body(claimcode.new_code()), address="203.0.113.9")
                elif attempt == "repeat":  # the same device again: a success, but not a new one
                    service.enroll(mine, address="203.0.113.9")
                else:
                    csr = tls.make_csr(tls.new_key())
                    service.renew({"certificate": answer["certificate"], "csr": csr.decode(),
                                   "signature": tls.sign_with(key, csr)}, address="203.0.113.9")
            except EnrolmentRefused as e:
                reasons.append(e.reason)
    assert reasons[:4] == ["claim_invalid"] * 4 and "rate_limited" in reasons, reasons
    db.close()


def test_a_certificate_far_from_expiry_is_not_renewed_again_and_again(centre, tmp_path):
    """Each renewal is a new certificate row, and a revocation lists them all in the CRL every broker loads."""
    db, ca, service = centre.db, centre.ca, centre.service
    key = tls.new_key()
    answer = service.enroll(_body(claims.new_claim(db, office_id="23-3", province="23")[0], key), address="10.0.0.1")
    csr = tls.make_csr(tls.new_key())
    with pytest.raises(EnrolmentRefused) as e:
        service.renew({"certificate": answer["certificate"], "csr": csr.decode(),
                       "signature": tls.sign_with(key, csr)}, address="10.0.0.1")
    assert e.value.reason == "not_due"
    assert db.query("SELECT COUNT(*) AS n FROM certificates") == [{"n": 1}]
    db.close()


def test_a_renewal_racing_a_revocation_on_postgresql_leaves_no_unrevoked_certificate(postgres_url, tmp_path,
                                                                                        monkeypatch):
    """The renewal has read "not revoked"; the revocation commits; the renewal then issues a new certificate,
    which the revocation never saw. Both must take the device's certificate rows in turn."""
    import psycopg

    from central import registry, revocation

    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS fleet_race")
        c.execute("CREATE DATABASE fleet_race")
    url = postgres_url.rsplit("/", 1)[0] + "/fleet_race"
    db = open_db(url)
    ca, _cert, _key = make_ca(tmp_path)
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=70)
    then = Enrolment(db, ca=ca, broker_url=BROKER, renew_url="https://127.0.0.1:1", clock=lambda: past)
    service = Enrolment(db, ca=ca, broker_url=BROKER, renew_url="https://127.0.0.1:1")
    key = tls.new_key()
    answer = then.enroll(_body(claims.new_claim(db, office_id="23-2", province="23", now=past)[0], key),
                         address="10.0.0.1")
    device_id = answer["device_id"]
    real_identity, done = registry.identity, {}

    def identity_while_revoking(c, wanted):
        revoking = threading.Thread(target=lambda: done.update(r=revocation.revoke(
            db, ca, device_id=device_id, reason="stolen", crl_path=tmp_path / "crl.pem")))
        revoking.start()
        with psycopg.connect(url, autocommit=True) as watch:  # until it has finished, or waits for our lock
            for _ in range(500):
                if not revoking.is_alive() or watch.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'fleet_race' AND "
                        "wait_event_type = 'Lock'").fetchone()[0]:
                    break
                revoking.join(0.01)
        done["thread"] = revoking
        return real_identity(c, wanted)

    monkeypatch.setattr(registry, "identity", identity_while_revoking)
    csr = tls.make_csr(tls.new_key())
    try:
        service.renew({"certificate": answer["certificate"], "csr": csr.decode(),
                       "signature": tls.sign_with(key, csr)}, address="10.0.0.1")
    except EnrolmentRefused as e:
        assert e.reason == "revoked"
    done["thread"].join(10)
    assert "r" in done
    assert db.query("SELECT serial FROM certificates WHERE device_id = ? AND revoked_at IS NULL",
                    (device_id,)) == []
    db.close()


def test_addresses_of_one_ipv6_network_share_one_count(centre, tmp_path):
    """One IPv6 customer holds a /64 (2^64 addresses): counted per address, each guess could come from a new one."""
    db, ca, service = centre.db, centre.ca, centre.service
    reasons = []
    for i in range(6):
        try:
            service.enroll(_body(claimcode.new_code()), address=f"2001:db8:1:2::{i + 1:x}")
        except EnrolmentRefused as e:
            reasons.append(e.reason)
    assert reasons == ["claim_invalid"] * 5 + ["rate_limited"]
    with pytest.raises(EnrolmentRefused) as e:  # another network, and the IPv4 of one address, are counted apart
        service.enroll(_body(claimcode.new_code()), address="2001:db8:1:3::1")
    assert e.value.reason == "claim_invalid"
    with pytest.raises(EnrolmentRefused) as e:
        service.enroll(_body(claimcode.new_code()), address="::ffff:192.0.2.1")
    assert e.value.reason == "claim_invalid"
    db.close()


def test_idle_connections_from_one_address_do_not_shut_the_server_for_every_device(centre, tmp_path, monkeypatch):
    """uvicorn counts open connections against its limit of 64 and never times out one that sends nothing."""
    import socket
    import ssl
    import time

    from central.enrolment import server

    monkeypatch.setattr(server, "CONNECTION_SECONDS", 1.0)
    db, ca, service, cert, key = centre.db, centre.ca, centre.service, centre.cert, centre.key
    context = ssl.create_default_context(cafile=str(ca.cert_file))
    held = []
    try:
        with serving(service, tls_cert=cert, tls_key=key) as url:
            port = int(url.rsplit(":", 1)[1])
            for _ in range(64):  # from another loopback address than the devices' below
                raw = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
                try:
                    held.append(context.wrap_socket(raw, server_hostname="127.0.0.1"))
                except OSError:
                    raw.close()
            r = requests.post(url + "/v1/enroll", json={}, verify=str(ca.cert_file), timeout=10)
            assert r.status_code == 400 and r.json()["reason"] == "bad_request"
            started = time.monotonic()
            held[0].settimeout(5)
            try:
                assert held[0].recv(10) == b""  # closed by the server at its deadline
            except (ConnectionResetError, ssl.SSLError):
                pass
            assert time.monotonic() - started < 3
    finally:
        for s in held:
            s.close()
        db.close()


def test_the_crl_is_written_again_daily_by_a_shipped_timer(tmp_path):
    """A CRL past its next_update (30 days) makes OpenSSL refuse every device: a timer ships to rewrite it."""
    import os
    import subprocess
    import sys

    from required_tools import require_tool

    from central.broker import HERE

    require_tool("systemd-analyze")
    service = (HERE / "pishkhan-crl.service").read_text(encoding="utf-8")
    timer = (HERE / "pishkhan-crl.timer").read_text(encoding="utf-8")
    assert "pishkhan central devices crl " in service and "--crl /etc/mosquitto/certs/pishkhan-crl.pem" in service
    assert "OnCalendar=daily" in timer and "Persistent=true" in timer
    (tmp_path / "pishkhan-crl.service").write_text(
        service.replace("/opt/pishkhan/.venv/bin/pishkhan ", f"{os.path.realpath(sys.executable)} "))
    (tmp_path / "pishkhan-crl.timer").write_text(timer)
    proc = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "pishkhan-crl.service"),
                           str(tmp_path / "pishkhan-crl.timer")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def test_two_copied_cards_enrolling_at_once_on_postgresql_get_one_certificate_for_their_key(postgres_url, tmp_path,
                                                                                             monkeypatch):
    import time

    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS fleet_clones")
        c.execute("CREATE DATABASE fleet_clones")
    db = open_db(postgres_url.rsplit("/", 1)[0] + "/fleet_clones")
    ca, _cert, _key = make_ca(tmp_path)
    service = Enrolment(db, ca=ca, broker_url=BROKER, renew_url="https://127.0.0.1:1")
    sign = ca.sign_device

    def slow_sign(*args, **kw):  # both past the key check before either commits, without the fix
        time.sleep(0.3)
        return sign(*args, **kw)

    monkeypatch.setattr(ca, "sign_device", slow_sign)
    key = tls.new_key()
    codes = [claims.new_claim(db, office_id=f"23-{i}", province="23")[0] for i in (1, 2)]
    results, start = [None, None], threading.Barrier(2)

    def go(i):
        start.wait()
        try:
            results[i] = service.enroll(_body(codes[i], key), address=f"10.0.2.{i}")["device_id"]
        except EnrolmentRefused as e:
            results[i] = e.reason

    threads = [threading.Thread(target=go, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r == "key_reused" for r in results) == [False, True], results
    assert db.query("SELECT COUNT(*) AS n FROM certificates") == [{"n": 1}]
    db.close()


def test_a_csr_asking_to_be_a_ca_or_for_other_names_gets_only_a_device_certificate(centre, tmp_path):
    """The CSR only proves and brings the key: its subject (here 100 attributes) and extensions are ignored."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    db, ca, service = centre.db, centre.ca, centre.service
    key = tls.new_key()
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "centre")]
                                   + [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "A" * 60)] * 100))
           .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
           .add_extension(x509.SubjectAlternativeName([x509.DNSName("broker.example.ir")]), critical=False)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    body = {"claim": claims.new_claim(db, office_id="23-7", province="23")[0], "csr": csr.decode()}
    cert = x509.load_pem_x509_certificate(service.enroll(body, address="10.0.0.1")["certificate"].encode())
    assert cert.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, tls.common_name(cert))])
    assert tls.common_name(cert).startswith("23-7-")
    names = {e.oid for e in cert.extensions}
    assert x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME not in names
    assert not (x509.oid.ExtensionOID.BASIC_CONSTRAINTS in names
                and cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == \
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    db.close()
