"""Where a fact stands in time: boot id, seconds since boot, and whether the wall clock is trusted.

A Pi has no battery clock and may boot without network, so its wall clock
can be wrong until NTP synchronises it. Every fact the store records carries
a :class:`Stamp` beside its wall time: the boot it happened in, the
monotonic seconds since that boot (``CLOCK_BOOTTIME``, which keeps counting
through suspend), and whether the wall clock was synchronised. Facts from
before the sync can then be re-dated from the monotonic stamps
(:mod:`pishkhan.compliance.timeline`).

:class:`SystemClock` reads the real kernel: ``/proc/sys/kernel/random/boot_id``
and ``adjtimex(2)`` (the kernel's own "unsynchronised" flag, the one
``timedatectl``'s *NTPSynchronized* shows, whichever NTP client set it).
:class:`FakeClock` is set by hand in tests and simulations.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import threading
import time
import uuid
from dataclasses import dataclass

STA_UNSYNC = 0x0040
TIME_ERROR = 5


@dataclass(frozen=True)
class Stamp:
    """The boot-time coordinates of one instant."""

    boot_id: str
    mono: float
    synced: bool


class ClockStatus:
    """Base: the boot id, the monotonic seconds since boot, and sync state."""

    #: Where the sync state is read from, for telemetry ("adjtimex", "fake").
    source = "unknown"

    def boot_id(self) -> str:
        raise NotImplementedError

    def mono(self) -> float:
        raise NotImplementedError

    def synced(self) -> bool | None:
        """True/False, or None where the machine cannot say."""
        raise NotImplementedError

    def stamp(self) -> Stamp:
        return Stamp(self.boot_id(), self.mono(), bool(self.synced()))


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (Linux, 64-bit and 32-bit longs alike).
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time_sec", ctypes.c_long), ("time_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("_padding", ctypes.c_int * 11)]


class SystemClock(ClockStatus):
    """The real machine: boot id from /proc, sync state from ``adjtimex(2)``."""

    source = "adjtimex"

    def __init__(self, *, boot_id_path: str = "/proc/sys/kernel/random/boot_id"):
        self._boot_id_path = boot_id_path
        self._boot_id: str | None = None
        self._adjtimex = None
        libc_name = ctypes.util.find_library("c")
        if libc_name:
            try:
                self._adjtimex = ctypes.CDLL(libc_name, use_errno=True).adjtimex
            except (OSError, AttributeError):
                self._adjtimex = None

    def boot_id(self) -> str:
        if self._boot_id is None:
            try:
                with open(self._boot_id_path, encoding="ascii") as f:
                    self._boot_id = f.read().strip()
            except OSError:
                # No /proc (not Linux): one id for this process's life is the best we can say.
                self._boot_id = f"process-{uuid.uuid4()}"
        return self._boot_id

    def mono(self) -> float:
        return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))

    def synced(self) -> bool | None:
        if self._adjtimex is None:
            return None
        tx = _Timex()
        tx.modes = 0  # read only: allowed without privileges
        state = self._adjtimex(ctypes.byref(tx))
        if state < 0:
            return None
        return state != TIME_ERROR and not (tx.status & STA_UNSYNC)


class FakeClock(ClockStatus):
    """A clock set by hand: a wall time, a boot, seconds since boot, and sync.

    :meth:`now` serves as the store's wall clock, so one object moves both.
    :meth:`advance` moves wall and monotonic time together; :meth:`reboot`
    starts a new boot; :meth:`step_wall` moves only the wall clock (an NTP
    step or a wrong RTC).
    """

    source = "fake"

    def __init__(self, wall: dt.datetime, *, synced: bool = True, boot_id: str = "boot-1",
                 mono: float = 100.0):
        self._lock = threading.Lock()
        self.wall = wall
        self._mono = mono
        self._synced = synced
        self._boot = boot_id
        self._boots = 1

    def now(self) -> dt.datetime:
        with self._lock:
            return self.wall

    def boot_id(self) -> str:
        return self._boot

    def mono(self) -> float:
        with self._lock:
            return self._mono

    def synced(self) -> bool:
        return self._synced

    def advance(self, **delta):
        step = dt.timedelta(**delta)
        with self._lock:
            self.wall += step
            self._mono += step.total_seconds()

    def step_wall(self, to: dt.datetime, *, synced: bool | None = None):
        with self._lock:
            self.wall = to
            if synced is not None:
                self._synced = synced

    def set_synced(self, synced: bool):
        self._synced = synced

    def reboot(self, *, down: dt.timedelta, wall: dt.datetime | None = None, synced: bool = False):
        """Power off for *down*, boot again; the wall clock comes back as *wall* (a Pi's last saved time)."""
        with self._lock:
            self._boots += 1
            self._boot = f"boot-{self._boots}"
            true_wall = self.wall + down
            self.wall = wall if wall is not None else true_wall
            self._mono = 30.0
            self._synced = synced
        return true_wall


class TrustedClock(SystemClock):
    """The real boot id and boot clock, with the wall clock taken as synchronised.

    For a machine whose clock its host keeps (a virtual machine or container,
    where ``adjtimex`` may say "unsynchronised" for ever) and for demos: the
    configuration says so (``hardware.clock = "trusted"``), never the code.
    """

    source = "trusted (hardware.clock)"

    def synced(self) -> bool:
        return True


def system_clock() -> ClockStatus:
    return SystemClock()


def clock_from_config(config) -> ClockStatus:
    """``hardware.clock``: "system" (the kernel says) or "trusted"."""
    return TrustedClock() if config.hardware.clock == "trusted" else SystemClock()
