"""A power cut at every step of an update, then ``recover`` (as at boot): the device runs the old or the new
version, never neither; recovery is recorded; running recover again changes nothing.

Each case runs ``pishkhan-update`` as its own ``python3 -I`` process on the fake device (updater.fakes, which
models dpkg's half-installed/unpacked/half-configured states) with ``PISHKHAN_UPDATE_KILL_AT`` set, so the
process dies with ``os._exit(137)`` right after that step is recorded (``dpkg-mid``: after dpkg unpacked,
before it configured; ``dpkg-half``: while it unpacked). The real dpkg is killed the same way by the
end-to-end check (``make update-e2e``).
"""

from __future__ import annotations

import pytest
from updater_world import NEW, OLD, make_world, run_apart, run_here

from updater.journal import FINAL

GOOD = ["requested", "downloading", "downloaded", "kept", "installing", "dpkg-half", "dpkg-mid", "installed",
        "healthy"]
BAD = ["installed", "unhealthy", "rolling_back", "dpkg-mid:2", "rolled_back"]


def _cut(tmp_path, kill: str, **kind):
    world = make_world(tmp_path)
    world.keep_running()
    world.publish(NEW, **kind)
    world.request()
    cut = run_apart(world, "run", kill=kill)
    assert cut.returncode == 137, cut.stdout + cut.stderr
    assert world.steps()[-1][0] == kill or kill.startswith("dpkg"), "the step was recorded before the cut"
    return world


def _recover(world) -> list[tuple[str, str]]:
    done = run_apart(world, "recover")
    assert done.returncode == 0, done.stdout + done.stderr
    steps = world.steps()
    assert steps[-1][0] in FINAL
    assert run_here(world, "recover") == 0 and world.steps() == steps, "recover is idempotent"
    return steps


@pytest.mark.parametrize("kill", GOOD)
def test_a_cut_during_a_good_update_leaves_the_old_or_the_new_version(tmp_path, kill):
    world = _cut(tmp_path, kill, broken=False)
    steps = _recover(world)
    runs = world.device.runs()
    assert runs in (OLD, NEW), f"after a cut at {kill} the device runs neither: {world.device.state()}"
    if kill == "healthy":
        assert steps[-1] == ("healthy", "") and runs == NEW
    elif kill in ("installed", "dpkg-mid"):
        assert steps[-1] == ("recovered", "interrupted") and runs == NEW, "finished: configured and healthy"
    elif kill in ("installing", "dpkg-half"):
        assert steps[-1] == ("rolled_back", "interrupted") and runs == OLD
    else:
        assert steps[-1] == ("failed", "interrupted") and runs == OLD, "nothing was installed"
        assert not list((world.folder / "update/downloads").glob("*.part"))


@pytest.mark.parametrize("kill, kind", [(k, "broken") for k in BAD] + [("unhealthy", "sick_services")])
def test_a_cut_during_a_bad_update_leaves_the_old_version(tmp_path, kill, kind):
    """Broken: the new version cannot import. Sick services: it can, but its services failed the gate, so
    a cut after ``unhealthy`` still rolls back (the gate's verdict stands)."""
    world = _cut(tmp_path, kill, **{kind: True})
    steps = _recover(world)
    assert world.device.runs() == OLD, f"after a cut at {kill}: {world.device.state()}"
    assert steps[-1][0] == "rolled_back"
    assert steps[-1][1] == ("unhealthy" if kill == "rolled_back" else "interrupted")


def test_recover_with_nothing_cut_short_records_nothing(tmp_path):
    world = make_world(tmp_path)
    assert run_apart(world, "recover").returncode == 0
    assert not world.journal.exists()
    assert world.device.runs() == OLD


def test_an_uncut_run_apart_is_the_same_as_in_process(tmp_path):
    world = make_world(tmp_path)
    world.keep_running()
    world.publish(NEW, broken=True)
    world.request()
    done = run_apart(world, "run")
    assert done.returncode == 4, done.stdout + done.stderr
    assert world.steps()[-1] == ("rolled_back", "unhealthy") and world.device.runs() == OLD


def test_a_run_mends_an_attempt_cut_short_without_a_reboot_first(tmp_path):
    """The unit stopped or timed out mid-update, no reboot: the next run finishes that attempt, then its own."""
    world = _cut(tmp_path, "dpkg-half", broken=True)
    world.publish(NEW)
    world.request()
    assert run_here(world, "run") == 0
    attempts = [r["attempt"] for r in world.rows()]
    first = [s for (s, _), a in zip(world.steps(), attempts) if a == attempts[0]]
    assert first[-1] == "rolled_back" and world.steps()[-1] == ("healthy", "")
    assert world.device.runs() == NEW
