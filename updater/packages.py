"""The package manager: dpkg (no apt: a device may have no reachable Debian mirror, and the release's
dependencies travel inside it; a release that needs a new system package fails ``dpkg -i`` and is rolled back).

The state of ``pishkhan`` in dpkg's database is what recovery reads: ``installed`` is a configured package;
``unpacked``/``half-configured`` are finished by ``dpkg --configure -a``; ``half-installed`` (cut while
unpacking) needs a package installed again.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

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

    def admindir(self) -> Path:
        """dpkg's database folder for the words given (``--admindir=``, ``--root=``, else /var/lib/dpkg)."""
        for w in self.words[1:]:
            if w.startswith("--admindir="):
                return Path(w.split("=", 1)[1])
        for w in self.words[1:]:
            if w.startswith("--root="):
                return Path(w.split("=", 1)[1]) / "var/lib/dpkg"
        return Path("/var/lib/dpkg")

    def wait_for_lock(self, *, seconds: float = 600, every: float = 5) -> bool:
        """Wait until no other program (apt, unattended-upgrades) holds dpkg's lock; False after *seconds*.

        Only a look: the lock is taken and let go at once, and dpkg takes it again itself."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                fd = os.open(self.admindir() / "lock-frontend", os.O_RDWR | os.O_CREAT, 0o640)
            except OSError:
                return True  # no database to lock: dpkg will say what is wrong
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.lockf(fd, fcntl.LOCK_UN)
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    return False
            finally:
                os.close(fd)
            time.sleep(every)

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
        """``dpkg -i`` *deb* (the configuration files a technician changed are kept), once no other program
        holds dpkg's lock."""
        self.wait_for_lock()
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
