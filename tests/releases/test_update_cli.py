"""``pishkhan update verify`` and ``pishkhan update health`` as the root updater runs them: real processes, a real
store, the exact exit statuses and one JSON line."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from release_helpers import live_dates, release_doc

from pishkhan.boards.signing import SigningKey, verification_code
from pishkhan.boards.trust import trust_key
from pishkhan.config import load_config
from pishkhan.releases.verify import health_checks
from pishkhan.store.database import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def national():
    return SigningKey.generate()


@pytest.fixture
def device(tmp_path, national):
    """A device's configuration file and store (the national key trusted), and its VERSION file at 0.8.0."""
    config = tmp_path / "pishkhan.toml"
    config.write_text(f'[device]\nid = "dev-0001"\nstate_dir = "{tmp_path / "state"}"\n'
                      '[office]\nprovince = "23"\noffice_id = "OFF-1"\n', encoding="utf-8")
    with Store(load_config(config).store_path) as store:
        trust_key(store, national.public, scope="national", actor="test")
    version = tmp_path / "VERSION"
    version.write_text("0.8.0\n")
    return config, version


def pishkhan(*args, version_file, timeout=60):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PISHKHAN_VERSION_FILE=str(version_file))
    return subprocess.run([sys.executable, "-m", "cli.main", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def request(tmp_path, envelope, name="request.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"envelope": envelope, "requested_at": "2026-12-07T20:00:00Z",
                                "device_id": "dev-0001"}))
    return path


def test_verify(tmp_path, device, national):
    config, version = device
    envelope = national.sign(release_doc(1) | live_dates())
    done = pishkhan("update", "verify", "--config", config, "--request", request(tmp_path, envelope),
                    version_file=version)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
    sha = envelope["payload"]["package"]["sha256"]
    assert json.loads(done.stdout) == {"version": "0.9.0", "sha256": sha, "size": 55_000_000,
                                       "path": f"releases/pool/{sha}.deb", "rollout": "R-20261207-1",
                                       "document_code": verification_code(envelope), "urgent": False,
                                       "rollback": False}

    # Refused, exit 3 and {"reason", "message"}: a downgrade, an architecture not this one, a forged document.
    version.write_text("1.0.0\n")
    refusals = []
    for name, env in (("downgrade", envelope),
                      ("arch", national.sign(release_doc(2, package={"architecture": "s390x"}) | live_dates())),
                      ("forged", SigningKey.generate().sign(release_doc(1) | live_dates()))):
        done = pishkhan("update", "verify", "--config", config, "--request", request(tmp_path, env, f"{name}.json"),
                        version_file=version)
        assert done.returncode == 3, done.stdout + done.stderr
        refusals.append(json.loads(done.stdout))
    assert [r["reason"] for r in refusals] == ["downgrade", "wrong_architecture", "forged"]
    assert all(set(r) == {"reason", "message"} and r["message"] for r in refusals)

    # Usage: exit 2.
    assert pishkhan("update", "verify", "--config", config, version_file=version).returncode == 2


def test_health(tmp_path, device):
    config, version = device
    since = "2026-12-07T20:00:00Z"
    done = pishkhan("update", "health", "--config", config, "--since", since, "--version", "0.8.0", "--no-services",
                    version_file=version)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["healthy"] is True
    assert [c["name"] for c in answer["checks"]] == ["version", "config", "store"]
    done = pishkhan("update", "health", "--config", config, "--since", since, "--version", "0.9.0", "--no-services",
                    version_file=version)
    assert done.returncode == 1 and json.loads(done.stdout)["checks"][0] == \
        {"name": "version", "ok": False, "detail": "running 0.8.0, expected 0.9.0"}
    assert pishkhan("update", "health", "--since", "yesterday", "--version", "1", version_file=version).returncode == 2


class FakeSystemd:
    def __init__(self, states):
        self.states = states

    def enabled_units(self):
        return list(self.states)

    def state(self, unit):
        return self.states[unit]


def test_health_with_services_reads_the_facts_after_since(tmp_path, device, monkeypatch):
    config, version = device
    monkeypatch.setenv("PISHKHAN_VERSION_FILE", str(version))
    units = {"pishkhan-agent.service": ("active", "notify"), "pishkhan-display.service": ("active", "notify"),
             "pishkhan-update.service": ("activating", "oneshot")}

    since = None

    def check(**states):
        checks = health_checks(version="0.8.0", since=since, config_path=config, services=True,
                               systemd=FakeSystemd(units | states))
        return {c["name"]: c["ok"] for c in checks}

    with Store(load_config(config).store_path) as store:
        store.audit("agent", "agent.birth", "dev-0001", software_version="0.8.0")  # before --since: not counted
        since = dt.datetime.now(dt.timezone.utc) + dt.timedelta(milliseconds=1)
        while dt.datetime.now(dt.timezone.utc) <= since:
            pass
        assert check() == {"version": True, "config": True, "store": True, "units": True, "birth": False,
                           "wall": False}
        store.audit("agent", "agent.birth", "dev-0001", software_version="0.7.0")  # another version
        assert check()["birth"] is False
        store.audit("agent", "agent.birth", "dev-0001", software_version="0.8.0")
        store.audit("display", "display.board_shown", "12", software_version="0.8.0")
        assert all(check().values())
        assert check(**{"pishkhan-display.service": ("failed", "notify")})["units"] is False


