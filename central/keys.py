"""The centre's keys: issuer keys (boards, schedules, holiday lists, trust
lists) and command keys, in one folder.

Each key is ``NAME.key`` (private, mode 0600), ``NAME.pub`` and ``NAME.json``
(``{"kind": "issuer"|"command", "scope": …, "fingerprint": …, "created_at": …}``).
An issuer key's scope is what devices should trust it for (``national``,
``province:CODE``, ``office:CODE``); a command key's scope is ``command``.
The scope is a note for whoever installs the public key on devices (a
device decides its own trust list; the centre changes it with a trust list
signed by a national key).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from pishkhan.boards.signing import SigningKey
from pishkhan.exc import CentralError, KeyFileError

KINDS = ("issuer", "command")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SCOPE = re.compile(r"national|(province|office):[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


@dataclass(frozen=True)
class KeyInfo:
    name: str
    kind: str
    scope: str
    fingerprint: str
    created_at: str
    path: Path

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "scope": self.scope, "fingerprint": self.fingerprint,
                "created_at": self.created_at, "private": str(self.path)}


class KeyRing:
    """The keys in *directory*."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def new(self, name: str, *, kind: str = "issuer", scope: str | None = None) -> KeyInfo:
        """Make a key pair *name*; refuses to overwrite one."""
        if not _NAME.fullmatch(name or ""):
            raise CentralError(f"key name must be 1-64 letters, digits, '.', '_' or '-', got {name!r}")
        if kind not in KINDS:
            raise CentralError(f"key kind must be issuer or command, got {kind!r}")
        if kind == "command":
            if scope not in (None, "command"):
                raise CentralError(f"a command key has scope command, got {scope!r}")
            scope = "command"
        else:
            scope = scope or "national"
            if not _SCOPE.fullmatch(scope):
                raise CentralError(f"an issuer key's scope is national, province:CODE or office:CODE, got {scope!r}")
        if (self.directory / f"{name}.key").exists():
            raise CentralError(f"{self.directory / (name + '.key')} exists already; choose another name")
        key = SigningKey.generate()
        private, _ = key.save(self.directory, name)
        info = KeyInfo(name, kind, scope, key.public.fingerprint,
                       dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), private)
        (self.directory / f"{name}.json").write_text(json.dumps(
            {k: v for k, v in info.to_json().items() if k not in ("name", "private")}, indent=1) + "\n")
        return info

    def list(self) -> list[KeyInfo]:
        """Every key pair in the folder, by name."""
        found = []
        for private in sorted(self.directory.glob("*.key")):
            meta_path = private.with_suffix(".json")
            try:
                meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            except (OSError, ValueError):
                meta = {}
            try:
                fp = SigningKey.load(private).public.fingerprint
            except KeyFileError as e:
                fp = f"(unreadable: {e})"
            found.append(KeyInfo(private.stem, meta.get("kind", "issuer"), meta.get("scope", ""), fp,
                                 meta.get("created_at", ""), private))
        return found

    def trust_list(self) -> str:
        """The text of a trust list (:mod:`central.trust`) of every issuer key here, each with its scope."""
        from central.trust import TrustList

        entries = [TrustList.entry(SigningKey.load(k.path).public, k.scope, k.name)
                   for k in self.list() if k.kind == "issuer"]
        if not entries:
            raise CentralError(f"no issuer keys in {self.directory}: make one with `pishkhan central keys new`")
        return "".join(entries)

    def load(self, name_or_path) -> SigningKey:
        """The private key *name_or_path*: a file, or a key name in this folder."""
        path = Path(name_or_path)
        if not path.exists() and _NAME.fullmatch(str(name_or_path)):
            path = self.directory / f"{name_or_path}.key"
        return SigningKey.load(path)
