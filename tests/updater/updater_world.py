"""A fake device for the updater's tests (updater.fakes) and the ways to drive ``pishkhan-update`` on it:
in this process (:func:`run_here`) or as its own ``python3 -I`` process (:func:`run_apart`, which a kill
switch may end as a power cut would)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from updater.cli import main
from updater.fakes import FakeDevice, fake_deb, fake_parts

ROOT = Path(__file__).resolve().parents[2]
OLD, NEW = "0.9.0+20261201000000", "0.9.1+20261207000000"
DRIVER = """
import sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from updater.cli import main
from updater.fakes import fake_parts
sys.exit(main(sys.argv[3:], parts=fake_parts(Path(sys.argv[2]))))
"""


@dataclass
class World:
    folder: Path
    device: FakeDevice

    @property
    def env(self) -> dict:
        f = self.folder
        return {"PISHKHAN_CONFIG": str(f / "pishkhan.toml"), "PISHKHAN_UPDATE_REQUEST": str(f / "agent/request.json"),
                "PISHKHAN_UPDATE_JOURNAL": str(f / "update/journal.sqlite"),
                "PISHKHAN_UPDATE_KEPT": str(f / "update/kept"), "PISHKHAN_UPDATE_VERSION_FILE": str(f / "VERSION"),
                "PISHKHAN_UPDATE_REPOSITORY": "https://centre.test:8443/", "PISHKHAN_UPDATE_HEALTH_SECONDS": "30",
                "PISHKHAN_UPDATE_AS_USER": ""}

    @property
    def journal(self) -> Path:
        return self.folder / "update" / "journal.sqlite"

    def publish(self, version: str, **kind) -> dict:
        """A package of *version* in the pool and verify answering for it; the release."""
        deb, sha, size = fake_deb(self.folder / "build" / f"{version}.deb", version=version, **kind)
        (self.device.folder / "pool" / f"{sha}.deb").write_bytes(deb.read_bytes())
        release = {"version": version, "sha256": sha, "size": size, "path": f"releases/pool/{sha}.deb",
                   "rollout": "R-20261207-1", "document_code": "release-national-3", "urgent": False,
                   "rollback": False}
        self.device.answer(release)
        return release

    def keep_running(self) -> None:
        """kept/ holds the running version's package (as `pishkhan-update keep` leaves it)."""
        deb = self.folder / "build" / f"{OLD}.deb"
        if not deb.exists():
            fake_deb(deb, version=OLD)
        assert run_here(self, "keep", str(deb)) == 0

    def request(self, envelope: dict | None = None) -> Path:
        path = self.folder / "agent" / "request.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"envelope": envelope or {"format": "pishkhan.envelope/1"}, "requested_at":
                                    "2026-12-07T20:00:00Z", "device_id": "pi-0001"}))
        return path

    def steps(self) -> list[tuple[str, str]]:
        """(step, reason) of every row, read as the agent reads it: a read-only connection."""
        db = sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True)
        try:
            return list(db.execute("SELECT step, reason FROM update_steps ORDER BY id"))
        finally:
            db.close()

    def rows(self) -> list[dict]:
        db = sqlite3.connect(f"file:{self.journal}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM update_steps ORDER BY id")]
        finally:
            db.close()


def make_world(folder: Path) -> World:
    device = FakeDevice.create(folder, running=OLD)
    (folder / "pishkhan.toml").write_text('[update]\nhealth_seconds = 30\n')
    return World(folder, device)


def run_here(world: World, *argv: str, kill: str = "") -> int:
    env = dict(world.env)
    if kill:
        env["PISHKHAN_UPDATE_KILL_AT"] = kill
    return main(list(argv), parts=fake_parts(world.folder), env=env)


def run_apart(world: World, *argv: str, kill: str = "") -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", **world.env}
    if kill:
        env["PISHKHAN_UPDATE_KILL_AT"] = kill
    return subprocess.run(["/usr/bin/python3", "-I", "-c", DRIVER, str(ROOT), str(world.folder), *argv],
                          env=env, capture_output=True, text=True, timeout=60)
