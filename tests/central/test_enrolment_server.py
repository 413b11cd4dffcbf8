"""The centre's enrolment server over real HTTPS: claims, enrolment, idempotent retries, refusals, the
per-address limit, renewal (tests/enrolment_helpers.py starts uvicorn with TLS)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
from cryptography import x509
from enrolment_helpers import BROKER, make_ca, serving

from central import certificates, registry
from central.ca import CertificateAuthority
from central.db import open_db
from central.enrolment import claims
from central.enrolment.service import Enrolment
from pishkhan import claimcode, tls

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def centre(tmp_path):
    """An enrolment server on SQLite; yields (url, ca_file, db, service)."""
    db = open_db(str(tmp_path / "fleet.db"))
    ca, cert, key = make_ca(tmp_path)
    service = Enrolment(db, ca=ca, broker_url=BROKER, renew_url="https://127.0.0.1:1")
    with serving(service, tls_cert=cert, tls_key=key) as url:
        yield url, str(ca.cert_file), db, service
    db.close()


def post(url, ca, path, body, **kw):
    return requests.post(url + path, json=body, verify=ca, timeout=10, **kw)


def enrol_body(code, key=None, serial="10000000abcdef01"):
    key = key or tls.new_key()
    return {"claim": code, "csr": tls.make_csr(key).decode(), "hardware_serial": serial}, key


def log_kinds(db):
    return [(r["kind"], r["reason"]) for r in db.query("SELECT kind, reason FROM enrolment_log ORDER BY id")]


# -- claim codes ------------------------------------------------------------------------
def test_a_claim_code_reads_over_the_phone_and_its_check_character_catches_typing_errors():
    code = claimcode.new_code()
    assert len(code) == 14 and code[4] == code[9] == "-"
    assert not set(code.replace("-", "")) & set("ILOU")
    plain = claimcode.normalise(code)
    spoken = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert claimcode.normalise(spoken) == plain
    for sample in [plain] + [claimcode.normalise(claimcode.new_code()) for _ in range(30)]:
        for i in range(12):
            for ch in claimcode.ALPHABET:
                if ch != sample[i]:
                    with pytest.raises(claimcode.CodeUnreadable) as e:
                        claimcode.normalise(sample[:i] + ch + sample[i + 1:])
                    assert e.value.reason == "mistyped"
            if i < 11 and sample[i] != sample[i + 1]:
                with pytest.raises(claimcode.CodeUnreadable):
                    claimcode.normalise(sample[:i] + sample[i + 1] + sample[i] + sample[i + 2:])
    for bad in ("", "ABCD-EFGH", "UUUU-UUUU-UUUU", "x" * 100):
        with pytest.raises(claimcode.CodeUnreadable) as e:
            claimcode.normalise(bad)
        assert e.value.reason == "malformed"


def test_claims_are_stored_hashed_expire_and_are_listed(tmp_path, capsys):
    from cli.main import main

    url = str(tmp_path / "fleet.db")
    assert main(["central", "claims", "new", "--office", "23-1234", "--province", "23", "--office-name", "دفتر ۱",
                 "--expires", "2d", "--db", url]) == 0
    code = capsys.readouterr().out.strip()
    claimcode.normalise(code)
    raw = (tmp_path / "fleet.db").read_bytes()
    assert code.encode() not in raw and code.replace("-", "").encode() not in raw
    with open_db(url) as db:
        [claim] = claims.list_claims(db)
        assert claim.office_id == "23-1234" and claim.state(dt.datetime.now(dt.timezone.utc)) == "open"
        made = dt.datetime.fromisoformat(claim.created_at.replace("Z", "+00:00"))
        assert claim.state(made + dt.timedelta(days=2, seconds=1)) == "expired"
        assert log_kinds(db) == [("claim_made", "")]
    assert main(["central", "claims", "list", "--db", url]) == 0
    assert "\topen\t23\t23-1234\t" in capsys.readouterr().out
    assert main(["central", "claims", "new", "--office", "23-1234", "--province", "23", "--expires", "91d",
                 "--db", url]) == 1


def test_a_replacement_claim_keeps_the_offices_name_and_licence_and_an_unnamed_one_is_warned(tmp_path, capsys):
    """docs/operations.md's replacement step gives only --office and --province: the new device must still
    show the office's name on its board."""
    from cli.main import main

    url = str(tmp_path / "fleet.db")
    new = ["central", "claims", "new", "--province", "23", "--db", url]
    assert main(new + ["--office", "23-7", "--office-name", "دفتر ۷", "--licence", "۲۳-۷"]) == 0
    capsys.readouterr()
    assert main(new + ["--office", "23-7"]) == 0
    assert "(دفتر ۷, licence ۲۳-۷)" in capsys.readouterr().err
    assert main(new + ["--office", "23-8"]) == 0  # never named: nothing to take, and ops is told
    err = capsys.readouterr().err
    assert "warning: no office name" in err and "هشدار: نام دفتر داده نشده است" in err
    with open_db(url) as db:
        assert sorted((c.office_id, c.office_name, c.licence) for c in claims.list_claims(db)) == [
            ("23-7", "دفتر ۷", "۲۳-۷"), ("23-7", "دفتر ۷", "۲۳-۷"), ("23-8", "", "")]


