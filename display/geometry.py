"""Where the wall's parts go in a window, in pixels (no Kivy).

Landscape (wider than tall, laid out for 1920x1080): a header across the
top, then the now-serving panel (the first 600 px from the left at scale 1)
and the board area beside it, and a footer across the bottom. Portrait (laid out for 1080x1920): header, then the now-serving panel
across the width, the board area below it, the footer. Everything scales
with the window (the smaller ratio in landscape, the width in portrait).
"""

from __future__ import annotations

from dataclasses import dataclass


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

    def latest_box(self) -> Rect:
        """The highlighted box of the latest call, inside the now-serving panel."""
        p, s = self.panel, self.scale
        margin = 20 * s
        if self.portrait:
            return Rect(p.x + margin, p.y + margin, p.w - 2 * margin, p.h * 0.62 - margin)
        return Rect(p.x + margin, p.y + margin, p.w - 2 * margin, p.h * 0.55)
