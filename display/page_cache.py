"""Board pages for the wall, rendered ahead and kept for the current board only.

- :func:`board_signature` is a cheap fingerprint of everything in the store
  that changes the board on show (installed boards, staff's unavailable marks,
  the date); the app compares it after each commit it notices.
- :class:`PageCache` renders the pages of the effective board on a worker
  thread when that board (or the date, or a staff mark) really changed, and
  hands the finished set to the app. Only one set is kept in memory (plus the
  one being rendered), and the last set is also written to disk so that a
  restarted display shows the last verified board at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from pishkhan import jalali
from pishkhan.board_store import effective_for_config
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
    :param render: ``render(board, *, config, size, now)`` → list of PIL images.
    :param directory: where the last set is kept on disk (None: nowhere).
    :param on_ready: called (from the worker thread) with each new :class:`PageSet`.
    """

    def __init__(self, store, config, *, size, render=None, directory=None, on_ready=None):
        if render is None:
            from .render import render_pages as render
        self.store = store
        self.config = config
        self.size = (int(size[0]), int(size[1]))
        self.render = render
        self.directory = Path(directory) if directory else None
        self.on_ready = on_ready
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

    def refresh(self) -> PageSet | None:
        """Render if the effective board changed; returns the new set, else None."""
        day = board_day(self.store)
        board = effective_for_config(self.store, self.config, day)
        key = render_key(board, self.size, day)
        if self.current is not None and self.current.key == key:
            return None
        pages = self._load(key, board) if self.current is None else None
        if pages is None:
            pages = self._render(board, key)
            self._save(pages)
        self.current = pages
        if self.on_ready:
            self.on_ready(pages)
        return pages

    def _render(self, board, key) -> PageSet:
        start = time.perf_counter()
        now = jalali.now()
        try:
            images = self.render(board, config=self.config, size=self.size, now=now)
        except RenderError:
            # Some layouts need more room than this area has: render larger, scale down.
            big = (round(self.size[0] * 1.3), round(self.size[1] * 1.3))
            images = [im.resize(self.size, Image.Resampling.LANCZOS)
                      for im in self.render(board, config=self.config, size=big, now=now)]
        pages = []
        for im in images:
            if im.size != self.size:
                im = im.resize(self.size, Image.Resampling.LANCZOS)
            pages.append(im.convert("RGB").tobytes())
        return PageSet(key, self.size, pages,
                       board.version_label if board else None,
                       board.verification_code if board else None,
                       board is not None, (time.perf_counter() - start) * 1000,
                       notices=tuple(board.notices) if board else ())

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

    def _load(self, key, board) -> PageSet | None:
        """The pages kept on disk, if they are of exactly this board and size."""
        if self.directory is None:
            return None
        try:
            meta = json.loads((self.directory / "meta.json").read_text())
            if meta["key"] != key:
                return None
            start = time.perf_counter()
            pages = []
            for i in range(meta["count"]):
                with Image.open(self.directory / f"{i:02d}.png") as im:
                    pages.append(im.convert("RGB").tobytes())
            return PageSet(key, self.size, pages, meta["version"], meta["verification_code"], meta["verified"],
                           (time.perf_counter() - start) * 1000, from_disk=True,
                           notices=tuple(meta.get("notices", ())))
        except (OSError, ValueError, KeyError):
            return None
