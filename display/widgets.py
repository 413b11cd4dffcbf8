"""The Kivy widgets that draw the wall (a :class:`~display.model.WallModel`).

:class:`WallScreen` is the wall's root widget: the board pages through one
reused texture, the header, now-serving panel and footer each drawn with
Pillow into one opaque texture (:class:`TextRegion`), a Kivy label for the
scrolling ticker, and a black cover for local blanking. It holds no state of
its own beyond what is drawn; the model decides what that is.
"""

from __future__ import annotations

import time

from pishkhan.runtime.kivy_env import require_prepared

require_prepared(__name__)

from kivy.clock import Clock  # noqa: E402
from kivy.graphics import Color, Rectangle  # noqa: E402
from kivy.graphics.texture import Texture  # noqa: E402
from kivy.uix.label import Label  # noqa: E402
from kivy.uix.stencilview import StencilView  # noqa: E402
from kivy.uix.widget import Widget  # noqa: E402

from pishkhan.text.fonts import font_path  # noqa: E402
from pishkhan.text.persian import to_persian_digits  # noqa: E402

from display import wall_strings as S  # noqa: E402
from display.geometry import Rect, WallLayout  # noqa: E402
from display.model import RECENT_ROWS  # noqa: E402

#: Ticker speed, pixels per second at scale 1.
TICKER_SPEED = 110

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
REGULAR, BOLD, BLACK = "Regular", "Bold", "Black"


