"""The wall display: the mandatory board, the calls to counters, screen power.

One Kivy window, laid out for 1920x1080 (or 1080x1920 in portrait):

- header: office name, licence number, live clock and Jalali date;
- now-serving panel: the latest call very large (number, then counter),
  highlighted for a few seconds, and the five calls before it;
- board area: the renderer's pages, rotating, pre-rendered by
  :class:`~display.page_cache.PageCache` and shown through one reused texture;
- footer: a ticker of notices, today's hours, board version and verification code.

What is shown and why is :class:`~display.model.WallModel` (no Kivy); the
widgets that draw it are :mod:`display.widgets`; what reached the screen is
reported by :mod:`display.events`. :class:`WallApp` only wires them to Kivy's
clock and window, the screen power, the announcer and the snapshots. The
model learns of other processes' commits through ``PRAGMA data_version``
(:meth:`Store.changed`), polled about 30 times a second, which is cheap; only
then does it read the calls or check the board.

Kivy is imported with this module: call
``pishkhan.runtime.kivy_env.prepare_kivy(..., **display.WALL_WINDOW)`` first.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from pishkhan.runtime.kivy_env import require_prepared

require_prepared(__name__)

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402

from pishkhan.runtime.memory import release_free_memory, tune_heap  # noqa: E402
from pishkhan.text import jalali  # noqa: E402

from display.announce import Announcer, EspeakSynth, call_phrase, sink_from_config  # noqa: E402
from display.events import EventLog, FrameReporter  # noqa: E402
from display.geometry import WallLayout  # noqa: E402
from display.model import HIGHLIGHT_SECONDS, WallModel, WallUpdate  # noqa: E402
from display.output_watch import OutputWatch  # noqa: E402
from display.screen_power import BlankPower, ScreenPowerController, backends_from_config  # noqa: E402
from display.snapshot import Snapshots  # noqa: E402
from display.widgets import WallScreen  # noqa: E402

#: Calls and board checks are polled this often (seconds).
POLL_SECONDS = 1 / 30
#: How often freed memory is handed back to the system (weeks of running).
MEMORY_RELEASE_SECONDS = 120


class WallApp(App):
    """The wall display's Kivy app (see :func:`build_app` for the parameters)."""

    title = "Pishkhan — wall display"

    def __init__(self, config, *, store=None, announcer=None, power=None, events=None,
                 screenshots: Path | None = None, seconds: float | None = None, clock=jalali.now,
                 output: str = "", outputs=None, **kw):
        super().__init__(**kw)
        self.output = output
        self._outputs = outputs
        self.config_ = config
        self._store = store
        self._announcer = announcer
        self._power_backends = power
        self.events = events or EventLog(None)
        self.screenshots = screenshots
        self.seconds = seconds
        self.clock = clock

    def build(self):
        from kivy.core.window import Window

        config, clock = self.config_, self.clock
        self.started = time.time()
        self.store = self._store
        if self.store is None:
            from pishkhan.store.database import open_store

            self.store = open_store(config)
        layout = WallLayout.for_size(tuple(Window.size))
        self.screen = WallScreen(layout, office=config.office.name, licence=config.office.licence)
        self.model = WallModel(self.store, config, board_size=(int(layout.board.w), int(layout.board.h)),
                               pages_dir=config.state_dir / "pages", clock=clock)

        # Announcer, snapshots, frame reports, screen power.
        self.announcer = self._announcer or Announcer(
            synth=EspeakSynth(config.state_dir / "audio") if config.display.voice != "none" else None,
            sink=sink_from_config(config), store=self.store)
        self.snapshots = Snapshots.from_config(self.store, config)
        self.reporter = FrameReporter(events=self.events, grab=self.screen.grab, announce=self.announcer.announce,
                                      screenshots=self.screenshots, snapshots=self.snapshots,
                                      snapshot_state=self._snapshot_state, panel_ms=lambda: self.screen.panel_ms,
                                      started=self.started)
        if self._power_backends is None:
            backends = backends_from_config(config, blank_apply=self._blank_from_thread)
        else:  # given backends, plus the local blank when configured
            backends = list(self._power_backends)
            if "blank" in config.display.screen_power:
                backends.append(BlankPower(self._blank_from_thread))
        if self._outputs is None:
            from pishkhan.hardware.outputs import open_outputs

            self._outputs = open_outputs()
        self.output_watch = OutputWatch(self._outputs, self.output, on_change=self._output_changed)
        self.power = ScreenPowerController.from_config(self.store, config, backends, clock=clock,
                                                       board_version=self.model.board_version,
                                                       board_problem=self.model.board_problem,
                                                       output_problem=self.output_watch.problem)
        self._halt = threading.Event()
        self._power_thread = threading.Thread(target=self.power.run, args=(self._halt,), name="screen-power",
                                              daemon=True)
        self._watch_thread = threading.Thread(target=self.output_watch.run, args=(self._halt,),
                                              name="output-watch", daemon=True)

        # Boot: the last verified board from the store (or the pages kept on
        # disk) at once; nothing waits for the network, the broker or the clock.
        # Screen power starts once the first page is on show, so its first
        # record names the board.
        self.model.pages.start()
        self.model.seed_calls()
        self.screen.show_calls(self.model)

        Window.bind(on_flip=self.reporter.frame_drawn)
        self._window_flip, Window.flip = Window.flip, self._flip
        Clock.schedule_interval(self._poll, POLL_SECONDS)
        Clock.schedule_interval(self._tick_clock, 1.0)
        Clock.schedule_interval(self._tick_ticker, 1 / 30)
        Clock.schedule_interval(self._rotate, 0.25)
        Clock.schedule_interval(self._snapshot_due, config.display.snapshot_seconds)
        Clock.schedule_interval(lambda dt: release_free_memory(), MEMORY_RELEASE_SECONDS)
        Clock.schedule_once(lambda dt: self._request_snapshot(), 2.0)
        if self.seconds:
            Clock.schedule_once(lambda dt: self.stop(), self.seconds)
        self._tick_clock(0)
        self._refresh_footer()
        return self.screen

    # -- the model's news ------------------------------------------------------------
    def _poll(self, _dt):
        update = self.model.poll()
        if update.pages is not None:
            self._pages_taken(update.pages)
        if update.failure:
            f = self.model.failure
            if f is not None:
                self.events("render_failed", failed_board=f.version, error=f.error,
                            board=self.model.board_version())
            self.power.record()
        if update.calls:
            self._show_calls(update)
        if update.ticker and update.pages is None:
            self.screen.set_ticker(self.model.ticker)
        if update.footer and update.pages is None:
            self._refresh_footer()
        if update.store_error:
            self.events("store_error", error=update.store_error)

    def _pages_taken(self, reason: str):
        ps = self.model.page_set
        self._show_page(reason)
        self._refresh_footer()
        if reason == "first":
            self._power_thread.start()
            self._watch_thread.start()
        else:
            self.power.record()
        # Rendering or reading the set left freed memory behind: give it back once the page is on show.
        Clock.schedule_once(lambda dt: release_free_memory(), 1.0)
        self.events("pages", key=ps.key, count=ps.count, version=ps.version, verified=ps.verified,
                    rendered_ms=round(ps.rendered_ms, 1), from_disk=ps.from_disk)

    def _show_page(self, reason: str):
        ps, index = self.model.page_set, self.model.page_index
        if ps is None or not ps.pages:
            return
        blit_ms = self.screen.show_page(ps.pages[index])
        self.reporter.expect("page", index=index, count=ps.count, reason=reason, key=ps.key, version=ps.version,
                             blit_ms=round(blit_ms, 2), shot=f"page-{ps.key[:8]}-{index + 1:02d}")

    def _rotate(self, _dt):
        if self.model.rotate():
            self._show_page("rotate")

    def _show_calls(self, update: WallUpdate):
        self.screen.show_calls(self.model)
        if not update.new_calls:
            return
        self.screen.highlight(True)
        Clock.schedule_once(self._unhighlight, HIGHLIGHT_SECONDS + 0.05)
        for call in update.new_calls:
            self.reporter.expect("call_shown", call_id=call.id, ticket=call.ticket.label, counter=call.counter,
                                 recall=call.recall, phrase=call_phrase(call),  # announced once on screen
                                 detected_at=update.detected_at, queued_at=time.time(), shot=f"call-{call.id:05d}")

    def _unhighlight(self, _dt):
        if not self.model.highlighted:
            self.screen.highlight(False)

    # -- header and footer ---------------------------------------------------------------
    def _tick_clock(self, _dt):
        if self.model.blank:
            return
        date_changed = self.model.tick_clock()
        self.screen.show_clock(self.model)
        if date_changed:
            self._refresh_footer()

    def _refresh_footer(self):
        self.screen.show_footer(self.model)
        self.screen.set_ticker(self.model.ticker)

    def _tick_ticker(self, dt_):
        if self.model.blank or not self.model.ticker:
            return
        self.screen.move_ticker(dt_)

    # -- screen power: local blanking, the output --------------------------------------
    def _output_changed(self):
        """From the watching thread: record the state again, and say so in the events."""
        self.power.record()
        problem = self.output_watch.problem()
        self.events("output", output=self.output, problem=problem["reason"] if problem else None)

    def _blank_from_thread(self, blank: bool):
        Clock.schedule_once(lambda dt: self._set_blank(blank), 0)

    def _set_blank(self, blank: bool):
        if not self.model.set_blank(blank):
            return
        self.screen.set_blank(blank)
        if not blank:
            self._tick_clock(0)
        self.events("screen", blank=blank)

    # -- after each drawn frame ----------------------------------------------------------
    def _flip(self):
        """Swap the frame to the screen, then report what it showed, timed after the swap."""
        self._window_flip()
        self.reporter.frame_shown()

    # -- proof of display ----------------------------------------------------------------
    def _snapshot_due(self, _dt):
        self._request_snapshot()

    def _request_snapshot(self):
        self.reporter.expect("snapshot")
        self.screen.canvas.ask_update()

    def _snapshot_state(self) -> dict:
        ps = self.model.page_set
        return {"board_version": self.model.board_version(),
                "verification_code": ps.verification_code if ps and ps.verified else None,
                "screen_state": self.power.state or ""}

    def on_stop(self):
        if self._halt.is_set():
            return
        self._halt.set()
        self.model.pages.close()
        self.announcer.close()
        self.power.close()
        self.reporter.close(timeout=10)
        self.events("stopped", calls_shown=self.model.calls_shown)


