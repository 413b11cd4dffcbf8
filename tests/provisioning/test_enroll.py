"""``pishkhan provision enroll`` against the real enrolment server over real TLS, and the agent's renewal."""

from __future__ import annotations

import datetime as dt
import stat
import threading
import time

import pytest
from enrolment_helpers import BROKER, make_ca, serving
from services import free_port

from central import certificates
from central.db import open_db
from central.enrolment import claims
from central.enrolment.service import Enrolment
from central.keys import KeyRing
from cli.main import main
from pishkhan import claimcode, tls
from pishkhan.config import load_config
from provisioning.enroll import Enroller, Places
from provisioning.hardware_serial import FakeSerial, PiSerial

SCHEDULE = {"format": "pishkhan.schedule/1", "issuer": "کارگروه استان", "scope": {"level": "province", "province": "23"},
            "version": 3, "effective_from": "2026-03-21",
            "week": {"saturday": ["07:30-14:30"], "sunday": ["07:30-14:30"], "monday": ["07:30-14:30"],
                     "tuesday": ["07:30-14:30"], "wednesday": ["07:30-14:30"], "thursday": ["07:30-12:30"],
                     "friday": []}, "exceptions": []}
MAIN_TOML = '[device]\nstate_dir = "{state}"\n\n[hours]\nalways_open = true\n\n[office]\nname = "دفتر پیش از ثبت"\n'


class Centre:
    """A fleet database, a CA, the centre's keys and a published schedule, served over HTTPS."""

    def __init__(self, root):
        self.root = root
        self.db = open_db(str(root / "fleet.db"))
        self.ca, self.cert, self.key = make_ca(root)
        ring = KeyRing(root / "keys")
        (root / "keys").mkdir()
        ring.new("national", kind="issuer", scope="national")
        ring.new("tehran", kind="issuer", scope="province:23")
        ring.new("elsewhere", kind="issuer", scope="province:99")
        ring.new("ops", kind="command")
        envelope = ring.load("tehran").sign(SCHEDULE)
        from central import codec
        from pishkhan.boards.signing import verification_code

        self.db.write(lambda c: c.execute(
            "INSERT INTO official(scope_key, kind, version, verification_code, effective_from, issuer, published_at, "
            "envelope) VALUES (?,?,?,?,?,?,?,?)", ("province:23", "schedule", 3, verification_code(envelope),
                                                   "2026-03-21", "x", "2026-03-01T00:00:00Z", codec.dumps(envelope))))
        self.service = Enrolment(self.db, ca=self.ca, broker_url=BROKER, renew_url="https://127.0.0.1:9",
                                 keys_dir=root / "keys")

    @property
    def ca_file(self) -> str:
        return str(self.ca.cert_file)

    def claim(self, **kw) -> str:
        return claims.new_claim(self.db, office_id="23-1234", province="23", office_name="دفتر ۱۲۳۴", **kw)[0]

    def serve(self, **kw):
        return serving(self.service, tls_cert=self.cert, tls_key=self.key, **kw)


@pytest.fixture
def centre(tmp_path):
    c = Centre(tmp_path / "centre")
    yield c
    c.db.close()


@pytest.fixture
def device(tmp_path):
    """The device's main config file (the technician's) and its state folder."""
    etc = tmp_path / "etc"
    etc.mkdir()
    config = etc / "pishkhan.toml"
    config.write_text(MAIN_TOML.format(state=tmp_path / "state"), encoding="utf-8")
    return Places(config=config, state_dir=tmp_path / "state")


