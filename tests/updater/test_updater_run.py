"""pishkhan-update run on a fake device (updater.fakes models dpkg's states): every step is a journal row the
agent can read read-only; the refusals leave the device as it was; an unhealthy version is rolled back."""

from __future__ import annotations

import json
import os
import sqlite3
import stat

import pytest
from updater_world import NEW, OLD, make_world, run_here

from updater.journal import STEPS


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path)


def test_an_upgrade_records_every_step_and_ends_healthy(world):
    world.keep_running()
    release = world.publish(NEW)
    world.request()
    assert run_here(world, "run") == 0
    assert [s for s, _ in world.steps()] == ["requested", "downloading", "downloaded", "kept", "installing",
                                            "installed", "healthy"]
    rows = world.rows()
    assert len({r["attempt"] for r in rows}) == 1
    assert all(r["at"].endswith("Z") and r["rollout"] == "R-20261207-1" for r in rows[1:])
    assert all(r["from_version"] == OLD for r in rows) and rows[-1]["to_version"] == NEW
    assert rows[-1]["document_code"] == "release-national-3"
    assert world.device.runs() == NEW and world.device.restarts()
    assert not (world.folder / "agent/request.json").exists(), "the request is taken"
    copies = list((world.folder / "update/requests").glob("*.json"))
    assert [c.stem for c in copies] == [rows[0]["attempt"]]
    assert stat.S_IMODE(os.stat(world.journal).st_mode) == 0o644
    reader = sqlite3.connect(f"file:{world.journal}?mode=ro", uri=True)
    assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "delete", "no -wal/-shm a reader must create"
    reader.close()
    assert not list(world.journal.parent.glob("journal.sqlite-*"))
    assert (world.folder / "update/kept" / f"pishkhan_{NEW}.deb").exists(), "the new version is the next way back"
    assert release["sha256"] in rows[2]["detail"]


def test_no_request_no_row(world):
    assert run_here(world, "run") == 0
    assert not world.journal.exists() or world.steps() == []


def test_a_document_for_the_running_version_keeps_its_package(world):
    world.publish(OLD)
    world.request()
    assert run_here(world, "run") == 0
    assert [s for s, _ in world.steps()] == ["requested", "downloading", "downloaded", "kept", "healthy"]
    assert (world.folder / "update/kept" / f"pishkhan_{OLD}.deb").exists()
    world.publish(NEW)
    world.request()
    assert run_here(world, "run") == 0 and world.device.runs() == NEW, "now there is a way back"


def test_refused_without_a_kept_package_for_the_running_version(world):
    world.publish(NEW)
    world.request()
    assert run_here(world, "run") == 3
    assert world.steps() == [("requested", ""), ("refused", "no_rollback_package")]
    assert world.device.runs() == OLD


def test_a_kept_package_that_lost_its_hash_is_no_way_back(world):
    world.keep_running()
    kept = world.folder / "update/kept" / f"pishkhan_{OLD}.deb"
    kept.write_bytes(kept.read_bytes()[:-1] + b" ")
    world.publish(NEW)
    world.request()
    assert run_here(world, "run") == 3
    assert world.steps()[-1] == ("refused", "no_rollback_package")


@pytest.mark.parametrize("damage", ["content", "size"])
def test_refused_when_the_package_is_not_the_one_the_document_names(world, damage):
    world.keep_running()
    release = world.publish(NEW)
    served = world.device.folder / "pool" / f"{release['sha256']}.deb"
    data = served.read_bytes()
    served.write_bytes(data.replace(b"xxxx", b"yyyy") if damage == "content" else data + b"\n")
    world.request()
    assert run_here(world, "run") == 3
    assert world.steps() == [("requested", ""), ("downloading", ""), ("refused", "wrong_hash")]
    assert world.device.runs() == OLD
    assert not list((world.folder / "update/downloads").glob("*")), "nothing half-downloaded is left"


def test_refused_when_the_download_fails(world):
    world.keep_running()
    release = world.publish(NEW)
    (world.device.folder / "pool" / f"{release['sha256']}.deb").unlink()
    world.request()
    assert run_here(world, "run") == 3
    assert world.steps()[-1] == ("refused", "download_failed")
    assert world.device.runs() == OLD


def test_the_verifiers_refusal_is_recorded_with_its_reason_and_the_requests_labels(world):
    """Before verify answers, the rows carry the rollout and the verification code the request's envelope
    names (labels, as the agent computes them), so the agent can match a refusal to what it asked for."""
    from pishkhan.boards.signing import verification_code

    envelope = {"format": "pishkhan.envelope/1", "payload": {"format": "pishkhan.release/1", "issuer": "مرکز ملی",
                                                             "rollout": "R-20261207-1", "version": 3},
                "signature": {"alg": "ed25519", "key": "k", "value": "c2lnbmF0dXJl"}}
    world.keep_running()
    world.device.answer({"reason": "downgrade", "message": "0.8.0 is lower than the running version"})
    world.request(envelope)
    assert run_here(world, "run") == 3
    assert world.steps() == [("requested", ""), ("refused", "downgrade")]
    rows = world.rows()
    assert "lower" in rows[-1]["detail"]
    assert {(r["rollout"], r["document_code"]) for r in rows} == {("R-20261207-1", verification_code(envelope))}


