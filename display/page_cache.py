"""Board pages for the wall, rendered ahead and kept for the current board only.

- :func:`board_signature` is a cheap fingerprint of everything in the store
  that changes the board on show (installed boards, staff's unavailable marks,
  the date); the app compares it after each commit it notices.
- :class:`PageCache` renders the pages of the effective board on a worker
  thread when that board (or the date, or a staff mark) really changed, and
  hands the finished set to the app. Only one set is kept in memory (plus the
  one being rendered), and the last set is also written to disk so that a
  restarted display shows the last verified board at once.
- When a render raises (whatever the reason), the set on show stays, the
  error is kept in :attr:`PageCache.errors` and handed to ``on_error`` with
  the board that failed; :meth:`PageCache.last_saved` and
  :meth:`PageCache.no_board_pages` give the wall something it can still show.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from pishkhan.text import jalali
from pishkhan.boards.installed import effective_for_config
from pishkhan.exc import RenderError


def board_signature(store) -> tuple:
    """Cheap: changes whenever a board is installed or staff mark a service."""
    row = store.query_one("SELECT (SELECT COALESCE(MAX(id), 0) FROM boards), "
                          "(SELECT value FROM settings WHERE key = 'unavailable_services')")
    return (row[0], row[1], jalali.today(store.now()).isoformat())


def board_day(store) -> dt.date:
    """The day whose board to show: today, or the day the newest board was
    installed if the clock is behind it (a Pi booting before its clock is set)."""
    today = jalali.today(store.now())
    row = store.query_one("SELECT MAX(installed_at) FROM boards")
    if row and row[0]:
        installed = jalali.today(dt.datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%S.%fZ")
                                 .replace(tzinfo=dt.timezone.utc))
        return max(today, installed)
    return today


@dataclass
class PageSet:
    """Rendered pages of one board (raw RGB bytes, top row first)."""

    key: str
    size: tuple[int, int]
    pages: list[bytes]
    version: str | None
    verification_code: str | None
    verified: bool
    rendered_ms: float
    from_disk: bool = False
    #: The board's own notices (shown in the wall's ticker).
    notices: tuple[str, ...] = ()
    #: How many pages the set will have (``pages`` fills up while rendering).
    count: int = 0
    _layouts: list | None = field(default=None, repr=False)

    def image(self, index: int) -> Image.Image:
        return Image.frombytes("RGB", self.size, self.pages[index])


def render_key(board, size, day: dt.date) -> str:
    """What the pages depend on: board layers, unavailable marks, size and day."""
    if board is None:
        parts = ["none"]
    else:
        parts = [board.version_label, board.verification_code,
                 json.dumps(sorted((s.code, s.unavailable) for s in board.services() if s.unavailable),
                            ensure_ascii=False)]
    parts += [f"{size[0]}x{size[1]}", day.isoformat()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


class PageCache:
    """Render the effective board's pages off the UI thread.

    :param store: the store (shared; its lock serialises access).
    :param config: the configuration (office, province).
    :param size: pixel size of the board area.
    :param render: ``render(board, *, config, size, now)`` → list of PIL images;
        default: :mod:`pishkhan.render.board_layout` and :mod:`pishkhan.render.board_pages`, page by page.
    :param directory: where the last set is kept on disk (None: nowhere).
    :param on_ready: called (from the worker thread) with each new :class:`PageSet`.
    :param on_error: called (from the worker thread) with the exception when a
        refresh failed, and ``(key, version)`` of the board it was drawing (None
        when it failed before knowing the board).
    """

    def __init__(self, store, config, *, size, render=None, directory=None, on_ready=None, on_error=None):
        self.store = store
        self.config = config
        self.size = (int(size[0]), int(size[1]))
        self.render = render
        self.directory = Path(directory) if directory else None
        self.on_ready = on_ready
        self.on_error = on_error
        #: ``(key, version)`` of the board the last refresh drew (or tried to).
        self.attempt: tuple[str, str | None] | None = None
        self.current: PageSet | None = None
        self.errors: list[str] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- on the caller's thread -------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self._loop, name="page-cache", daemon=True)
        self._thread.start()
        self.request()

    def request(self):
        """Ask for a check of the board (cheap when nothing changed)."""
        self._wake.set()

    def close(self):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- the work -----------------------------------------------------------
    def _loop(self):
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.refresh()
            except Exception as e:  # keep the last pages on screen, say why
                self.errors.append(f"{type(e).__name__}: {e}")
                del self.errors[:-20]
                if self.on_error:
                    self.on_error(e, self.attempt)

    def refresh(self) -> PageSet | None:
        """Render if the effective board changed; returns the new set, else None.

        The set is handed to ``on_ready`` as soon as its first page is drawn;
        the other pages are appended to it as they are drawn.
        """
        self.attempt = None
        day = board_day(self.store)
        board = effective_for_config(self.store, self.config, day)
        key = render_key(board, self.size, day)
        self.attempt = (key, board.version_label if board else None)
        current = self.current
        if current is not None and current.key == key:
            if len(current.pages) < current.count and current._layouts:
                self._draw_rest(current)  # interrupted by a change that did not matter
            return None
        pages = self._load(key) if current is None else None
        if pages is not None:
            self._publish(pages)
            return pages
        return self._render(board, key)

    def _publish(self, pages: PageSet):
        self.current = pages
        if self.on_ready:
            self.on_ready(pages)

    def _new_set(self, board, key, start) -> PageSet:
        return PageSet(key, self.size, [], board.version_label if board else None,
                       board.verification_code if board else None, board is not None,
                       (time.perf_counter() - start) * 1000, notices=tuple(board.notices) if board else ())

    def _fit(self, im: Image.Image) -> bytes:
        if im.size != self.size:
            im = im.resize(self.size, Image.Resampling.LANCZOS)
        return im.convert("RGB").tobytes()

    def _render(self, board, key) -> PageSet:
        start = time.perf_counter()
        now = jalali.now()
        if self.render is not None:
            try:
                images = self.render(board, config=self.config, size=self.size, now=now)
            except RenderError:
                images = self.render(board, config=self.config, size=self._bigger(), now=now)
            pages = self._new_set(board, key, start)
            pages.pages.extend(self._fit(im) for im in images)
            pages.count = len(pages.pages)
            pages.rendered_ms = (time.perf_counter() - start) * 1000
            self._publish(pages)
            self._save(pages)
            return pages
        from pishkhan.render.board_layout import layout_pages
        from pishkhan.render.board_pages import draw_page

        layouts = self._layout(layout_pages, board, now)
        pages = self._new_set(board, key, start)
        pages.count = len(layouts)
        pages._layouts = layouts
        if not layouts:
            self._publish(pages)
            return pages
        pages.pages.append(self._fit(draw_page(layouts[0])))
        pages.rendered_ms = (time.perf_counter() - start) * 1000
        self._publish(pages)  # show the first page now; the rest follow
        self._draw_rest(pages)
        return pages

    def _draw_rest(self, pages: PageSet):
        """Draw the remaining pages; give way at once when another change comes in."""
        from pishkhan.render.board_pages import draw_page

        while len(pages.pages) < pages.count:
            if self._wake.is_set() and self._thread is not None:
                return  # refresh() runs again, and resumes here if the board is the same
            pages.pages.append(self._fit(draw_page(pages._layouts[len(pages.pages)])))
        pages._layouts = None
        self._save(pages)

    def _layout(self, layout_pages, board, now):
        """Lay out at the renderer's type scale for this size, or a little
        smaller when the area is too narrow for it (the board area is only a
        part of the wall)."""
        from pishkhan.render.board_layout import screen_scale

        base = screen_scale(self.size)
        for factor in (None, 0.9, 0.8, 0.7, 0.6):
            try:
                return layout_pages(board, config=self.config, size=self.size, now=now,
                                    scale=None if factor is None else base * factor)
            except RenderError:
                if factor == 0.6:
                    raise

    def _bigger(self) -> tuple[int, int]:
        return round(self.size[0] * 1.3), round(self.size[1] * 1.3)

    def _save(self, pages: PageSet):
        if self.directory is None:
            return
        try:
            tmp = self.directory.with_name(self.directory.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for i in range(len(pages.pages)):
                pages.image(i).save(tmp / f"{i:02d}.png", compress_level=1)
            (tmp / "meta.json").write_text(json.dumps({
                "key": pages.key, "size": pages.size, "count": len(pages.pages), "version": pages.version,
                "verification_code": pages.verification_code, "verified": pages.verified,
                "notices": list(pages.notices)}, ensure_ascii=False))
            shutil.rmtree(self.directory, ignore_errors=True)
            os.replace(tmp, self.directory)
        except OSError as e:
            self.errors.append(f"could not keep the pages on disk: {e}")

    def last_saved(self) -> PageSet | None:
        """The last complete set kept on disk, of whichever board, if of this size."""
        return self._load(None)

    def no_board_pages(self) -> PageSet:
        """The "no valid board" pages, drawn now, neither published nor kept."""
        start, now = time.perf_counter(), jalali.now()
        pages = self._new_set(None, render_key(None, self.size, board_day(self.store)), start)
        if self.render is not None:
            images = self.render(None, config=self.config, size=self.size, now=now)
        else:
            from pishkhan.render.board_layout import layout_pages
            from pishkhan.render.board_pages import draw_page

            images = [draw_page(layout) for layout in self._layout(layout_pages, None, now)]
        pages.pages.extend(self._fit(im) for im in images)
        pages.count = len(pages.pages)
        pages.rendered_ms = (time.perf_counter() - start) * 1000
        return pages

    def _load(self, key) -> PageSet | None:
        """The pages kept on disk, if they are of exactly this board (any board when
        *key* is None) and size."""
        if self.directory is None:
            return None
        try:
            meta = json.loads((self.directory / "meta.json").read_text())
            if (meta["key"] != key if key is not None else list(meta["size"]) != list(self.size)):
                return None
            start = time.perf_counter()
            pages = []
            for i in range(meta["count"]):
                with Image.open(self.directory / f"{i:02d}.png") as im:
                    pages.append(im.convert("RGB").tobytes())
            return PageSet(meta["key"], self.size, pages, meta["version"], meta["verification_code"], meta["verified"],
                           (time.perf_counter() - start) * 1000, from_disk=True,
                           notices=tuple(meta.get("notices", ())), count=len(pages))
        except (OSError, ValueError, KeyError):
            return None
