"""``pishkhan --version``: the running package's version (the update check asks it of each version)."""

from __future__ import annotations

import os

from tests.cli_runner import run


def test_version_is_the_package_version_file(tmp_path):
    version_file = tmp_path / "VERSION"
    version_file.write_text("0.9.0+20261207101500\n")
    env = dict(os.environ, PISHKHAN_VERSION_FILE=str(version_file))
    assert run("--version", env=env).stdout == "pishkhan 0.9.0+20261207101500\n"
