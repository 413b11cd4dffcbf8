"""The claim file a technician drops on the boot partition, so a device enrols without a keyboard.

``/boot/firmware/pishkhan-claim.txt`` (the partition Raspberry Pi Imager and
any computer can write), lines of ``key = value``; ``#`` starts a comment::

    server = https://enrol.example.ir:8443
    claim = 7K2M-9QXD-4HTV
    # ca = /boot/firmware/centre-ca.pem   (only if not the package's pin)

After a successful enrolment the file is erased (:func:`erase`): a claim is
one-time, and a stale file must not make the boot unit try again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pishkhan.exc import ConfigError

DEFAULT_PATH = Path("/boot/firmware/pishkhan-claim.txt")
KEYS = ("server", "claim", "ca")
MAX_BYTES = 4096


@dataclass(frozen=True)
class ClaimFile:
    path: Path
    server: str
    claim: str
    ca: str = ""


def read(path) -> ClaimFile:
    """The claim file at *path*; :exc:`ConfigError` naming the line that is wrong."""
    path = Path(path)
    try:
        data = path.read_bytes()[:MAX_BYTES + 1]
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the claim file: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: a claim file is a few lines, not {len(data)}+ bytes")
    values: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8", "replace").lstrip("\ufeff").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        key = key.strip().lower()
        if not sep or key not in KEYS:
            raise ConfigError(f"{path}, line {number}: expected `server = …`, `claim = …` or `ca = …`")
        values[key] = value.strip().strip('"').strip()
    missing = [k for k in ("server", "claim") if not values.get(k)]
    if missing:
        raise ConfigError(f"{path}: no {' and no '.join(missing)} line")
    return ClaimFile(path, values["server"], values["claim"], values.get("ca", ""))


def erase(path) -> None:
    """Overwrite the claim file with zeros, then remove it (gone already: nothing to do)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "r+b") as f:
            f.write(b"\0" * size)
            f.flush()
            os.fsync(f.fileno())
        path.unlink()
    except FileNotFoundError:
        return
