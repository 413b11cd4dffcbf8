"""``pishkhan-update recover`` (at boot, before the pishkhan services): an attempt the journal shows cut short
(its last row is not a final one) is finished or undone, so the device runs the old or the new version, never
neither.

- Cut before ``installing``: nothing was installed; the partial download and the unproven package are
  dropped, ``failed`` (reason ``interrupted``): the old version runs, the agent may ask again.
- Cut at or after ``installing``: ``dpkg --configure -a`` when dpkg left the package unpacked; then
  - the new version configured, the attempt not already rolling back, and healthy by itself
    (``pishkhan update health --no-services``: it imports, reports its version, loads the configuration,
    opens the store; the services start after this unit) → ``recovered`` (reason ``interrupted``);
  - the old version configured → ``rolled_back`` (reason ``interrupted``): dpkg had not got far, or the
    rollback had finished;
  - anything else → the kept old package is installed again → ``rolled_back`` (reason ``interrupted``).
Running it again changes nothing (an attempt with a final last row is left alone).
"""

from __future__ import annotations

import json

from updater.attempt import Attempt, failure_detail
from updater.journal import FINAL, Journal
from updater.kept import Kept
from updater.killswitch import KillSwitch
from updater.settings import Settings
from updater.update import DONE, ROLLED_BACK, Parts, roll_back


class Recoverer:
    def __init__(self, settings: Settings, *, parts: Parts, journal: Journal, kill: KillSwitch):
        self.settings = settings
        self.parts = parts
        self.journal = journal
        self.kill = kill
        self.kept = Kept(settings.kept)

    def recover(self) -> int:
        rows = self.journal.last_attempt()
        if not rows or rows[-1].step in FINAL:
            print("pishkhan-update: no update was cut short; nothing to recover", flush=True)
            return DONE
        attempt = Attempt.resume(rows, journal=self.journal, kill=self.kill)
        steps = [r.step for r in rows]
        last = steps[-1]
        old, new = attempt.from_version, attempt.to_version
        if "installing" not in steps:
            for part in self.settings.downloads.glob("*.part") if self.settings.downloads.is_dir() else []:
                part.unlink(missing_ok=True)
            if new and new != old and self.parts.packages.state().version != new:
                self.kept.forget(new)
            attempt.step("failed", reason="interrupted",
                         detail=f"cut short after {last}: nothing was installed, {old} runs")
            return DONE
        notes = [f"cut short after {last}"]
        state = self.parts.packages.state()
        if not state.configured and state.status not in ("not-installed", "config-files"):
            done = self.parts.packages.configure_pending()
            notes.append(f"dpkg --configure -a: exit {done.code}")
            state = self.parts.packages.state()
        notes.append(f"pishkhan {state.version} {state.status}")
        undoing = last in ("unhealthy", "rolling_back")
        health = None
        if not undoing and state.configured and state.version == new:
            since = next(r.at for r in rows if r.step == "installing")
            health = self.parts.health.check(since=since, version=new, services=False)
            if health.healthy:
                self.kept.prune(keep={new, old})
                attempt.step("recovered", reason="interrupted", detail="; ".join(notes) + f": {new} runs")
                return DONE
            notes.append(f"{new} is not healthy by itself")
        if state.configured and state.version == old:
            if new and new != old:
                self.kept.forget(new)
            attempt.step("rolled_back", reason="interrupted", detail="; ".join(notes) + f": {old} runs")
            return DONE
        detail = json.dumps({"notes": notes, "health": json.loads(failure_detail(health, ""))["failed"]
                             if health else []})
        code = roll_back(attempt, parts=self.parts, kept=self.kept, reason="interrupted", detail=detail)
        return DONE if code == ROLLED_BACK else code
