"""Board pages for the wall, rendered ahead and kept for the current board only.

- :func:`~pishkhan.boards.installed.board_signature` is a cheap fingerprint
  of everything in the store that changes the board on show (installed
  boards, staff's unavailable marks, the date); the wall's model compares it
  after each commit it notices.
- :class:`PageCache` renders the pages of the effective board on a worker
  thread when that board (or the date, or a staff mark) really changed, and
  hands the set to the app as soon as its first page is drawn.

Memory is bounded whatever the board's size. A drawn page (about 6 MB of
RGB on a 1920x1080 wall) is written at once as a PNG file in the set's own
folder and dropped; :class:`PageFiles` holds at most :data:`KEEP_DECODED`
pages decoded. The wall asks for page *i* (``page_set.page(i)``, or
``page_set.pages[i]``) and gets its raw RGB bytes, and that asks for page
*i* + 1 to be decoded ahead on a reader thread, so the next page is ready
when the wall turns to it. The page layouts are dropped as their pages are
drawn.

On disk, under the cache's folder (``state_dir/pages``): one folder per set,
named by its :func:`render_key`, holding ``0000.png`` ... and, once every
page is drawn, ``meta.json``. A restarted display shows a complete set of
exactly its board and size at once, without rendering. The set on show and
the one before it are kept (the wall may still be showing the older one
for a moment when a new one arrives); older folders are removed. Without a
folder the pages go to a private temporary folder, removed on
:meth:`PageCache.close`.

When a render raises (whatever the reason), the set on show stays, the
error is kept in :attr:`PageCache.errors` and handed to ``on_error`` with
the board that failed; :meth:`PageCache.last_saved` and
:meth:`PageCache.no_board_pages` give the wall something it can still show.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from pishkhan.text import jalali
from pishkhan.boards.installed import board_day, effective_for_config
from pishkhan.exc import RenderError
from pishkhan.store.files import write_whole


#: Pages a set keeps decoded (raw RGB) in memory: the one on show and the
#: next one read ahead (a 1320x870 board page is 3.4 MB).
KEEP_DECODED = 2


class PageFiles:
    """The drawn pages of one set: PNG files in *folder*, at most *keep*
    decoded at a time.

    A read-only sequence of raw RGB bytes (top row first), as the wall blits
    them: ``len()`` is the number of pages drawn so far, ``files[i]`` the
    bytes of page *i* (which also asks for page *i* + 1 to be read ahead).
    ``reader`` runs the read-ahead off the caller's thread (an executor's
    ``submit``); without one, pages are decoded when asked for.
    """

    def __init__(self, folder: Path, size: tuple[int, int], *, keep: int = KEEP_DECODED, reader=None,
                 count: int = 0):
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep!r}")
        self.folder = Path(folder)
        self.size = (int(size[0]), int(size[1]))
        self.keep = keep
        self.reader = reader
        self.errors: list[str] = []
        self._count = count
        self._decoded: OrderedDict[int, bytes] = OrderedDict()
        self._wanted: dict[int, object] = {}  # index -> its read-ahead (a future)
        self._lock = threading.Lock()

    def path(self, index: int) -> Path:
        return self.folder / f"{index:04d}.png"

    def __len__(self) -> int:
        return self._count

    def __iter__(self):
        for i in range(len(self)):
            yield self.get(i)

    def __getitem__(self, index: int) -> bytes:
        count = len(self)
        if not isinstance(index, int):
            raise TypeError(f"page index must be an int, got {index!r}")
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(f"page {index} of a set of {count} pages drawn")
        raw = self.get(index)
        if count > 1:
            self.prepare((index + 1) % count)
        return raw

    def append(self, image: Image.Image) -> None:
        """Write the next page (an RGB image of the set's size)."""
        index = self._count
        # fsynced before meta.json says the set is complete: a cut never leaves a blank page behind it
        write_whole(self.path(index), lambda f: image.save(f, format="PNG", compress_level=1), sync_folder=False)
        if index < self.keep:  # the first pages are shown first: keep them at hand
            self._remember(index, image.tobytes())
        self._count = index + 1

    def get(self, index: int) -> bytes:
        """Page *index* as raw RGB bytes, decoded now unless it is ready."""
        with self._lock:
            raw = self._decoded.get(index)
            if raw is not None:
                self._decoded.move_to_end(index)
                return raw
        raw = self._decode(index)
        self._remember(index, raw)
        return raw

    def prepare(self, index: int) -> None:
        """Have page *index* decoded ahead (on the reader thread)."""
        if self.reader is None or not 0 <= index < len(self):
            return
        with self._lock:
            if index in self._decoded or index in self._wanted:
                return
            self._wanted[index] = None
        try:
            future = self.reader(self._read_ahead, index)
        except RuntimeError:  # the reader was shut down: decode when asked
            future = None
        with self._lock:
            if future is None:
                self._wanted.pop(index, None)
            elif index in self._wanted:
                self._wanted[index] = future

    def settle(self, timeout: float = 10) -> bool:
        """Wait until the pages asked for ahead are decoded; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = [f for f in self._wanted.values() if f is not None]
            if not pending:
                return True
            for future in pending:
                try:
                    future.result(timeout=max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    return False
                except Exception:  # noqa: BLE001 - a failed read is recorded in errors
                    pass
            if time.monotonic() >= deadline:
                return False

    def forget(self) -> None:
        """Drop the decoded pages (they are read again if asked for)."""
        with self._lock:
            self._decoded.clear()

    def decoded(self) -> list[int]:
        """Indexes of the pages held decoded now (at most ``keep``)."""
        with self._lock:
            return list(self._decoded)

    def _read_ahead(self, index: int) -> None:
        try:
            with self._lock:
                if index in self._decoded:
                    return
            self._remember(index, self._decode(index))
        finally:
            with self._lock:
                self._wanted.pop(index, None)

    def _remember(self, index: int, raw: bytes) -> None:
        with self._lock:
            self._decoded[index] = raw
            self._decoded.move_to_end(index)
            while len(self._decoded) > self.keep:
                self._decoded.popitem(last=False)

    def _decode(self, index: int) -> bytes:
        try:
            with Image.open(self.path(index)) as im:
                if im.size != self.size:
                    raise ValueError(f"is {im.size[0]}x{im.size[1]}, expected {self.size[0]}x{self.size[1]}")
                return im.convert("RGB").tobytes()
        except (OSError, ValueError) as e:  # gone or damaged: a plain page, and say so
            self.errors.append(f"page {index + 1} ({self.path(index)}) could not be read: {e}")
            del self.errors[:-20]
            return Image.new("RGB", self.size, (255, 255, 255)).tobytes()


@dataclass
class PageSet:
    """Rendered pages of one board.

    ``pages`` is a :class:`PageFiles` (a sequence of raw RGB bytes, top row
    first, that fills up while rendering); :meth:`page` is the same as
    ``pages[index]``.
    """

    key: str
    size: tuple[int, int]
    pages: PageFiles
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

    @property
    def ready(self) -> int:
        """How many pages are drawn (and can be shown)."""
        return len(self.pages)

    def page(self, index: int) -> bytes:
        """Page *index* as raw RGB bytes; the next page is read ahead."""
        return self.pages[index]

    def image(self, index: int) -> Image.Image:
        return Image.frombytes("RGB", self.size, self.pages.get(index))


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
    :param directory: where the sets are kept on disk (None: a temporary folder,
        removed on :meth:`close`).
    :param on_ready: called (from the worker thread) with each new :class:`PageSet`.
    :param on_error: called (from the worker thread) with the exception when a
        refresh failed, and ``(key, version)`` of the board it was drawing (None
        when it failed before knowing the board).
    :param keep: pages each set holds decoded in memory.
    """

    def __init__(self, store, config, *, size, render=None, directory=None, on_ready=None, on_error=None,
                 keep: int = KEEP_DECODED):
        self.store = store
        self.config = config
        self.size = (int(size[0]), int(size[1]))
        self.render = render
        self.directory = Path(directory) if directory else None
        self.on_ready = on_ready
        self.on_error = on_error
        #: ``(key, version)`` of the board the last refresh drew (or tried to).
        self.attempt: tuple[str, str | None] | None = None
        self.keep = keep
        self.current: PageSet | None = None
        self.previous: PageSet | None = None
        self.errors: list[str] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="page-ahead")
        self._scratch: Path | None = None
        self._cleanup = weakref.finalize(self, _close_quietly, self._reader, None)

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
        self._cleanup()

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
        # Until the board is read, a failure is the newest installed board's
        # (a stored board the rules now refuse fails while it is read).
        newest = self.store.query_one("SELECT version FROM boards ORDER BY id DESC LIMIT 1")
        self.attempt = (None, str(newest[0])) if newest else None
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
        if self.current is not None and self.current.key != pages.key:
            self.previous = self.current
            self.previous.pages.forget()  # no longer on show: its pages stay on disk only
        self.current = pages
        if self.on_ready:
            self.on_ready(pages)

    def _root(self) -> Path:
        """The folder the sets are kept in."""
        if self.directory is not None:
            return self.directory
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="pishkhan-pages-"))
            self._cleanup.detach()
            self._cleanup = weakref.finalize(self, _close_quietly, self._reader, self._scratch)
        return self._scratch

    def _new_set(self, board, key, start) -> PageSet:
        folder = self._root() / key
        shutil.rmtree(folder, ignore_errors=True)  # an unfinished set of the same key
        folder.mkdir(parents=True)
        files = PageFiles(folder, self.size, keep=self.keep, reader=self._reader.submit)
        return PageSet(key, self.size, files, board.version_label if board else None,
                       board.verification_code if board else None, board is not None,
                       (time.perf_counter() - start) * 1000,
                       notices=tuple(board.notices) if board else ())

    def _fit(self, im: Image.Image) -> Image.Image:
        if im.size != self.size:
            im = im.resize(self.size, Image.Resampling.LANCZOS)
        return im.convert("RGB")

    def _render(self, board, key) -> PageSet:
        start = time.perf_counter()
        now = jalali.now()
        if self.render is not None:
            try:
                images = self.render(board, config=self.config, size=self.size, now=now)
            except RenderError:
                images = self.render(board, config=self.config, size=self._bigger(), now=now)
            pages = self._new_set(board, key, start)
            for im in images:
                pages.pages.append(self._fit(im))
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
        layouts[0] = None
        pages.rendered_ms = (time.perf_counter() - start) * 1000
        self._publish(pages)  # show the first page now; the rest follow
        self._draw_rest(pages)
        return pages

    def _draw_rest(self, pages: PageSet):
        """Draw the remaining pages; give way at once when another change comes in."""
        from pishkhan.render import typeset
        from pishkhan.render.board_pages import draw_page

        while len(pages.pages) < pages.count:
            if self._wake.is_set() and self._thread is not None:
                return  # refresh() runs again, and resumes here if the board is the same
            index = len(pages.pages)
            pages.pages.append(self._fit(draw_page(pages._layouts[index])))
            pages._layouts[index] = None  # drawn: its layout is not needed any more
        pages._layouts = None
        self._save(pages)
        # Every page drawn: close the faces the renderer opened (a size of Vazirmatn in use is about
        # 100 kB); the wall's own lines open again the few they draw with.
        typeset.font.cache_clear()

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
        """Mark the set complete on disk, and remove the folders of sets
        neither on show nor just before it."""
        try:
            write_whole(pages.pages.folder / "meta.json", json.dumps({
                "key": pages.key, "size": pages.size, "count": len(pages.pages), "version": pages.version,
                "verification_code": pages.verification_code, "verified": pages.verified,
                "notices": list(pages.notices)}, ensure_ascii=False).encode())
        except OSError as e:
            self.errors.append(f"could not keep the pages on disk: {e}")
        self._prune()

    def _prune(self):
        root = self.directory if self.directory is not None else self._scratch
        if root is None:
            return
        keep = {s.key for s in (self.current, self.previous) if s is not None}
        try:
            entries = list(root.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.name in keep:
                continue
            try:
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:  # the one-folder layout of earlier versions
                    entry.unlink()
            except OSError as e:
                self.errors.append(f"could not remove old pages {entry}: {e}")
        shutil.rmtree(root.with_name(root.name + ".tmp"), ignore_errors=True)

    def last_saved(self) -> PageSet | None:
        """The newest complete set kept on disk, of whichever board, if of this size."""
        root = self.directory if self.directory is not None else self._scratch
        if root is None:
            return None
        try:
            metas = sorted(root.glob("*/meta.json"), key=lambda m: m.stat().st_mtime, reverse=True)
        except OSError:
            return None
        for meta in metas:
            pages = self._load(meta.parent.name, root=root)
            if pages is not None:
                return pages
        return None

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
        for im in images:
            pages.pages.append(self._fit(im))
        pages.count = len(pages.pages)
        pages.rendered_ms = (time.perf_counter() - start) * 1000
        return pages

    def _load(self, key, *, root: Path | None = None) -> PageSet | None:
        """The pages kept on disk, if they are of exactly this board and size."""
        root = root if root is not None else self.directory
        if root is None:
            return None
        folder = root / key
        try:
            start = time.perf_counter()
            meta = json.loads((folder / "meta.json").read_text())
            count = int(meta["count"])
            if meta["key"] != key or tuple(meta["size"]) != self.size or count < 1:
                return None
            files = PageFiles(folder, self.size, keep=self.keep, reader=self._reader.submit, count=count)
            if not all(files.path(i).is_file() for i in range(count)):
                return None
            files.get(0)  # the first page is shown at once: read it now, and check it
            if files.errors:
                return None
            return PageSet(key, self.size, files, meta["version"], meta["verification_code"], meta["verified"],
                           (time.perf_counter() - start) * 1000, from_disk=True,
                           notices=tuple(meta.get("notices", ())), count=count)
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _close_quietly(reader: ThreadPoolExecutor, scratch: Path | None):
    reader.shutdown(wait=False, cancel_futures=True)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
