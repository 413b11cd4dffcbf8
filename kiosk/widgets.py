"""The kiosk's building blocks: high-contrast labels and large buttons.

Every label and button uses Vazirmatn through Kivy's ``pil`` text provider.
Rows are mirrored: in Persian the first widget sits on the right. Buttons
are at least :data:`MIN_TARGET` pixels each way (12 mm on a 7-inch
1280x800 screen). Widgets can carry a ``name`` so tests and the scripted
demo can find and touch them.
"""

from __future__ import annotations

from kivy.graphics import Color, Rectangle
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.widget import Widget

from pishkhan.text.fonts import font_path

#: 12 mm at 8.5 px/mm (a 7-inch 1280x800 panel).
MIN_TARGET = 102
SPACING = 8

# High contrast: near-black ground, white text, saturated buttons.
BG = (0.04, 0.06, 0.10, 1)
PANEL = (0.10, 0.14, 0.22, 1)
TEXT = (1, 1, 1, 1)
MUTED = (0.85, 0.88, 0.95, 1)
BUTTON = (0.08, 0.30, 0.62, 1)
PRIMARY = (1.0, 0.84, 0.0, 1)
PRIMARY_TEXT = (0, 0, 0, 1)
DANGER = (0.70, 0.08, 0.08, 1)
OK = (0.05, 0.45, 0.20, 1)
WARN = (1.0, 0.80, 0.25, 1)

FONT = str(font_path("Regular"))
FONT_BOLD = str(font_path("Bold"))

BASE_FONT = 30
#: A button's words shrink to fit, to this share of their size at most.
MIN_FIT = 0.6


def font_size(scale: float, step: float = 1.0) -> float:
    """Base type size times the customer's *scale* and a per-use *step*."""
    return round(BASE_FONT * scale * step)


def paint(widget: Widget, color) -> Widget:
    """Fill *widget*'s background with *color*."""
    with widget.canvas.before:
        c = Color(*color)
        rect = Rectangle(pos=widget.pos, size=widget.size)
    widget._bg = (c, rect)
    widget.bind(pos=lambda w, v: setattr(rect, "pos", v), size=lambda w, v: setattr(rect, "size", v))
    return widget


class Text(Label):
    """A wrapping label aligned to the start side of the language.

    :param rtl: right-to-left (Persian) or not.
    :param fit: grow the height to the text (for lists of unknown length).
    """

    def __init__(self, text="", *, rtl=True, size=BASE_FONT, bold=False, color=TEXT, align=None,
                 fit=False, name="", **kw):
        kw.setdefault("valign", "middle")
        kw.setdefault("shorten_from", "right")  # a shortened line keeps its beginning
        super().__init__(text=text, font_name=FONT_BOLD if bold else FONT, font_size=size, color=color,
                         halign=align or ("right" if rtl else "left"), **kw)
        self.name = name
        self.fbind("size", self._wrap)  # fbind: bind() wraps methods in weakrefs that Kivy leaks
        if fit:
            self.size_hint_y = None
            self.bind(texture_size=lambda w, s: setattr(w, "height", s[1] + 8))

    def _wrap(self, *_):
        self.text_size = (max(1, self.width - 16), None if self.size_hint_y is None else self.height)


class Btn(Button):
    """A large button; *kind* is ``normal``, ``primary``, ``danger`` or ``ok``."""

    COLORS = {"normal": (BUTTON, TEXT), "primary": (PRIMARY, PRIMARY_TEXT), "danger": (DANGER, TEXT),
              "ok": (OK, TEXT), "panel": (PANEL, TEXT)}

    def __init__(self, text="", *, on_press=None, kind="normal", size=BASE_FONT, name="", bold=True,
                 align="center", **kw):
        ground, fg = self.COLORS[kind]
        kw.setdefault("min_height", MIN_TARGET)
        min_height = kw.pop("min_height")
        super().__init__(text=text, font_name=FONT_BOLD if bold else FONT, font_size=size,
                         background_normal="", background_down="", background_color=ground, color=fg,
                         halign=align, valign="middle", **kw)
        self.name = name
        self.kind = kind
        if self.size_hint_y is None and self.height < min_height:
            self.height = min_height
        if self.size_hint_x is None and self.width < MIN_TARGET:
            self.width = MIN_TARGET
        self._type_size = size
        self.fbind("size", self._wrap)
        self.fbind("texture_size", self._fit)
        if on_press is not None:
            self.bind(on_release=lambda *_: on_press())

    def _wrap(self, *_):
        self.text_size = (max(1, self.width - 24), None)
        self.font_size = self._type_size  # the new size may hold the full size again

    def _fit(self, *_):
        """Step the type down until the words fit inside the button (large text, long names)."""
        tw, th = self.texture_size
        if (th > self.height - 8 or tw > self.width - 8) and self.font_size > self._type_size * MIN_FIT:
            self.font_size = max(self._type_size * MIN_FIT, round(self.font_size * 0.9))