def enroll(device, *args):
    return main(["provision", "enroll", "--config", str(device.config), "--fake-serial", "10000000c0ffee01", *args])


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_a_device_enrols_from_the_claim_file_and_writes_everything_whole(centre, device, tmp_path, capsys):
    main_text = device.config.read_bytes()
    boot = tmp_path / "boot"
    boot.mkdir()
    claim_file = boot / "pishkhan-claim.txt"
    code = centre.claim()
    with centre.serve() as url:
        claim_file.write_text(f"# from the working group\nserver = {url}\nclaim = {code.lower()}\n"
                              f"ca = {centre.ca_file}\n", encoding="utf-8")
        assert enroll(device, "--claim-file", str(claim_file)) == 0
    out = capsys.readouterr().out
    assert not claim_file.exists()
    config = load_config(device.config)
    device_id = config.device_id
    assert device_id.startswith("23-1234-") and device_id in out and "دستگاه ثبت شد" in out
    assert "23-1234 (دفتر ۱۲۳۴)" in out  # the technician sees the office's name, and what to do next
    assert "گام بعد:" in out and "next: sudo systemctl restart pishkhan-agent" in out
    assert device.config.read_bytes() == main_text
    assert (config.get("office.office_id"), config.get("office.province"), config.get("office.name")) == \
        ("23-1234", "23", "دفتر ۱۲۳۴")
    assert (config.get("mqtt.url"), config.get("mqtt.cert_file"), config.get("mqtt.key_file")) == \
        (BROKER, str(device.cert), str(device.key))
    assert config.get("enrolment.server") == "https://127.0.0.1:9"
    from edge_agent.session import MqttSettings
    from pishkhan.config import check_agent_files

    check_agent_files(config)
    assert MqttSettings.from_config(config).tls
    assert (mode(device.tls_dir), mode(device.key), mode(device.cert), mode(device.drop_in)) == \
        (0o750, 0o600, 0o644, 0o640)
    assert not device.pending_key.exists()
    key = tls.load_key(device.key.read_bytes())
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(device.cert.read_bytes())
    assert tls.common_name(cert) == device_id
    assert tls.public_fingerprint(cert.public_key()) == tls.public_fingerprint(key.public_key())
    secret = b"".join(device.key.read_bytes().splitlines()[1:-1])
    assert secret[:40] not in (tmp_path / "centre" / "fleet.db").read_bytes()
    from pishkhan.store.database import open_store

    with open_store(config) as store:
        scopes = sorted(r["scope"] for r in store.query("SELECT scope FROM trusted_keys"))
        assert scopes == ["command", "national", "province:23"]  # not province:99's key
        assert [r["version"] for r in store.query("SELECT version FROM schedule_documents")] == [3]
        [fact] = store.audit_entries(action="device.enrolled")
        assert fact["subject"] == device_id and fact["at"]
    # the technician runs it again: the claim is used — by this device, which is told it is enrolled
    with centre.serve() as url:
        assert enroll(device, "--server", url, "--claim", code, "--ca", centre.ca_file) == 12
    err = capsys.readouterr().err
    assert f"this device is enrolled already, as {device_id}" in err and "این دستگاه پیش‌تر ثبت شده است" in err
    assert enroll(device, "--server", "http://enrol.example.ir", "--claim", code) == 16
    err = capsys.readouterr().err
    assert err.startswith("خطا: فرمان یا فایل pishkhan-claim.txt درست نیست") and "expected https://" in err


def test_a_retry_after_a_lost_answer_gets_the_same_device(centre, device):
    with centre.serve() as url:
        code = centre.claim()
        enroller = Enroller(server=url, ca_file=centre.ca_file, serial=FakeSerial(), places=device)
        lost = enroller.request(claimcode.normalise(code), enroller._pending_key())  # the answer never arrived
        assert enroll(device, "--server", url, "--claim", code, "--ca", centre.ca_file) == 0
    assert load_config(device.config).device_id == lost["device_id"]
    kinds = [r["kind"] for r in centre.db.query("SELECT kind FROM enrolment_log ORDER BY id")]
    assert kinds == ["claim_made", "enrolled", "enrolment_repeated"]