# -- enrolment ---------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_enrolment_signs_registers_records_and_a_retry_gets_the_same_answer(backend, tmp_path, request):
    if backend == "sqlite":
        db = open_db(str(tmp_path / "fleet.db"))
    else:
        import psycopg

        base = request.getfixturevalue("postgres_url")
        with psycopg.connect(base, autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS fleet_enrolment")
            c.execute("CREATE DATABASE fleet_enrolment")
        db = open_db(base.rsplit("/", 1)[0] + "/fleet_enrolment")
    ca, cert_file, key_file = make_ca(tmp_path)
    service = Enrolment(db, ca=ca, broker_url=BROKER, renew_url="https://enrol.test:8443")
    code, claim = claims.new_claim(db, office_id="23-1234", province="23", office_name="دفتر ۱۲۳۴", licence="۲۳-۱")
    with serving(service, tls_cert=cert_file, tls_key=key_file) as url:
        body, key = enrol_body(code)
        first = post(url, str(ca.cert_file), "/v1/enroll", body)
        assert first.status_code == 200, first.text
        answer = first.json()
        again = post(url, str(ca.cert_file), "/v1/enroll", body | {"claim": code.lower().replace("-", " ")})
        other = post(url, str(ca.cert_file), "/v1/enroll", enrol_body(code)[0])
    assert again.status_code == 200 and again.json() == answer
    assert other.status_code == 409 and other.json()["reason"] == "claim_used"
    assert set(other.json()) == {"reason", "message_fa", "message_en"}
    device = answer["device_id"]
    assert device.startswith("23-1234-") and len(device) == len("23-1234-") + 8
    assert answer["office"] == {"name": "دفتر ۱۲۳۴", "licence": "۲۳-۱", "office_id": "23-1234"}
    assert (answer["province"], answer["broker_url"], answer["renew_url"]) == ("23", BROKER, "https://enrol.test:8443")
    assert answer["ca_certificate"] == ca.cert_file.read_text()
    assert answer["schedule"] is None and answer["issuer_keys"] == [] and answer["command_keys"] == []
    issued = x509.load_pem_x509_certificate(answer["certificate"].encode())
    assert tls.common_name(issued) == device and ca.verify_issued(issued)
    assert tls.public_fingerprint(issued.public_key()) == tls.public_fingerprint(key.public_key())
    assert registry.entry(db, device).office_id == "23-1234"
    assert db.query("SELECT province, office_id, online, last_seen FROM devices WHERE device_id = ?", (device,)) == [
        {"province": "23", "office_id": "23-1234", "online": 0, "last_seen": None}]  # on the dashboard, never seen
    assert db.query("SELECT device_id, how FROM certificates") == [{"device_id": device, "how": "enrolled"}]
    assert log_kinds(db) == [("claim_made", ""), ("enrolled", ""), ("enrolment_repeated", ""),
                             ("enrolment_refused", "claim_used")]
    [used] = claims.list_claims(db)
    assert used.device_id == device and used.hardware_serial == "10000000abcdef01"
    db.close()


def test_every_refusal_has_its_reason_and_is_logged(centre):
    url, ca, db, _service = centre
    stale, _ = claims.new_claim(db, office_id="23-1", province="23", expires=dt.timedelta(minutes=1),
                                now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=2))
    good, _ = claims.new_claim(db, office_id="23-2", province="23")
    mistyped = good[:-1] + ("A" if good[-1] != "A" else "B")
    cases = [(enrol_body(stale)[0], 403, "claim_expired"),
             (enrol_body(claimcode.new_code())[0], 403, "claim_invalid"),
             (enrol_body(mistyped)[0], 403, "claim_invalid"),
             ({"claim": good, "csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", "hardware_serial": ""}, 400,
              "bad_csr")]
    for body, code, reason in cases:
        r = post(url, ca, "/v1/enroll", body)
        assert (r.status_code, r.json()["reason"]) == (code, reason)
        assert r.json()["message_fa"] and r.json()["message_en"]
    db.write(lambda c: c.execute("DELETE FROM door_locks"))  # four refusals so far: below the limit again
    raw = requests.post(url + "/v1/enroll", data=b'{"claim": 1, "claim": 2}', verify=ca, timeout=10)
    assert raw.status_code == 400 and raw.json()["reason"] == "bad_request"
    big = requests.post(url + "/v1/enroll", data=b"{" + b" " * 40_000 + b"}", verify=ca, timeout=10)
    assert big.status_code == 413 and big.json()["reason"] == "too_large"
    logged = [r for r in log_kinds(db) if r[0] == "enrolment_refused"]
    assert logged == [("enrolment_refused", "claim_expired"), ("enrolment_refused", "claim_invalid"),
                      ("enrolment_refused", "claim_invalid"), ("enrolment_refused", "bad_csr"),
                      ("enrolment_refused", "bad_request"), ("enrolment_refused", "too_large")]
    assert db.query("SELECT DISTINCT address FROM enrolment_log WHERE kind = 'enrolment_refused'") == \
        [{"address": "127.0.0.1"}]


