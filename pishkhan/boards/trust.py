"""The device's list of trusted issuer keys, kept in the store.

A key's scope says what it may sign: ``national``, ``province:CODE`` or
``office:CODE`` documents (``any``: all of them), or ``command``: signed
commands from the centre and nothing else (:mod:`pishkhan.protocol.commands`).
A board key never commands a device, and a command key never signs a board.
"""

from __future__ import annotations

from pishkhan.exc import KeyFileError
from pishkhan.boards.signing import PublicKey
from pishkhan.store.database import Store


def check_scope(scope: str) -> str:
    """``any``, ``national``, ``province:CODE``, ``office:CODE`` (CODE as a board's scope id) or ``command``."""
    from pishkhan.boards.document import _CODE
    from pishkhan.text.safety import quoted

    level, _, value = str(scope).partition(":")
    if scope in ("any", "national", "command") or (level in ("province", "office") and _CODE.fullmatch(value)):
        return scope
    raise KeyFileError("key scope must be any, national, province:CODE, office:CODE or command (CODE: 1-32 ASCII "
                       f"letters, digits, '.', '_' or '-'), got {quoted(str(scope))}")


def trust_key(store: Store, key: PublicKey, *, scope: str = "any", label: str = "", actor: str = "cli") -> str:
    """Add *key* to the trust list (recorded in the audit log); returns its fingerprint."""
    scope = check_scope(scope)
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


def verify_trusted(store: Store, envelope) -> tuple[dict, PublicKey, str]:
    """Verify a signed document against the keys this device trusts.

    Returns ``(payload, key, key_scope)``: what the document may sign for is
    for its own module to check against its scope (:func:`scope_allows`).
    Raises :exc:`~pishkhan.exc.SignatureInvalid` when no key is trusted, the
    key is unknown or the signature does not match.
    """
    from pishkhan.exc import SignatureInvalid

    keys = trusted_keys(store)
    if not keys:
        raise SignatureInvalid("no issuer key is trusted on this device yet (add one with `pishkhan keys trust PUB`)",
                               reason="untrusted_key")
    return verify_with(keys, envelope)


def verify_with(keys: dict[str, tuple[PublicKey, str]], envelope) -> tuple[dict, PublicKey, str]:
    """:func:`verify_trusted` against *keys* (fingerprint -> (key, scope)) held elsewhere than a store."""
    from pishkhan.boards.signing import verify

    payload, key = verify(envelope, {fp: k for fp, (k, _) in keys.items()})
    return payload, key, keys[key.fingerprint][1]
