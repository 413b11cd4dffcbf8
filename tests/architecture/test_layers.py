"""The layer contracts in pyproject.toml hold for the tree, and would catch a breach."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(cwd))
    return subprocess.run([str(LINT), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_tree_keeps_every_contract():
    proc = lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def _copy_tree(dest: Path):
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    for pkg in ("pishkhan", "kiosk", "display", "panel", "edge_agent", "provisioning", "central", "cli"):
        shutil.copytree(ROOT / pkg, dest / pkg, ignore=shutil.ignore_patterns("__pycache__"))


def _plant(path: Path, line: str):
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_a_core_module_importing_an_app_is_caught(tmp_path):
    _copy_tree(tmp_path)
    _plant(tmp_path / "pishkhan" / "boards" / "document.py", "import kiosk.model  # planted")
    proc = lint(tmp_path)
    assert proc.returncode != 0
    assert "pishkhan.boards.document -> kiosk.model" in proc.stdout


def test_an_app_importing_another_app_is_caught(tmp_path):
    _copy_tree(tmp_path)
    _plant(tmp_path / "display" / "announce.py", "from kiosk import strings  # planted")
    proc = lint(tmp_path)
    assert proc.returncode != 0
    assert "display.announce -> kiosk.strings" in proc.stdout


def test_the_store_importing_boards_is_caught(tmp_path):
    _copy_tree(tmp_path)
    _plant(tmp_path / "pishkhan" / "store" / "database.py", "from pishkhan.boards import trust  # planted")
    proc = lint(tmp_path)
    assert proc.returncode != 0
    assert "pishkhan.store.database -> pishkhan.boards.trust" in proc.stdout


def test_every_core_room_keeps_its_layer(tmp_path):
    """The core's layers are exhaustive, siblings on one layer stay apart, and the bottom imports nothing above."""
    _copy_tree(tmp_path)
    (tmp_path / "pishkhan" / "newroom.py").write_text('"""A room placed in no layer."""\n', encoding="utf-8")
    _plant(tmp_path / "pishkhan" / "protocol" / "topics.py", "from pishkhan import config  # planted")
    _plant(tmp_path / "pishkhan" / "tls.py", "from pishkhan.store import database  # planted")
    _plant(tmp_path / "pishkhan" / "hardware" / "clock.py", "from pishkhan.boards import trust  # planted")
    proc = lint(tmp_path)
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    assert "pishkhan.newroom" in out
    assert "pishkhan.protocol.topics -> pishkhan.config" in out
    assert "pishkhan.tls -> pishkhan.store.database" in out
    assert "pishkhan.hardware.clock -> pishkhan.boards.trust" in out
