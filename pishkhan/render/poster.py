"""The printable poster: the board as a multi-page PDF on A4 or A3 at 300 dpi.

Same layout engine as the screens (:mod:`pishkhan.render.board_layout`), with paper-sized
pages and type set at 12 points, so A3 holds more rows per page than A4.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pishkhan.render.board_layout import POSTER_DPI, layout_pages, paper_size, poster_scale
from pishkhan.render.board_pages import draw_page


def poster_pages(board, *, config, paper: str = "A4", now: dt.datetime | None = None, notices=None):
    """The poster's laid-out pages (see :func:`pishkhan.render.board_layout.layout_pages`)."""
    return layout_pages(board, config=config, size=paper_size(paper), scale=poster_scale(POSTER_DPI),
                        now=now, notices=notices, poster=True)


def write_poster(board, *, config, paper: str = "A4", out: Path, now: dt.datetime | None = None,
                 notices=None) -> int:
    """Write the poster PDF to *out*; returns its page count."""
    pages = poster_pages(board, config=config, paper=paper, now=now, notices=notices)
    images = [draw_page(page) for page in pages]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=float(POSTER_DPI),
                   title="تعرفهٔ رسمی خدمات", creator="pishkhan")
    return len(images)
