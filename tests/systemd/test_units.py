"""Every unit in systemd/, laid into a temporary root as the package lays them (/lib/systemd/system):
``systemd-analyze verify`` finds nothing to say, each restarts always within a start limit, and
``systemd-analyze security`` gives each an exposure no higher than its ceiling (docs/units.md).

The root holds a copy of this machine's own units (``sysinit.target`` and the rest a unit's
dependencies reach) and an executable stub at every path a unit runs, so that verify judges the
unit, not this machine's installation.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from required_tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
#: The exposure each unit has reached (docs/units.md): a loosening breaks the test. The issue's target
#: is 2.5 for the agent and the panel; a unit not named here is held to that too.
CEILINGS = {"pishkhan-agent.service": 1.5, "pishkhan-panel.service": 1.4, "pishkhan-monitor.service": 1.5,
            "pishkhan-kiosk.service": 1.5, "pishkhan-display.service": 0.6, "pishkhan-x.service": 2.2,
            "pishkhan-update.service": 2.5, "pishkhan-update-recover.service": 2.1}
TARGET = 2.5
EXEC_KEYS = ("ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost")


def unit_files() -> list[Path]:
    return sorted(UNITS.glob("*.service"))


def sections(path: Path) -> configparser.ConfigParser:
    """The unit as sections of keys (a repeated key keeps its last value; continued lines joined)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str
    parser.read_string(path.read_text(encoding="utf-8").replace("\\\n", " "))
    return parser


def commands(path: Path) -> list[str]:
    """The absolute paths a unit runs (the first word of each Exec*= line, without its prefixes)."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in EXEC_KEYS and value.strip():
            found.append(value.strip().lstrip("-@:+!").split()[0])
    return found


def lay(root: Path, units: list[Path]) -> Path:
    """A root with this machine's units, ours in /lib/systemd/system, and a stub at every path they run."""
    system = root / "usr" / "lib" / "systemd" / "system"
    shutil.copytree(SYSTEM_UNITS, system, symlinks=True)
    (root / "lib").symlink_to("usr/lib")  # merged /usr, as on Debian 12 and Raspberry Pi OS
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    for unit in units:
        shutil.copy(unit, root / "lib" / "systemd" / "system" / unit.name)
        for command in commands(unit):
            stub = root / command.lstrip("/")
            if not stub.exists():
                stub.parent.mkdir(parents=True, exist_ok=True)
                stub.write_text("#!/bin/sh\nexit 0\n")
                stub.chmod(0o755)
    return root


def analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def laid(tmp_path_factory):
    require_tool("systemd-analyze")
    return lay(tmp_path_factory.mktemp("root"), unit_files())


def test_the_units_are_there():
    names = {u.name for u in unit_files()}
    assert {"pishkhan-agent.service", "pishkhan-panel.service", "pishkhan-kiosk.service",
            "pishkhan-display.service", "pishkhan-x.service", "pishkhan-monitor.service"} <= names


@pytest.mark.parametrize("unit", [u.name for u in unit_files()])
def test_systemd_analyze_verify_finds_nothing(laid, unit):
    proc = analyze("verify", f"--root={laid}", unit)
    assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


def test_verify_would_catch_a_broken_unit(laid):
    broken = laid / "lib" / "systemd" / "system" / "pishkhan-broken.service"
    broken.write_text((UNITS / "pishkhan-kiosk.service").read_text().replace("Restart=always", "Restartt=always")
                      .replace("DevicePolicy=closed", "DevicePolicy=shut"))
    try:
        proc = analyze("verify", f"--root={laid}", broken.name)
    finally:
        broken.unlink()
    assert "Restartt" in proc.stderr and "device policy" in proc.stderr, proc.stderr


@pytest.mark.parametrize("unit", unit_files(), ids=lambda u: u.name)
def test_every_unit_restarts_always_within_a_start_limit_with_its_directories(unit):
    s = sections(unit)
    if s["Service"].get("Type") != "oneshot":  # a oneshot unit cannot restart always
        assert s["Service"]["Restart"] == "always"
    assert int(s["Unit"]["StartLimitIntervalSec"]) > 0 and int(s["Unit"]["StartLimitBurst"]) > 1
    assert s["Service"]["ConfigurationDirectory"] == "pishkhan"
    if s["Service"].get("User") == "pishkhan":
        assert s["Service"]["StateDirectory"] == "pishkhan"
        assert s["Service"]["NoNewPrivileges"] == "yes" and s["Service"]["ProtectSystem"] == "strict"
        assert s["Service"]["CapabilityBoundingSet"] == ""


@pytest.mark.parametrize("app", ["kiosk", "display"])
def test_each_screen_app_is_on_its_own_output_of_the_x_server_and_bounded_in_memory(app):
    s = sections(UNITS / f"pishkhan-{app}.service")["Service"]
    unit = sections(UNITS / f"pishkhan-{app}.service")["Unit"]
    assert s["ExecStart"].split()[1:] == [app, "--fullscreen"]  # full screen on [app] output
    assert s["ExecCondition"].split()[1:] == ["screens", "check", app]  # no such screen: skipped, with why
    assert "pishkhan-x.service" in unit["Requires"] and "pishkhan-x.service" in unit["After"]
    assert "DISPLAY=:0" in s["Environment"] and "XAUTHORITY=/run/pishkhan-x/xauthority" in s["Environment"]
    assert s["DevicePolicy"] == "closed"  # the devices it needs, not the whole /dev
    assert "char-drm rw" in (UNITS / f"pishkhan-{app}.service").read_text()
    assert re.fullmatch(r"[0-9]+M", s["MemoryMax"])
    x = (UNITS / "pishkhan-x.service").read_text()
    assert "ExecStartPre=/opt/pishkhan/.venv/bin/pishkhan screens xorg-conf --out /run/pishkhan-x/xorg.conf" in x
    assert "ExecCondition=/opt/pishkhan/.venv/bin/pishkhan screens check any" in x


def exposure(root: Path, unit: str) -> tuple[float, str]:
    proc = analyze("security", "--offline=true", f"--root={root}", unit)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", proc.stdout)
    assert m, proc.stdout + proc.stderr
    return float(m.group(1)), proc.stdout


def test_systemd_analyze_security_within_each_ceiling(laid, capsys):
    rows = [(u.name, exposure(laid, u.name)[0]) for u in unit_files()]
    with capsys.disabled():
        print("\nunit                           exposure  ceiling")
        for name, level in rows:
            print(f"{name:30} {level:8.1f}  {CEILINGS.get(name, TARGET):7.1f}")
    for name, level in rows:
        assert level <= CEILINGS.get(name, TARGET), f"{name}: exposure {level} above {CEILINGS.get(name, TARGET)}"
    assert dict(rows)["pishkhan-agent.service"] <= TARGET and dict(rows)["pishkhan-panel.service"] <= TARGET


def test_a_loosened_unit_goes_over_its_ceiling(laid):
    loose = laid / "lib" / "systemd" / "system" / "pishkhan-loose.service"
    loose.write_text((UNITS / "pishkhan-panel.service").read_text().replace("ProtectSystem=strict\n", "")
                     .replace("CapabilityBoundingSet=\n", ""))
    try:
        assert exposure(laid, loose.name)[0] > CEILINGS["pishkhan-panel.service"]
    finally:
        loose.unlink()
