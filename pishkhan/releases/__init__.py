"""Fleet updates, the device's half that is not root: release documents and the decision to start.

- :mod:`.document`: the signed release document (``pishkhan.release/1``);
- :mod:`.installed`: its :class:`~pishkhan.boards.install.Kind`, installed
  through the one install path, and the document in force (device > office >
  province > national);
- :mod:`.window`: :func:`~.window.may_start`, the office's signed working
  hours and the release's window;
- :func:`decide`: what this device does about the document in force now;
- :mod:`.verify`: the checks ``pishkhan update verify`` and ``pishkhan
  update health`` run for the root updater (docs/updates.md).

A decision not to start yet is a *wait*, not a refusal: its code is one of
:data:`WAIT_REASONS`. A refusal (downgrade, too old, expired …) is a
:exc:`~pishkhan.exc.ReleaseRefused` with a code of
:data:`pishkhan.exc.REASONS`.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pishkhan.releases.window import WAIT_REASONS, may_start  # noqa: F401 (WAIT_REASONS: the package names it)

#: The file the package lays with its own version (one line); the updater reads it too.
VERSION_FILE = "/usr/lib/pishkhan/VERSION"


def running_version() -> str:
    """The version of the package running: :data:`VERSION_FILE` (or ``PISHKHAN_VERSION_FILE``), else
    ``pishkhan.__version__`` (a checkout)."""
    path = Path(os.environ.get("PISHKHAN_VERSION_FILE") or VERSION_FILE)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    if text and len(text) <= 64 and "\n" not in text:
        return text
    from pishkhan import __version__

    return __version__


_MACHINES = {"aarch64": "arm64", "arm64": "arm64", "armv7l": "armhf", "armv6l": "armhf", "x86_64": "amd64",
             "i686": "i386"}


@functools.lru_cache(maxsize=1)
def architecture() -> str:
    """This system's Debian architecture (``dpkg --print-architecture``; without dpkg, from the machine)."""
    dpkg = shutil.which("dpkg")
    if dpkg:
        try:
            out = subprocess.run([dpkg, "--print-architecture"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return _MACHINES.get(platform.machine(), platform.machine())


@dataclass(frozen=True)
class Decision:
    """What the device does about a release now: ``start``, or a state and a reason.

    ``state`` is ``start``, ``waiting``, ``up_to_date`` or ``refused``; ``reason`` a code of
    :data:`WAIT_REASONS` (waiting, up_to_date) or :data:`pishkhan.exc.REASONS` (refused).
    """

    state: str
    reason: str = ""
    message: str = ""

    @property
    def start(self) -> bool:
        return self.state == "start"


def upgrade_refusal(doc, running: str):
    """The :exc:`~pishkhan.exc.ReleaseRefused` for installing *doc*'s package over *running*, or None.

    Lower than running without ``rollback: true`` (signed nationally: the install path saw to it):
    ``downgrade``; running below ``min_version_to_upgrade_from``: ``too_old``.
    """
    from pishkhan.exc import ReleaseRefused
    from pishkhan.releases.document import compare_versions

    target = doc.package.version
    if compare_versions(target, running) < 0 and not doc.rollback:
        return ReleaseRefused(f"package {target} is older than the running {running}, and the document does not "
                              "say rollback: true (signed by a national key)", reason="downgrade")
    if doc.min_version and compare_versions(running, doc.min_version) < 0 and not doc.rollback:
        return ReleaseRefused(f"the running {running} is older than {doc.min_version}, the oldest version this "
                              "release upgrades from", reason="too_old")
    return None


def decide(now, doc, *, device_id: str, running: str, hours, guard_minutes: int = 30,
           failed_versions=(), kept_versions=None) -> Decision:
    """The decision about release document *doc* (a :class:`~.document.Release`) at *now*, in this order:
    expired (refused), up to date, halted, downgrade / too old (refused), failed here (a version this
    device rolled back: *failed_versions*), not a canary, then :func:`~.window.may_start`.

    A document for the running version starts at once when *kept_versions* (the versions the updater's journal
    says it kept; None: not known) lacks it: the updater then only fetches and keeps that package, the way back
    of the next update, and installs nothing."""
    from pishkhan.releases.document import compare_versions
    from pishkhan.releases.installed import is_canary

    if doc.expired(now):
        return Decision("refused", "expired", "the release document has expired")
    if compare_versions(doc.package.version, running) == 0:
        if kept_versions is not None and running not in kept_versions:
            return Decision("start", "", f"running {running} already: its package is fetched and kept as the way "
                                         "back of the next update")
        return Decision("up_to_date", "up_to_date", f"running {running} already")
    if doc.halted:
        return Decision("waiting", "halted", f"rollout {doc.rollout} is halted")
    refusal = upgrade_refusal(doc, running)
    if refusal is not None:
        return Decision("refused", refusal.reason, str(refusal))
    if doc.package.version in failed_versions:
        return Decision("waiting", "failed_here", f"{doc.package.version} was rolled back on this device")
    if not is_canary(device_id, doc.canary_percent):
        return Decision("waiting", "not_canary", f"canary_percent {doc.canary_percent}: not this device yet")
    wait = may_start(now, doc, hours, guard_minutes)
    if wait is not None:
        return Decision("waiting", wait.reason, wait.message)
    return Decision("start")