class TextRegion:
    """A part of the screen drawn with Pillow (raqm, Vazirmatn) into one opaque texture.

    Kivy's own labels make and upload a texture per change and are blended
    one over another; on a GPU-less machine every drawn pixel costs. A region
    holds a background, coloured boxes and lines of text (:class:`TextSlot`),
    and is redrawn once, just before the next frame, when any of them changed.
    """

    def __init__(self, canvas, rect: Rect, window_height: float, *, background):
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
    like a Label's. Text wider or taller than its box is drawn smaller, never cut
    or spilt onto its neighbours."""

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
        top, bottom = font.getbbox(self._text, anchor="la")[1::2]
        if y + bottom > y0 + h:  # the ink would leave the box at the bottom (a short box, huge type)
            while bottom - top > h and size > 8:
                size = int(size * 0.9)
                font = typeset.font(size, self.weight)
                top, bottom = font.getbbox(self._text, anchor="la")[1::2]
            y = y0 + (h - (bottom - top)) // 2 - top  # centre the ink itself
        x = x0 + {"right": w - pad, "left": pad, "center": w // 2}[self.align]
        typeset.draw_text(draw, (x, y), self._text, font, fill=_rgb(self._colour), align=self.align)



class WallScreen(Widget):
    """The wall's root widget, laid out by a :class:`~display.geometry.WallLayout`.

    :param layout: where everything goes.
    :param office: the office name (header).
    :param licence: the office's licence number (header).
    """

    def __init__(self, layout: WallLayout, *, office: str, licence: str, **kw):
        from kivy.core.window import Window

        super().__init__(**kw)
        self.layout = layout
        L, s = layout, layout.scale
        H = L.size[1]
        # The background is the window's clear colour: no full-screen fill to
        # draw each frame (software GL pays for every pixel drawn).
        Window.clearcolor = COLOURS["background"]
        with self.canvas:
            Color(1, 1, 1, 1)
            b = L.board
            self.board_texture = Texture.create(size=(max(1, int(b.w)), max(1, int(b.h))), colorfmt="rgb")
            self.board_texture.flip_vertical()
            self.board_rect = Rectangle(pos=b.kivy_pos(H), size=(int(b.w), int(b.h)), texture=self.board_texture)
        head = TextRegion(self.canvas, L.header, H, background=COLOURS["header"])
        panel = TextRegion(self.canvas, L.panel, H, background=COLOURS["background"])
        foot = TextRegion(self.canvas, L.footer, H, background=COLOURS["header"])
        self.panel_region = panel
        self.latest_rect = L.latest_box()
        panel.box("latest", self.latest_rect, COLOURS["panel"])
        hd, pad = L.header, 30 * s
        top, low = hd.h * 0.62, hd.h * 0.4          # first and second header lines
        licence = S.LICENCE.format(licence=to_persian_digits(licence))
        right, left = (hd.w * 0.4, hd.w * 0.6 - pad), (pad, hd.w * 0.35)
        self.office = self._tile(head, Rect(right[0], hd.y, right[1], top), office, font=BOLD, size=44)
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
        # the staff line, small and muted, in the room left under the recent calls
        self.staff_label = self._tile(panel, Rect(p.x, p.y + p.h - 54 * s, p.w, 50 * s), size=24, colour="muted",
                                      halign="center")
        # Footer: the ticker on top, then today's hours (right) and the board version (left).
        ft = L.footer
        line = ft.h * 0.5
        self.ticker_view = StencilView(size=(ft.w, line), pos=Rect(0, ft.y, ft.w, line).kivy_pos(H))
        self.add_widget(self.ticker_view)
        self.ticker = Label(text="", font_name=str(font_path(REGULAR)), font_size=30 * s, color=COLOURS["text"])
        self.ticker_view.add_widget(self.ticker)
        self.hours_label = self._tile(foot, Rect(ft.w * 0.5, ft.y + line, ft.w * 0.5 - pad, line), size=26,
                                      colour="muted")
        self.version_label = self._tile(foot, Rect(pad, ft.y + line, ft.w * 0.5 - pad, line), size=26,
                                        colour="muted", halign="left")
        with self.canvas.after:
            Color(*COLOURS["black"])
            self.blank_rect = Rectangle(pos=(0, 0), size=(0, 0))  # full size only while blank

    def _tile(self, region: TextRegion, rect: Rect, text="", *, font="Regular", size=32, colour="text",
              halign="right"):
        return region.slot(rect, text, weight=font, size=size * self.layout.scale, colour=COLOURS[colour],
                           align=halign)

    # -- what the model says ------------------------------------------------------
    def show_page(self, data: bytes) -> float:
        """Put one page's RGB bytes on the board area; returns the upload time in ms."""
        start = time.perf_counter()
        self.board_texture.blit_buffer(data, colorfmt="rgb", bufferfmt="ubyte")
        self.board_rect.texture = self.board_texture
        self.canvas.ask_update()
        return (time.perf_counter() - start) * 1000

    def show_calls(self, model) -> None:
        self.latest_number.text = model.latest_number
        self.latest_counter.text = model.latest_counter
        for label, text in zip(self.recent_labels, model.recent_rows()):
            label.text = text

    def highlight(self, on: bool) -> None:
        """The latest call in amber with dark text, or back to the panel's colours."""
        self.panel_region.box_colour("latest", COLOURS["highlight" if on else "panel"])
        for label in (self.serving_title, self.latest_number, self.latest_counter):
            label.color = COLOURS["dark_text" if on else "text"]

    def show_clock(self, model) -> None:
        self.clock_label.text = model.clock_text
        self.date_label.text = model.date_text

    def show_footer(self, model) -> None:
        self.hours_label.text = model.hours_text
        self.version_label.text = model.version_text
        self.staff_label.text = model.staff_text

    @property
    def panel_ms(self) -> float:
        """How long the now-serving panel's last redraw took (ms)."""
        return self.panel_region.last_ms

    # -- the ticker -----------------------------------------------------------------
    def set_ticker(self, text: str) -> None:
        """New ticker text, starting from the right-hand edge."""
        self.ticker.text = text
        self.ticker.texture_update()
        self.ticker.size = self.ticker.texture_size
        view = self.ticker_view
        self.ticker.y = view.y + (view.height - self.ticker.height) / 2
        self.ticker.x = view.right

    def move_ticker(self, dt: float) -> None:
        """Scroll the ticker by *dt* seconds' worth, or hold it still when it fits."""
        if not self.ticker.text:
            return
        view, s = self.ticker_view, self.layout.scale
        if self.ticker.width <= view.width - 40 * s:
            x = view.right - 30 * s - self.ticker.width  # fits: stand still, right-aligned
            if self.ticker.x != x:
                self.ticker.x = x
            return
        # Right-to-left text enters from the left edge and moves right.
        x = self.ticker.x + TICKER_SPEED * s * dt
        if x > view.right:
            x = view.x - self.ticker.width
        self.ticker.x = x

    # -- blanking and read-back -------------------------------------------------------
    def set_blank(self, blank: bool) -> None:
        self.blank_rect.size = self.layout.size if blank else (0, 0)
        self.canvas.ask_update()

    def grab(self):
        """The frame just drawn, as a PIL image (before it is swapped to the screen)."""
        from kivy.core.window import Window
        from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
        from PIL import Image

        w, h = Window.size
        data = glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE)
        return Image.frombytes("RGBA", (w, h), data).transpose(Image.Transpose.FLIP_TOP_BOTTOM).convert("RGB")
