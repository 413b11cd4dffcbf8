"""The centre's certificate authority: device certificates, server certificates, revocation.

One folder holds it: ``ca.pem`` (the CA certificate, given to devices and to
Mosquitto's ``cafile``), ``ca.key`` (mode 0600, never leaves the folder) and
``crl.pem`` (the revocation list Mosquitto's ``crlfile`` reads; rewritten
whole, atomically, by :meth:`CertificateAuthority.write_crl`).

A device certificate names the device in its common name (Mosquitto's
``use_identity_as_username`` makes it the username the ACL reads) and is
for client authentication only. Its life is :data:`DEVICE_DAYS`; the agent
renews it when less than :data:`RENEW_WHEN_LEFT_DAYS` remain. Why 90 days:
a device lost or stolen with its SD card stops being trusted within a
quarter even if a revocation never reaches the broker, while an office
closed for a month (Nowruz, a move) still comes back with a certificate
that works and renews itself.

The CA decides a certificate's subject, never the CSR: a CSR only proves
its key (its signature is checked) and brings that key. Refusals are
:exc:`CertificateRefused` with a :attr:`~CertificateRefused.reason` from
:data:`REASONS`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from central.errors import CertificateRefused
# The device's own key, CSR and file helpers serve the CA too (one implementation; the device never imports central/).
from pishkhan.enrolment import RENEW_WHEN_LEFT_DAYS
from pishkhan.tls import cert_pem, key_pem, make_csr, write_file
from pishkhan.tls import new_key as new_device_key

#: A device certificate's life; the agent renews it when RENEW_WHEN_LEFT_DAYS remain (see the module's docstring).
DEVICE_DAYS = 90
#: The CA's own life and a server certificate's (the broker's, the enrolment server's).
CA_DAYS = 20 * 365
SERVER_DAYS = 825

#: Why a certificate was refused or could not be made.
REASONS = CertificateRefused.reasons

_MAX_CSR_BYTES = 16_384


@dataclass(frozen=True)
class Revoked:
    """One revoked certificate, as the CRL lists it."""

    serial: int
    at: dt.datetime


def load_csr(pem: bytes | str) -> x509.CertificateSigningRequest:
    """A CSR whose signature holds and whose key is strong enough; else :exc:`CertificateRefused`."""
    data = pem.encode() if isinstance(pem, str) else pem
    if not isinstance(data, bytes) or not 0 < len(data) <= _MAX_CSR_BYTES:
        raise CertificateRefused(f"the CSR must be 1-{_MAX_CSR_BYTES} bytes of PEM", reason="bad_csr")
    try:
        csr = x509.load_pem_x509_csr(data)
        valid = csr.is_signature_valid
        public = csr.public_key()
    except (ValueError, TypeError) as e:
        raise CertificateRefused("the CSR is not a PEM certificate signing request "
                                 f"({type(e).__name__})", reason="bad_csr") from None
    if not valid:
        raise CertificateRefused("the CSR's signature does not hold", reason="bad_csr")
    if isinstance(public, ec.EllipticCurvePublicKey):
        if public.curve.key_size < 256:
            raise CertificateRefused(f"an EC key needs at least 256 bits, got {public.curve.key_size}",
                                     reason="weak_key")
    elif isinstance(public, rsa.RSAPublicKey):
        if public.key_size < 2048:
            raise CertificateRefused(f"an RSA key needs at least 2048 bits, got {public.key_size}", reason="weak_key")
    elif not isinstance(public, ed25519.Ed25519PublicKey):
        raise CertificateRefused(f"unsupported key type {type(public).__name__}", reason="weak_key")
    return csr


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(microsecond=0)


class CertificateAuthority:
    """The CA kept in *directory* (see the module's docstring)."""

    def __init__(self, directory, *, certificate: x509.Certificate, key):
        self.directory = Path(directory)
        self.certificate = certificate
        self._key = key

    @property
    def cert_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def crl_file(self) -> Path:
        return self.directory / "crl.pem"

    @classmethod
    def create(cls, directory, *, name: str = "Pishkhan Edge device CA", now=None) -> "CertificateAuthority":
        """A new CA in *directory* (made 0700); refused when one is already there."""
        directory = Path(directory)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if (directory / "ca.key").exists():
            raise CertificateRefused(f"{directory} already holds a CA", reason="ca_exists")
        key = ec.generate_private_key(ec.SECP384R1())
        start = _now(now)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start - dt.timedelta(hours=1)).not_valid_after(start + dt.timedelta(days=CA_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA384()))
        write_file(directory / "ca.key", key_pem(key), mode=0o600)
        write_file(directory / "ca.pem", cert_pem(cert), mode=0o644)
        ca = cls(directory, certificate=cert, key=key)
        ca.write_crl((), now=now)
        return ca

    @classmethod
    def open(cls, directory) -> "CertificateAuthority":
        """The CA already in *directory*."""
        directory = Path(directory)
        try:
            cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
            key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), password=None)
        except FileNotFoundError:
            raise CertificateRefused(f"no CA in {directory} (make one with `pishkhan central ca init`)",
                                     reason="no_ca") from None
        return cls(directory, certificate=cert, key=key)

    def _builder(self, subject: x509.Name, public_key, start: dt.datetime, days: int) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(self.certificate.subject)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(start - dt.timedelta(minutes=5)).not_valid_after(start + dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                               critical=False))

    def sign_device(self, csr_pem, *, device_id: str, days: int = DEVICE_DAYS, now=None) -> x509.Certificate:
        """A client certificate for *device_id* (its common name) on the key the CSR proves."""
        from pishkhan.config import SETTINGS

        rule = next(s.kind for s in SETTINGS if s.name == "device.id")
        if not isinstance(device_id, str) or rule.check(device_id, "device id"):
            raise CertificateRefused(f"not a device id: {device_id!r}", reason="bad_device_id")
        csr = load_csr(csr_pem)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)])
        return (self._builder(subject, csr.public_key(), _now(now), days)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                .sign(self._key, hashes.SHA256()))

    def issue_server(self, hostnames, *, days: int = SERVER_DAYS, now=None):
        """A server certificate and its new key for *hostnames* (DNS names or IP addresses)."""
        key = new_device_key()
        names = []
        for host in hostnames:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(hostnames[0]))])
        cert = (self._builder(subject, key.public_key(), _now(now), days)
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(self._key, hashes.SHA256()))
        return cert, key

    def verify_issued(self, cert: x509.Certificate) -> bool:
        """Whether *cert* was signed by this CA (dates and revocation are the caller's)."""
        try:
            cert.verify_directly_issued_by(self.certificate)
        except Exception:  # noqa: BLE001 — InvalidSignature, ValueError, TypeError: all "not ours"
            return False
        return True

    def crl(self, revoked, *, now=None, next_update_days: int = 30) -> x509.CertificateRevocationList:
        """A CRL listing *revoked* (:class:`Revoked` items)."""
        start = _now(now)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.certificate.subject)
                   .last_update(start).next_update(start + dt.timedelta(days=next_update_days)))
        for item in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(item.serial)
                .revocation_date(item.at.astimezone(dt.timezone.utc)).build())
        return builder.sign(self._key, hashes.SHA384())

    def write_crl(self, revoked, *, now=None, path=None) -> Path:
        """Write the CRL for *revoked* to ``crl.pem`` (or *path*), whole; the broker reads it on restart/reload."""
        target = Path(path) if path else self.crl_file
        write_file(target, self.crl(revoked, now=now).public_bytes(serialization.Encoding.PEM), mode=0o644)
        return target


def serial_text(cert: x509.Certificate) -> str:
    """A certificate's serial as the fleet database keeps it (lower-case hex)."""
    return format(cert.serial_number, "x")


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, hex."""
    return cert.fingerprint(hashes.SHA256()).hex()
