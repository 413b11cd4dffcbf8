"""What ``pishkhan update verify`` said about a request: a :class:`Release` to install, or a :class:`Refusal`."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass

#: The refusal reasons the updater itself gives (codes of pishkhan.exc.REASONS, used here as plain strings);
#: a refusal by ``pishkhan update verify`` carries the verifier's own code through unchanged.
REASONS = ("wrong_hash", "download_failed", "no_rollback_package", "install_failed", "unhealthy", "interrupted",
           "malformed")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_VERSION = re.compile(r"[0-9][A-Za-z0-9.+~:-]{0,99}")
_TEXT = re.compile(r"[A-Za-z0-9._:+-]{0,64}")
_PATH = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
MAX_SIZE = 1 << 30


class Refusal(Exception):
    """The update does not go ahead; :attr:`reason` is a code, the message says why (callers never parse it)."""

    def __init__(self, message: str, *, reason: str):
        if not _CODE.fullmatch(reason):
            reason = "malformed"
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Release:
    """The package a verified release document names."""

    version: str
    sha256: str
    size: int
    path: str
    rollout: str = ""
    document_code: str = ""
    urgent: bool = False
    rollback: bool = False

    @classmethod
    def from_json(cls, data) -> "Release":
        """A release from verify's JSON line; ValueError when a field is missing or out of bounds."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        version, sha, size, path = (data.get(k) for k in ("version", "sha256", "size", "path"))
        if not isinstance(version, str) or not _VERSION.fullmatch(version):
            raise ValueError(f"version {version!r} is not a Debian version")
        if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
            raise ValueError("sha256 is not 64 lowercase hex digits")
        if type(size) is not int or not 0 < size <= MAX_SIZE:
            raise ValueError(f"size {size!r} is not within 1..{MAX_SIZE}")
        if not isinstance(path, str) or not _PATH.fullmatch(path) or ".." in path.split("/"):
            raise ValueError(f"path {path!r} is not a relative path in the pool")
        texts = {k: data.get(k, "") for k in ("rollout", "document_code")}
        for key, value in texts.items():
            if not isinstance(value, str) or not _TEXT.fullmatch(value):
                raise ValueError(f"{key} {value!r} is not a code")
        return cls(version=version, sha256=sha, size=size, path=path, urgent=data.get("urgent") is True,
                   rollback=data.get("rollback") is True, **texts)


def labels(request: bytes) -> tuple[str, str]:
    """(rollout, document_code) the request's envelope names, to label the rows before verify has judged it
    (so a refusal can be matched to the document the agent asked for). Labels only, never trusted: both
    are replaced by verify's answer. The code is the project's verification code (sha256 of the canonical
    payload and the signature's value, 8 base32 letters); ('', '') when the request is not such JSON."""
    try:
        envelope = json.loads(request)["envelope"]
        payload = envelope["payload"]
        signature = envelope.get("signature")
        value = signature.get("value", "") if isinstance(signature, dict) else ""
        signed = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return "", ""
    text = base64.b32encode(hashlib.sha256(signed + str(value).encode()).digest()).decode()[:8]
    rollout = payload.get("rollout", "") if isinstance(payload, dict) else ""
    return (rollout if isinstance(rollout, str) and _TEXT.fullmatch(rollout) else ""), f"{text[:4]}-{text[4:]}"
