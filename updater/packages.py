"""The package manager: dpkg (no apt: a device may have no reachable Debian mirror, and the release's
dependencies travel inside it; a release that needs a new system package fails ``dpkg -i`` and is rolled back).

The state of ``pishkhan`` in dpkg's database is what recovery reads: ``installed`` is a configured package;
``unpacked``/``half-configured`` are finished by ``dpkg --configure -a``; ``half-installed`` (cut while
unpacking) needs a package installed again.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from updater.commands import Done, base_env, run
from updater.killswitch import KillSwitch

PACKAGE = "pishkhan"


@dataclass(frozen=True)
class PackageState:
    version: str
    status: str  # installed, unpacked, half-configured, half-installed, config-files, not-installed, …

    @property
    def configured(self) -> bool:
        return self.status == "installed"


class Dpkg:
    """The real package manager. *command* is dpkg's words (e.g. ``dpkg --root=/x --force-not-root``)."""

    def __init__(self, *, command: str = "dpkg", kill: KillSwitch | None = None, timeout: float = 1800):
        self.words = shlex.split(command) or ["dpkg"]
        self.kill = kill or KillSwitch()
        self.timeout = timeout
        self.env = base_env(DEBIAN_FRONTEND="noninteractive")

    def _query_words(self) -> list[str]:
        keep = [w for w in self.words[1:] if w.startswith(("--root=", "--admindir="))]
        return ["dpkg-query", *keep]

    def fields(self, deb) -> dict:
        """Package, Version, Architecture of a .deb file ({} when unreadable)."""
        done = run(["dpkg-deb", "--field", str(deb), "Package", "Version", "Architecture"], timeout=60,
                   env=self.env)
        if done.code != 0:
            return {}
        return dict(line.split(": ", 1) for line in done.out.splitlines() if ": " in line)

    def install(self, deb) -> Done:
        """``dpkg -i`` *deb* (the configuration files a technician changed are kept)."""
        if self.kill.dpkg_mid():
            run([*self.words, "--unpack", str(deb)], timeout=self.timeout, env=self.env)
            self.kill.die()
        return run([*self.words, "--force-confdef", "--force-confold", "--install", str(deb)],
                   timeout=self.timeout, env=self.env)

    def state(self) -> PackageState:
        done = run([*self._query_words(), "--show", "--showformat=${Version}\\t${db:Status-Status}", PACKAGE],
                   timeout=60, env=self.env)
        if done.code != 0 or "\t" not in done.out:
            return PackageState("", "not-installed")
        version, status = done.out.strip("\n").split("\t", 1)
        return PackageState(version.strip(), status.strip())

    def configure_pending(self) -> Done:
        """``dpkg --configure -a``: finish what an interrupted dpkg left unpacked."""
        return run([*self.words, "--force-confdef", "--force-confold", "--configure", "-a"],
                   timeout=self.timeout, env=self.env)
