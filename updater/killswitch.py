"""Fault injection for the power-cut tests: ``PISHKHAN_UPDATE_KILL_AT=<step>`` ends the process with
``os._exit(137)`` (as SIGKILL or a power cut would: nothing flushed, no cleanup) right after that step's row is
committed. ``dpkg-mid`` kills the first dpkg run half-way (the package unpacked, not configured);
``dpkg-mid:2`` the second (a rollback's). Unset in production: then it does nothing.
"""

from __future__ import annotations

import os

VARIABLE = "PISHKHAN_UPDATE_KILL_AT"
EXIT = 137


class KillSwitch:
    """Where to die, from *spec* (the variable's value; empty: never)."""

    def __init__(self, spec: str = ""):
        self.spec = spec.strip()
        self._dpkg_runs = 0

    @classmethod
    def from_env(cls, env=os.environ) -> "KillSwitch":
        return cls(env.get(VARIABLE, ""))

    def after(self, step: str) -> None:
        """Die here when *step* is the one named."""
        if self.spec and self.spec == step:
            os._exit(EXIT)

    def dpkg_mid(self) -> bool:
        """Count one dpkg run; True when this run is the one to kill half-way."""
        self._dpkg_runs += 1
        if not self.spec.startswith("dpkg-mid"):
            return False
        _, _, nth = self.spec.partition(":")
        return self._dpkg_runs == (int(nth) if nth.isdigit() else 1)

    def die(self) -> None:
        os._exit(EXIT)
