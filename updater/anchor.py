"""Root's anchor of release keys (``/etc/pishkhan/release-keys.pem``, setting ``release_keys``), read with the
standard library: the request's signer must be listed there before the installed ``pishkhan update verify`` is
even asked (which checks the signature, and the key's scope there, itself).

The file is PEM public keys (Ed25519), each after a ``Scope:`` line, as the centre's trust list. It counts only
when it is a regular file (not a link) owned by root (``release_keys_owner``, a test's own uid) and writable
by nobody else: the agent's user must not be able to change whom root trusts. Otherwise, or with no file at
all, every request is refused ``untrusted_key``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
from pathlib import Path

from updater.release import Refusal

_BEGIN, _END = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
#: DER SubjectPublicKeyInfo of an Ed25519 key, before its 32 raw bytes.
_ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
MAX_BYTES = 256 * 1024


def _refuse(message: str) -> Refusal:
    return Refusal(message, reason="untrusted_key")


def _read(path: Path, owner: int) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise _refuse(f"no release keys at {path}: no update is installed until root lays that file "
                      "(docs/updates.md) / بدون فایل کلیدهای انتشار به‌روزرسانی نصب نمی‌شود") from None
    except OSError as e:
        raise _refuse(f"{path}: cannot be read: {e.strerror} (a symbolic link is not followed)") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(f"{path} is not a regular file")
        if st.st_uid != owner:
            raise _refuse(f"{path} is owned by uid {st.st_uid}, not {owner} (root): not trusted")
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise _refuse(f"{path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}): not trusted")
        data = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise _refuse(f"{path} is larger than {MAX_BYTES} bytes")
    return data.decode("utf-8", errors="replace")


def fingerprints(path: Path, *, owner: int = 0) -> set[str]:
    """The fingerprints (16 hex digits of the SHA-256 of the raw key, as the project names keys) of the anchor's
    keys; :class:`Refusal` ``untrusted_key`` when the file is missing, not root's alone, or holds no key."""
    rest = _read(Path(path), owner)
    found = set()
    while _BEGIN in rest:
        before, _, rest = rest.partition(_BEGIN)
        body, end, rest = rest.partition(_END)
        if not end:
            raise _refuse(f"{path}: a PEM block has no {_END} line")
        if not any(line.partition(":")[0].strip().lower() == "scope" and line.partition(":")[2].strip()
                   for line in before.splitlines()):
            raise _refuse(f"{path}: key {len(found) + 1} has no 'Scope:' line before it")
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            raise _refuse(f"{path}: key {len(found) + 1} is not base64") from None
        if len(der) != len(_ED25519_SPKI) + 32 or not der.startswith(_ED25519_SPKI):
            raise _refuse(f"{path}: key {len(found) + 1} is not an Ed25519 public key")
        found.add(hashlib.sha256(der[len(_ED25519_SPKI):]).hexdigest()[:16])
    if not found:
        raise _refuse(f"{path} holds no PEM public key")
    return found


def signer(request: bytes) -> str:
    """The ``signature.key`` the request's envelope names ('' when there is none): a name to look up, not
    trusted for anything else."""
    try:
        key = json.loads(request)["envelope"]["signature"]["key"]
    except (ValueError, TypeError, KeyError, RecursionError):
        return ""
    return key if isinstance(key, str) else ""


def check_signer(request: bytes, *, path: Path, owner: int = 0) -> str:
    """The request's signer when root's anchor at *path* lists it; else :class:`Refusal` ``untrusted_key``."""
    listed = fingerprints(path, owner=owner)
    key = signer(request)
    if key not in listed:
        shown = json.dumps(key[:40]) if key else "no key"
        raise _refuse(f"the release is signed by {shown}, which root's anchor {path} does not list "
                      f"(listed: {', '.join(sorted(listed))})")
    return key