def test_used_expired_invalid_and_mistyped_claims_each_have_their_exit_code(centre, device, capsys):
    used = centre.claim()
    centre.service.enroll({"claim": used, "csr": tls.make_csr(tls.new_key()).decode()}, address="10.0.0.1")
    expired = centre.claim(expires=dt.timedelta(minutes=1), now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    good = centre.claim()
    mistyped = good[:5] + ("Z" if good[5] != "Z" else "Y") + good[6:]
    with centre.serve() as url:
        for code, status in ((used, 12), (expired, 11), (claimcode.new_code(), 10)):
            assert enroll(device, "--server", url, "--claim", code, "--ca", centre.ca_file) == status
            err = capsys.readouterr().err
            assert "خطا:" in err and "error:" in err
    closed = f"https://127.0.0.1:{free_port()}"
    assert enroll(device, "--server", closed, "--claim", mistyped, "--ca", centre.ca_file) == 10  # no network needed
    err = capsys.readouterr().err
    assert "mistyped" in err and "اشتباه نوشته شده" in err and "کارگروه استانی" in err
    assert enroll(device, "--server", closed, "--claim", good[:9], "--ca", centre.ca_file) == 10
    err = capsys.readouterr().err
    assert "این کد ثبت نیست" in err and "three groups of four" in err
    # the centre's CA file missing on the device: named, with where it comes from, in both languages
    missing = str(device.state_dir / "centre-ca.pem")
    assert enroll(device, "--server", closed, "--claim", good, "--ca", missing) == 13
    err = capsys.readouterr().err
    assert f"فایل گواهی مرکز ({missing}) روی دستگاه نیست" in err and "install the package" in err and "--ca" in err
    assert not device.drop_in.exists() and not device.cert.exists()


def test_a_server_certificate_from_another_ca_is_refused(centre, device, tmp_path):
    _other, cert, key = make_ca(tmp_path / "impostor")
    with serving(centre.service, tls_cert=cert, tls_key=key) as url:
        assert enroll(device, "--server", url, "--claim", centre.claim(), "--ca", centre.ca_file) == 13
    assert not device.drop_in.exists()
    assert [r["kind"] for r in centre.db.query("SELECT kind FROM enrolment_log")] == ["claim_made"]


def test_without_network_it_fails_at_once_and_with_wait_it_enrols_when_the_server_comes(centre, device):
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    code = centre.claim()
    assert enroll(device, "--server", url, "--claim", code, "--ca", centre.ca_file) == 14
    enroller = Enroller(server=url, ca_file=centre.ca_file, serial=FakeSerial(), places=device)
    said, result = [], {}
    waiting = threading.Thread(target=lambda: result.update(
        answer=enroller.enroll(code, wait=True, backoff=(0.1, 0.3), say=said.append)))
    waiting.start()
    time.sleep(0.5)
    with centre.serve(port=port):
        waiting.join(10)
    assert result["answer"]["device_id"] == load_config(device.config).device_id
    assert said and "no network" in said[0]


def test_the_hardware_serial_comes_from_the_device_tree_else_cpuinfo(tmp_path):
    tree, cpuinfo = tmp_path / "serial-number", tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nHardware\t: BCM2835\nSerial\t\t: 10000000abcdef01\nModel\t: Pi 4\n")
    assert PiSerial(device_tree=tree, cpuinfo=cpuinfo).read() == "10000000abcdef01"
    tree.write_bytes(b"00000000c0ffee99\0")
    assert PiSerial(device_tree=tree, cpuinfo=cpuinfo).read() == "00000000c0ffee99"
    assert PiSerial(device_tree=tmp_path / "no", cpuinfo=tmp_path / "none").read() == ""


# -- renewal on the device ------------------------------------------------------------------
def _enrolled_device(centre, device, *, days_ago: int):
    """A device enrolled *days_ago* days ago: its key and certificate written as enrolment writes them."""
    then = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago)
    old = Enrolment(centre.db, ca=centre.ca, broker_url=BROKER, renew_url="x", clock=lambda: then)
    key = tls.new_key()
    code = claims.new_claim(centre.db, office_id="23-7", province="23", now=then)[0]
    answer = old.enroll({"claim": code, "csr": tls.make_csr(key).decode()}, address="10.0.0.7")
    device.tls_dir.mkdir(parents=True)
    tls.install_pair(device.key, device.cert, key=tls.key_pem(key), cert=answer["certificate"].encode())
    return answer