def test_failed_attempts_are_limited_per_address(centre):
    url, ca, db, _service = centre
    good, _ = claims.new_claim(db, office_id="23-3", province="23")
    for _ in range(5):
        assert post(url, ca, "/v1/enroll", enrol_body(claimcode.new_code())[0]).json()["reason"] == "claim_invalid"
    r = post(url, ca, "/v1/enroll", enrol_body(good)[0])
    assert r.status_code == 429 and r.json()["reason"] == "rate_limited"
    assert log_kinds(db)[-1] == ("enrolment_refused", "rate_limited")
    assert claims.list_claims(db)[0].used_at is None


# -- renewal -------------------------------------------------------------------------------
def _enrolled(service, db, *, now):
    """A device enrolled at *now* (its certificate as old as that)."""
    code, _ = claims.new_claim(db, office_id="23-9", province="23", now=now)
    body, key = enrol_body(code)
    then = Enrolment(db, ca=service.ca, broker_url=BROKER, renew_url="https://127.0.0.1:1", clock=lambda: now)
    answer = then.enroll(body, address="10.0.0.9")
    return answer, key


def renew_body(cert_pem, current_key, new_key=None):
    csr = tls.make_csr(new_key or tls.new_key())
    return {"certificate": cert_pem, "csr": csr.decode(), "signature": tls.sign_with(current_key, csr)}