class Row(BoxLayout):
    """A horizontal row whose children go start to end: right to left in Persian."""

    def __init__(self, widgets=(), *, rtl=True, **kw):
        kw.setdefault("spacing", SPACING)
        super().__init__(orientation="horizontal", **kw)
        for w in (reversed(list(widgets)) if rtl else widgets):
            self.add_widget(w)


class Column(BoxLayout):
    def __init__(self, widgets=(), **kw):
        kw.setdefault("spacing", SPACING)
        super().__init__(orientation="vertical", **kw)
        for w in widgets:
            self.add_widget(w)


class Scrolling(ScrollView):
    """A column of *widgets* that scrolls up and down when it is taller than its room."""

    def __init__(self, widgets=(), *, padding=0, spacing=SPACING, **kw):
        super().__init__(do_scroll_x=False, bar_width=10, bar_color=(1, 1, 1, 0.8), bar_inactive_color=(1, 1, 1, 0.5),
                         scroll_type=["bars", "content"], **kw)
        self.column = Column(widgets, padding=padding, spacing=spacing, size_hint_y=None)
        self.column.bind(minimum_height=self.column.setter("height"))
        self.add_widget(self.column)


def pages(items: list, per_page: int) -> int:
    """How many pages *items* fill at *per_page* a page (at least one)."""
    per_page = max(1, per_page)
    return max(1, (len(items) + per_page - 1) // per_page)


def page_slice(items: list, page: int, per_page: int) -> list:
    per_page = max(1, per_page)
    page = max(0, min(page, pages(items, per_page) - 1))
    return items[page * per_page:(page + 1) * per_page]


def walk(root: Widget):
    """Every widget under *root*, depth first."""
    stack = [root]
    while stack:
        w = stack.pop()
        yield w
        stack.extend(w.children)


def find(root: Widget, name: str) -> Widget | None:
    """The first widget under *root* with this ``name``, or None."""
    return next((w for w in walk(root) if getattr(w, "name", None) == name), None)


def find_all(root: Widget, prefix: str) -> list[Widget]:
    """Widgets whose ``name`` starts with *prefix*, in tree order."""
    return [w for w in walk(root) if str(getattr(w, "name", "")).startswith(prefix)]


class Tile(BoxLayout):
    """A large touchable panel holding several lines of text (e.g. a service).

    It behaves as one button: ``on_press`` fires when a touch ends on it.
    """

    def __init__(self, lines, *, rtl=True, on_press=None, kind="normal", name="", **kw):
        kw.setdefault("padding", (12, 6))
        super().__init__(orientation="vertical", **kw)
        ground, fg = Btn.COLORS[kind]
        paint(self, ground)
        self.name = name
        self.on_press = on_press
        for text, size, bold in lines:
            self.add_widget(Text(text, rtl=rtl, size=size, bold=bold, color=fg, shorten=True))

    def on_touch_down(self, touch):
        if self.collide_point(*touch.pos) and not touch.is_mouse_scrolling:
            touch.grab(self)
            return True
        return super().on_touch_down(touch)

    def on_touch_up(self, touch):
        if touch.grab_current is self:
            touch.ungrab(self)
            if self.collide_point(*touch.pos) and self.on_press:
                self.on_press()
            return True
        return super().on_touch_up(touch)


def overflows(root: Widget) -> list[str]:
    """Where content does not fit its box under *root*: a column or row whose
    fixed-size children need more room than it has (Kivy then draws them over
    their neighbours), or a label whose lines are taller or wider than it."""
    out = []
    for w in walk(root):
        if w.width <= 1 or w.height <= 1:
            continue
        name = getattr(w, "name", "") or type(w).__name__
        if isinstance(w, BoxLayout):
            if w.orientation == "vertical" and w.minimum_height > w.height + 2:
                out.append(f"{name}: needs {w.minimum_height:.0f} px of height, has {w.height:.0f}")
            elif w.orientation == "horizontal" and w.minimum_width > w.width + 2:
                out.append(f"{name}: needs {w.minimum_width:.0f} px of width, has {w.width:.0f}")
        elif isinstance(w, Label) and w.text:
            tw, th = w.texture_size
            if th > w.height + 2 or tw > w.width + 2:
                out.append(f"{name} {w.text[:30]!r}: text {tw:.0f}x{th:.0f} in {w.width:.0f}x{w.height:.0f}")
    return out
