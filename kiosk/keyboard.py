"""A Persian on-screen keyboard (Kivy has no Persian layout).

It edits a plain string and calls ``on_change(text)``; the screen shows the
text in a Label, because TextInput draws its cursor in the wrong place
under the ``pil`` text provider. Layouts: Persian letters, digits, and
English letters.
"""

from __future__ import annotations

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from .strings import t
from .widgets import MIN_TARGET, Btn, Row

ZWNJ = "\u200c"
#: Gap between keys: small, so twelve keys a row stay 12 mm wide on 1280 px.
KEY_SPACING = 2

LAYOUTS = {
    "fa": [
        "ض ص ث ق ف غ ع ه خ ح ج چ",
        "ش س ی ب ل ا ت ن م ک گ",
        "ظ ط ز ر ذ د پ و ژ آ ئ",
    ],
    "digits": [
        "۱ ۲ ۳ ۴ ۵ ۶ ۷ ۸ ۹ ۰",
        "( ) - / ، . : ؟ !",
        "« » ء أ ؤ ة",
    ],
    "en": [
        "q w e r t y u i o p",
        "a s d f g h j k l",
        "z x c v b n m",
    ],
}


class PersianKeyboard(BoxLayout):
    """Rows of key buttons editing :attr:`text`.

    :param on_change: called with the new text after every key.
    :param lang: UI language (key captions and row direction).
    :param max_length: keys beyond this length are ignored.
    """

    def __init__(self, *, on_change=None, lang="fa", text="", max_length=280, key_height=MIN_TARGET,
                 font=30, layout="fa", columns=12, **kw):
        super().__init__(orientation="vertical", spacing=KEY_SPACING, size_hint_y=None, **kw)
        self.on_change = on_change
        self.lang = lang
        self.text = text
        self.max_length = max_length
        self.layout = layout if layout in LAYOUTS else "fa"
        self.key_height = key_height
        self.font = font
        self.columns = columns
        self._build()

    def _build(self):
        self.clear_widgets()
        rtl = self.layout != "en"
        rows = self.rows()
        for row in rows:
            keys = [Btn(ch, kind="panel", size=self.font * 1.1, name=f"key:{ch}",
                        on_press=lambda ch=ch: self.press(ch)) for ch in row]
            keys += [Widget() for _ in range(max(len(r) for r in rows) - len(keys))]
            self.add_widget(Row(keys, rtl=rtl, spacing=KEY_SPACING, size_hint_y=None, height=self.key_height))
        self.height = (len(rows) + 1) * (self.key_height + KEY_SPACING)
        other = "en" if self.layout == "fa" else "fa"
        switch = [Btn(t("digits_layout", self.lang), name="key:digits", size=self.font,
                      on_press=lambda: self.switch("digits" if self.layout != "digits" else "fa"),
                      size_hint_x=0.15),
                  Btn(t("letters_en" if other == "en" else "letters_fa", self.lang), name="key:abc",
                      size=self.font, on_press=lambda: self.switch(other), size_hint_x=0.15)]
        space = Btn(t("space", self.lang), kind="panel", name="key:space", size=self.font,
                    on_press=lambda: self.press(" "), size_hint_x=0.35)
        zwnj = Btn("نیم‌فاصله" if self.lang == "fa" else "ZWNJ", kind="panel", name="key:zwnj", size=self.font * 0.8,
                   on_press=lambda: self.press(ZWNJ), size_hint_x=0.15)
        delete = Btn(t("delete", self.lang), kind="danger", name="key:delete", size=self.font,
                     on_press=self.backspace, size_hint_x=0.2)
        self.add_widget(Row([delete, space, zwnj] + switch, rtl=self.lang == "fa", spacing=KEY_SPACING,
                            size_hint_y=None, height=self.key_height))

    def rows(self) -> list[list[str]]:
        """The layout's keys in rows of at most :attr:`columns` (narrow screens get more rows)."""
        rows = []
        for row in LAYOUTS[self.layout]:
            keys = row.split()
            if len(keys) <= self.columns:
                rows.append(keys)
                continue
            per = -(-len(keys) // -(-len(keys) // self.columns))  # even rows, none longer than columns
            rows.extend(keys[i:i + per] for i in range(0, len(keys), per))
        return rows

    def switch(self, layout: str):
        self.layout = layout
        self._build()

    def press(self, ch: str):
        if len(self.text) >= self.max_length:
            return
        if ch in (" ", ZWNJ) and (not self.text or self.text[-1] in (" ", ZWNJ)):
            return
        self.set_text(self.text + ch)

    def backspace(self):
        self.set_text(self.text[:-1])

    def set_text(self, text: str):
        self.text = text
        if self.on_change:
            self.on_change(text)
