"""pishkhan-update is standard library only and runs as one zip under ``python3 -I``; it speaks to
``pishkhan update verify|health`` through their exit codes and JSON lines (docs/updates-on-device.md), checked here
against a stand-in command."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from updater_world import ROOT

from updater.health import CommandHealth
from updater.release import Refusal
from updater.verify import CommandVerifier, VerifierBroken

SHA = "ab" * 32


def _foreign_imports(folder: Path) -> list[str]:
    """Imports in *folder*'s modules that are neither the standard library nor updater itself."""
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("updater", "__future__"):
                    found.append(f"{path.name}: {name}")
    return found


def test_the_updater_imports_the_standard_library_only(tmp_path):
    assert _foreign_imports(ROOT / "updater") == []
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "x.py").write_text("import json\nfrom pishkhan.config import load_config\n")
    assert _foreign_imports(planted) == ["x.py: pishkhan.config"]


def test_the_zip_runs_isolated(tmp_path):
    zipped = tmp_path / "pishkhan-update"
    subprocess.run(["bash", str(ROOT / "packaging/updater-zip.sh"), str(zipped)], check=True, timeout=60)
    assert zipped.read_bytes().startswith(b"#!/usr/bin/python3 -I\n")
    import zipfile
    names = zipfile.ZipFile(zipped).namelist()
    assert "__main__.py" in names and "updater/update.py" in names and "updater/fakes.py" not in names
    poisoned = tmp_path / "poison"
    (poisoned / "updater").mkdir(parents=True)
    (poisoned / "updater" / "__init__.py").write_text("raise SystemExit('the wrong updater')\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(poisoned), "PISHKHAN_CONFIG": str(tmp_path / "none.toml"),
           "PISHKHAN_UPDATE_JOURNAL": str(tmp_path / "j/journal.sqlite"),
           "PISHKHAN_UPDATE_REQUEST": str(tmp_path / "absent.json")}
    done = subprocess.run([str(zipped), "run"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "nothing to do" in done.stdout, done.stderr
    done = subprocess.run([str(zipped), "status", "--json"], env=env, capture_output=True, text=True, timeout=30)
    assert json.loads(done.stdout) == {"attempt": "", "steps": []}
    # Every module of the zip is loaded before anything is installed (dpkg replaces the zip under a running update).
    done = subprocess.run(["/usr/bin/python3", "-I", "-X", "importtime", str(zipped), "run"], env=env,
                          capture_output=True, text=True, timeout=30)
    loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    shipped = {"updater." + n.split("/")[1][:-3] for n in names if n.startswith("updater/") and n.endswith(".py")}
    assert shipped - {"updater.__main__", "updater.__init__"} <= loaded, sorted(shipped - loaded)
    assert "updater" in loaded


STAND_IN = """#!/bin/sh
# pishkhan update verify|health as the installed command answers them
case "$2" in
verify) [ -f "$4" ] || exit 2
        case "$(cat "$4")" in
        *expired*) echo '{"reason": "expired", "message": "expired at 2026-12-01"}'; exit 3 ;;
        *crash*) echo 'Traceback (most recent call last): ...' >&2; exit 1 ;;
        esac
        echo 'a log line first'
        echo '{"version": "0.9.1+1", "sha256": "SHA", "size": 123, "path": "releases/pool/SHA.deb", "rollout": "R-1", "document_code": "release-national-3", "urgent": false, "rollback": false}'
        ;;
health) [ "$3 $5 $7" = "--since --version --no-services" ] || [ "$3 $5 $7" = "--since --version --services" ] || exit 2
        if [ "$6" = "0.9.1+1" ]; then echo '{"healthy": true, "checks": [{"name": "imports", "ok": true, "detail": ""}]}'; exit 0; fi
        if [ "$6" = "dead" ]; then exit 1; fi
        echo '{"healthy": false, "checks": [{"name": "units_active", "ok": false, "detail": "pishkhan-kiosk failed"}]}'; exit 1
        ;;
esac
""".replace("SHA", SHA)


@pytest.fixture
def pishkhan(tmp_path):
    command = tmp_path / "pishkhan"
    command.write_text(STAND_IN)
    command.chmod(0o755)
    return command


@pytest.mark.parametrize("request_text, outcome", [("{}", "release"), ('{"x": "expired"}', "expired"),
                                                   ('{"x": "crash"}', "broken")])
def test_verify(pishkhan, tmp_path, request_text, outcome):
    request = tmp_path / "request.json"
    request.write_text(request_text)
    verifier = CommandVerifier(pishkhan=pishkhan, config=tmp_path / "c.toml")
    if outcome == "release":
        release = verifier.verify(request)
        assert (release.version, release.sha256, release.size, release.rollout) == ("0.9.1+1", SHA, 123, "R-1")
    elif outcome == "expired":
        with pytest.raises(Refusal) as refused:
            verifier.verify(request)
        assert refused.value.reason == "expired"
    else:
        with pytest.raises(VerifierBroken):
            verifier.verify(request)


def test_health(pishkhan, tmp_path):
    probe = CommandHealth(pishkhan=pishkhan, config=tmp_path / "c.toml")
    assert probe.check(since="2026-12-07T20:00:00Z", version="0.9.1+1").healthy
    assert probe.check(since="2026-12-07T20:00:00Z", version="0.9.1+1", services=False).healthy
    sick = probe.check(since="2026-12-07T20:00:00Z", version="0.9.2+1")
    assert not sick.healthy and sick.failed == [{"name": "units_active", "ok": False, "detail": "pishkhan-kiosk failed"}]
    dead = probe.check(since="2026-12-07T20:00:00Z", version="dead")
    assert not dead.healthy and dead.failed[0]["name"] == "health_command", "no answer is not healthy"