def test_the_agent_renews_a_certificate_near_expiry_and_a_revoked_one_is_refused(centre, device):
    from edge_agent.renewal import Renewal

    answer = _enrolled_device(centre, device, days_ago=65)
    facts, reconnects = [], []
    with centre.serve() as url:
        renewal = Renewal(cert_file=device.cert, key_file=device.key, ca_file=centre.ca_file, server=url,
                          on_renewed=lambda: reconnects.append(1), record=lambda action, **d: facts.append(action))
        assert renewal.due()
        old_key = device.key.read_bytes()
        assert renewal.run_once() == "renewed"
        assert not renewal.due() and renewal.run_once() == "not_due"
        from cryptography import x509

        cert = x509.load_pem_x509_certificate(device.cert.read_bytes())
        assert tls.common_name(cert) == answer["device_id"] and tls.days_left(cert) > 89
        assert device.key.read_bytes() != old_key and mode(device.key) == 0o600
        key = tls.load_key(device.key.read_bytes())
        assert tls.public_fingerprint(key.public_key()) == tls.public_fingerprint(cert.public_key())
        assert (facts, reconnects) == (["certificate.renewed"], [1])

        centre.db.write(lambda c: certificates.revoke_in(c, answer["device_id"], reason="lost"))
        renewal.left_days = 1000
        assert renewal.run_once() == "failed:revoked"
        assert facts[-1] == "certificate.renewal_failed" and device.cert.read_bytes() == cert.public_bytes(
            __import__("cryptography.hazmat.primitives.serialization", fromlist=["x"]).Encoding.PEM)
    assert renewal.run_once() == "failed:no_network"  # the server is gone: logged, retried later, never raised


def test_the_device_and_the_centre_agree_when_to_renew():
    from central.ca import RENEW_WHEN_LEFT_DAYS as centre_says
    from edge_agent.renewal import Renewal
    from pishkhan.enrolment import RENEW_WHEN_LEFT_DAYS as device_does

    assert device_does == centre_says
    assert Renewal(cert_file="c", key_file="k", ca_file="a", server="https://x").left_days == device_does


def test_a_renewal_cut_by_a_power_cut_settles_to_one_whole_pair(tmp_path):
    key_path, cert_path = tmp_path / "device.key", tmp_path / "device.pem"
    tls.install_pair(key_path, cert_path, key=b"old key", cert=b"old cert")
    (tmp_path / "device.key.next").write_bytes(b"half-made key")  # cut before the certificate was written
    tls.settle_pair(key_path, cert_path)
    assert (key_path.read_bytes(), cert_path.read_bytes()) == (b"old key", b"old cert")
    assert not (tmp_path / "device.key.next").exists()
    (tmp_path / "device.key.next").write_bytes(b"new key")
    (tmp_path / "device.pem.next").write_bytes(b"new cert")  # cut after both were written
    tls.settle_pair(key_path, cert_path)
    assert (key_path.read_bytes(), cert_path.read_bytes()) == (b"new key", b"new cert")
    key_path.write_bytes(b"newer key")
    (tmp_path / "device.pem.next").write_bytes(b"newer cert")  # cut between the two renames
    tls.settle_pair(key_path, cert_path)
    assert (key_path.read_bytes(), cert_path.read_bytes()) == (b"newer key", b"newer cert")


def test_the_session_reloads_a_renewed_certificate(centre, device):
    from edge_agent.session import MqttSettings, Session
    from pishkhan.config import parse_config

    _enrolled_device(centre, device, days_ago=1)
    config = parse_config({"device": {"state_dir": str(device.state_dir)},
                           "mqtt": {"url": "mqtts://127.0.0.1:1", "ca_file": centre.ca_file,
                                    "cert_file": str(device.cert), "key_file": str(device.key)}})
    session = Session(MqttSettings.from_config(config))
    session.reload_certificate()
    device.key.write_bytes(tls.key_pem(tls.new_key()))  # a key that is not the certificate's
    with pytest.raises(Exception):
        session.reload_certificate()


def test_the_claim_file_is_read_line_by_line_and_a_wrong_line_is_named(tmp_path):
    from pishkhan.exc import ConfigError
    from provisioning import claim_file

    path = tmp_path / "pishkhan-claim.txt"
    path.write_bytes("\ufeffserver = https://enrol.test:8443\r\nclaim = \"7k2m 9qxd 4htv\"  # read over the phone\r\n"
                     .encode("utf-8"))
    read = claim_file.read(path)
    assert (read.server, read.claim, read.ca) == ("https://enrol.test:8443", "7k2m 9qxd 4htv", "")
    path.write_text("server = https://enrol.test\ncode = X\n")
    with pytest.raises(ConfigError, match="line 2"):
        claim_file.read(path)
    path.write_text("server = https://enrol.test\n")
    with pytest.raises(ConfigError, match="no claim"):
        claim_file.read(path)
    claim_file.erase(path)
    assert not path.exists()
    claim_file.erase(path)  # gone already: nothing to do


