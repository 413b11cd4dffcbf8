"""Attacks on the device's side of enrolment: a hostile or buggy centre (one that holds a valid certificate),
a hostile claim file on the boot partition, a hostile renewal answer. Real HTTPS (tests/enrolment_helpers.py)."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from enrolment_helpers import BROKER, make_ca, serving

from central.db import open_db
from central.enrolment import claims
from central.enrolment.service import Enrolment
from pishkhan import tls
from pishkhan.config import load_config
from pishkhan.exc import ConfigError
from provisioning import claim_file
from provisioning.enroll import Enroller, EnrolmentFailed, Places
from provisioning.hardware_serial import FakeSerial

MAIN_TOML = '[device]\nstate_dir = "{state}"\n\n[hours]\nalways_open = true\n'


class HostileEnrolment(Enrolment):
    """The real service whose answer is then changed by :attr:`tamper` (``f(answer) -> answer``)."""

    tamper = staticmethod(lambda answer: answer)
    last_body: dict = {}

    def enroll(self, body, *, address):
        HostileEnrolment.last_body = body
        return super().enroll(body, address=address)

    def answer(self, claim, *, device_id, certificate):
        return self.tamper(super().answer(claim, device_id=device_id, certificate=certificate))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """One hostile centre over real TLS for the whole module: ``(url, ca_file, service, db)``."""
    root = tmp_path_factory.mktemp("hostile")
    db = open_db(str(root / "fleet.db"))
    ca, cert, key = make_ca(root)
    service = HostileEnrolment(db, ca=ca, broker_url=BROKER, renew_url="https://127.0.0.1:9")
    service.limit.rule = type(service.limit.rule)(max_tries=10_000)
    with serving(service, tls_cert=cert, tls_key=key) as url:
        yield url, str(ca.cert_file), service, db
    db.close()


def _device(tmp_path) -> Places:
    etc = tmp_path / "etc"
    etc.mkdir(parents=True)
    config = etc / "pishkhan.toml"
    config.write_text(MAIN_TOML.format(state=tmp_path / "state"), encoding="utf-8")
    return Places(config=config, state_dir=tmp_path / "state")


def _set(path: str, value):
    def tamper(answer):
        *parents, last = path.split(".")
        where = answer
        for p in parents:
            where = where[p]
        where[last] = value
        return answer
    return tamper


BROKEN_PEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
OTHER_KEY_CERT = "other key"  # replaced by a real certificate for another key in the test

HOSTILE_ANSWERS = {
    # the renewal server is written into [enrolment] server: unchecked, it broke the whole config
    "renew url over plain http": _set("renew_url", "http://evil.test/"),
    "renew url with a newline": _set("renew_url", "https://a.test\n[mqtt]\nurl = \"mqtt://evil\""),
    "renew url with DEL": _set("renew_url", "https://a.test/\x7f"),
    "renew url not text": _set("renew_url", 5),
    "renew url a table": _set("renew_url", {"x": 1}),
    "renew url a lone surrogate": _set("renew_url", "https://a.test/\ud800"),
    "office name breaking out of its quotes": _set("office.name", 'x"\n[mqtt]\nurl = "mqtt://evil.test"\n#'),
    "office name with DEL and NUL": _set("office.name", "دفتر\x7f\x00"),
    "office name with a lone surrogate": _set("office.name", "دفتر \ud800"),
    "office name with a bidi override": _set("office.name", "دفتر \u202e1234"),
    "broker not mqtts": _set("broker_url", "mqtt://broker.test:1883"),
    "device id with a path": _set("device_id", "../../etc/passwd"),
    "province not text": _set("province", ["23"]),
    "office not a table": _set("office", "23-1234"),
    "certificate for another key": _set("certificate", OTHER_KEY_CERT),
    "certificate not PEM": _set("certificate", "\u06f1" * 10),
    "another device's id than the certificate's": _set("device_id", "23-1234-ffffffff"),
    "an answer over 4 MiB": _set("schedule", {"padding": "x" * (5 * 1024 * 1024)}),
    "a certificate followed by a broken PEM block": "append broken:certificate",
    "a CA followed by a broken PEM block": "append broken:ca_certificate",
    "an issuer key for any scope": "issuer key any",
    "an issuer key for another province": "issuer key province:99",
}


@pytest.mark.parametrize("attack", HOSTILE_ANSWERS)
def test_a_hostile_answer_is_refused_or_written_so_that_it_reads_back_exactly(hostile, tmp_path, attack):
    url, ca_file, service, db = hostile
    tamper = HOSTILE_ANSWERS[attack]
    if isinstance(tamper, str) and tamper.startswith("append broken:"):
        field = tamper.split(":")[1]
        tamper = lambda answer: answer | {field: answer[field] + BROKEN_PEM}  # noqa: E731
    if tamper in ("issuer key any", "issuer key province:99"):
        from pishkhan.boards.signing import SigningKey

        tamper = _set("issuer_keys", [{"pem": SigningKey.generate().public.pem(), "scope": tamper.split()[-1]}])
    if attack == "certificate for another key":
        other = service.ca.sign_device(tls.make_csr(tls.new_key()), device_id="23-1234-00000000")
        tamper = _set("certificate", tls.cert_pem(other).decode())
    service.tamper = staticmethod(tamper)
    device = _device(tmp_path)
    code = claims.new_claim(db, office_id="23-1234", province="23", office_name="دفتر ۱۲۳۴")[0]
    enroller = Enroller(server=url, ca_file=ca_file, serial=FakeSerial(), places=device)
    try:
        answer = enroller.enroll(code)
    except EnrolmentFailed as e:
        assert e.reason == "refused" and e.exit_code == 15, e
        assert not device.drop_in.exists() and not device.key.exists() and not device.cert.exists()
        assert device.pending_key.exists()  # the same key is sent again once the centre is fixed
        load_config(device.config)  # the device's configuration still loads
        return
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # what the agent's MQTT session loads
    context.load_cert_chain(str(device.cert), str(device.key))
    context.load_verify_locations(str(device.ca))
    config = load_config(device.config)  # what was written reads back as the answer said, or was refused
    from pishkhan.store.database import open_store

    with open_store(config) as store:  # and the store trusts no key beyond the office's own scopes
        assert {r["scope"] for r in store.query("SELECT scope FROM trusted_keys")} <= {"national", "province:23",
                                                                                     "office:23-1234", "command"}
    assert (config.device_id, config.get("office.name"), config.get("office.province"), config.get("mqtt.url"),
            config.get("enrolment.server")) == (answer["device_id"], answer["office"]["name"], answer["province"],
                                                answer["broker_url"], answer["renew_url"])
    assert config.get("mqtt.url").startswith("mqtts://")


def test_a_planted_drop_in_that_does_not_read_back_is_refused(hostile, tmp_path, monkeypatch):
    """The round trip itself is checked: a writer that loses a value is caught before the file is written."""
    from pishkhan import config as config_module

    url, ca_file, service, db = hostile
    service.tamper = staticmethod(lambda answer: answer)
    device = _device(tmp_path)
    real = config_module.toml_value
    monkeypatch.setattr(config_module, "toml_value", lambda v: real(v.replace("۱", "1") if isinstance(v, str) else v))
    code = claims.new_claim(db, office_id="23-1234", province="23", office_name="دفتر ۱۲۳۴")[0]
    with pytest.raises(EnrolmentFailed) as e:
        Enroller(server=url, ca_file=ca_file, serial=FakeSerial(), places=device).enroll(code)
    assert e.value.reason == "refused" and not device.drop_in.exists()


# -- the claim file on the boot partition ------------------------------------------------------
def test_a_claim_file_that_is_a_symlink_or_not_a_file_is_refused_and_never_followed_when_erased(tmp_path):
    precious = tmp_path / "pishkhan.toml"
    precious.write_text("server = https://a.test\nclaim = 7K2M-9QXD-4HTV\n")
    link = tmp_path / "pishkhan-claim.txt"
    link.symlink_to(precious)
    with pytest.raises(ConfigError, match="regular file"):
        claim_file.read(link)
    claim_file.erase(link)  # erasing the link must not zero what it points at
    assert precious.read_text().startswith("server = ") and not link.is_symlink()
    endless = tmp_path / "endless.txt"
    endless.symlink_to("/dev/zero")
    with pytest.raises(ConfigError):
        claim_file.read(endless)  # /dev/zero is never read to the end
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="regular file"):
        claim_file.read(fifo)  # a FIFO would block the boot unit forever


def test_a_claim_file_with_a_key_twice_or_binary_is_refused(tmp_path):
    path = tmp_path / "pishkhan-claim.txt"
    path.write_text("server = https://enrol.test\nclaim = 7K2M-9QXD-4HTV\nserver = https://evil.test\n")
    with pytest.raises(ConfigError, match="line 3"):
        claim_file.read(path)
    path.write_bytes(b"server = https://enrol.test\nclaim = 7K2M\x00-9QXD-4HTV\n")
    with pytest.raises(ConfigError, match="line 2"):
        claim_file.read(path)
    path.write_bytes(b"server = https://enrol.test\xff\nclaim = 7K2M-9QXD-4HTV\n")
    with pytest.raises(ConfigError, match="line 1"):
        claim_file.read(path)
    path.write_bytes(b"x" * (16 * 1024 * 1024))
    with pytest.raises(ConfigError, match="a few lines"):
        claim_file.read(path)


# -- renewal ----------------------------------------------------------------------------------
class HostileRenewal(Enrolment):
    certificate = None  # f(service, csr_pem, device_id) -> PEM the renewal answers

    def renew(self, body, *, address):
        return {"certificate": self.certificate(body["csr"], "23-1234-0000000a")}


@pytest.mark.parametrize("attack", ["already expired", "from another CA", "not yet valid"])
def test_a_renewal_answer_that_would_cut_the_device_off_is_not_installed(tmp_path, attack):
    from central.ca import CertificateAuthority
    from edge_agent.renewal import Renewal

    db = open_db(str(tmp_path / "fleet.db"))
    ca, cert, key = make_ca(tmp_path)
    other = CertificateAuthority.create(tmp_path / "other")
    now = dt.datetime.now(dt.timezone.utc)
    device_key = tls.new_key()
    current = ca.sign_device(tls.make_csr(device_key), device_id="23-1234-0000000a", now=now - dt.timedelta(days=80))
    key_path, cert_path = tmp_path / "device.key", tmp_path / "device.pem"
    tls.install_pair(key_path, cert_path, key=tls.key_pem(device_key), cert=tls.cert_pem(current))
    signer, when = {"already expired": (ca, now - dt.timedelta(days=200)), "from another CA": (other, now),
                    "not yet valid": (ca, now + dt.timedelta(days=30))}[attack]
    service = HostileRenewal(db, ca=ca, broker_url=BROKER, renew_url="x")
    service.certificate = lambda csr, device_id: tls.cert_pem(signer.sign_device(csr, device_id=device_id,
                                                                                 now=when)).decode()
    try:
        with serving(service, tls_cert=cert, tls_key=key) as url:
            renewal = Renewal(cert_file=cert_path, key_file=key_path, ca_file=ca.cert_file, server=url)
            assert renewal.run_once() == "failed:bad_answer"
    finally:
        db.close()
    assert cert_path.read_bytes() == tls.cert_pem(current) and key_path.read_bytes() == tls.key_pem(device_key)


def test_a_copied_card_whose_key_is_another_devices_makes_its_own_key_on_the_next_attempt(hostile, tmp_path):
    url, ca_file, service, db = hostile
    service.tamper = staticmethod(lambda answer: answer)
    first, copy = _device(tmp_path / "first"), _device(tmp_path / "copy")
    Enroller(server=url, ca_file=ca_file, serial=FakeSerial(), places=first)._pending_key()
    copy.tls_dir.mkdir(parents=True)
    copy.pending_key.write_bytes(first.pending_key.read_bytes())  # the card was imaged after its key was made
    code = lambda: claims.new_claim(db, office_id="23-1234", province="23")[0]  # noqa: E731
    Enroller(server=url, ca_file=ca_file, serial=FakeSerial(), places=first).enroll(code())
    enroller = Enroller(server=url, ca_file=ca_file, serial=FakeSerial(), places=copy)
    claim = code()
    with pytest.raises(EnrolmentFailed) as e:
        enroller.enroll(claim)
    assert e.value.reason == "key_reused" and e.value.exit_code == 15 and not copy.pending_key.exists()
    answer = enroller.enroll(claim)
    assert answer["device_id"] != load_config(first.config).device_id and copy.enrolled()


class PowerCut(BaseException):
    """The process stops here (nothing after it runs, no handler catches it)."""


def test_a_power_cut_before_the_store_is_written_leaves_the_device_not_yet_enrolled(hostile, tmp_path, monkeypatch):
    """The drop-in is what makes the device enrolled (the boot unit stops once it exists): it is written last, so a
    cut before the store has the centre's keys and schedule makes the boot unit try again."""
    url, ca_file, service, db = hostile
    service.tamper = staticmethod(lambda answer: answer)
    device = _device(tmp_path)
    code = claims.new_claim(db, office_id="23-1234", province="23")[0]

    def cut(self, answer, cert):
        raise PowerCut()

    monkeypatch.setattr(Enroller, "_store", cut)
    with pytest.raises(PowerCut):
        Enroller(server=url, ca_file=ca_file, serial=FakeSerial(), places=device).enroll(code)
    assert not device.enrolled() and device.pending_key.exists()
    monkeypatch.undo()
    answer = Enroller(server=url, ca_file=ca_file, serial=FakeSerial(), places=device).enroll(code)  # at next boot
    from pishkhan.store.database import open_store

    with open_store(load_config(device.config)) as store:
        assert [f["subject"] for f in store.audit_entries(action="device.enrolled")] == [answer["device_id"]]
    assert device.enrolled() and not device.pending_key.exists()


