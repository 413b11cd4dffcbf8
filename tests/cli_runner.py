"""Run the installed ``pishkhan`` command as a user would, for the CLI tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).with_name("pishkhan")


def run(*args, env, ok=True, timeout=60):
    """Run ``pishkhan ARGS``; with *ok* True/False assert it succeeded/failed (None: no check)."""
    proc = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)
    if ok is not None:
        assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
    return proc
