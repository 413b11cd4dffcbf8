"""central/revocation.py and `pishkhan central devices revoke|crl|retire --revoke`: the certificates marked revoked,
the CRL written whole, the broker told, refusals by reason; the shipped broker example is what the code writes.

(The broker refusing a revoked device, with the real Mosquitto: tests/agent/test_broker_certificates.py.)
"""

from __future__ import annotations

import datetime as dt
import os
import signal

import pytest
from cryptography import x509

from central import certificates, registry, revocation
from central.broker import HERE, example_files
from central.ca import CertificateAuthority, make_csr, new_device_key
from central.db import open_db
from cli.main import main as pishkhan

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def centre(tmp_path):
    ca = CertificateAuthority.create(tmp_path / "ca", now=NOW)
    url = str(tmp_path / "fleet.db")
    db = open_db(url)
    yield {"ca": ca, "db": db, "url": url, "dir": tmp_path}
    db.close()


def issue(centre, device_id: str, how: str = "enrolled") -> x509.Certificate:
    cert = centre["ca"].sign_device(make_csr(new_device_key()), device_id=device_id, now=NOW)
    centre["db"].write(lambda c: certificates.record_issued(c, cert, device_id=device_id, how=how, now=NOW))
    return cert


def crl_serials(path) -> set[int]:
    return {r.serial_number for r in x509.load_pem_x509_crl(path.read_bytes())}


def test_revoke_marks_every_certificate_writes_the_crl_whole_and_logs_once(centre):
    old, new, other = issue(centre, "dev-2301"), issue(centre, "dev-2301", "renewed"), issue(centre, "dev-2302")
    crl = centre["dir"] / "broker-crl.pem"
    first = revocation.revoke(centre["db"], centre["ca"], device_id="dev-2302", reason="lost", crl_path=crl, now=NOW)
    assert first.serials == [f"{other.serial_number:x}"] and crl_serials(crl) == {other.serial_number}
    done = revocation.revoke(centre["db"], centre["ca"], device_id="dev-2301", reason="stolen", crl_path=crl, now=NOW)
    assert sorted(done.serials) == sorted(f"{c.serial_number:x}" for c in (old, new))
    # whole: the earlier revocation is still listed, and the file is signed by the CA
    assert crl_serials(crl) == {old.serial_number, new.serial_number, other.serial_number}
    assert done.listed == 3 and x509.load_pem_x509_crl(crl.read_bytes()).is_signature_valid(
        centre["ca"].certificate.public_key())
    again = revocation.revoke(centre["db"], centre["ca"], device_id="dev-2301", reason="again", crl_path=crl)
    assert again.serials == [] and again.listed == 3
    log = centre["db"].query("SELECT kind, reason, device_id FROM enrolment_log ORDER BY id")
    assert [(r["kind"], r["reason"], r["device_id"]) for r in log] == [("revoked", "lost", "dev-2302"),
                                                                       ("revoked", "stolen", "dev-2301")]
    assert not list(centre["dir"].glob(".broker-crl.pem.*.tmp"))  # written by rename, nothing left over


@pytest.mark.parametrize("reason", ["", "   ", "two\nlines", "x" * 301])
def test_a_revocation_needs_a_reason(centre, reason):
    issue(centre, "dev-2301")
    with pytest.raises(revocation.RevocationRefused) as refused:
        revocation.revoke(centre["db"], centre["ca"], device_id="dev-2301", reason=reason)
    assert refused.value.reason == "bad_reason"
    assert centre["db"].read(lambda c: certificates.state_in(c, "dev-2301", now=NOW)).state == "valid"


def test_revoking_an_unknown_device_is_refused_and_changes_nothing(centre, capsys):
    issue(centre, "dev-2301")
    crl = centre["ca"].crl_file.read_bytes()
    with pytest.raises(revocation.RevocationRefused) as refused:
        revocation.revoke(centre["db"], centre["ca"], device_id="dev-9999", reason="typo")
    assert refused.value.reason == "unknown_device"
    assert centre["ca"].crl_file.read_bytes() == crl
    assert centre["db"].query("SELECT * FROM enrolment_log") == []
    code = pishkhan(["central", "devices", "revoke", "dev-9999", "--reason", "typo", "--ca", str(centre["ca"].directory),
                     "--db", centre["url"]])
    assert code == 1 and "error: unknown_device:" in capsys.readouterr().err


