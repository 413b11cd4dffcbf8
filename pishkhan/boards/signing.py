"""Ed25519 signatures over a canonical JSON form.

A signed document is an envelope::

    {"format": "pishkhan.signed/1",
     "payload": {...the board or schedule...},
     "signature": {"alg": "ed25519", "key": "<fingerprint>", "value": "<base64>"}}

The signature covers :func:`canonical` of the payload: keys sorted, no
white space, UTF-8. Keys are named by a short fingerprint of the public key.
The envelope and its ``signature`` hold exactly these keys (any other is
refused, with a hint), the payload is an object, and a payload JSON cannot
write exactly (NaN, an unpaired surrogate, nesting too deep) is refused with
:exc:`SignatureInvalid`, never another exception. Files are read with the
strict loader of :mod:`pishkhan.boards.jsonlimits`, which also refuses a
second ``payload``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pishkhan.exc import KeyFileError, SignatureInvalid

# cryptography is imported where it is used: its memory (docs/performance.md) the
# kiosk and the display need only when a board is installed.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ENVELOPE = "pishkhan.signed/1"


def canonical(payload) -> bytes:
    """The exact bytes that are signed for *payload*."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _raw(public: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: 16 hex digits of its SHA-256."""
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    """A trusted issuer's public key."""

    key: Ed25519PublicKey

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)

    def pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return self.key.public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    @classmethod
    def from_pem(cls, text: str | bytes, *, source: str = "key") -> "PublicKey":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            key = serialization.load_pem_public_key(text.encode() if isinstance(text, str) else text)
        except ValueError as e:
            raise KeyFileError(f"{source}: not a PEM public key ({e})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(f"{source}: expected an Ed25519 public key, got {type(key).__name__}")
        return cls(key)

    @classmethod
    def load(cls, path) -> "PublicKey":
        path = Path(path)
        try:
            return cls.from_pem(path.read_bytes(), source=str(path))
        except FileNotFoundError:
            raise KeyFileError(f"{path}: no such public key file") from None


@dataclass(frozen=True)
class SigningKey:
    """An issuer's private key."""

    key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> "SigningKey":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.generate())

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.key.public_key())

    @classmethod
    def load(cls, path) -> "SigningKey":
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        path = Path(path)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise KeyFileError(f"{path}: no such private key file") from None
        except (ValueError, TypeError) as e:
            raise KeyFileError(f"{path}: not an unencrypted PEM private key ({e})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"{path}: expected an Ed25519 private key, got {type(key).__name__}")
        return cls(key)

    def save(self, directory, name: str = "issuer") -> tuple[Path, Path]:
        """Write ``NAME.key`` (mode 0600) and ``NAME.pub`` into *directory*."""
        from cryptography.hazmat.primitives import serialization

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        private = directory / f"{name}.key"
        public = directory / f"{name}.pub"
        pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        public.write_text(self.public.pem())
        return private, public

    def sign(self, payload) -> dict:
        """Return the signed envelope for *payload*."""
        value = self.key.sign(canonical(payload))
        return {"format": ENVELOPE, "payload": payload,
                "signature": {"alg": "ed25519", "key": self.public.fingerprint,
                              "value": base64.b64encode(value).decode()}}


def _canonical_checked(payload) -> bytes:
    """:func:`canonical`, raising :exc:`SignatureInvalid` for what JSON cannot hold exactly."""
    try:
        return canonical(payload)
    except (ValueError, TypeError, RecursionError) as e:  # NaN, a lone surrogate, a set, deep nesting
        reason = "nested too deep" if isinstance(e, RecursionError) else type(e).__name__
        raise SignatureInvalid(f"payload: cannot be written in canonical form ({reason}); "
                               "it holds a value JSON cannot sign exactly") from None


def verification_code(envelope: dict) -> str:
    """A short code a customer or inspector can compare, e.g. ``K7QM-2XHD``.

    It is derived from the signed bytes and the signature, so any change to
    the signed content changes it.
    """
    sig = envelope.get("signature") if isinstance(envelope, dict) else None
    value = sig.get("value", "") if isinstance(sig, dict) else ""
    digest = hashlib.sha256(_canonical_checked(envelope.get("payload")) + str(value).encode()).digest()
    text = base64.b32encode(digest).decode()[:8]
    return f"{text[:4]}-{text[4:]}"


ENVELOPE_KEYS = ("format", "payload", "signature")
SIGNATURE_KEYS = ("alg", "key", "value")


def _unknown_keys(obj: dict, known, where: str):
    import difflib

    from pishkhan.text.safety import quoted

    for key in obj:
        if key not in known:
            name = str(key)
            close = difflib.get_close_matches(name[:64], known, n=1, cutoff=0.6)
            hint = f"; did you mean {quoted(close[0])}?" if close else f"; an envelope holds only {', '.join(known)}"
            raise SignatureInvalid(f"{where}: unknown key {quoted(name)}{hint}")


def verify(envelope, trusted) -> tuple[dict, PublicKey]:
    """Check a signed envelope against *trusted* public keys.

    *trusted* maps fingerprints to :class:`PublicKey` (or is an iterable of
    them). Returns ``(payload, key)``. Raises :exc:`SignatureInvalid` naming
    what is wrong: not an envelope, an unknown key in it, a payload that is not
    an object, an untrusted key, or a bad signature.
    """
    from cryptography.exceptions import InvalidSignature

    from pishkhan.text.safety import describe, quoted

    if not isinstance(trusted, dict):
        trusted = {k.fingerprint: k for k in trusted}
    if not isinstance(envelope, dict) or envelope.get("format") != ENVELOPE:
        got = describe(envelope.get("format")) if isinstance(envelope, dict) else type(envelope).__name__
        raise SignatureInvalid(f"not a signed document: format must be {ENVELOPE!r}, got {got}", reason="malformed")
    _unknown_keys(envelope, ENVELOPE_KEYS, "(envelope)")
    sig = envelope.get("signature")
    if not isinstance(sig, dict) or sig.get("alg") != "ed25519":
        raise SignatureInvalid("signature: must be an object with alg \"ed25519\"")
    _unknown_keys(sig, SIGNATURE_KEYS, "signature")
    if not isinstance(envelope.get("payload"), dict):
        raise SignatureInvalid(f"payload: must be an object, got {describe(envelope.get('payload'))}",
                               reason="malformed")
    fp = sig.get("key")
    key = trusted.get(fp) if isinstance(fp, str) else None
    if key is None:
        shown = quoted(fp) if isinstance(fp, str) else describe(fp)
        raise SignatureInvalid(f"signature.key: {shown} is not a trusted issuer key "
                               f"(trusted: {', '.join(sorted(trusted)) or 'none'})", reason="untrusted_key")
    signed = _canonical_checked(envelope["payload"])
    raw = sig.get("value", "")
    try:
        if not isinstance(raw, str) or len(raw) > 128:
            raise ValueError
        value = base64.b64decode(raw, validate=True)
        key.key.verify(value, signed)
    except (InvalidSignature, ValueError, TypeError):
        raise SignatureInvalid(f"signature does not match the content (key {fp}): "
                               "the document was changed after signing or signed by another key") from None
    return envelope["payload"], key
