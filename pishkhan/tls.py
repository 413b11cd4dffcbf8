"""A device's own TLS key and certificate: made here, kept here, never sent.

- :func:`new_key` / :func:`make_csr`: an ECDSA P-256 key and a certificate
  signing request for it (the centre names the certificate's subject).
- :func:`sign_with` / :func:`signature_holds`: a detached ECDSA-SHA256
  signature (renewal proves the current key this way).
- :func:`write_file`: a file written whole (temporary file, fsync, rename,
  the folder fsynced), with its mode — and its owner when asked.
- :func:`install_pair` / :func:`settle_pair`: a new key and its certificate
  put in place so that a power cut at any instant leaves either the old pair
  or the new one (see :func:`install_pair`).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def new_key() -> ec.EllipticCurvePrivateKey:
    """A new ECDSA P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_key(data: bytes):
    return serialization.load_pem_private_key(data, password=None)


def make_csr(key, *, common_name: str = "") -> bytes:
    """A PEM CSR for *key* (the subject is a courtesy; the centre sets its own)."""
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)] if common_name else [])
    return x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256()).public_bytes(
        serialization.Encoding.PEM)


def public_fingerprint(public_key) -> str:
    """SHA-256 of a public key's SubjectPublicKeyInfo, hex: names a key without showing it."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize().hex()


def sign_with(key, data: bytes) -> str:
    """Base64 of *key*'s ECDSA-SHA256 signature over *data*."""
    return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode("ascii")


def signature_holds(public_key, data: bytes, signature_b64: str) -> bool:
    """Whether *signature_b64* is *public_key*'s ECDSA-SHA256 signature over *data*."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError, AttributeError):
        return False
    return True


def days_left(cert: x509.Certificate, *, now: dt.datetime | None = None) -> float:
    """Days until *cert* expires (negative once expired)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return (cert.not_valid_after_utc - now).total_seconds() / 86400


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def fsync_dir(folder: Path):
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path, data: bytes, *, mode: int, owner: tuple[int, int] | None = None):
    """Write *data* to *path* whole with *mode* (and *owner* ``(uid, gid)``, when given)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)  # by descriptor: the folder may be another user's, who could swap the name
            if owner is not None:
                os.fchown(f.fileno(), *owner)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _next(path: Path) -> Path:
    return path.with_name(path.name + ".next")


def install_pair(key_path, cert_path, *, key: bytes, cert: bytes, owner=None):
    """Put a new key (mode 0600) and its certificate (0644) at *key_path* and *cert_path*.

    Both are written whole beside their targets as ``*.next`` (the key
    first), then renamed over them, the key first. :func:`settle_pair`
    finishes an install a power cut interrupted: a ``cert.next`` means the
    pair is complete and is renamed into place; a lone ``key.next`` was never
    paired and is removed.
    """
    key_path, cert_path = Path(key_path), Path(cert_path)
    write_file(_next(key_path), key, mode=0o600, owner=owner)
    write_file(_next(cert_path), cert, mode=0o644, owner=owner)
    settle_pair(key_path, cert_path)


def settle_pair(key_path, cert_path):
    """Finish (or undo) an install :func:`install_pair` did not finish."""
    key_path, cert_path = Path(key_path), Path(cert_path)
    if _next(cert_path).exists():
        if _next(key_path).exists():
            os.replace(_next(key_path), key_path)
        os.replace(_next(cert_path), cert_path)
        fsync_dir(cert_path.parent)
    elif _next(key_path).exists():
        _next(key_path).unlink()