def test_the_command_reloads_the_broker_by_its_pid_file_or_a_command(centre, tmp_path, capsys):
    issue(centre, "dev-2301")
    got = []
    previous = signal.signal(signal.SIGHUP, lambda *a: got.append("hup"))
    try:
        (tmp_path / "broker.pid").write_text(f"{os.getpid()}\n")
        args = ["central", "devices", "revoke", "dev-2301", "--reason", "stolen", "--ca", str(centre["ca"].directory),
                "--db", centre["url"]]
        assert pishkhan(args + ["--reload-broker", str(tmp_path / "broker.pid")]) == 0
        assert got == ["hup"] and f"SIGHUP to {os.getpid()}" in capsys.readouterr().out
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert pishkhan(args + ["--reload-command", f"touch {tmp_path / 'reloaded'}"]) == 0
    assert (tmp_path / "reloaded").exists() and "already revoked" in capsys.readouterr().out
    # a broker that cannot be told: the revocation stays recorded and the CRL written; the command fails
    assert pishkhan(args + ["--reload-command", "false"]) == 1
    assert "reload_failed:" in capsys.readouterr().err
    assert pishkhan(args + ["--reload-broker", str(tmp_path / "no.pid")]) == 1
    assert "reload_failed:" in capsys.readouterr().err
    from services import free_port

    assert pishkhan(args + ["--broker", f"mqtt://127.0.0.1:{free_port()}"]) == 1  # no broker there
    assert "disconnect_failed:" in capsys.readouterr().err
    assert crl_serials(centre["ca"].crl_file) and capsys.readouterr()


def test_a_revocation_the_broker_was_not_told_of_says_so_in_both_languages(centre, tmp_path, capsys):
    """docs/operations.md's short form (no --crl, no reload): the broker still accepts the device, and ops is told."""
    issue(centre, "dev-2301")
    issue(centre, "dev-2302")
    args = ["central", "devices", "revoke", "--reason", "stolen", "--ca", str(centre["ca"].directory),
            "--db", centre["url"]]
    assert pishkhan(args + ["dev-2301"]) == 0
    err = capsys.readouterr().err
    assert "warning: the broker was not told" in err and "هشدار: کارگزار خبردار نشد" in err and "--reload-broker" in err
    reload = ["--reload-command", f"touch {tmp_path / 'reloaded'}"]
    assert pishkhan(args + ["dev-2302"] + reload) == 0
    err = capsys.readouterr().err
    assert "not told" not in err and "open connection stays" in err and "--broker mqtt://" in err
    assert pishkhan(args + ["dev-2301"] + reload) == 0  # revoked before: the broker refused it since; quiet
    assert capsys.readouterr().err == ""


def test_a_crl_that_cannot_be_written_is_a_refusal_and_running_again_finishes(centre, capsys):
    issue(centre, "dev-2301")
    args = ["central", "devices", "revoke", "dev-2301", "--reason", "stolen", "--ca", str(centre["ca"].directory),
            "--db", centre["url"], "--reload-command", "true"]
    assert pishkhan(args + ["--crl", str(centre["dir"] / "no-such-folder" / "crl.pem")]) == 1
    assert "error: crl_unwritable: cannot write the CRL" in capsys.readouterr().err
    assert centre["db"].read(lambda c: certificates.state_in(c, "dev-2301", now=NOW)).state == "revoked"
    crl = centre["dir"] / "crl.pem"
    assert pishkhan(args + ["--crl", str(crl)]) == 0 and crl_serials(crl)


def test_retire_offers_revoking(centre, capsys):
    issue(centre, "dev-2301")
    issue(centre, "dev-2302")
    for device in ("dev-2301", "dev-2302"):
        registry.register(centre["db"], device_id=device, office_id="23-1234", province="23")
    base = ["central", "devices", "retire", "--db", centre["url"]]
    assert pishkhan(base + ["dev-2301"]) == 0
    assert "devices revoke dev-2301" in capsys.readouterr().out  # it says the certificates are still valid
    assert pishkhan(base + ["dev-2302", "--revoke"]) == 1
    assert "--revoke needs --reason and --ca" in capsys.readouterr().err
    assert pishkhan(base + ["dev-2302", "--revoke", "--reason", "office closed", "--ca",
                            str(centre["ca"].directory)]) == 0
    assert "revoked 1 certificate(s)" in capsys.readouterr().out
    states = {d: centre["db"].read(lambda c, d=d: certificates.state_in(c, d, now=NOW)).state
              for d in ("dev-2301", "dev-2302")}
    assert states == {"dev-2301": "valid", "dev-2302": "revoked"}
    office = centre["db"].query("SELECT office_id FROM enrolment_log WHERE kind = 'revoked'")
    assert office == [{"office_id": "23-1234"}]


def test_crl_refreshes_a_stale_crl(centre, capsys):
    issue(centre, "dev-2301")
    revocation.revoke(centre["db"], centre["ca"], device_id="dev-2301", reason="stolen", now=NOW)
    assert pishkhan(["central", "devices", "crl", "--ca", str(centre["ca"].directory), "--db", centre["url"]]) == 0
    crl = x509.load_pem_x509_crl(centre["ca"].crl_file.read_bytes())
    assert crl.next_update_utc > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=revocation.CRL_DAYS - 1)
    assert len(list(crl)) == 1 and "lists 1" in capsys.readouterr().out


def test_the_shipped_broker_example_is_what_the_code_writes():
    for name, text in example_files().items():
        assert (HERE / name).read_text() == text, f"central/broker/{name}: run central.broker.write_examples()"
    conf = (HERE / "pishkhan.conf").read_text().splitlines()
    for line in ("require_certificate true", "use_identity_as_username true", "use_username_as_clientid true",
                 "tls_version tlsv1.2", "allow_anonymous false"):
        assert line in conf
    assert any(line.startswith("crlfile ") for line in conf)
