"""The centre's trust list: the issuer keys whose documents the centre calls official, each with its scope.

One file of PEM public keys; before each key, a ``Scope:`` line says what
it may sign, with the scopes devices use (:mod:`pishkhan.boards.trust`):
``national``, ``province:CODE``, ``office:CODE`` or ``any``. A ``Label:``
line may name the key. Text outside the PEM blocks is ignored by PEM
readers (RFC 7468), so ``openssl`` still reads the file::

    Scope: national
    Label: ministry
    -----BEGIN PUBLIC KEY-----
    …
    -----END PUBLIC KEY-----
    Scope: province:23
    -----BEGIN PUBLIC KEY-----
    …

A key without a ``Scope:`` line is refused: a key's reach is never guessed.
:meth:`TrustList.verify` checks a signed document exactly as a device
does — the signature against the listed keys (:func:`verify_with`), then
the key's scope against the document's (:func:`scope_allows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from central.errors import KeyNotAllowed
from pishkhan.boards.signing import PublicKey
from pishkhan.boards.trust import check_scope, scope_allows, verify_with
from pishkhan.exc import KeyFileError, SignatureInvalid

_BEGIN, _END = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"


@dataclass(frozen=True)
class TrustList:
    """fingerprint -> (key, scope), read from one file."""

    keys: dict
    source: str = ""

    @classmethod
    def load(cls, path) -> "TrustList":
        """The trust list in *path*; :exc:`KeyFileError` naming ``--trust`` and what is wrong."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise KeyFileError(f"--trust: cannot read {path}: {e}") from None
        keys = {}
        headers: dict[str, str] = {}
        rest = text
        number = 0
        while _BEGIN in rest:
            before, _, rest = rest.partition(_BEGIN)
            body, found, rest = rest.partition(_END)
            if not found:
                raise KeyFileError(f"--trust: {path}: a PEM block has no {_END} line")
            number += 1
            headers = {}
            for line in before.splitlines():
                name, sep, value = line.partition(":")
                if sep and name.strip().lower() in ("scope", "label"):
                    headers[name.strip().lower()] = value.strip()
            if "scope" not in headers:
                raise KeyFileError(f"--trust: {path}: key {number} has no 'Scope:' line before it; say what it "
                                   "may sign: national, province:CODE, office:CODE or any")
            try:
                scope = check_scope(headers["scope"])
            except KeyFileError as e:
                raise KeyFileError(f"--trust: {path}: key {number}: {e}") from None
            if scope == "command":
                raise KeyFileError(f"--trust: {path}: key {number} is a command key; it signs no document")
            key = PublicKey.from_pem(f"{_BEGIN}{body}{_END}\n", source=f"{path} key {number}")
            keys[key.fingerprint] = (key, scope)
        if not keys:
            raise KeyFileError(f"--trust: {path} holds no PEM public key ({_BEGIN})")
        return cls(keys=keys, source=str(path))

    @classmethod
    def of(cls, *entries: tuple[PublicKey, str]) -> "TrustList":
        """A trust list of ``(key, scope)`` pairs (tests, tools)."""
        return cls(keys={key.fingerprint: (key, check_scope(scope)) for key, scope in entries})

    def verify(self, envelope, *, scope_key: str, may_sign=scope_allows) -> tuple[dict, PublicKey]:
        """``(payload, key)`` if *envelope* verifies with a listed key allowed to sign for *scope_key*.

        *may_sign* is the devices' rule for the document's kind (``(key scope, scope key) -> bool``; boards'
        :func:`scope_allows` by default).

        Raises :exc:`~pishkhan.exc.SignatureInvalid` (an unknown key, a
        signature that does not match) or :exc:`KeyNotAllowed`.
        """
        payload, key, key_scope = verify_with(self.keys, envelope)
        if not may_sign(key_scope, scope_key):
            raise KeyNotAllowed(f"key {key.fingerprint} may sign only {key_scope} documents, "
                                f"but this document is for {scope_key}")
        return payload, key

    @staticmethod
    def entry(key: PublicKey, scope: str, label: str = "") -> str:
        """The text of one key in a trust list file."""
        return f"Scope: {check_scope(scope)}\n" + (f"Label: {label}\n" if label else "") + key.pem()
