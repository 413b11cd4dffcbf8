"""``pishkhan-update confirm`` (a one-shot after the pishkhan services at boot): an attempt ``recover`` finished as
``recovered`` was judged healthy only by itself (its services could not be judged before they started); now the
full health gate judges it with its services: ``healthy``, or ``unhealthy`` → ``rolling_back`` →
``rolled_back`` (reason ``unhealthy``) to the kept previous version, as in ``run``. Any other last row: nothing
to do. Running it again changes nothing (its rows end the attempt with a final step other than ``recovered``).
A power cut during its rollback is mended by ``recover`` at the next boot (the last row is not final).
"""

from __future__ import annotations

from updater.attempt import Attempt, failure_detail
from updater.journal import Journal
from updater.kept import Kept
from updater.killswitch import KillSwitch
from updater.settings import Settings
from updater.update import DONE, Job, Parts, gate, roll_back


class Confirmer(Job):
    def confirm(self) -> int:
        rows = self.journal.last_attempt()
        if not rows or rows[-1].step != "recovered":
            print("pishkhan-update: no recovered update waits for the health gate; nothing to confirm", flush=True)
            return DONE
        attempt = Attempt.resume(rows, journal=self.journal, kill=self.kill)
        old, new = attempt.from_version, attempt.to_version
        since = next((r.at for r in rows if r.step == "installing"), rows[-1].at)
        health = gate(self.settings, self.parts, since=since, version=new)
        if health.healthy:
            self.kept.prune(keep={new, old})
            attempt.step("healthy", detail="after recovery, with services: " + ", ".join(c["name"]
                                                                                       for c in health.checks))
            return DONE
        detail = failure_detail(health, self.parts.logs.tail(since=since))
        attempt.step("unhealthy", reason="unhealthy", detail=detail)
        return roll_back(attempt, parts=self.parts, kept=self.kept, reason="unhealthy", detail=detail)
