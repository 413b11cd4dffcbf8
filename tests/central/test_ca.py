"""The centre's CA (central/ca.py): device and server certificates, CSR checks, the CRL — read back by OpenSSL."""

import datetime as dt
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from central.ca import (DEVICE_DAYS, CertificateAuthority, CertificateRefused, Revoked, make_csr, new_device_key,
                        serial_text)

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def ca(tmp_path):
    return CertificateAuthority.create(tmp_path / "ca", now=NOW)


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True)


def test_a_device_certificate_names_the_device_and_verifies_against_the_ca(ca, tmp_path):
    cert = ca.sign_device(make_csr(new_device_key(), common_name="someone-else"), device_id="dev-2301", now=NOW)
    assert cert.subject.rfc4514_string() == "CN=dev-2301"  # the CA's choice, not the CSR's
    assert cert.not_valid_after_utc - NOW == dt.timedelta(days=DEVICE_DAYS)
    path = tmp_path / "dev.pem"
    path.write_bytes(cert.public_bytes(__import__("cryptography").hazmat.primitives.serialization.Encoding.PEM))
    result = openssl("verify", "-attime", str(int(NOW.timestamp()) + 60), "-purpose", "sslclient",
                     "-CAfile", str(ca.cert_file), str(path))
    assert result.returncode == 0, result.stderr
    assert ca.verify_issued(cert)
    assert not CertificateAuthority.create(tmp_path / "other", now=NOW).verify_issued(cert)


def test_the_ca_key_is_private_and_a_second_ca_is_refused(ca, tmp_path):
    assert (ca.directory / "ca.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(CertificateRefused) as e:
        CertificateAuthority.create(tmp_path / "ca")
    assert e.value.reason == "ca_exists"
    assert CertificateAuthority.open(tmp_path / "ca").certificate == ca.certificate
    with pytest.raises(CertificateRefused) as e:
        CertificateAuthority.open(tmp_path / "none")
    assert e.value.reason == "no_ca"


@pytest.mark.parametrize("csr, reason", [
    (b"", "bad_csr"), (b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "bad_csr"),
    (b"x" * 20000, "bad_csr"), ("weak-ec", "weak_key"), ("weak-rsa", "weak_key"),
])
def test_a_bad_or_weak_csr_is_refused_with_its_reason(ca, csr, reason):
    if csr == "weak-ec":
        csr = make_csr(ec.generate_private_key(ec.SECP192R1()))
    elif csr == "weak-rsa":
        csr = make_csr(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(CertificateRefused) as e:
        ca.sign_device(csr, device_id="dev-2301")
    assert e.value.reason == reason
    assert "http" not in str(e.value)


@pytest.mark.parametrize("device_id", ["", "../etc", "dev 1", "x" * 65, "dev/1", None])
def test_only_a_device_id_becomes_a_common_name(ca, device_id):
    with pytest.raises(CertificateRefused) as e:
        ca.sign_device(make_csr(new_device_key()), device_id=device_id)
    assert e.value.reason == "bad_device_id"


def test_the_crl_lists_what_was_revoked_and_openssl_reads_it(ca):
    cert = ca.sign_device(make_csr(new_device_key()), device_id="dev-2301", now=NOW)
    ca.write_crl([Revoked(cert.serial_number, NOW)], now=NOW)
    text = openssl("crl", "-in", str(ca.crl_file), "-noout", "-text").stdout
    assert serial_text(cert).upper().lstrip("0") in text.replace(":", "").upper()
    assert openssl("crl", "-in", str(ca.crl_file), "-noout", "-CAfile", str(ca.cert_file)).returncode == 0


def test_a_server_certificate_names_its_hosts(ca):
    cert, key = ca.issue_server(["127.0.0.1", "broker.example"], now=NOW)
    from cryptography import x509
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(v) for v in names.get_values_for_type(x509.DNSName)] == ["broker.example"]
    assert [str(v) for v in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert ca.verify_issued(cert)
