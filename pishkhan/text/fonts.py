"""Find the Vazirmatn font and check that text shaping (raqm) works.

Persian must be shaped and ordered right to left. Pillow does that only with
libraqm and the system's libfribidi; without them it silently draws broken
text, so :func:`require_raqm` refuses to go on.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pishkhan.exc import RenderError

FONT_DIRS = [
    "/usr/share/fonts/truetype/vazirmatn",
    "/usr/local/share/fonts/vazirmatn",
    "~/.local/share/fonts/vazirmatn",
]
WEIGHTS = ("Regular", "Medium", "SemiBold", "Bold", "ExtraBold", "Black", "Light")


@lru_cache(maxsize=None)
def font_path(weight: str = "Regular") -> Path:
    """The Vazirmatn TTF of *weight*; :exc:`RenderError` saying how to install it."""
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
    dirs = ([os.environ["PISHKHAN_FONT_DIR"]] if os.environ.get("PISHKHAN_FONT_DIR") else []) + FONT_DIRS
    for d in dirs:
        path = Path(d).expanduser() / f"Vazirmatn-{weight}.ttf"
        if path.is_file():
            return path
    raise RenderError(f"the Vazirmatn font ({weight}) is not installed; looked in {', '.join(dirs)}. "
                      "Run `make demo` or scripts/install-system.sh (Debian package fonts-vazirmatn, "
                      "else the npm package vazirmatn).")


def require_raqm() -> None:
    """Raise :exc:`RenderError` unless Pillow can shape Persian (raqm + fribidi)."""
    from PIL import features

    if not features.check("raqm"):
        raise RenderError("Pillow cannot shape Persian text: libraqm/libfribidi are missing "
                          "(apt-get install libraqm0 libfribidi0). Refusing to draw broken text.")
