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

import errno
import os
import stat
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


def _read_bytes(path: Path) -> bytes:
    """At most :data:`MAX_BYTES` + 1 bytes of the regular file *path* itself (a symlink, FIFO or device: refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ConfigError(f"{path}: the claim file must be a regular file, not a symbolic link") from None
        raise ConfigError(f"{path}: cannot read the claim file: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ConfigError(f"{path}: the claim file must be a regular file")
        try:
            return f.read(MAX_BYTES + 1)
        except OSError as e:
            raise ConfigError(f"{path}: cannot read the claim file: {e.strerror or e}") from None


def read(path) -> ClaimFile:
    """The claim file at *path*; :exc:`ConfigError` naming the line that is wrong.

    The file must be a regular file (never followed through a symbolic link), of
    at most :data:`MAX_BYTES` bytes of UTF-8 text without control characters,
    each key given once.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: a claim file is a few lines, not {len(data)}+ bytes")
    values: dict[str, str] = {}
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    for number, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        if "\ufffd" in line or any(ord(ch) < 32 and ch != "\t" or ord(ch) == 127 for ch in line):
            raise ConfigError(f"{path}, line {number}: not UTF-8 text, or a control character")
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        key = key.strip().lower()
        if not sep or key not in KEYS:
            raise ConfigError(f"{path}, line {number}: expected `server = …`, `claim = …` or `ca = …`")
        if key in values:
            raise ConfigError(f"{path}, line {number}: `{key}` is given a second time")
        values[key] = value.strip().strip('"').strip()
    missing = [k for k in ("server", "claim") if not values.get(k)]
    if missing:
        raise ConfigError(f"{path}: no {' and no '.join(missing)} line")
    return ClaimFile(path, values["server"], values["claim"], values.get("ca", ""))


def erase(path) -> None:
    """Overwrite the claim file with zeros, then remove it (gone already: nothing to do).

    Only a regular file is overwritten, never through a symbolic link; anything else is just removed."""
    path = Path(path)
    try:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if e.errno not in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
                raise
            fd = None
        if fd is not None:
            with os.fdopen(fd, "wb") as f:  # no O_TRUNC: the zeros overwrite the claim in place
                info = os.fstat(f.fileno())
                if stat.S_ISREG(info.st_mode):
                    f.write(b"\0" * min(info.st_size, MAX_BYTES * 16))
                    f.flush()
                    os.fsync(f.fileno())
        path.unlink()
    except FileNotFoundError:
        return
