"""The wall display: the mandatory board, the calls to counters, screen power.

One Kivy window, laid out for 1920x1080 (or 1080x1920 in portrait):

- header: office name, licence number, live clock and Jalali date;
- now-serving panel: the latest call very large (number, then counter),
  highlighted for a few seconds, and the five calls before it;
- board area: the renderer's pages, rotating, pre-rendered by
  :class:`~display.page_cache.PageCache` and shown through one reused texture;
- footer: a ticker of notices, today's hours, board version and verification code.

The app learns of other processes' commits through ``PRAGMA data_version``
(:meth:`Store.changed`), polled about 30 times a second, which is cheap; only
then does it read the calls or check the board. Kivy must be imported after
:func:`prepare_kivy` has set the ``pil`` text provider.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pishkhan.text import jalali
from pishkhan.text.persian import to_persian_digits

from display import wall_strings as S

#: Calls and board checks are polled this often (seconds).
POLL_SECONDS = 1 / 30
#: The latest call stays highlighted this long (seconds).
HIGHLIGHT_SECONDS = 6.0
#: How often freed memory is handed back to the system (weeks of running).
MEMORY_RELEASE_SECONDS = 120
#: Ticker speed, pixels per second at scale 1.
TICKER_SPEED = 110
RECENT_ROWS = 5

COLOURS = {
    "background": (0.043, 0.145, 0.271, 1),   # deep blue
    "header": (0.027, 0.098, 0.188, 1),
    "panel": (0.075, 0.212, 0.373, 1),
    "highlight": (0.957, 0.635, 0.380, 1),     # amber
    "text": (1, 1, 1, 1),
    "muted": (0.78, 0.84, 0.92, 1),
    "dark_text": (0.05, 0.07, 0.12, 1),
    "black": (0, 0, 0, 1),
}


def prepare_kivy(*, size: tuple[int, int], fullscreen: bool = False):
    """Set Kivy's environment and window before Kivy is imported.

    Persian renders correctly only with the ``pil`` text provider over
    Pillow with raqm, so both are required here.
    """
    from pishkhan.text.fonts import require_raqm

    require_raqm()
    os.environ["KIVY_TEXT"] = "pil"
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    from kivy.config import Config as KivyConfig

    KivyConfig.set("graphics", "width", str(size[0]))
    KivyConfig.set("graphics", "height", str(size[1]))
    KivyConfig.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    KivyConfig.set("graphics", "resizable", "0")
    KivyConfig.set("graphics", "maxfps", "30")
    KivyConfig.set("kivy", "exit_on_escape", "0")
    KivyConfig.set("input", "mouse", "mouse,disable_multitouch")


@dataclass(frozen=True)
class Rect:
    """A box in top-left coordinates of a *width* x *height* window."""

    x: float
    y: float
    w: float
    h: float

    def kivy_pos(self, window_height: float) -> tuple[float, float]:
        return self.x, window_height - self.y - self.h


@dataclass(frozen=True)
class WallLayout:
    """Where everything goes, for a window size."""

    size: tuple[int, int]
    scale: float
    header: Rect
    panel: Rect
    board: Rect
    footer: Rect
    portrait: bool

    @classmethod
    def for_size(cls, size: tuple[int, int]) -> "WallLayout":
        """Portrait when the window is taller than wide (``display.orientation``
        only picks the default window size)."""
        w, h = size
        if h > w:
            s = w / 1080
            head, foot, panel_h = round(130 * s), round(110 * s), round(560 * s)
            return cls(size, s, Rect(0, 0, w, head), Rect(0, head, w, panel_h),
                       Rect(0, head + panel_h, w, h - head - panel_h - foot), Rect(0, h - foot, w, foot), True)
        s = min(w / 1920, h / 1080)
        head, foot, panel_w = round(110 * s), round(100 * s), round(600 * s)
        body = h - head - foot
        return cls(size, s, Rect(0, 0, w, head), Rect(0, head, panel_w, body),
                   Rect(panel_w, head, w - panel_w, body), Rect(0, h - foot, w, foot), False)


class EventLog:
    """JSON lines of what the wall showed (``--events FILE``), for tests and benchmarks."""

    def __init__(self, path=None):
        self._file = open(path, "a", encoding="utf-8", buffering=1) if path else None
        self._lock = threading.Lock()

    def __call__(self, event: str, **data):
        if self._file is None:
            return
        line = json.dumps({"event": event, "t": time.time(), **data}, ensure_ascii=False, default=str)
        with self._lock:
            self._file.write(line + "\n")

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


class TextRegion:
    """A part of the screen drawn with Pillow (raqm, Vazirmatn) into one opaque texture.

    Kivy's own labels make and upload a texture per change and are blended
    one over another; on a GPU-less machine every drawn pixel costs. A region
    holds a background, coloured boxes and lines of text (:class:`TextSlot`),
    and is redrawn once, just before the next frame, when any of them changed.
    """

    def __init__(self, canvas, rect: Rect, window_height: float, *, background):
        from kivy.clock import Clock
        from kivy.graphics import Color, Rectangle
        from kivy.graphics.texture import Texture

        self.rect = rect
        self.size = (max(1, int(rect.w)), max(1, int(rect.h)))
        self.background = background
        self.slots: list[TextSlot] = []
        self.boxes: dict[str, list] = {}
        self.texture = Texture.create(size=self.size, colorfmt="rgb")
        self.texture.flip_vertical()
        with canvas:
            Color(1, 1, 1, 1)
            self.rectangle = Rectangle(texture=self.texture, pos=rect.kivy_pos(window_height), size=self.size)
        self._trigger = Clock.create_trigger(self.redraw, -1)
        self._trigger()
        #: How long the last redraw took, in ms (Pillow drawing and texture upload).
        self.last_ms = 0.0

    def _local(self, rect: Rect) -> tuple[int, int, int, int]:
        x, y = int(rect.x - self.rect.x), int(rect.y - self.rect.y)
        return x, y, int(rect.w), int(rect.h)

    def slot(self, rect: Rect, text="", *, weight="Regular", size=32, colour=(1, 1, 1, 1), align="right"):
        slot = TextSlot(self, self._local(rect), weight=weight, size=size, colour=colour, align=align, text=text)
        self.slots.append(slot)
        return slot

    def box(self, name: str, rect: Rect, colour):
        self.boxes[name] = [self._local(rect), tuple(colour)]
        self._trigger()

    def box_colour(self, name: str, colour):
        if self.boxes[name][1] != tuple(colour):
            self.boxes[name][1] = tuple(colour)
            self._trigger()

    def changed(self):
        self._trigger()

    def redraw(self, *_):
        from PIL import Image, ImageDraw

        start = time.perf_counter()
        image = Image.new("RGB", self.size, _rgb(self.background))
        draw = ImageDraw.Draw(image)
        for (x, y, w, h), colour in self.boxes.values():
            draw.rectangle((x, y, x + w - 1, y + h - 1), fill=_rgb(colour))
        for slot in self.slots:
            slot.draw(draw)
        self.texture.blit_buffer(image.tobytes(), colorfmt="rgb", bufferfmt="ubyte")
        self.rectangle.texture = self.texture
        self.last_ms = (time.perf_counter() - start) * 1000


def _rgb(colour) -> tuple[int, int, int]:
    return tuple(int(round(c * 255)) for c in colour[:3])


class TextSlot:
    """One line of text in a :class:`TextRegion`; set :attr:`text` and :attr:`color`
    like a Label's. Text wider than its box is drawn smaller, never cut."""

    def __init__(self, region: TextRegion, box, *, weight, size, colour, align, text):
        self.region = region
        self.box = box
        self.weight = weight
        self.font_size = max(6, int(round(size)))
        self.align = align
        self._text = text
        self._colour = tuple(colour)

    @property
    def text(self) -> str:
        return self._text

    @text.setter
    def text(self, value: str):
        if value != self._text:
            self._text = value
            self.region.changed()

    @property
    def color(self):
        return self._colour

    @color.setter
    def color(self, value):
        if tuple(value) != self._colour:
            self._colour = tuple(value)
            self.region.changed()

    def draw(self, draw):
        from pishkhan.render import typeset

        if not self._text:
            return
        x0, y0, w, h = self.box
        size, pad = self.font_size, max(4, w // 60)
        font = typeset.font(size, self.weight)
        while typeset.width(self._text, font) > w - 2 * pad and size > 8:
            size = int(size * 0.9)
            font = typeset.font(size, self.weight)
        ascent, descent = font.getmetrics()
        y = y0 + max(0, (h - ascent - descent) // 2)
        x = x0 + {"right": w - pad, "left": pad, "center": w // 2}[self.align]
        typeset.draw_text(draw, (x, y), self._text, font, fill=_rgb(self._colour), align=self.align)


def _format_call_number(call) -> str:
    return call.ticket.display_label


def build_app(config, *, store=None, size=(1920, 1080), announcer=None, power=None, events=None,
              screenshots: Path | None = None, seconds: float | None = None, clock=None):
    """Create the Kivy app (Kivy is imported here; call :func:`prepare_kivy` first).

    :param config: the :class:`~pishkhan.config.Config`.
    :param store: an open store (default: the configured one).
    :param size: the window size.
    :param announcer: an :class:`~display.announce.Announcer` (default from config).
    :param power: a list of extra :class:`~display.screen_power.ScreenPower` backends
        (default: ``display.screen_power``); the local blank is added by the app.
    :param events: an :class:`EventLog`.
    :param screenshots: save full-size screenshots of each new page and call here.
    :param seconds: stop after this many seconds.
    :param clock: returns the aware current time (default: Tehran now).
    """
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.graphics import Color, Rectangle
    from kivy.graphics.texture import Texture
    from kivy.uix.label import Label
    from kivy.uix.stencilview import StencilView
    from kivy.uix.widget import Widget
    from PIL import Image

    from pishkhan.text.fonts import font_path
    from pishkhan.schedule.hours import hours_from_config
    from pishkhan.runtime.memory import release_free_memory
    from pishkhan.boards.notices import active_notices
    from pishkhan.queue.core import Queue
    from pishkhan.store.database import open_store

    from display.announce import Announcer, EspeakSynth, call_phrase, sink_from_config
    from display.page_cache import PageCache, board_signature
    from display.screen_power import ScreenPowerController, backends_from_config, BlankPower
    from display.snapshot import Snapshots

    REGULAR, BOLD, BLACK = "Regular", "Bold", "Black"
    clock = clock or jalali.now

    class WallApp(App):
        title = "Pishkhan — wall display"

        def build(self):
            self.config_ = config
            self.store = store or open_store(config)
            self.queue = Queue(self.store, config)
            self.hours = hours_from_config(config, store=self.store)
            self.events = events or EventLog(None)
            self.layout = WallLayout.for_size(tuple(Window.size))
            self.blank = False
            self.page_set = None
            self.page_index = 0
            self.page_shown_at = 0.0
            self.pending_pages = None
            self._pages_lock = threading.Lock()
            self.after_flip: list = []
            self.last_call_id = None
            self.calls_shown = 0
            self.highlight_until = 0.0
            self.board_sig = None
            self.ticker_text = ""
            self.started = time.time()
            self.shots = 0
            self._detected = 0.0
            self._savers: list[threading.Thread] = []

            root = Widget()
            self.root_widget = root
            self._build_widgets(root)

            # Announcer, snapshots, pages, screen power.
            self.announcer = announcer or Announcer(
                synth=EspeakSynth(config.state_dir / "audio") if config.get("display.voice") != "none" else None,
                sink=sink_from_config(config), store=self.store)
            self.snapshots = Snapshots.from_config(self.store, config)
            self.pages = PageCache(self.store, config, size=(int(self.layout.board.w), int(self.layout.board.h)),
                                   directory=config.state_dir / "pages", on_ready=self._pages_ready)
            if power is None:
                backends = backends_from_config(config, blank_apply=self._blank_from_thread)
            else:  # given backends, plus the local blank when configured
                backends = list(power)
                if "blank" in config.get("display.screen_power"):
                    backends.append(BlankPower(self._blank_from_thread))
            self.power = ScreenPowerController.from_config(self.store, config, backends, clock=clock,
                                                           board_version=self._board_version)
            self._halt = threading.Event()
            self._power_thread = threading.Thread(target=self.power.run, args=(self._halt,), name="screen-power",
                                                  daemon=True)

            # Boot: the last verified board from the store (or the pages kept on
            # disk) at once; nothing waits for the network, the broker or the clock.
            # Screen power starts once the first page is on show, so its first
            # record names the board.
            self.pages.start()
            self._seed_calls()

            Window.bind(on_flip=self._on_flip)
            self._flipping = None
            self._window_flip, Window.flip = Window.flip, self._flip
            Clock.schedule_interval(self._poll, POLL_SECONDS)
            Clock.schedule_interval(self._tick_clock, 1.0)
            Clock.schedule_interval(self._tick_ticker, 1 / 30)
            Clock.schedule_interval(self._rotate, 0.25)
            Clock.schedule_interval(self._snapshot_due, config.get("display.snapshot_seconds"))
            Clock.schedule_interval(lambda dt: release_free_memory(), MEMORY_RELEASE_SECONDS)
            Clock.schedule_once(lambda dt: self._request_snapshot(), 2.0)
            if seconds:
                Clock.schedule_once(lambda dt: self.stop(), seconds)
            self._tick_clock(0)
            self._refresh_footer()
            return root

        # -- widgets --------------------------------------------------------
        def _tile(self, region: TextRegion, rect: Rect, text="", *, font="Regular", size=32, colour="text",
                  halign="right"):
            return region.slot(rect, text, weight=font, size=size * self.layout.scale, colour=COLOURS[colour],
                               align=halign)

        def _build_widgets(self, root):
            L, s = self.layout, self.layout.scale
            H = L.size[1]
            # The background is the window's clear colour: no full-screen fill to
            # draw each frame (software GL pays for every pixel drawn).
            Window.clearcolor = COLOURS["background"]
            with root.canvas:
                Color(1, 1, 1, 1)
                b = L.board
                self.board_texture = Texture.create(size=(max(1, int(b.w)), max(1, int(b.h))), colorfmt="rgb")
                self.board_texture.flip_vertical()
                self.board_rect = Rectangle(pos=b.kivy_pos(H), size=(int(b.w), int(b.h)),
                                            texture=self.board_texture)
            head = TextRegion(root.canvas, L.header, H, background=COLOURS["header"])
            panel = TextRegion(root.canvas, L.panel, H, background=COLOURS["background"])
            foot = TextRegion(root.canvas, L.footer, H, background=COLOURS["header"])
            self.panel_region = panel
            self.latest_rect = self._latest_box()
            panel.box("latest", self.latest_rect, COLOURS["panel"])
            hd, pad = L.header, 30 * s
            top, low = hd.h * 0.62, hd.h * 0.4          # first and second header lines
            licence = S.LICENCE.format(licence=to_persian_digits(config.get("office.licence")))
            right, left = (hd.w * 0.4, hd.w * 0.6 - pad), (pad, hd.w * 0.35)
            self.office = self._tile(head, Rect(right[0], hd.y, right[1], top), config.get("office.name"),
                                     font=BOLD, size=44)
            self.licence = self._tile(head, Rect(right[0], hd.y + hd.h * 0.55, right[1], low), licence,
                                      size=26, colour="muted")
            self.clock_label = self._tile(head, Rect(left[0], hd.y, left[1], top), font=BOLD, size=54, halign="left")
            self.date_label = self._tile(head, Rect(left[0], hd.y + hd.h * 0.55, left[1], low), size=28,
                                         colour="muted", halign="left")
            # Now-serving panel: title, number, counter; then the earlier calls.
            lr = self.latest_rect
            number_h = lr.h * 0.5
            self.serving_title = self._tile(panel, Rect(lr.x, lr.y + 10 * s, lr.w, 70 * s), S.NOW_SERVING,
                                            font=BOLD, size=40, halign="center")
            self.latest_number = self._tile(panel, Rect(lr.x, lr.y + 70 * s, lr.w, number_h),
                                            font=BLACK, size=190, halign="center")
            counter_box = Rect(lr.x, lr.y + 70 * s + number_h, lr.w, lr.h - 80 * s - number_h)
            self.latest_counter = self._tile(panel, counter_box, font=BOLD, size=92, halign="center")
            p = L.panel
            rows_top = lr.y + lr.h + 16 * s
            row_h = (p.y + p.h - rows_top - 60 * s) / RECENT_ROWS
            self.recent_title = self._tile(panel, Rect(p.x, rows_top, p.w, 56 * s), S.RECENT, font=BOLD, size=32,
                                           colour="muted", halign="center")
            self.recent_labels = [self._tile(panel, Rect(p.x, rows_top + 60 * s + i * row_h, p.w, row_h),
                                             size=44, halign="center") for i in range(RECENT_ROWS)]
            # Footer: the ticker on top, then today's hours (right) and the board version (left).
            ft = L.footer
            line = ft.h * 0.5
            self.ticker_view = StencilView(size=(ft.w, line), pos=Rect(0, ft.y, ft.w, line).kivy_pos(H))
            root.add_widget(self.ticker_view)
            self.ticker = Label(text="", font_name=str(font_path(REGULAR)), font_size=30 * s, color=COLOURS["text"])
            self.ticker_view.add_widget(self.ticker)
            self.hours_label = self._tile(foot, Rect(ft.w * 0.5, ft.y + line, ft.w * 0.5 - pad, line), size=26,
                                          colour="muted")
            self.version_label = self._tile(foot, Rect(pad, ft.y + line, ft.w * 0.5 - pad, line), size=26,
                                            colour="muted", halign="left")
            with root.canvas.after:
                Color(*COLOURS["black"])
                self.blank_rect = Rectangle(pos=(0, 0), size=(0, 0))  # full size only while blank

        def _latest_box(self) -> Rect:
            p, s = self.layout.panel, self.layout.scale
            margin = 20 * s
            if self.layout.portrait:
                return Rect(p.x + margin, p.y + margin, p.w - 2 * margin, p.h * 0.62 - margin)
            return Rect(p.x + margin, p.y + margin, p.w - 2 * margin, p.h * 0.55)

        # -- the board pages ---------------------------------------------------
        def _pages_ready(self, page_set):
            """From the page worker thread: a new set is ready."""
            with self._pages_lock:
                self.pending_pages = page_set

        def _take_pending_pages(self):
            with self._pages_lock:
                page_set, self.pending_pages = self.pending_pages, None
            if page_set is None:
                return
            first = self.page_set is None
            self.page_set = page_set
            self.page_index = 0
            self._show_page(0, reason="first" if first else "board_changed")
            self._refresh_footer()
            if first:
                self._power_thread.start()
            else:
                self.power.record()
            self.events("pages", key=page_set.key, count=page_set.count, version=page_set.version,
                        verified=page_set.verified, rendered_ms=round(page_set.rendered_ms, 1),
                        from_disk=page_set.from_disk)

        def _show_page(self, index, *, reason):
            if self.page_set is None or not self.page_set.pages:
                return
            start = time.perf_counter()
            self.board_texture.blit_buffer(self.page_set.pages[index], colorfmt="rgb", bufferfmt="ubyte")
            self.board_rect.texture = self.board_texture
            self.root_widget.canvas.ask_update()
            self.page_shown_at = time.monotonic()
            blit_ms = (time.perf_counter() - start) * 1000
            name = f"page-{self.page_set.key[:8]}-{index + 1:02d}"
            self.after_flip.append(("page", dict(index=index, count=self.page_set.count, reason=reason,
                                                 key=self.page_set.key, version=self.page_set.version,
                                                 blit_ms=round(blit_ms, 2), shot=name)))

        def _rotate(self, _dt):
            if self.blank or self.page_set is None or len(self.page_set.pages) < 2:
                return
            if time.monotonic() - self.page_shown_at >= config.get("display.seconds_per_page"):
                self.page_index = (self.page_index + 1) % len(self.page_set.pages)
                self._show_page(self.page_index, reason="rotate")

        def _board_version(self):
            ps = self.page_set
            return ps.version if ps is not None and ps.verified else None

        # -- calls ----------------------------------------------------------
        def _seed_calls(self):
            calls = self.queue.recent_calls(RECENT_ROWS + 1)
            self.last_call_id = calls[0].id if calls else 0
            self._show_calls(calls, new=[])

        def _poll(self, _dt):
            self._take_pending_pages()
            if not self.store.changed():
                return
            self._detected = time.time()
            calls = self.queue.recent_calls(RECENT_ROWS + 1)
            newest = calls[0].id if calls else 0
            if newest != self.last_call_id:
                fresh = sorted((c for c in calls if c.id > (self.last_call_id or 0)), key=lambda c: c.id)
                self.last_call_id = newest
                self._show_calls(calls, new=fresh)
            sig = board_signature(self.store)
            if sig != self.board_sig:
                self.board_sig = sig
                self.pages.request()
            notices = self._ticker_source()
            if notices != self.ticker_text:
                self._set_ticker(notices)
            hours = S.HOURS_TODAY.format(hours=self.hours.describe_day(jalali.today(clock())))
            if hours != self.hours_label.text:  # a schedule installed meanwhile
                self.hours_label.text = hours

        def _show_calls(self, calls, *, new):
            if calls:
                latest = calls[0]
                self.latest_number.text = _format_call_number(latest)
                self.latest_counter.text = S.COUNTER.format(counter=to_persian_digits(str(latest.counter)))
            else:
                self.latest_number.text = ""
                self.latest_counter.text = S.NO_CALLS
            for label, call in zip(self.recent_labels, calls[1:] + [None] * RECENT_ROWS):
                label.text = "" if call is None else S.RECENT_ROW.format(
                    number=_format_call_number(call), counter=to_persian_digits(str(call.counter)))
            if not new:
                return
            self.highlight_until = time.monotonic() + HIGHLIGHT_SECONDS
            self.panel_region.box_colour("latest", COLOURS["highlight"])
            for label in (self.serving_title, self.latest_number, self.latest_counter):
                label.color = COLOURS["dark_text"]
            Clock.schedule_once(self._unhighlight, HIGHLIGHT_SECONDS + 0.05)
            for call in new:
                phrase = call_phrase(call)  # announced once the call is on screen (see _flip)
                self.calls_shown += 1
                self.after_flip.append(("call_shown", dict(call_id=call.id, ticket=call.ticket.label,
                                                           counter=call.counter, recall=call.recall, phrase=phrase,
                                                           detected_at=self._detected, queued_at=time.time(),
                                                           shot=f"call-{call.id:05d}")))

        def _unhighlight(self, _dt):
            if time.monotonic() >= self.highlight_until:
                self.panel_region.box_colour("latest", COLOURS["panel"])
                for label in (self.serving_title, self.latest_number, self.latest_counter):
                    label.color = COLOURS["text"]

        # -- header and footer ----------------------------------------------
        def _tick_clock(self, _dt):
            if self.blank:
                return
            now = clock()
            text = jalali.format_time(now)  # minutes: one redraw a minute, not every second
            if self.clock_label.text != text:
                self.clock_label.text = text
            date = jalali.format_date(jalali.today(now))
            if self.date_label.text != date:
                self.date_label.text = date
                self._refresh_footer()
                self.pages.request()  # a new day may bring a board into effect

        def _refresh_footer(self):
            today = jalali.today(clock())
            self.hours_label.text = S.HOURS_TODAY.format(hours=self.hours.describe_day(today))
            ps = self.page_set
            if ps is not None and ps.verified:
                self.version_label.text = S.BOARD_VERSION.format(version=to_persian_digits(ps.version or ""),
                                                                 code=ps.verification_code or "")
            else:
                self.version_label.text = S.NO_BOARD
            self._set_ticker(self._ticker_source())

        def _ticker_source(self) -> str:
            texts = [n.text for n in active_notices(self.store)]
            board_notices = self.page_set.notices if self.page_set is not None else ()
            for t in board_notices:
                if t not in texts:
                    texts.append(t)
            return S.TICKER_SEPARATOR.join(texts)

        def _set_ticker(self, text):
            self.ticker_text = text
            self.ticker.text = text
            self.ticker.texture_update()
            self.ticker.size = self.ticker.texture_size
            view = self.ticker_view
            self.ticker.y = view.y + (view.height - self.ticker.height) / 2
            self.ticker.x = view.right

        def _tick_ticker(self, dt_):
            if self.blank or not self.ticker_text:
                return
            view = self.ticker_view
            if self.ticker.width <= view.width - 40 * self.layout.scale:
                x = view.right - 30 * self.layout.scale - self.ticker.width  # fits: stand still, right-aligned
                if self.ticker.x != x:
                    self.ticker.x = x
                return
            # Right-to-left text enters from the left edge and moves right.
            x = self.ticker.x + TICKER_SPEED * self.layout.scale * dt_
            if x > view.right:
                x = view.x - self.ticker.width
            self.ticker.x = x

        # -- screen power: local blanking ------------------------------------
        def _blank_from_thread(self, blank: bool):
            Clock.schedule_once(lambda dt: self._set_blank(blank), 0)

        def _set_blank(self, blank: bool):
            if blank == self.blank:
                return
            self.blank = blank
            self.blank_rect.size = self.layout.size if blank else (0, 0)
            self.root_widget.canvas.ask_update()
            if not blank:
                self._tick_clock(0)
            self.events("screen", blank=blank)

        # -- after each drawn frame -------------------------------------------
        def _on_flip(self, *_):
            """The frame is drawn but not yet swapped: read it back if wanted."""
            if not self.after_flip:
                return
            done, self.after_flip = self.after_flip, []
            shot_wanted = any(name in ("page", "call_shown", "snapshot") for name, _ in done)
            needs_image = screenshots is not None or any(n == "snapshot" for n, _ in done)
            image = self._grab() if shot_wanted and needs_image else None
            self._flipping = (done, image, time.perf_counter())

        def _flip(self):
            """Swap the frame to the screen, then report what it showed, timed after the swap."""
            self._window_flip()
            if self._flipping is None:
                return
            (done, image, drawn), self._flipping = self._flipping, None
            now = time.time()
            swap_ms = round((time.perf_counter() - drawn) * 1000, 1)
            for name, data in done:
                if name == "snapshot":
                    self._save_snapshot(image)
                    continue
                shot = data.pop("shot", None)
                if name == "call_shown":
                    # Sight first, then sound: making the voice does not hold up the frame.
                    self.announcer.announce(data["phrase"])
                    data["panel_ms"] = round(self.panel_region.last_ms, 1)
                if name == "page" and data.get("reason") == "first":
                    self.events("first_page", since_start=round(now - self.started, 3))
                if screenshots is not None and image is not None and shot and self.shots < 400:
                    path = Path(screenshots) / f"{shot}.png"
                    if not path.exists():
                        self.shots += 1
                        data["screenshot"] = str(path)
                        data["swap_ms"] = swap_ms
                        self._save_screenshot(image, path, name, now, data)
                        continue
                self.events(name, shown_at=now, swap_ms=swap_ms, **data)

        def _save_screenshot(self, image, path, name, now, data):
            """Save off the UI thread; the event is written once the file is complete."""
            def save():
                tmp = path.with_suffix(".tmp.png")
                image.save(tmp, compress_level=1)
                os.replace(tmp, path)
                self.events(name, shown_at=now, **data)

            self._start_saver(save, "screenshot")

        def _grab(self):
            from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels

            w, h = Window.size
            data = glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE)
            return Image.frombytes("RGBA", (w, h), data).transpose(Image.Transpose.FLIP_TOP_BOTTOM).convert("RGB")

        # -- proof of display -------------------------------------------------
        def _snapshot_due(self, _dt):
            self._request_snapshot()

        def _request_snapshot(self):
            self.after_flip.append(("snapshot", {}))
            self.root_widget.canvas.ask_update()

        def _save_snapshot(self, image):
            if image is None:
                return
            ps = self.page_set
            state = self.power.state or ""

            def save():
                try:
                    snap = self.snapshots.take(image, board_version=self._board_version(),
                                               verification_code=ps.verification_code if ps and ps.verified else None,
                                               screen_state=state)
                    self.events("snapshot", path=str(snap.path), sha256=snap.sha256, board_version=snap.board_version)
                except Exception as e:
                    self.events("snapshot_failed", error=str(e))

            self._start_saver(save, "snapshot")

        def _start_saver(self, save, name):
            """Write a file off the UI thread; on_stop waits for the writers."""
            self._savers = [t for t in self._savers if t.is_alive()]
            thread = threading.Thread(target=save, name=name, daemon=True)
            self._savers.append(thread)
            thread.start()

        def on_stop(self):
            if self._halt.is_set():
                return
            self._halt.set()
            self.pages.close()
            self.announcer.close()
            self.power.close()
            for thread in self._savers:
                thread.join(timeout=10)
            self.events("stopped", calls_shown=self.calls_shown)

    return WallApp()


def run_display(config, *, size=(1920, 1080), fullscreen=False, events_path=None, screenshots=None,
                seconds=None) -> int:
    """Open the wall display (blocks until the window closes or *seconds* pass)."""
    prepare_kivy(size=size, fullscreen=fullscreen)
    if screenshots is not None:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
    events = EventLog(events_path)
    events("starting", pid=os.getpid(), size=list(size))
    app = build_app(config, size=size, events=events, screenshots=Path(screenshots) if screenshots else None,
                    seconds=seconds)
    try:
        app.run()
    finally:
        events.close()
    return 0
