"""The device's list of trusted issuer keys, kept in the store."""

from __future__ import annotations

from pishkhan.exc import KeyFileError
from pishkhan.boards.signing import PublicKey
from pishkhan.store.database import Store


def _check_scope(scope: str) -> str:
    level, _, value = scope.partition(":")
    if scope in ("any", "national") or (level in ("province", "office") and value):
        return scope
    raise KeyFileError(f"key scope must be any, national, province:CODE or office:CODE, got {scope!r}")


def trust_key(store: Store, key: PublicKey, *, scope: str = "any", label: str = "", actor: str = "cli") -> str:
    """Add *key* to the trust list (recorded in the audit log); returns its fingerprint."""
    scope = _check_scope(scope)
    def trust(c):
        c.execute("INSERT INTO trusted_keys(fingerprint, pem, scope, label, added_at) VALUES (?,?,?,?,?) "
                  "ON CONFLICT(fingerprint) DO UPDATE SET scope = excluded.scope, label = excluded.label",
                  (key.fingerprint, key.pem(), scope, label, store.now_iso()))
        store.audit(actor, "key.trust", key.fingerprint, scope=scope, label=label)

    store.write(trust)
    return key.fingerprint


def distrust_key(store: Store, fingerprint: str, *, actor: str = "cli") -> bool:
    def distrust(c):
        gone = c.execute("DELETE FROM trusted_keys WHERE fingerprint = ?", (fingerprint,)).rowcount
        if gone:
            store.audit(actor, "key.distrust", fingerprint)
        return bool(gone)

    return store.write(distrust)


def trusted_keys(store: Store) -> dict[str, tuple[PublicKey, str]]:
    """fingerprint -> (key, scope)."""
    return {r["fingerprint"]: (PublicKey.from_pem(r["pem"], source=f"trusted key {r['fingerprint']}"), r["scope"])
            for r in store.query("SELECT fingerprint, pem, scope FROM trusted_keys")}


def scope_allows(key_scope: str, board_scope_key: str) -> bool:
    return key_scope == "any" or key_scope == board_scope_key