def test_run_as_root_enrolment_never_gives_away_what_a_symlink_in_the_state_folder_points_at(hostile, tmp_path):
    """The state folder belongs to the service user: if that user (an agent or kiosk taken over) plants symlinks
    there, root's enrolment must not chmod/chown their targets (/etc, /etc/shadow: root for the taker)."""
    if os.geteuid() != 0:
        pytest.skip("giving files away needs root")
    url, ca_file, service, db = hostile
    service.tamper = staticmethod(lambda answer: answer)
    nobody = (65534, 65534)
    victim_dir, victim_file = tmp_path / "etc", tmp_path / "shadow"
    victim_dir.mkdir(mode=0o755)
    victim_file.write_text("root:x:0:0\n")
    device = _device(tmp_path / "device")
    device.state_dir.mkdir(parents=True)
    device.tls_dir.symlink_to(victim_dir)
    with pytest.raises(EnrolmentFailed) as e:
        Enroller(server=url, ca_file=ca_file, serial=FakeSerial(), places=device, owner=nobody).enroll(
            claims.new_claim(db, office_id="23-1234", province="23")[0])
    assert e.value.reason == "local"
    assert (victim_dir.stat().st_uid, oct(victim_dir.stat().st_mode & 0o777)) == (0, "0o755")


def test_the_key_is_never_readable_by_others_at_any_instant_even_under_umask_0(hostile, tmp_path, monkeypatch):
    """Every file a private key passes through (pending, temporary, ``.next``, the key) is 0600 when its bytes
    reach the disk; the centre never receives more of it than the CSR's public key."""
    import stat

    url, ca_file, service, db = hostile
    service.tamper = staticmethod(lambda answer: answer)
    device = _device(tmp_path)
    seen, real_fsync = [], os.fsync

    def watching_fsync(fd):
        real_fsync(fd)
        info = os.fstat(fd)
        name = os.readlink(f"/proc/self/fd/{fd}")
        if stat.S_ISREG(info.st_mode) and "device.key" in name:  # device.key, .pending, .next and their temporaries
            seen.append(stat.S_IMODE(info.st_mode))

    monkeypatch.setattr(os, "fsync", watching_fsync)
    old = os.umask(0)
    try:
        Enroller(server=url, ca_file=ca_file, serial=FakeSerial(), places=device).enroll(
            claims.new_claim(db, office_id="23-1234", province="23")[0])
    finally:
        os.umask(old)
    assert len(seen) >= 2 and set(seen) == {0o600}, seen
    body = HostileEnrolment.last_body
    assert sorted(body) == ["claim", "csr", "hardware_serial"] and not any("PRIVATE" in v for v in body.values())
    secret = b"".join(device.key.read_bytes().splitlines()[1:-1])
    assert secret[:40] not in b"".join(r["detail"].encode() for r in db.query("SELECT detail FROM enrolment_log"))
