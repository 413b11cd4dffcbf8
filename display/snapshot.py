"""Proof of display: what the wall screen showed, every few minutes.

:class:`Snapshots` saves a small PNG of the screen, records its SHA-256 and
the board version on show in the store (table ``display_snapshots``) and
keeps only the last few, files and rows alike. The agent sends them to the
centre when asked (:func:`list_snapshots`, :func:`read_snapshot`).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from pishkhan.store.files import write_whole

#: Width of the stored snapshot; enough to recognise the board and the calls.
SNAPSHOT_WIDTH = 480


@dataclass(frozen=True)
class Snapshot:
    id: int
    at: str
    path: Path
    sha256: str
    board_version: str | None
    verification_code: str | None
    screen_state: str
    width: int
    height: int


def _row(row) -> Snapshot:
    return Snapshot(row["id"], row["at"], Path(row["path"]), row["sha256"], row["board_version"],
                    row["verification_code"], row["screen_state"], row["width"], row["height"])


class Snapshots:
    """Take and keep snapshots.

    :param store: the local store.
    :param directory: where the PNGs go (``<state_dir>/snapshots``).
    :param keep: how many to keep.
    :param width: width of the stored PNG (the height follows).
    """

    def __init__(self, store, directory, *, keep: int = 12, width: int = SNAPSHOT_WIDTH):
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.store = store
        self.directory = Path(directory)
        self.keep = keep
        self.width = width

    @classmethod
    def from_config(cls, store, config):
        return cls(store, config.state_dir / "snapshots", keep=config.display.snapshot_keep)

    def take(self, image: Image.Image, *, board_version: str | None, verification_code: str | None = None,
             screen_state: str = "") -> Snapshot:
        """Save *image* (the whole screen) scaled down, record it, drop the oldest."""
        small = image.convert("RGB")
        if small.width > self.width:
            small = small.resize((self.width, max(1, round(small.height * self.width / small.width))),
                                 Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        small.save(buf, "PNG", optimize=True)
        data = buf.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        self.directory.mkdir(parents=True, exist_ok=True)
        at = self.store.now_iso()
        path = self.directory / f"{at.replace(':', '').replace('-', '')[:15]}-{digest[:12]}.png"
        write_whole(path, data)  # the store's row below must never name a file a power cut emptied

        def record(c):
            cur = c.execute("INSERT INTO display_snapshots(at, path, sha256, board_version, verification_code, "
                            "screen_state, width, height) VALUES (?,?,?,?,?,?,?,?)",
                            (at, str(path), digest, board_version, verification_code, screen_state,
                             small.width, small.height))
            old = c.execute("SELECT id, path FROM display_snapshots ORDER BY id DESC LIMIT -1 OFFSET ?",
                            (self.keep,)).fetchall()
            if old:
                c.execute(f"DELETE FROM display_snapshots WHERE id IN ({','.join('?' * len(old))})",
                          [r["id"] for r in old])
            return cur.lastrowid, old

        snap_id, old = self.store.write(record)
        for r in old:
            try:
                Path(r["path"]).unlink()
            except FileNotFoundError:
                pass
        return Snapshot(snap_id, at, path, digest, board_version, verification_code, screen_state,
                        small.width, small.height)


def list_snapshots(store) -> list[Snapshot]:
    """The kept snapshots, newest first."""
    return [_row(r) for r in store.query("SELECT * FROM display_snapshots ORDER BY id DESC")]


def read_snapshot(snapshot: Snapshot) -> bytes:
    """The PNG bytes, checked against the recorded hash."""
    data = snapshot.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != snapshot.sha256:
        raise ValueError(f"snapshot {snapshot.path} does not match its recorded sha256 {snapshot.sha256}")
    return data
