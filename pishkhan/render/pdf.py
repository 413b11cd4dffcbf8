"""A kept PDF attachment (a circular's) drawn as page images, on the device, with pypdfium2.

Rules:

- A document is named by its SHA-256. Before its first page is drawn the file
  is checked: a regular file, at most :data:`MAX_FILE_BYTES`, with the hash it
  is named by, and readable by PDFium. Otherwise :exc:`PdfRefused` with a
  ``reason`` of :data:`pishkhan.exc.REASONS` — ``not_a_file`` (missing,
  not regular, too large), ``wrong_hash`` (the bytes differ from the name) or
  ``malformed`` (PDFium cannot read it, or it has no pages) — and a sentence.
  Nothing crashes the caller: every PDFium error is turned into that refusal.
- At most :data:`MAX_PAGES` pages of a document are drawn (:attr:`PdfInfo.shown`
  says how many; :attr:`PdfInfo.pages` how many it has).
- A page is drawn ``width`` pixels wide (a landscape page too), but never more
  than :data:`MAX_PIXELS` pixels in all nor :data:`MAX_SIDE` on either side: an
  absurd page size (a bomb, a needle-thin page) gives a smaller image, never a huge one.
- Pages are cached as ``<cache_dir>/<sha256>-<n>.png`` (n from 1), written to
  a ``.part`` file and renamed, so a power cut leaves no half image under the
  final name. The folder is kept under ``max_cache_bytes``: after each new
  page the least recently drawn files go first. A cached page is served without
  opening the PDF again.
- PDFium is not thread-safe: every call into it holds one lock.
- A page is drawn in a child process bounded by :data:`DRAW_SECONDS` and
  :data:`DRAW_MEMORY` (a page PDFium would take hours over, or crash on, is
  ``malformed`` and the kiosk's process goes on); the refusal is remembered.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from pishkhan.exc import PdfRefused

__all__ = ["PdfRefused", "PdfInfo", "PageRenderer", "MAX_FILE_BYTES", "MAX_PAGES", "MAX_PIXELS", "MAX_SIDE",
           "PAGE_WIDTH", "MAX_CACHE_BYTES"]

#: A circular's attachment is at most 20 MiB (the index's bound).
MAX_FILE_BYTES = 20 * 1024 * 1024
#: Pages drawn of one document.
MAX_PAGES = 60
#: Pixels of one page image at most (about 1100 x 1560 for A4 at the default width).
MAX_PIXELS = 2_400_000
#: Either side of a page image at most, in pixels.
MAX_SIDE = 4_000
#: Width of a page image, in pixels.
PAGE_WIDTH = 1100
#: The longest one page may take to draw, and the memory its drawing may take (the child process's).
DRAW_SECONDS = 15.0
DRAW_MEMORY = 1536 * 1024 ** 2
#: The page cache's size at most.
MAX_CACHE_BYTES = 150 * 1024 * 1024

_LOCK = threading.Lock()
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class PdfInfo:
    """What a checked document holds: its hash, its page count, and how many of them are drawn."""

    sha256: str
    pages: int
    shown: int


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class PageRenderer:
    """Draws and caches the pages of PDFs named by their SHA-256.

    :param cache_dir: the page cache (``<state>/circulars/pages``); made when needed.
    :param width: a page image's width in pixels.
    :param max_pages: pages drawn of one document.
    :param max_cache_bytes: the cache folder's size at most.
    """

    def __init__(self, cache_dir, *, width: int = PAGE_WIDTH, max_pages: int = MAX_PAGES,
                 max_cache_bytes: int = MAX_CACHE_BYTES):
        self.cache_dir = Path(cache_dir)
        self.width = int(width)
        self.max_pages = int(max_pages)
        self.max_cache_bytes = int(max_cache_bytes)
        self._checked: dict[str, PdfInfo | PdfRefused] = {}
        self._slow: dict[tuple[str, int], PdfRefused] = {}

    # -- the document ------------------------------------------------------------------
    def info(self, path, *, sha256: str) -> PdfInfo:
        """Check the file at *path* against *sha256* and count its pages (remembered per hash).

        :raises PdfRefused: missing, not regular, too large, a different hash, or not a readable PDF.
        """
        sha256 = self._name(sha256)
        known = self._checked.get(sha256)
        if isinstance(known, PdfRefused):
            raise known
        if known is not None:
            return known
        try:
            info = self._check(Path(path), sha256)
        except PdfRefused as refused:
            if refused.reason == "malformed":  # the right bytes that PDFium cannot read never change
                self._checked[sha256] = refused
            raise
        self._checked[sha256] = info
        return info

    def _check(self, path: Path, sha256: str) -> PdfInfo:
        try:
            st = path.stat()
        except OSError as e:
            raise PdfRefused(f"the attachment {path} cannot be read: {e.strerror}", reason="not_a_file") from e
        import stat

        if not stat.S_ISREG(st.st_mode):
            raise PdfRefused(f"the attachment {path} is not a regular file", reason="not_a_file")
        if st.st_size > MAX_FILE_BYTES:
            raise PdfRefused(f"the attachment is {st.st_size} bytes, more than {MAX_FILE_BYTES}",
                             reason="not_a_file")
        if _sha256(path) != sha256:
            raise PdfRefused(f"the attachment {path} does not have the SHA-256 {sha256}", reason="wrong_hash")
        with self._open(path) as pdf:
            count = len(pdf)
        if count < 1:
            raise PdfRefused("the PDF has no pages", reason="malformed")
        return PdfInfo(sha256=sha256, pages=count, shown=min(count, self.max_pages))

    def page(self, path, *, sha256: str, n: int) -> Path:
        """The PNG of page *n* (from 1) of the PDF at *path*: from the cache, else drawn now.

        :raises PdfRefused: as :meth:`info`; ``malformed`` too for a page PDFium cannot draw.
        :raises ValueError: *n* outside 1 … :attr:`PdfInfo.shown`.
        """
        sha256 = self._name(sha256)
        target = self.cache_dir / f"{sha256}-{int(n)}.png"
        if target.is_file() and isinstance(self._checked.get(sha256), PdfInfo):
            os.utime(target)  # most recently drawn: kept longest
            return target
        info = self.info(path, sha256=sha256)
        if not 1 <= n <= info.shown:
            raise ValueError(f"page {n} is not among pages 1 to {info.shown}")
        if target.is_file():
            os.utime(target)
            return target
        known = self._slow.get((sha256, n))
        if known is not None:
            raise known
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        part.unlink(missing_ok=True)  # a symlink planted there is never written through
        try:
            self._draw_apart(Path(path), n, part)
        except PdfRefused as refused:
            part.unlink(missing_ok=True)
            self._slow[(sha256, n)] = refused  # the same bytes fail the same way: not tried again
            raise
        os.replace(part, target)
        self._prune(keep=target)
        return target

    # -- inside ------------------------------------------------------------------------
    @staticmethod
    def _name(sha256: str) -> str:
        if not isinstance(sha256, str) or len(sha256) != 64 or not set(sha256) <= _HEX:
            raise PdfRefused(f"{sha256!r} is not a SHA-256 in lowercase hex", reason="malformed")
        return sha256

    @staticmethod
    def _open(path: Path):
        import pypdfium2 as pdfium

        class _Doc:
            def __enter__(self):
                _LOCK.acquire()
                try:
                    self.pdf = pdfium.PdfDocument(str(path))
                except Exception as e:  # PdfiumError, or anything a hostile file provokes
                    _LOCK.release()
                    raise PdfRefused(f"PDFium cannot read {path.name}: {e}", reason="malformed") from e
                return self.pdf

            def __exit__(self, *exc):
                try:
                    self.pdf.close()
                finally:
                    _LOCK.release()

        return _Doc()

    def _draw_apart(self, path: Path, n: int, part: Path) -> None:
        """Draw page *n* into *part* (a PNG) in a child process bounded by :data:`DRAW_SECONDS` and
        :data:`DRAW_MEMORY`: a page that takes longer, eats more or crashes PDFium is refused ``malformed`` and
        the kiosk's process goes on."""
        import subprocess
        import sys

        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]))
        try:
            done = subprocess.run([sys.executable, "-m", "pishkhan.render.pdf", str(path), str(n), str(self.width),
                                   str(part), str(DRAW_MEMORY)], env=env, capture_output=True,
                                  timeout=DRAW_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise PdfRefused(f"page {n} of {path.name} took longer than {DRAW_SECONDS:g} s to draw",
                             reason="malformed") from None
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            raise PdfRefused(f"PDFium cannot draw page {n} of {path.name}: {said[0][:200]}", reason="malformed")

    def _draw(self, path: Path, n: int):
        with self._open(path) as pdf:
            try:
                page = pdf[n - 1]
                try:
                    w, h = page.get_size()
                    if not (w > 0 and h > 0):
                        raise PdfRefused(f"page {n} has no size", reason="malformed")
                    scale = self.width / w
                    if (w * scale) * (h * scale) > MAX_PIXELS:
                        scale = (MAX_PIXELS / (w * h)) ** 0.5
                    scale = min(scale, MAX_SIDE / max(w, h))  # a needle-thin page: its thin side rounds up to
                    #                                           a pixel, so its long side is bounded too
                    bitmap = page.render(scale=scale, may_draw_forms=False)
                    image = bitmap.to_pil().convert("RGB")
                finally:
                    page.close()
            except PdfRefused:
                raise
            except Exception as e:
                raise PdfRefused(f"PDFium cannot draw page {n} of {path.name}: {e}", reason="malformed") from e
        return image

    def _prune(self, *, keep: Path) -> None:
        """Remove stale ``.part`` files, then the least recently drawn pages while over the bound."""
        files = []
        for p in self.cache_dir.iterdir():
            try:
                if p.name.endswith(".part"):
                    p.unlink()
                    continue
                st = p.stat()
            except OSError:
                continue
            files.append((st.st_mtime, st.st_size, p))
        total = sum(size for _, size, _ in files)
        for _, size, p in sorted(files, key=lambda f: f[0]):
            if total <= self.max_cache_bytes:
                break
            if p == keep:
                continue
            try:
                p.unlink()
            except OSError:
                continue
            total -= size


def _draw_main(argv: list[str]) -> int:
    """The child of :meth:`PageRenderer._draw_apart`: ``PATH N WIDTH OUT MEMORY`` draws page N into OUT (a PNG),
    its address space bounded to MEMORY bytes first."""
    import resource

    path, n, width, out, memory = Path(argv[0]), int(argv[1]), int(argv[2]), argv[3], int(argv[4])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    image = PageRenderer(Path(out).parent, width=width)._draw(path, n)
    with open(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644), "wb") as f:
        image.save(f, "PNG")
        f.flush()
        os.fsync(f.fileno())
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_draw_main(sys.argv[1:]))