def test_a_symlinked_request_is_deleted_not_followed(world, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("root's secret")
    request = world.request()
    request.unlink()
    request.symlink_to(secret)
    assert run_here(world, "run") == 3
    assert world.steps()[-1] == ("refused", "malformed")
    assert not request.is_symlink() and secret.read_text() == "root's secret"
    assert not list((world.folder / "update").glob("requests/*.json"))


def test_an_unhealthy_version_is_rolled_back_with_the_failed_checks_and_the_logs_tail(world):
    world.keep_running()
    world.publish(NEW, broken=True)
    world.request()
    assert run_here(world, "run") == 4
    assert [s for s, _ in world.steps()] == ["requested", "downloading", "downloaded", "kept", "installing",
                                            "installed", "unhealthy", "rolling_back", "rolled_back"]
    last = world.rows()[-1]
    assert last["reason"] == "unhealthy" and last["to_version"] == NEW
    detail = json.loads(last["detail"])
    assert {c["name"] for c in detail["failed"]} == {"imports", "units_active"}
    assert "ImportError" in detail["log"] and len(last["detail"]) <= 4000
    assert world.device.runs() == OLD
    assert not (world.folder / "update/kept" / f"pishkhan_{NEW}.deb").exists(), "a failed version is not kept"


def test_the_health_gate_polls_up_to_its_bound(world, monkeypatch):
    from updater import fakes

    calls = []
    original = fakes.FakeHealth.check

    def counted(self, **kw):
        calls.append(kw)
        return original(self, **kw)

    monkeypatch.setattr(fakes.FakeHealth, "check", counted)
    world.keep_running()
    world.publish(NEW, broken=True)
    world.request()
    env = {"PISHKHAN_UPDATE_HEALTH_SECONDS": "30", "PISHKHAN_UPDATE_HEALTH_INTERVAL": "5"}
    monkeypatch.setattr(type(world), "env", property(lambda w, e=type(world).env: {**e.fget(w), **env}))
    assert run_here(world, "run") == 4
    assert len(calls) == 7, "every 5 s for 30 s, then once more at the bound"
    assert all(c["version"] == NEW and c["since"] == "2026-12-07T20:00:00Z" for c in calls)


def test_a_failed_dpkg_is_rolled_back_as_install_failed(world):
    world.keep_running()
    world.publish(NEW, fails_configure=True)
    world.request()
    assert run_here(world, "run") == 4
    assert world.steps()[-3:] == [("installing", ""), ("rolling_back", "install_failed"),
                                  ("rolled_back", "install_failed")]
    assert "postinst" in world.rows()[-1]["detail"]
    assert world.device.runs() == OLD


def test_dpkg_that_changed_nothing_is_not_undone_by_reinstalling(world):
    """dpkg refused at once (its lock held by another program): the old version is still configured, so the
    rollback installs nothing."""
    world.keep_running()
    world.publish(NEW, locked=True)
    world.request()
    assert run_here(world, "run") == 4
    assert world.steps()[-2:] == [("rolling_back", "install_failed"), ("rolled_back", "install_failed")]
    assert "lock" in world.rows()[-1]["detail"] and world.device.installs() == [NEW]
    assert world.device.runs() == OLD


def test_dpkg_waits_for_its_lock(tmp_path):
    """Dpkg.install first waits while another program (apt, unattended-upgrades) holds dpkg's lock."""
    import subprocess
    import sys
    import time

    from updater.packages import Dpkg

    admin = tmp_path / "var/lib/dpkg"
    admin.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time\n"
                               f"fd = os.open({str(admin / 'lock-frontend')!r}, os.O_RDWR | os.O_CREAT)\n"
                               "fcntl.lockf(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(0.6)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    dpkg = Dpkg(command=f"dpkg --root={tmp_path}")
    assert dpkg.admindir() == admin
    t0 = time.monotonic()
    assert dpkg.wait_for_lock(seconds=0.1, every=0.05) is False, "held: not free within 0.1 s"
    assert dpkg.wait_for_lock(seconds=10, every=0.05) is True
    assert time.monotonic() - t0 >= 0.4
    holder.wait(timeout=5)


def test_status_prints_the_last_attempt(world, capsys):
    world.keep_running()
    world.publish(NEW)
    world.request()
    run_here(world, "run")
    capsys.readouterr()
    assert run_here(world, "status", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert [s["step"] for s in shown["steps"]][-1] == "healthy"
    assert {s["attempt"] for s in shown["steps"]} == {shown["attempt"]}
    assert run_here(world, "status") == 0
    text = capsys.readouterr().out
    assert f"{OLD} → {NEW}" in text and "healthy      سالم" in text


def test_settings_flag_over_environment_over_file_over_default(tmp_path):
    from updater.settings import SettingsError, load

    config = tmp_path / "pishkhan.toml"
    config.write_text('[update]\nhealth_seconds = 120\nkept = "/from/file"\n'
                      '[enrolment]\nserver = "https://centre.example:8443/enrol"\n')
    env = {"PISHKHAN_UPDATE_KEPT": "/from/env"}
    s = load(config=str(config), overrides={"kept": "/from/flag"}, env=env)
    assert str(s.kept) == "/from/flag" and s.health_seconds == 120
    assert str(load(config=str(config), env=env).kept) == "/from/env"
    assert str(load(config=str(config), env={}).kept) == "/from/file"
    assert load(config=str(config), env={}).repository == "https://centre.example:8443/", "enrolment.server's origin"
    assert str(load(config=str(tmp_path / "none.toml"), env={}).journal) == "/var/lib/pishkhan-update/journal.sqlite"
    assert str(load(config=str(tmp_path / "none.toml"), env={}).state) == "/var/lib/pishkhan-update"
    with pytest.raises(SettingsError):
        load(config=str(config), overrides={"repository": "http://plain.example/"}, env={})


def test_the_journal_knows_only_the_designs_steps(world):
    from updater.journal import Journal

    with pytest.raises(ValueError):
        Journal(world.journal).record(attempt="a", step="exploded")
    assert len(STEPS) == 13
