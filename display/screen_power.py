"""Wall-screen power: switch the TV on before opening and off after closing.

Every backend is a small :class:`ScreenPower` with one method,
:meth:`ScreenPower.set`, that returns a :class:`PowerResult` saying what
actually happened:

- :class:`CecPower` — HDMI-CEC through ``cec-ctl`` (wake / standby, then ask the
  TV its power status). Many TVs ignore CEC, so it is never the only backend.
- :class:`BlankPower` — the app paints the screen black and stops redrawing.
- :class:`DpmsPower` — DPMS through ``xset`` where the display server allows it.
- :class:`FakePower` — records what it was told, for tests.

:class:`ScreenPowerController` follows the working hours, drives all the
backends together, re-asserts the wanted state every few minutes and records
the actual state (``on``, ``off_schedule``, ``blank``, ``no_signal``,
``tv_not_answering``) in the store.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass

from pishkhan.text import jalali
from pishkhan.exc import ConfigError, PishkhanError

log = logging.getLogger("pishkhan.display.screen_power")

#: Screen states recorded for the ``display`` component.
ON, OFF_SCHEDULE, BLANK, NO_SIGNAL, TV_NOT_ANSWERING = "on", "off_schedule", "blank", "no_signal", "tv_not_answering"
#: The wall's output is gone (unplugged, or no such connector): ``display off`` with the output's reason.
OFF = "off"


@dataclass(frozen=True)
class PowerResult:
    """What a backend achieved: *ok* when the wanted state is confirmed.

    :param state: ``on``/``off`` when confirmed, else ``no_signal``,
        ``tv_not_answering`` or ``refused``.
    """

    backend: str
    ok: bool
    state: str
    reason: str = ""


class ScreenPower:
    """One way of switching the screen. Subclasses implement :meth:`set`."""

    name = "base"
    #: True when the backend really powers the screen (not just paints it black).
    powers_screen = True

    def set(self, on: bool) -> PowerResult:
        raise NotImplementedError

    def close(self):
        pass


class FakePower(ScreenPower):
    """Records each request; *answers* False makes it behave like a deaf TV."""

    name = "fake"

    def __init__(self, *, answers: bool = True, signal: bool = True):
        self.answers = answers
        self.signal = signal
        self.calls: list[bool] = []
        self.is_on: bool | None = None

    def set(self, on):
        self.calls.append(on)
        if not self.answers:
            return PowerResult(self.name, False, TV_NOT_ANSWERING, "the fake TV does not answer")
        if on and not self.signal:
            self.is_on = True
            return PowerResult(self.name, False, NO_SIGNAL, "the fake TV reports no signal")
        self.is_on = on
        return PowerResult(self.name, True, "on" if on else "off")


class BlankPower(ScreenPower):
    """Paint the screen black (and stop redrawing) through *apply(blank)*.

    *apply* is given by the app; it must be safe to call from any thread.
    """

    name = "blank"
    powers_screen = False

    def __init__(self, apply):
        self.apply = apply
        self.blank: bool | None = None

    def set(self, on):
        self.blank = not on
        self.apply(not on)
        return PowerResult(self.name, True, "on" if on else "off")


def _run(argv: list[str], timeout: float) -> tuple[int, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        return 127, f"{argv[0]} is not installed"
    except subprocess.TimeoutExpired:
        return 124, f"{' '.join(argv)} took more than {timeout:.0f} s"
    return done.returncode, (done.stdout or "") + (done.stderr or "")


class CecPower(ScreenPower):
    """HDMI-CEC with ``cec-ctl``: *Image View On* to wake, *Standby* to switch off.

    After each command it asks the TV for its power status; a TV that does
    not answer gives ``tv_not_answering``; an adapter without a physical
    address (no HDMI sink, cable out) gives ``no_signal``.

    :param device: the CEC device, e.g. ``/dev/cec0`` (``/dev/cec1`` for the
        Pi's second HDMI port).
    :param run: ``run(argv, timeout) -> (returncode, output)``; tests pass their own.
    """

    name = "cec"

    def __init__(self, *, device: str = "/dev/cec0", run=_run, timeout: float = 5.0):
        self.device = device
        self.run = run
        self.timeout = timeout
        self._configured = False

    def _cmd(self, *args) -> tuple[int, str]:
        return self.run(["cec-ctl", "-d", self.device, *args], self.timeout)

    def set(self, on):
        if not self._configured:
            code, out = self._cmd("--playback", "--osd-name", "Pishkhan")
            if code != 0:
                return PowerResult(self.name, False, TV_NOT_ANSWERING, f"cec-ctl could not configure {self.device}: "
                                   f"{out.strip()[:200]}")
            if "f.f.f.f" in out:
                return PowerResult(self.name, False, NO_SIGNAL, f"{self.device} has no physical address "
                                   "(no TV connected on this HDMI port)")
            self._configured = True
        if on:
            code, out = self._cmd("--to", "0", "--image-view-on")
            if code == 0:
                self._cmd("--to", "0", "--active-source", "phys-addr=" + self._phys_addr())
        else:
            code, out = self._cmd("--to", "0", "--standby")
        if code != 0 or "NACK" in out or "Transmit failed" in out or "Tx, Not Acknowledged" in out:
            self._configured = False if code == 127 else self._configured
            return PowerResult(self.name, False, TV_NOT_ANSWERING, f"the TV did not acknowledge "
                               f"{'Image View On' if on else 'Standby'}: {out.strip()[:200]}")
        code, out = self._cmd("--to", "0", "--give-device-power-status")
        status = _power_status(out)
        if code != 0 or status is None:
            return PowerResult(self.name, False, TV_NOT_ANSWERING,
                               f"the TV did not report its power status: {out.strip()[:200]}")
        if on and status in ("on", "to-on"):
            return PowerResult(self.name, True, "on")
        if not on and status in ("standby", "to-standby"):
            return PowerResult(self.name, True, "off")
        return PowerResult(self.name, False, TV_NOT_ANSWERING,
                           f"asked the TV to go {'on' if on else 'to standby'}, it reports {status}")

    def _phys_addr(self) -> str:
        code, out = self._cmd("--physical-address")
        for token in out.split():
            if token.count(".") == 3:
                return token
        return "1.0.0.0"


def _power_status(output: str) -> str | None:
    for line in output.splitlines():
        if "pwr-state" in line:
            value = line.split(":", 1)[-1].strip().split()[0] if ":" in line else ""
            return value.strip(" ()") or None
    return None


class DpmsPower(ScreenPower):
    """DPMS through ``xset dpms force on|off``, where the display server allows it.

    On current Pi OS the compositor usually refuses; the refusal is reported,
    not hidden.
    """

    name = "drm"

    def __init__(self, *, run=_run, display: str | None = None):
        self.run = run
        self.display = display or os.environ.get("DISPLAY")

    def set(self, on):
        if not self.display or not shutil.which("xset"):
            return PowerResult(self.name, False, "refused", "DPMS needs an X display and xset")
        code, out = self.run(["xset", "-display", self.display, "dpms", "force", "on" if on else "off"], 5.0)
        if code != 0:
            return PowerResult(self.name, False, "refused", f"xset dpms refused: {out.strip()[:200]}")
        return PowerResult(self.name, True, "on" if on else "off")


def backends_from_config(config, *, blank_apply=None, fake: FakePower | None = None) -> list[ScreenPower]:
    """The backends named in ``display.screen_power``, in order."""
    names = config.display.screen_power
    out: list[ScreenPower] = []
    for name in names:
        if name == "cec":
            out.append(CecPower(device=config.display.cec_device))
        elif name == "blank":
            if blank_apply is not None:
                out.append(BlankPower(blank_apply))
        elif name == "drm":
            out.append(DpmsPower())
        elif name == "fake":
            out.append(fake or FakePower())
        else:
            raise ConfigError(f"display.screen_power: unknown backend {name!r}; expected cec, blank, drm or fake")
    return out


class ScreenPowerController:
    """Keep the screen on during the working hours (with a margin) and off otherwise.

    :param store: where the actual state is recorded (component ``display``).
    :param hours: a :class:`pishkhan.schedule.hours.Hours`.
    :param backends: the :class:`ScreenPower` backends, all driven together.
    :param clock: returns the current aware datetime.
    :param on_before: turn on this long before opening.
    :param off_after: turn off this long after closing.
    :param reassert: send the wanted state again this often, even unchanged.
    :param board_version: returns the board version on show (for the record).
    :param board_problem: returns why the installed board is not on show (a dict
        with ``reason`` and details, e.g. a board that could not be drawn), or
        None; while the screen is on, that reason is recorded.
    :param output_problem: returns why the wall's output shows nothing (a dict
        with ``reason``, e.g. ``output_disconnected``, and ``output``), or None;
        while it does, the state recorded is ``off`` with that reason, whatever
        the backends said (:class:`display.output_watch.OutputWatch`).
    """

    def __init__(self, store, hours, backends, *, clock=jalali.now,
                 on_before=dt.timedelta(minutes=15), off_after=dt.timedelta(minutes=15),
                 reassert=dt.timedelta(minutes=5), board_version=lambda: None, board_problem=lambda: None,
                 output_problem=lambda: None):
        self.store = store
        self.hours = hours
        self.backends = list(backends)
        self.clock = clock
        self.on_before = on_before
        self.off_after = off_after
        self.reassert = reassert
        self.board_version = board_version
        self.board_problem = board_problem
        self.output_problem = output_problem
        self.wanted: bool | None = None
        self.state: str | None = None
        self.reason = ""
        self._applied_at: dt.datetime | None = None
        self._detail: dict = {}
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, store, config, backends, **kw):
        from pishkhan.schedule.hours import hours_from_config

        return cls(store, hours_from_config(config, store=store), backends,
                   on_before=dt.timedelta(minutes=config.display.power_on_before_minutes),
                   off_after=dt.timedelta(minutes=config.display.power_off_after_minutes),
                   reassert=dt.timedelta(seconds=config.display.power_reassert_seconds), **kw)

    def should_be_on(self, at: dt.datetime) -> bool:
        """True when *at* falls within opening hours widened by the margins."""
        at = jalali.to_tehran(at)
        for offset in (-1, 0, 1):
            for start, end in self.hours.periods(at.date() + dt.timedelta(days=offset)):
                if start - self.on_before <= at < end + self.off_after:
                    return True
        return False

    def tick(self) -> str | None:
        """Apply the wanted state if it changed or is due for re-asserting.

        Returns the actual state recorded, or None when nothing was sent.
        """
        with self._lock:
            now = self.clock()
            override = self._override(now)
            wanted = override["power"] == "on" if override else self.should_be_on(now)
            due = (self._applied_at is None or wanted != self.wanted
                   or now - self._applied_at >= self.reassert or now < self._applied_at)
            if not due:
                return None
            self.wanted = wanted
            self._applied_at = now
            results = [b.set(wanted) for b in self.backends]
            self.state, self.reason = self._judge(wanted, results)
            if override:  # the centre said so (a signed command), not the schedule
                self.reason = self.reason.replace("schedule: open hours", "centre: screen on by command").replace(
                    "schedule: outside open hours", "centre: screen off by command")
            self._detail = {"backends": {r.backend: r.state for r in results}}
            self._record()
            return self.state

    def _override(self, now):
        """The centre's screen override in force (:mod:`pishkhan.screen_override`), or None."""
        from pishkhan.exc import PishkhanError
        from pishkhan.screen_override import screen_override

        try:
            return screen_override(self.store, now)
        except PishkhanError:  # an unreadable store: the opening hours decide
            return None

    def record(self):
        """Record the current state again (e.g. after the board on show changed).

        Does not wait for a backend that is busy switching the screen. A store
        that cannot be written is logged, not raised: the wall goes on, and its
        poll of the store reports the problem (once).
        """
        if self.state is not None:
            try:
                self._record()
            except PishkhanError as e:
                log.warning("cannot record the screen's state: %s", e)

    def _record(self):
        version = self.board_version()
        gone = dict(self.output_problem() or {})
        if gone:
            self.store.record_state("display", OFF, gone.pop("reason"), board=version, **self._detail, **gone)
            return
        reason = self.reason
        problem = dict(self.board_problem() or {})
        problem_reason = problem.pop("reason", None)
        if self.state == ON and problem_reason:
            reason = problem_reason
        elif self.state == ON and version is None:
            reason = "no_verified_board"
        self.store.record_state("display", self.state, reason, board=version, **self._detail, **problem)

    @staticmethod
    def _judge(wanted: bool, results: list[PowerResult]) -> tuple[str, str]:
        powered = [r for r in results if r.backend != "blank"]
        blanked = [r for r in results if r.backend == "blank" and r.ok]
        failures = "; ".join(f"{r.backend}: {r.reason}" for r in powered if not r.ok and r.reason)
        if wanted:
            if any(r.ok for r in powered) or not powered:
                return ON, "schedule: open hours"
            if any(r.state == NO_SIGNAL for r in powered):
                return NO_SIGNAL, failures
            return TV_NOT_ANSWERING, failures
        if any(r.ok for r in powered):
            return OFF_SCHEDULE, "schedule: outside open hours"
        if blanked:
            why = f"; TV not switched off ({failures})" if failures else ""
            return BLANK, "schedule: outside open hours, screen blanked locally" + why
        if any(r.state == NO_SIGNAL for r in powered):
            return NO_SIGNAL, failures
        return TV_NOT_ANSWERING, failures or "no backend could switch the screen off"

    def run(self, stop: threading.Event, *, interval: float = 5.0):
        """Tick every *interval* seconds until *stop* is set (for a thread)."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception as e:  # a failing backend must not stop the schedule
                try:
                    self.store.record_state("display", "error", f"screen power: {e}")
                except PishkhanError as stored:  # nor a store that cannot be written
                    log.warning("screen power: %s; and it cannot be recorded: %s", e, stored)
            stop.wait(interval)

    def close(self):
        for b in self.backends:
            b.close()