def build_app(config, *, store=None, size=(1920, 1080), announcer=None, power=None, events=None,
              screenshots: Path | None = None, seconds: float | None = None, clock=None, output: str = "",
              outputs=None) -> WallApp:
    """Create the Kivy app.

    :param config: the :class:`~pishkhan.config.Config`.
    :param store: an open store (default: the configured one).
    :param size: the window size (set by ``prepare_kivy``; kept for the callers).
    :param announcer: an :class:`~display.announce.Announcer` (default from config).
    :param power: a list of extra :class:`~display.screen_power.ScreenPower` backends
        (default: ``display.screen_power``); the local blank is added by the app.
    :param events: an :class:`~display.events.EventLog`.
    :param screenshots: save full-size screenshots of each new page and call here.
    :param seconds: stop after this many seconds.
    :param clock: returns the aware current time (default: Tehran now).
    :param output: the connector the wall is on, watched for being unplugged ("" watches nothing).
    :param outputs: a :class:`pishkhan.hardware.outputs.Outputs` (default: the device's).
    """
    return WallApp(config, store=store, announcer=announcer, power=power, events=events,
                   screenshots=screenshots, seconds=seconds, clock=clock or jalali.now, output=output,
                   outputs=outputs)


def run_display(config, *, size=(1920, 1080), events_path=None, screenshots=None, seconds=None,
                output: str = "") -> int:
    """Open the wall display (blocks until the window closes or *seconds* pass).

    Kivy must have been prepared for *size* (see the module's docstring).
    *output* is the connector the wall is on (watched); "" for a window on a desktop.
    """
    tune_heap()
    if screenshots is not None:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
    events = EventLog(events_path)
    events("starting", pid=os.getpid(), size=list(size))
    app = build_app(config, size=size, events=events, screenshots=Path(screenshots) if screenshots else None,
                    seconds=seconds, output=output)
    try:
        app.run()
    finally:
        events.close()
    return 0
