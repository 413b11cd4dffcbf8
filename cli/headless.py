"""A private virtual X server (Xvfb) for running a window where there is no screen.

Used by the demo, the benchmarks and ``--screenshots`` runs::

    with VirtualDisplay((1920, 1080)):
        ...  # DISPLAY now names a virtual screen, unless a real one was set
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from pishkhan.exc import PishkhanError


def _free_display_number(first: int) -> int:
    for n in range(first, first + 200):
        if not (Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists()):
            return n
    raise PishkhanError(f"no free X display number from :{first} on")


class VirtualDisplay:
    """Start Xvfb when no display is set, and stop it again.

    :param size: the virtual screen's ``(width, height)``; it is made square
        on the larger side so that both orientations fit.
    :param force: start one even when ``DISPLAY`` is set.
    """

    def __init__(self, size=(1920, 1080), *, force: bool = False, first: int = 90):
        self.size = size
        self.force = force
        self.first = first
        self.proc: subprocess.Popen | None = None
        self._old_display = None

    @property
    def needed(self) -> bool:
        return self.force or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))

    def start(self) -> "VirtualDisplay":
        if not self.needed:
            return self
        if not shutil.which("Xvfb"):
            raise PishkhanError("there is no display and Xvfb is not installed (apt-get install xvfb)")
        n = _free_display_number(self.first)
        side = max(self.size)
        self.proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{side}x{side}x24", "-nolisten", "tcp"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                break
            if self.proc.poll() is not None:
                raise PishkhanError(f"Xvfb :{n} exited at start (code {self.proc.returncode})")
            time.sleep(0.05)
        self._old_display = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = f":{n}"
        return self

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc = None
        if self._old_display is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = self._old_display

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
