"""pishkhan-update run on a fake device (updater.fakes models dpkg's states): every step is a journal row the
agent can read read-only; the refusals leave the device as it was; an unhealthy version is rolled back."""

from __future__ import annotations

import json
import os
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


def test_the_verifiers_refusal_is_recorded_with_its_reason(world):
    world.keep_running()
    world.device.answer({"reason": "downgrade", "message": "0.8.0 is lower than the running version"})
    world.request()
    assert run_here(world, "run") == 3
    assert world.steps() == [("requested", ""), ("refused", "downgrade")]
    assert "lower" in world.rows()[-1]["detail"]


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


def test_the_journal_knows_only_the_designs_steps(world):
    from updater.journal import Journal

    with pytest.raises(ValueError):
        Journal(world.journal).record(attempt="a", step="exploded")
    assert len(STEPS) == 13
