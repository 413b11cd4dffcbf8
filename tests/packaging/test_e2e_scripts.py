"""The end-to-end checks' shell (make package-e2e, make update-e2e) parses.

They need root, debootstrap and minutes, so the suite does not run them; it
checks only that bash reads every script and the library they share.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


@pytest.mark.parametrize("script", ["e2e-lib.sh", "e2e.sh", "update-e2e.sh"])
def test_the_script_is_valid_bash(script):
    done = subprocess.run(["bash", "-n", str(PACKAGING / script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("script", ["e2e.sh", "update-e2e.sh"])
def test_the_checks_share_one_library(script):
    text = (PACKAGING / script).read_text()
    assert ". packaging/e2e-lib.sh" in text
    assert "debootstrap --variant" not in text  # the root is made in one place only