def test_the_wire_schemas_check_the_update_fields():
    from pishkhan.protocol import payloads

    common = {"device": "dev-1", "seq": 1, "sent_at": 0.0}
    row = {"step": "rolled_back", "rollout": "R-1", "document_code": "abc", "from_version": "0.9.0",
           "to_version": "0.8.0", "reason": "unhealthy", "detail": "units: pishkhan-kiosk.service failed"}
    assert payloads.problems(payloads.event(**common, event="update", detail=row)) == []
    assert payloads.problems(payloads.event(**common, event="update", detail=row | {"step": "exploded"}))
    assert payloads.problems(payloads.event(**common, event="update", detail=row | {"detail": "x" * 2001}))
    assert payloads.problems(payloads.event(**common, event="late_opening", detail={"step": "exploded"})) == []
    release = {"rollout": "R-1", "document_code": "abc", "scope": "national", "package_version": "0.9.0",
               "state": "waiting", "reason": "in_hours", "running_version": "0.8.0"}
    assert payloads.problems(payloads.reported(**common, applied={"release": release})) == []
    assert payloads.problems(payloads.reported(**common, applied={"release": None})) == []
    assert payloads.problems(payloads.reported(**common, applied={"release": release | {"state": "sleeping"}}))
    telemetry = payloads.telemetry(**common, agent={}, readings={"update": {"software_version": "0.9.0",
                                                                            "update_state": "healthy"}})
    def about_readings(message):
        return [p for p in payloads.problems(message) if p.startswith("readings")]
    assert about_readings(telemetry) == []
    telemetry["readings"]["update"]["update_state"] = "sleeping"
    assert about_readings(telemetry)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, as the updater runs it")
def test_run_as_root_verify_becomes_the_store_owner(national):
    import shutil
    import tempfile

    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                            "import ctypes, cryptography.hazmat.primitives.asymmetric.ed25519, debian, pishkhan"],
                           capture_output=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if probe.returncode != 0:
        pytest.skip("this machine's Python cannot be read by another user (on a device it can)")
    home = Path(tempfile.mkdtemp(prefix="pishkhan-owner-"))
    try:
        home.chmod(0o755)
        config, version = device.__wrapped__(home, national)
        state = home / "state"
        for path in [state, *state.iterdir()]:
            os.chown(path, 65534, 65534)  # nobody: the store belongs to the agent's user, not root
        path = request(home, national.sign(release_doc(1) | live_dates()))
        path.chmod(0o644)
        done = pishkhan("update", "verify", "--config", config, "--request", path, version_file=version)
        assert done.returncode == 0, done.stdout + done.stderr
        assert {p.name: p.stat().st_uid for p in state.iterdir()} == {p.name: 65534 for p in state.iterdir()}
        path.chmod(0o600)  # root's alone: the store's owner cannot read it, so verify did not read it as root
        done = pishkhan("update", "verify", "--config", config, "--request", path, version_file=version)
        assert done.returncode == 3 and json.loads(done.stdout)["reason"] == "not_a_file", done.stdout + done.stderr
    finally:
        shutil.rmtree(home)


def test_verify_may_check_the_window_again(tmp_path, device, national, monkeypatch):
    from pishkhan.releases.verify import VerifyRefusal, verify_request
    from pishkhan.text.jalali import TEHRAN

    config, version = device
    cfg = load_config(config)  # the default weekly hours: open Saturday to Wednesday from 08:00
    path = request(tmp_path, national.sign(release_doc(1)))
    with Store(cfg.store_path) as store:
        def verify(hh, **kw):
            return verify_request(cfg, store, path, running="0.8.0", architecture="arm64",
                                  now=dt.datetime(2026, 12, 12, hh, 0, tzinfo=TEHRAN), **kw)
        assert verify(11)["version"] == "0.9.0"  # the agent decides; verify alone does not judge the hours
        assert verify(23, check_window=True)["version"] == "0.9.0"
        for hh, reason in ((11, "in_hours"), (16, "outside_window")):
            with pytest.raises(VerifyRefusal) as refused:
                verify(hh, check_window=True)
            assert refused.value.reason == reason


def test_status_names_the_document_in_force_and_the_decision(tmp_path, device, national, monkeypatch, capsys):
    from cli.main import main
    from pishkhan.releases.installed import install_release

    config, version = device
    monkeypatch.setenv("PISHKHAN_VERSION_FILE", str(version))
    with Store(load_config(config).store_path) as store:
        install_release(store, national.sign(release_doc(1) | live_dates()), source="cli", actor="test")
    assert main(["update", "status", "--config", str(config)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["running_version"] == "0.8.0" and shown["document"]["package_version"] == "0.9.0"
    assert shown["decision"]["state"] in ("start", "waiting")
