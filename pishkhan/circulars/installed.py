"""Installed circulars indexes: install one through the one install path, and file its entries in the library.

:data:`CIRCULARS` is the index's :class:`~pishkhan.boards.install.Kind`:
:func:`install_circulars` installs by
:func:`~pishkhan.boards.install.install_signed` exactly like boards (trusted
signature, schema, version bounds and step per scope, replays, the office's
province, audit ``circulars.install`` / ``circulars.refused``). A national key
signs national indexes, a province key its own province's (``scope_allows``).

In the same write the index's entries go to the ``circulars`` table, one row
per circular ever received (the office keeps them all — the regulation's duty):

- a number new to its scope is a new row, audited ``circular.received``,
  its attachment due for fetching at once;
- a number already held with the same SHA-256 keeps its row (the newest
  index that listed it is noted); with another SHA-256 the entry is refused
  (``invalid``, audited ``circular.refused``) and the rest of the index stays installed;
- an index that leaves an entry out deletes nothing;
- a new entry past :data:`MAX_CIRCULARS` rows (2,000) is
  refused (``too_large``, audited ``circular.refused``);
- an entry's ``supersedes`` marks those numbers of its scope (if held and not
  yet marked) ``superseded_by`` it, audited ``circular.superseded``.
"""

from __future__ import annotations

import json

from pishkhan.boards.install import Installed, Kind, Shelf, install_signed
from pishkhan.circulars.document import CircularsIndex, parse_circulars
from pishkhan.exc import CircularRefused
from pishkhan.store.database import Store

TABLE = "circular_indexes"
#: The circulars one office keeps at most (new ones past it are refused, ``too_large``).
MAX_CIRCULARS = 2000


class InstalledCirculars(Installed):
    """A circulars index as installed (:attr:`index` is its document)."""

    @property
    def index(self) -> CircularsIndex:
        return self.document


def _file_entries(c, store: Store, doc: CircularsIndex, *, actor: str, now: str) -> dict:
    """Put the index's entries in ``circulars`` (see the module's docstring); returns counts for the audit."""
    scope = doc.scope.key
    new = refused = 0
    held = c.execute("SELECT COUNT(*) FROM circulars").fetchone()[0]
    for e in doc.circulars:
        row = c.execute("SELECT sha256 FROM circulars WHERE scope_key = ? AND number = ?",
                        (scope, e.number)).fetchone()
        if row is not None:
            if row["sha256"] == e.attachment.sha256:
                c.execute("UPDATE circulars SET index_version = MAX(index_version, ?) "
                          "WHERE scope_key = ? AND number = ?", (doc.version, scope, e.number))
            else:
                refused += 1
                store.audit(actor, "circular.refused", f"{scope}/{e.number}", code="invalid",
                            reason=f"circular {e.number} of {scope} is held with SHA-256 {row['sha256'][:12]}…; "
                                   f"index v{doc.version} names another file ({e.attachment.sha256[:12]}…); "
                                   "the held one stays")
            continue
        if held >= MAX_CIRCULARS:
            refused += 1
            store.audit(actor, "circular.refused", f"{scope}/{e.number}", code="too_large",
                        reason=f"the office holds {held:,} circulars, the most it keeps ({MAX_CIRCULARS:,})")
            continue
        c.execute("INSERT INTO circulars(scope_key, number, kind, title, issuer, issued_on, effective_on, summary, "
                  "urgent, sha256, size, received_at, index_version, next_fetch_at) "
                  "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  (scope, e.number, e.kind, e.title, e.issuer, e.issued_on, e.effective_on, e.summary,
                   int(e.urgent), e.attachment.sha256, e.attachment.size, now, doc.version, now))
        held += 1
        new += 1
        store.audit(actor, "circular.received", f"{scope}/{e.number}", scope=scope, number=e.number,
                    sha256=e.attachment.sha256, size=e.attachment.size, index_version=doc.version)
    for e in doc.circulars:
        for old in e.supersedes:
            cur = c.execute("UPDATE circulars SET superseded_by = ? WHERE scope_key = ? AND number = ? "
                            "AND superseded_by IS NULL", (e.number, scope, old))
            if cur.rowcount:
                store.audit(actor, "circular.superseded", f"{scope}/{old}", scope=scope, number=old,
                            superseded_by=e.number)
    return {"entries": len(doc.circulars), "new": new, "refused_entries": refused}


class CircularsShelf(Shelf):
    """Indexes kept as rows of ``circular_indexes`` by scope, envelope as received; entries filed in ``circulars``."""

    def installed_version(self, c, kind, doc) -> int:
        return c.execute(f"SELECT MAX(version) FROM {TABLE} WHERE scope_key = ?", (doc.scope.key,)).fetchone()[0] or 0

    def holds(self, c, kind, doc, code) -> bool:
        return c.execute(f"SELECT 1 FROM {TABLE} WHERE scope_key = ? AND verification_code = ?",
                         (doc.scope.key, code)).fetchone() is not None

    def put(self, c, store, kind, doc: CircularsIndex, envelope, *, code, key, source, actor, now):
        cur = c.execute(
            f"INSERT INTO {TABLE}(scope_key, version, issued_at, issuer, key_fingerprint, verification_code, "
            "envelope, source, installed_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (doc.scope.key, doc.version, doc.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"), doc.issuer, key, code,
             json.dumps(envelope, ensure_ascii=False), source, now))
        return cur.lastrowid, _file_entries(c, store, doc, actor=actor, now=now)


#: Circulars indexes, to :func:`~pishkhan.boards.install.install_signed`.
CIRCULARS = Kind(name="circulars", noun="circulars index", plural="circulars indexes", parse=parse_circulars,
                 shelf=CircularsShelf(), refused=CircularRefused, refused_action="circulars.refused",
                 result=InstalledCirculars)


def install_circulars(store: Store, envelope, *, source: str, actor: str, province: str | None = None,
                      office: str | None = None) -> InstalledCirculars:
    """Install a signed circulars index for good, or raise :exc:`~pishkhan.exc.CircularRefused` saying why not.

    :param province: this office's province; another province's index is ``wrong_scope`` (None: not checked).
    """
    return install_signed(store, envelope, CIRCULARS, source=source, actor=actor, province=province, office=office)


def newest_version(store: Store, scope_key: str) -> int:
    """The highest index version installed for *scope_key* (0: none)."""
    return store.query_one(f"SELECT MAX(version) FROM {TABLE} WHERE scope_key = ?", (scope_key,))[0] or 0
