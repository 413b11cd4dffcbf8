"""Fleet updates at the centre (the design and the choices: docs/updates.md).

- :mod:`central.releases.pool`: the package pool, ``<sha256>.deb`` files in one folder and their index;
- :mod:`central.releases.document`: the signed release document (``pishkhan.release/1``), built and checked;
- :mod:`central.releases.rollouts`: the rollout records (timestamped facts) and the controller
  (canary → soak → promote, or halt itself, saying why);
- :mod:`central.releases.wire`: what a device says of its updates (``update`` events, ``reported.release``),
  bounded and checked before the monitor stores it;
- :mod:`central.releases.progress`: each rollout's devices by state, the fleet's versions, for pages and metrics.
"""

from __future__ import annotations

#: The steps of an update a device's journal records (docs/updates.md), as the ``update`` event carries them.
STEPS = ("requested", "refused", "downloading", "downloaded", "kept", "installing", "installed", "healthy",
         "unhealthy", "rolling_back", "rolled_back", "failed", "recovered")
#: The states ``reported.release.state`` may take.
REPORTED_STATES = ("waiting", "requested", "downloading", "installing", "installed", "healthy", "rolled_back",
                   "failed", "refused", "up_to_date")
#: A rollout's progress on one device, as the dashboard and the metrics show it.
PROGRESS = ("pending", "in_window", "installed", "healthy", "rolled_back", "failed")
#: Which progress a step or a reported state means.
PROGRESS_OF = {
    "waiting": "pending", "up_to_date": "healthy",
    "requested": "in_window", "downloading": "in_window", "downloaded": "in_window", "kept": "in_window",
    "installing": "in_window", "recovered": "in_window",
    "installed": "installed", "healthy": "healthy",
    "unhealthy": "rolled_back", "rolling_back": "rolled_back", "rolled_back": "rolled_back",
    "failed": "failed", "refused": "failed",
}
#: A rollout's stages: ``canary`` (only canary devices may start), ``promoted`` (everyone in scope),
#: ``complete`` (promoted and soaked), ``halted`` (nobody starts it any more), ``superseded`` (a newer rollout
#: of the same scope is in force).
STAGES = ("canary", "promoted", "complete", "halted", "superseded")
