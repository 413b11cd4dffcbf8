"""The update units (systemd/pishkhan-update*): the path unit watches the request file the settings name and
starts the root one-shot; recovery runs before every pishkhan service; the path unit passes
``systemd-analyze verify`` (the services are verified with the others by tests/systemd)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

from required_tools import require_tool
from updater_world import ROOT

from updater.settings import FIELDS

UNITS = ROOT / "systemd"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((UNITS / name).read_text())
    return parser


def test_the_path_unit_watches_the_request_and_starts_the_service():
    path = _unit("pishkhan-update.path")
    assert path["Path"]["PathExists"] == FIELDS["request"][1]
    assert path["Path"]["Unit"] == "pishkhan-update.service"
    assert path["Install"]["WantedBy"] == "paths.target"
    service = _unit("pishkhan-update.service")
    assert not service.has_section("Install"), "started by the path unit only"
    assert service["Service"]["ExecStart"] == "/usr/bin/python3 -I /usr/lib/pishkhan/pishkhan-update run"
    assert "User" not in service["Service"], "root: it runs dpkg"
    assert set(service["Service"]["SuccessExitStatus"].split()) == {"3", "4"}
    assert FIELDS["journal"][1].startswith("/var/lib/" + service["Service"]["StateDirectory"] + "/")


def test_recovery_runs_at_boot_before_every_pishkhan_service():
    recover = _unit("pishkhan-update-recover.service")
    assert recover["Service"]["ExecStart"] == "/usr/bin/python3 -I /usr/lib/pishkhan/pishkhan-update recover"
    assert recover["Install"]["WantedBy"] == "multi-user.target"
    assert recover["Unit"]["ConditionPathExists"] == FIELDS["journal"][1]
    before = set(recover["Unit"]["Before"].split())
    others = {u.name for u in UNITS.glob("pishkhan-*.service")} - {"pishkhan-update-recover.service",
                                                                   "pishkhan-monitor.service"}
    assert others <= before, f"recovery must come before {sorted(others - before)}"


def test_systemd_analyze_verify_accepts_the_path_unit(tmp_path):
    require_tool("systemd-analyze")
    system = tmp_path / "usr/lib/systemd/system"
    shutil.copytree(Path("/usr/lib/systemd/system"), system, symlinks=True)
    (tmp_path / "lib").symlink_to("usr/lib")
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    for name in ("pishkhan-update.path", "pishkhan-update.service", "pishkhan-update-recover.service"):
        shutil.copy(UNITS / name, system / name)
    stub = tmp_path / "usr/bin/python3"
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.unlink(missing_ok=True)
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    done = subprocess.run(["systemd-analyze", "verify", f"--root={tmp_path}", "pishkhan-update.path"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
