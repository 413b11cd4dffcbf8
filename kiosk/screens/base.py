"""What every kiosk screen shares: the header with back, home, language and
text size, and a body each screen builds from the current state."""

from __future__ import annotations

from kivy.core.window import Window
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from ..strings import CLOSED_REASONS, number, t
from ..widgets import BG, MIN_TARGET, SPACING, Btn, Column, Row, Text, font_size, paint

PADDING = 10
#: Height of the title line under the header buttons in portrait.
TITLE_ROW = 60
#: How many "+" the text-size button shows for each scale.
TEXT_STEPS = {1.0: 1, 1.25: 2, 1.5: 3}


class KioskScreen(Screen):
    """A screen rebuilt from scratch by :meth:`refresh` (language, size, data).

    Subclasses give :meth:`body` and may set :attr:`title_key`.
    ``self.params`` holds what the screen was opened with.
    """

    title_key = ""
    #: Show back/home (the attract screen has neither).
    navigation = True

    def __init__(self, kiosk, **kw):
        super().__init__(**kw)
        self.kiosk = kiosk
        self.params: dict = {}
        paint(self, BG)

    # -- helpers ----------------------------------------------------------------
    @property
    def lang(self) -> str:
        return self.kiosk.lang

    @property
    def rtl(self) -> bool:
        return self.kiosk.lang == "fa"

    @property
    def model(self):
        return self.kiosk.model

    def t(self, key: str, **values) -> str:
        return t(key, self.lang, **values)

    def num(self, value) -> str:
        return number(value, self.lang)

    def wait_phrase(self, people_ahead: int, minutes: int, *, short: bool = False) -> str:
        """The wait in words: none, under a minute, or about so many minutes."""
        if minutes <= 0:
            return self.t("wait_none") if people_ahead == 0 else self.t("wait_under_minute")
        return self.t("wait_short" if short else "estimated_wait", minutes=minutes)

    def refusal(self, reason: str) -> tuple[str, str]:
        """Why no ticket can be had, and when one can ("" where the answer is not the clock)."""
        why = self.t(CLOSED_REASONS.get(reason, "closed_closed"))
        if reason not in ("closed", "cutoff"):
            return why, ""
        when = self.model.describe_next_open(self.lang)
        return why, self.t("next_open", when=when) if when else self.t("next_open_unknown")

    def fs(self, step: float = 1.0) -> float:
        return font_size(self.kiosk.scale, step)

    def text(self, value, step=1.0, **kw) -> Text:
        return Text(value, rtl=self.rtl, size=self.fs(step), **kw)

    def button(self, value, on_press, *, step=1.0, **kw) -> Btn:
        return Btn(value, on_press=on_press, size=self.fs(step), **kw)

    def row(self, widgets, **kw) -> Row:
        return Row(widgets, rtl=self.rtl, **kw)

    @property
    def landscape(self) -> bool:
        return Window.width >= Window.height

    def item_height(self, lines: float = 1.0) -> int:
        """Height of a list item with *lines* lines of text, never under the touch minimum."""
        return max(MIN_TARGET, int(self.fs() * (1.5 * lines + 0.9)))

    def header_height(self) -> int:
        """The header's height: one row in landscape, buttons then title in portrait."""
        return MIN_TARGET if self.landscape else MIN_TARGET + SPACING + TITLE_ROW

    def body_height(self) -> int:
        return Window.height - self.header_height() - 3 * PADDING - SPACING

    # -- building ---------------------------------------------------------------
    def title(self) -> str:
        return self.t(self.title_key) if self.title_key else ""

    def header(self):
        k = self.kiosk
        widgets = []
        if self.navigation:
            widgets.append(Btn(self.t("back"), on_press=k.back, name="back",
                               size=font_size(1), size_hint_x=None, width=190))
        # The header keeps one size so its buttons never move or overflow.
        head = min(k.scale, 1.1)
        title = Text(self.title(), rtl=self.rtl, size=font_size(head, 1.1), bold=True, name="title", shorten=True)
        if self.landscape:
            widgets.append(title)
        else:
            widgets.append(Widget())
        widgets.append(Btn(self.t("text_size") + " " + ("+" * TEXT_STEPS.get(k.scale, 0) or "+"),
                           on_press=k.cycle_text_size, name="text-size", size=font_size(1, 0.8),
                           size_hint_x=None, width=200))
        widgets.append(Btn(self.t("language"), on_press=k.toggle_language, name="language", size=font_size(1, 0.9),
                           size_hint_x=None, width=150))
        if self.navigation:
            widgets.append(Btn(self.t("home"), on_press=k.home, name="home", size=font_size(1), size_hint_x=None,
                               width=160))
        buttons = self.row(widgets, size_hint_y=None, height=MIN_TARGET)
        if self.landscape:
            return buttons
        title.size_hint_y, title.height = None, TITLE_ROW
        return Column([buttons, title], size_hint_y=None, height=self.header_height())

    def body(self):
        raise NotImplementedError

    def refresh(self):
        """Rebuild the whole screen from the current state."""
        self.clear_widgets()
        self.add_widget(Column([self.header(), self.body()], padding=PADDING))

    def on_leave(self, *_):
        self.clear_widgets()  # drop widgets (and their textures) while unseen
