"""Root's anchor of release keys: ``/etc/pishkhan/release-keys.pem`` (setting ``update.release_keys``).

The keys that may sign a release the root updater installs. The device store's trust list is the agent's
(user ``pishkhan`` can write it), so for a release both must agree: the signer is in the store AND in this
file, and its reach is this file's ``Scope:`` line. Same format as the centre's trust list
(:mod:`central.trust`): PEM public keys, each after a ``Scope:`` line (``national``, ``province:CODE``,
``office:CODE`` or ``any``), an optional ``Label:`` line.

The file must be a regular file not writable by group or others, owned by root (or, for a tool run by an
ordinary user on its own files, by that user); the root updater checks root ownership itself before it asks
``pishkhan update verify``. No file: no updates (``untrusted_key``). Laid by the package (a conffile,
``RELEASE_KEYS=FILE`` of build-deb.sh) or by root by hand; nothing from the network changes it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pishkhan.exc import SignatureInvalid

_BEGIN, _END = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
MAX_BYTES = 256 * 1024


def _refuse(message: str) -> SignatureInvalid:
    return SignatureInvalid(message, reason="untrusted_key")


def _read(path: Path, owners: set[int]) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise _refuse(f"no release keys at {path}: this device installs no update until root lays that file "
                      "(docs/updates.md) / بدون فایل کلیدهای انتشار، به‌روزرسانی نصب نمی‌شود") from None
    except OSError as e:
        raise _refuse(f"{path}: cannot be read: {e.strerror or e} (a symbolic link is not followed)") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(f"{path} is not a regular file")
        if st.st_uid not in owners:
            raise _refuse(f"{path} is owned by uid {st.st_uid}, not root: not trusted")
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise _refuse(f"{path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}): not trusted")
        data = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise _refuse(f"{path} is larger than {MAX_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(f"{path} is not UTF-8 text") from None


def release_keys(path, *, owners: set[int] | None = None) -> dict:
    """fingerprint -> (PublicKey, scope) of the anchor at *path*, or :exc:`~pishkhan.exc.SignatureInvalid`
    (``untrusted_key``) saying why none can be trusted. *owners*: the uids that may own it (default root, and
    this process's user when it is not root)."""
    from pishkhan.boards.signing import PublicKey
    from pishkhan.boards.trust import check_scope
    from pishkhan.exc import KeyFileError

    path = Path(path)
    if owners is None:
        owners = {0, os.geteuid()}
    rest = _read(path, owners)
    keys = {}
    number = 0
    while _BEGIN in rest:
        before, _, rest = rest.partition(_BEGIN)
        body, found, rest = rest.partition(_END)
        number += 1
        if not found:
            raise _refuse(f"{path}: key {number} has no {_END} line")
        headers = {}
        for line in before.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip().lower() in ("scope", "label"):
                headers[name.strip().lower()] = value.strip()
        try:
            scope = check_scope(headers.get("scope", ""))
            if scope == "command":
                raise KeyFileError("a command key signs no release")
            key = PublicKey.from_pem(f"{_BEGIN}{body}{_END}\n", source=f"{path} key {number}")
        except KeyFileError as e:
            raise _refuse(f"{path}: key {number}: {e} (each key needs a 'Scope:' line before it)") from None
        keys[key.fingerprint] = (key, scope)
    if not keys:
        raise _refuse(f"{path} holds no PEM public key")
    return keys


def check_anchor(keys: dict, envelope, doc) -> str:
    """The signer of *envelope* (already checked against the store) is in the anchor *keys* and its anchor
    scope may sign *doc* (a checked release) with its flags; its fingerprint, or a refusal
    (``untrusted_key``, ``forged``, ``wrong_scope``)."""
    from pishkhan.boards.trust import verify_with
    from pishkhan.exc import ReleaseRefused
    from pishkhan.releases.installed import RELEASE

    _, key, scope = verify_with(keys, envelope)
    if not RELEASE.key_may_sign(scope, doc.scope.key):
        raise ReleaseRefused(f"key {key.fingerprint} may sign only {scope} releases by root's anchor, but this "
                             f"document is for {doc.scope.key}", reason="wrong_scope")
    why = RELEASE.signer_check(doc, scope)
    if why:
        raise ReleaseRefused(f"key {key.fingerprint} ({scope} by root's anchor): {why}"[:500], reason="wrong_scope")
    return key.fingerprint
