"""One install path for every signed document: boards, schedules, holiday lists and trust lists.

:func:`install_signed` takes a signed envelope and a :class:`Kind` (a small
descriptor each kind of document declares beside its model) and, for every
kind alike, in this order:

1. the source is one of :data:`SOURCES`;
2. the envelope is a signed envelope whose payload is an object (``malformed``);
3. it holds exactly format, payload and signature, and its signature
   verifies against the keys this device trusts (``forged``);
4. the payload parses as the kind's document (``invalid``, or ``malformed``);
5. its version lies within the kind's bounds (``invalid``);
6. the signing key may sign the document's scope (and what it asks, when
   the kind checks that: a release's rollback flag), and the scope is this
   office's own province or office (``wrong_scope``);
7. then, inside one write: these exact signed bytes installed already
   (``replayed``), a version not above the installed one (``older``), or
   more than the kind's step above it (``too_far``) are refused; otherwise
   the kind's :class:`Shelf` stores it and the install is audited.

A refusal changes nothing but the audit log (the kind's refusal action,
with the message and the reason code) and is raised as the kind's
:exc:`~pishkhan.exc.Refused` subclass, whose :attr:`reason` callers read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from pishkhan.boards.checker import MAX_VERSION, MAX_VERSION_STEP
from pishkhan.boards.signing import verification_code
from pishkhan.boards.trust import scope_allows, verify_trusted
from pishkhan.exc import Refused
from pishkhan.store.database import Store

#: Where a signed document may come from.
SOURCES = ("cli", "usb", "centre")


@dataclass(frozen=True)
class Installed:
    """A signed document as installed: the document and where it came from."""

    id: int
    document: Any
    verification_code: str
    key_fingerprint: str
    source: str
    installed_at: str
    envelope: dict

    @classmethod
    def from_row(cls, row, parse: Callable[[dict], Any]):
        """The installed document of a stored *row* (its envelope parsed again by *parse*)."""
        envelope = json.loads(row["envelope"])
        return cls(row["id"], parse(envelope["payload"]), row["verification_code"], row["key_fingerprint"],
                   row["source"], row["installed_at"], envelope)


class Shelf:
    """Where installed documents of one kind live: what is installed, and how a new one is put."""

    def installed_version(self, c, kind: "Kind", doc) -> int:
        raise NotImplementedError

    def holds(self, c, kind: "Kind", doc, code: str) -> bool:
        """Whether the document with verification code *code* is installed already."""
        raise NotImplementedError

    def put(self, c, store: Store, kind: "Kind", doc, envelope: dict, *, code: str, key: str, source: str,
            actor: str, now: str) -> tuple[Any, dict]:
        """Store *doc*; returns (what :attr:`Kind.result` takes as its id, what the install's audit entry adds)."""
        raise NotImplementedError


@dataclass(frozen=True)
class TableShelf(Shelf):
    """Documents kept as rows of *table*, by scope (and by kind when *by_kind*), envelope as received."""

    table: str
    by_kind: bool = False

    def _where(self, kind, doc) -> tuple[str, tuple]:
        if self.by_kind:
            return "kind = ? AND scope_key = ?", (kind.name, doc.scope.key)
        return "scope_key = ?", (doc.scope.key,)

    def installed_version(self, c, kind, doc) -> int:
        where, params = self._where(kind, doc)
        return c.execute(f"SELECT MAX(version) FROM {self.table} WHERE {where}", params).fetchone()[0] or 0

    def holds(self, c, kind, doc, code) -> bool:
        where, params = self._where(kind, doc)
        return c.execute(f"SELECT 1 FROM {self.table} WHERE {where} AND verification_code = ?",
                         params + (code,)).fetchone() is not None

    def put(self, c, store, kind, doc, envelope, *, code, key, source, actor, now):
        columns = ["scope_key", "version", "effective_from", "issuer", "key_fingerprint", "verification_code",
                   "envelope", "source", "installed_at"]
        values = [doc.scope.key, doc.version, doc.effective_from.isoformat(), doc.issuer, key, code,
                  json.dumps(envelope, ensure_ascii=False), source, now]
        if self.by_kind:
            columns.insert(0, "kind")
            values.insert(0, kind.name)
        cur = c.execute(f"INSERT INTO {self.table}({', '.join(columns)}) VALUES ({','.join('?' * len(values))})",
                        values)
        return cur.lastrowid, {"effective_from": doc.effective_from.isoformat()}


@dataclass(frozen=True)
class Kind:
    """What :func:`install_signed` needs to know of one kind of signed document."""

    #: The document's kind, as in its audit actions (``board``, ``schedule``, ``holidays``, ``trust``).
    name: str
    #: payload -> document (with ``scope``, ``version``, ``issuer``); raises a :exc:`Refused` (``invalid``).
    parse: Callable[[dict], Any]
    shelf: Shelf
    #: The :exc:`Refused` subclass this kind's refusals are raised as.
    refused: type
    #: The audit action of a refusal (``board.refused``).
    refused_action: str
    #: (id, document, verification code, key, source, installed at, envelope) -> what install returns.
    result: Callable[..., Any]
    #: The document in words (``board``, ``trust list``) and many of them in the key-scope refusal.
    noun: str = ""
    plural: str = "documents"
    #: (key scope, document scope) -> whether that key may sign it.
    key_may_sign: Callable[[str, str], bool] = scope_allows
    #: Added to the key-scope refusal (which keys may sign this kind).
    signer_note: str = ""
    #: (document, key scope) -> why that key may not sign what this document asks (``wrong_scope``), or None.
    signer_check: Callable[[Any, str], str | None] | None = None
    #: The audit action of an install (default ``<name>.install``).
    install_action: str = ""
    min_version: int = 1
    max_version: int = MAX_VERSION
    max_step: int = MAX_VERSION_STEP

    @property
    def words(self) -> str:
        return self.noun or self.name


def _refuse(kind: Kind, reason: str, message: str) -> Refused:
    return kind.refused(message, reason=reason)


def check_signed(store: Store, envelope, kind: Kind, *, province: str | None = None,
                 office: str | None = None) -> tuple[Any, str]:
    """Steps 2-6 of :func:`install_signed`, writing nothing: returns ``(document, key fingerprint)``."""
    payload, key, key_scope = verify_trusted(store, envelope)
    doc = kind.parse(payload)
    version = doc.version
    if isinstance(version, bool) or not isinstance(version, int) or not \
            kind.min_version <= version <= kind.max_version:
        raise _refuse(kind, "invalid", f"version: must be a whole number from {kind.min_version} to "
                                       f"{kind.max_version:,}, got {version!r}"[:300])
    if not kind.key_may_sign(key_scope, doc.scope.key):
        raise _refuse(kind, "wrong_scope", f"key {key.fingerprint} may sign only {key_scope} {kind.plural}, "
                                           f"but this {kind.words} is for {doc.scope.key}{kind.signer_note}")
    why = kind.signer_check(doc, key_scope) if kind.signer_check else None
    if why:
        raise _refuse(kind, "wrong_scope", f"key {key.fingerprint} ({key_scope}): {why}"[:500])
    if province is not None or office is not None:
        elsewhere = doc.scope.elsewhere(province=province, office=office)
        if elsewhere:
            raise _refuse(kind, "wrong_scope", f"{kind.words} is for {elsewhere}")
    return doc, key.fingerprint


def install_signed(store: Store, envelope, kind: Kind, *, source: str, actor: str,
                   province: str | None = None, office: str | None = None):
    """Install a signed document of *kind* for good, or raise ``kind.refused`` (a :exc:`Refused`) saying why not.

    :param source: where it came from, one of :data:`SOURCES`.
    :param actor: who did it, for the audit log.
    :param province: this office's province; a document for another is refused (None: not checked).
    :param office: this office's id; a document for another office is refused (None: not checked).
    """
    try:
        if source not in SOURCES:
            raise _refuse(kind, "invalid", f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        doc, fingerprint = check_signed(store, envelope, kind, province=province, office=office)
        code = verification_code(envelope)

        def install(c):
            installed = kind.shelf.installed_version(c, kind, doc)
            if doc.version <= installed:
                reason = "replayed" if kind.shelf.holds(c, kind, doc, code) else "older"
                raise _refuse(kind, reason, f"{kind.words} version {doc.version} for {doc.scope.key} is not newer "
                                            f"than the installed version {installed}; the installed {kind.words} "
                                            "stays")
            if doc.version > installed + kind.max_step:
                raise _refuse(kind, "too_far",
                              f"{kind.words} version {doc.version:,} for {doc.scope.key} is "
                              f"{doc.version - installed:,} above the installed version {installed}; a {kind.words} "
                              f"may go at most {kind.max_step:,} versions up, so that a mistyped version cannot "
                              f"leave no room for later {kind.plural}")
            now = store.now_iso()
            row_id, detail = kind.shelf.put(c, store, kind, doc, envelope, code=code, key=fingerprint,
                                            source=source, actor=actor, now=now)
            store.audit(actor, kind.install_action or f"{kind.name}.install", doc.scope.key, version=doc.version,
                        source=source, verification_code=code, key=fingerprint, **detail)
            return kind.result(row_id, doc, code, fingerprint, source, now, envelope)

        return store.write(install)
    except Refused as e:
        store.audit(actor, kind.refused_action, source, reason=str(e), code=e.reason)
        raise