def test_the_boot_unit_verifies_and_runs_only_until_the_device_is_enrolled(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from required_tools import require_tool

    require_tool("systemd-analyze")
    text = (Path(__file__).resolve().parents[2] / "systemd" / "pishkhan-enroll.service").read_text(encoding="utf-8")
    assert "ConditionPathExists=/boot/firmware/pishkhan-claim.txt" in text
    assert "ConditionPathExists=!/etc/pishkhan/pishkhan.d/enrolment.toml" in text
    assert "--claim-file /boot/firmware/pishkhan-claim.txt --wait" in text
    assert "RestartPreventExitStatus=10 11 12 13 16" in text
    unit = tmp_path / "pishkhan-enroll.service"  # the installed binary stands in for /opt/pishkhan's
    unit.write_text(text.replace("/opt/pishkhan/.venv/bin/pishkhan ", f"{os.path.realpath(sys.executable)} "))
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def test_run_as_root_the_secrets_and_the_store_belong_to_the_service_user(centre, device):
    import os

    if os.geteuid() != 0:
        pytest.skip("giving files away needs root")
    nobody = (65534, 65534)
    with centre.serve() as url:
        Enroller(server=url, ca_file=centre.ca_file, serial=FakeSerial(), places=device, owner=nobody).enroll(
            centre.claim())
    for path in (device.tls_dir, device.key, device.cert, device.ca, load_config(device.config).store_path):
        assert (path.stat().st_uid, path.stat().st_gid) == nobody, path
    assert (device.drop_in.stat().st_uid, device.drop_in.stat().st_gid) == (0, 65534)
    assert (device.drop_in.parent.stat().st_uid, device.drop_in.parent.stat().st_gid) == (0, 65534)


def test_after_renewal_the_session_reconnects_to_a_real_broker_with_the_new_pair(centre, device, tmp_path):
    """Mosquitto with require_certificate and use_identity_as_username, trusting the centre's CA."""
    from mqtt_broker import MOSQUITTO, MosquittoBroker

    from central.ca import cert_pem, key_pem
    from edge_agent.renewal import Renewal
    from edge_agent.session import MqttSettings, Session
    from pishkhan.config import parse_config

    if not __import__("os").path.exists(MOSQUITTO):
        pytest.fail("mosquitto is not installed: run `bash scripts/install-system.sh test`")
    answer = _enrolled_device(centre, device, days_ago=65)
    broker = MosquittoBroker(tmp_path / "broker", tls=True)
    server_cert, server_key = centre.ca.issue_server(["127.0.0.1"])
    (broker.tls_dir / "ca.pem").write_bytes(centre.ca.cert_file.read_bytes())  # the centre's CA, not the test one
    (broker.tls_dir / "server.pem").write_bytes(cert_pem(server_cert))
    (broker.tls_dir / "server.key").write_bytes(key_pem(server_key))
    broker.start()
    session = None
    try:
        config = parse_config({"device": {"id": answer["device_id"], "state_dir": str(device.state_dir)},
                               "mqtt": {"url": f"mqtts://127.0.0.1:{broker.tls_port}", "ca_file": centre.ca_file,
                                        "cert_file": str(device.cert), "key_file": str(device.key),
                                        "reconnect_min_seconds": 0.2, "reconnect_max_seconds": 1.0}})
        session = Session(MqttSettings.from_config(config))
        session.start()
        deadline = time.monotonic() + 10
        while not session.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert session.connected, session.describe() + broker.log()[-500:]
        with centre.serve() as url:
            renewal = Renewal(cert_file=device.cert, key_file=device.key, ca_file=centre.ca_file, server=url,
                              on_renewed=session.reload_certificate)
            assert renewal.run_once() == "renewed"
        deadline = time.monotonic() + 10
        while not (session.connected and session.connections == 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert session.connected and session.connections == 2, session.describe()
        assert broker.log().count(f"u'{answer['device_id']}')") == 2  # the broker took the certificate's name twice
    finally:
        if session is not None:
            session.stop()
        broker.close()
