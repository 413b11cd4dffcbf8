"""Service control: after an install, restart the enabled pishkhan services so the new code runs.

Only where systemd runs (``/run/systemd/system``); in a chroot or an image build there is nothing to restart.
The updater's own units and enrolment are left alone.
"""

from __future__ import annotations

from pathlib import Path

from updater.commands import base_env, run

SKIP = ("pishkhan-update", "pishkhan-enroll")


class Systemctl:
    def __init__(self, *, marker: Path = Path("/run/systemd/system")):
        self.marker = marker

    def enabled(self) -> list[str]:
        if not self.marker.is_dir():
            return []
        done = run(["systemctl", "list-unit-files", "--type=service", "--state=enabled", "--no-legend", "--plain",
                    "pishkhan-*"], timeout=30, env=base_env())
        units = [line.split()[0] for line in done.out.splitlines() if line.strip()]
        return [u for u in units if not u.startswith(SKIP)]

    def restart_enabled(self) -> list[str]:
        """Restart (without waiting) every enabled pishkhan service; the units asked."""
        units = self.enabled()
        if units:
            run(["systemctl", "--no-block", "restart", *units], timeout=60, env=base_env())
        return units
