"""Signed trust lists (``pishkhan.trust/1``): keys the centre adds to and revokes from the device's trust list.

A trust list is signed by a key this device trusts with scope ``national``
(not ``any``, not a province's, not a command key) and installed by the one
install path (:func:`pishkhan.boards.install.install_signed`), so its version
counts up like every signed document's and an old list cannot bring back a
revoked key. It adds keys (scope ``national``, ``province:CODE``,
``office:CODE`` or ``command``; ``any`` only by hand, on the device) and
revokes keys by fingerprint, each audited; a list that would revoke the key
that signed it is refused. The version applied is the setting
:data:`VERSION_SETTING`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pishkhan.boards.document import Scope
from pishkhan.boards.install import Kind, Shelf, install_signed
from pishkhan.boards.signing import PublicKey
from pishkhan.boards.trust import distrust_key, trust_key
from pishkhan.exc import KeyFileError, TrustListRefused

FORMAT = "pishkhan.trust/1"
#: Scopes a trust list may give a key over the network (``any`` only by hand, on the device).
SCOPES = ("national", "province:", "office:", "command")
KEYS = {"format", "issuer", "version", "add", "revoke"}
#: The setting holding the version applied (and the one holding its verification code).
VERSION_SETTING = "sync.trust_version"
CODE_SETTING = "sync.trust_code"


@dataclass(frozen=True)
class TrustList:
    """A checked trust list: keys to add as (key, scope, label), fingerprints to revoke."""

    issuer: str
    version: int
    add: tuple[tuple[PublicKey, str, str], ...]
    revoke: tuple[str, ...]

    kind = "trust"
    scope = Scope("national")


def _invalid(message: str) -> TrustListRefused:
    return TrustListRefused(message, reason="invalid")


def parse_trust_list(document: dict) -> TrustList:
    """Check a trust-list payload; raises :exc:`~pishkhan.exc.TrustListRefused` (``malformed``, ``invalid``)."""
    extra = set(document) - KEYS
    if extra:
        raise TrustListRefused(f"trust list: unknown fields {sorted(extra)}; known: {sorted(KEYS)}",
                               reason="malformed")
    if document.get("format") != FORMAT:
        raise _invalid(f"trust list: format must be {FORMAT!r}, got {document.get('format')!r}"[:300])
    version, add, revoke = document.get("version"), document.get("add", []), document.get("revoke", [])
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _invalid(f"trust list: version must be a positive integer, got {version!r}"[:300])
    if not isinstance(add, list) or not isinstance(revoke, list) or not (add or revoke):
        raise _invalid("trust list: add (a list of {pem, scope, label}) and revoke (a list of "
                       "fingerprints) must be lists, and not both empty")
    keys = []
    for i, entry in enumerate(add):
        if not isinstance(entry, dict) or set(entry) - {"pem", "scope", "label"} or "pem" not in entry:
            raise _invalid(f"trust list: add[{i}] must be an object with pem, scope and label")
        scope, label = entry.get("scope"), entry.get("label", "")
        if not isinstance(scope, str) or not (scope in ("national", "command") or
                                              scope.startswith(("province:", "office:"))):
            raise _invalid(f"trust list: add[{i}].scope must be national, province:CODE, "
                           f"office:CODE or command, got {scope!r}"[:300])
        if not isinstance(label, str) or len(label) > 120:
            raise _invalid(f"trust list: add[{i}].label must be text of at most 120 characters")
        try:
            keys.append((PublicKey.from_pem(str(entry["pem"]), source=f"trust list add[{i}]"), scope, label))
        except KeyFileError as e:
            raise _invalid(str(e)) from None
    for i, fp in enumerate(revoke):
        if not isinstance(fp, str) or not fp:
            raise _invalid(f"trust list: revoke[{i}] must be a key fingerprint, got {fp!r}"[:300])
    issuer = document.get("issuer", "")
    return TrustList(issuer if isinstance(issuer, str) else "", version, tuple(keys), tuple(revoke))


def _setting(c, key: str, default):
    row = c.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else default


class TrustShelf(Shelf):
    """A trust list is applied to ``trusted_keys``; its version and verification code are settings."""

    def installed_version(self, c, kind, doc) -> int:
        return _setting(c, VERSION_SETTING, 0)

    def holds(self, c, kind, doc, code) -> bool:
        return _setting(c, CODE_SETTING, None) == code

    def put(self, c, store, kind, doc: TrustList, envelope, *, code, key, source, actor, now):
        for fp in doc.revoke:
            if fp == key:
                raise TrustListRefused(f"trust list revokes {fp}, the key that signed it; revoke it with a "
                                       "list signed by another national key", reason="refused")
        for public, scope, label in doc.add:
            try:
                trust_key(store, public, scope=scope, label=label, actor=actor)
            except KeyFileError as e:
                raise _invalid(str(e)) from None
        revoked = [fp for fp in doc.revoke if distrust_key(store, fp, actor=actor)]
        store.set_setting(VERSION_SETTING, doc.version)
        store.set_setting(CODE_SETTING, code)
        return (doc.version, tuple(revoked)), {"added": [k.fingerprint for k, _, _ in doc.add], "revoked": revoked}


@dataclass(frozen=True)
class AppliedTrust:
    """A trust list as applied: what it added and which of its revocations removed a key."""

    trust_list: TrustList
    revoked: tuple[str, ...]
    verification_code: str
    key_fingerprint: str

    def __str__(self) -> str:
        return f"trust v{self.trust_list.version}: +{len(self.trust_list.add)} -{len(self.revoked)}"


def _applied(shelved, doc, code, fingerprint, source, at, envelope) -> AppliedTrust:
    return AppliedTrust(doc, shelved[1], code, fingerprint)


#: Trust lists, to :func:`~pishkhan.boards.install.install_signed`.
TRUST = Kind(name="trust", noun="trust list", parse=parse_trust_list, shelf=TrustShelf(), refused=TrustListRefused,
             refused_action="trust.refused", install_action="trust.update", result=_applied,
             key_may_sign=lambda key_scope, _scope: key_scope == "national",
             signer_note='; a trust list must be signed by a key trusted with scope "national"')


def install_trust_list(store, envelope, *, source: str, actor: str) -> AppliedTrust:
    """Apply a signed trust list by :func:`~pishkhan.boards.install.install_signed`, or raise
    :exc:`~pishkhan.exc.TrustListRefused` (or :exc:`~pishkhan.exc.SignatureInvalid`) saying why not."""
    return install_signed(store, envelope, TRUST, source=source, actor=actor)