def test_renewal_needs_this_cas_live_unrevoked_certificate_and_the_current_keys_signature(centre, tmp_path):
    url, ca, db, service = centre
    answer, key = _enrolled(service, db, now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=70))
    new_key = tls.new_key()
    r = post(url, ca, "/v1/renew", renew_body(answer["certificate"], key, new_key))
    assert r.status_code == 200, r.text
    renewed = x509.load_pem_x509_certificate(r.json()["certificate"].encode())
    assert tls.common_name(renewed) == answer["device_id"]
    assert tls.public_fingerprint(renewed.public_key()) == tls.public_fingerprint(new_key.public_key())
    assert tls.days_left(renewed) > 89
    assert [r["how"] for r in db.query("SELECT how FROM certificates ORDER BY issued_at")] == ["enrolled", "renewed"]

    forged = renew_body(answer["certificate"], tls.new_key())
    assert post(url, ca, "/v1/renew", forged).json()["reason"] == "bad_signature"
    other_ca = CertificateAuthority.create(tmp_path / "other")
    stranger_key = tls.new_key()
    stranger = tls.cert_pem(other_ca.sign_device(tls.make_csr(stranger_key), device_id=answer["device_id"])).decode()
    assert post(url, ca, "/v1/renew", renew_body(stranger, stranger_key)).json()["reason"] == "not_ours"
    old, _ = _enrolled(service, db, now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=91))
    assert post(url, ca, "/v1/renew", renew_body(old["certificate"], _)).json()["reason"] == "expired"
    db.write(lambda c: certificates.revoke_in(c, answer["device_id"], reason="stolen"))
    r = post(url, ca, "/v1/renew", renew_body(r.json()["certificate"], new_key))
    assert (r.status_code, r.json()["reason"]) == (403, "revoked")
    kinds = log_kinds(db)
    assert ("renewed", "") in kinds
    assert [k for k in kinds if k[0] == "renewal_refused"] == [
        ("renewal_refused", "bad_signature"), ("renewal_refused", "not_ours"), ("renewal_refused", "expired"),
        ("renewal_refused", "revoked")]


def test_the_commands_make_a_ca_and_a_server_certificate_and_serve_enrolment(tmp_path, capsys):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from cli.main import main
    from services import free_port

    assert main(["central", "ca", "init", "--dir", str(tmp_path / "ca")]) == 0
    assert main(["central", "ca", "server-cert", "--dir", str(tmp_path / "ca"), "--host", "127.0.0.1",
                 "--host", "localhost", "--out", str(tmp_path / "enrol")]) == 0
    assert oct((tmp_path / "enrol.key").stat().st_mode & 0o777) == "0o600"
    # the broker's, into a folder not made yet (docs/broker.md: /etc/mosquitto/certs/broker)
    assert main(["central", "ca", "server-cert", "--dir", str(tmp_path / "ca"), "--host", "127.0.0.1",
                 "--out", str(tmp_path / "mosquitto" / "certs" / "broker")]) == 0
    assert (tmp_path / "mosquitto" / "certs" / "broker.pem").is_file()
    db_url = str(tmp_path / "fleet.db")
    assert main(["central", "claims", "new", "--office", "23-5", "--province", "23", "--db", db_url]) == 0
    code = capsys.readouterr().out.strip().splitlines()[-1]
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "central", "enroll-server", "--ca", str(tmp_path / "ca"),
         "--listen", f"127.0.0.1:{port}", "--db", db_url, "--tls-cert", str(tmp_path / "enrol.pem"),
         "--tls-key", str(tmp_path / "enrol.key"), "--broker-url", "mqtts://127.0.0.1:8883"],
        cwd=root, env=os.environ | {"PYTHONPATH": str(root)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        ca = str(tmp_path / "ca" / "ca.pem")
        deadline = time.monotonic() + 20
        while True:
            try:
                r = post(f"https://127.0.0.1:{port}", ca, "/v1/enroll", enrol_body(code)[0])
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and server.poll() is None, server.stdout.read().decode()
                time.sleep(0.1)
        assert r.status_code == 200, r.text
        assert r.json()["renew_url"] == f"https://127.0.0.1:{port}"
    finally:
        server.kill()  # a graceful stop waits up to 5 s for idle TLS connections
        server.wait(10)
