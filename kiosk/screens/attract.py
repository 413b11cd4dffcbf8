"""The attract screen: board pages cycling, "touch to take a ticket", today's
hours, notices and how many people are waiting. A touch anywhere starts."""

from __future__ import annotations

from kivy.clock import Clock

from pishkhan.text import jalali
from pishkhan.runtime.memory import release_free_memory
from pishkhan.text.persian import format_money

from ..widgets import MIN_TARGET, PANEL, SPACING, WARN, Btn, Column, Text, font_size, paint
from .base import KioskScreen

SECONDS_PER_PAGE = 8
SERVICES_PER_PAGE = 5


class AttractScreen(KioskScreen):
    navigation = False

    def __init__(self, kiosk, **kw):
        super().__init__(kiosk, **kw)
        self.page = 0
        self._cycle = None

    def title(self):
        return self.kiosk.config.office.name if self.rtl else "Government services office"

    def board_pages(self, per_page: int) -> list[tuple[str, list]]:
        """(category title, services) pages of the board, *per_page* services each."""
        board = self.model.board
        out = []
        if board is None:
            return out
        for cat in board.categories:
            title = cat.title if self.rtl or not cat.title_en else cat.title_en
            services = list(cat.services)
            for i in range(0, len(services), per_page):
                out.append((title, services[i:i + per_page]))
        return out

    def board_panel(self, height: float):
        """One page of the board, with as many services as fit in *height*."""
        heading, row = self.fs() * 1.8, self.fs() * 1.7
        per_page = max(1, min(SERVICES_PER_PAGE, int((height - 24 - heading) // (row + 4))))
        pages = self.board_pages(per_page)
        panel = paint(Column(padding=12, spacing=4), PANEL)
        if not pages:
            return panel
        title, services = pages[self.page % len(pages)]
        panel.add_widget(self.text(self.t("board_page", category=title), 1.05, bold=True, color=WARN,
                                   name="board-page", shorten=True, size_hint_y=None, height=heading))
        unit = self.model.currency()
        for s in services:
            name = s.title if self.rtl or not s.title_en else s.title_en
            panel.add_widget(self.row([
                self.text(name, 0.9, shorten=True),
                self.text(format_money(s.total_fee, unit=unit) if self.rtl
                          else f"{s.total_fee // (10 if unit == 'toman' else 1):,} {unit}", 0.9,
                          size_hint_x=0.38, align="left" if self.rtl else "right"),
            ], size_hint_y=None, height=row))
        panel.add_widget(Column())  # keeps the rows at the top
        return panel

    def body(self):
        m = self.model
        today = jalali.today(m.store.now()) if m.store else jalali.today()
        date = jalali.format_date(today) if self.rtl else today.strftime("%A %d %B %Y")
        hours = self.t("hours_today", hours=m.describe_today(self.lang))
        ok, reason, _ = m.status()
        state = (self.t("people_waiting", n=m.waiting()) if ok else self.t("not_accepting"))
        # The line over the board keeps one size, as the header does, so the board keeps its room.
        info = font_size(min(self.kiosk.scale, 1.1), 0.95)
        top = self.row([Text(date, rtl=self.rtl, size=info, shorten=True),
                        Text(hours, rtl=self.rtl, size=info, name="hours", shorten=True),
                        Text(state, rtl=self.rtl, size=info, bold=True, name="waiting", shorten=True)],
                       size_hint_y=None, height=info * 2)
        start = Btn(self.t("touch_to_start" if ok else "touch_to_see"), kind="primary", size=self.fs(1.9), name="start",
                    on_press=self.kiosk.start, size_hint_y=None, height=max(1.5 * MIN_TARGET, self.fs(1.9) * 2.2))
        widgets = [top, start]
        respect = self.respect_row()
        if respect is not None:
            widgets.append(respect)
        notices = m.notice_texts()
        if notices:
            text = "   •   ".join(notices)
            widgets.append(self.text(self.t("notices") + ": " + text, 0.95, color=WARN, name="notices",
                                     size_hint_y=None, height=self.fs() * 2, shorten=True))
        room = self.body_height() - sum(w.height for w in widgets) - SPACING * len(widgets)
        widgets.insert(1, self.board_panel(room))
        return Column(widgets)

    def complaint_text(self) -> str:
        """The complaint channel in one line ("" when the board names none: nothing is shown)."""
        channel = self.model.complaints()
        if not channel:
            return ""
        parts = [self.t("complaints_phone", phone=self.num(channel.phone)) if channel.phone else "",
                 self.t("complaints_short_code", code=self.num(channel.short_code)) if channel.short_code else "",
                 channel.url]
        return self.t("complaints", channel="  |  ".join(p for p in parts if p))

    def respect_row(self):
        """The complaint channel and, once a ticket was served today, the rating button; None when neither."""
        text, rate = self.complaint_text(), self.model.rating_open()
        if not text and not rate:
            return None
        items = []
        if text:
            items.append(self.text(text, 0.85, name="complaints", shorten=True))
        if rate:
            items.append(Btn(self.t("rate_offer"), size=self.fs(1.0), name="rate", on_press=self.kiosk.rate,
                             size_hint_x=0.42 if text else 1))
        return self.row(items, size_hint_y=None, height=MIN_TARGET if rate else self.fs() * 2)

    def on_touch_down(self, touch):
        if super().on_touch_down(touch):
            return True
        if self.collide_point(*touch.pos) and self.manager and self.manager.current == self.name:
            self.kiosk.start()
            return True
        return False

    # -- page cycling -----------------------------------------------------------
    def on_enter(self, *_):
        self._cycle = Clock.schedule_interval(self.next_page, SECONDS_PER_PAGE)
        # The customer has gone: a quiet moment to give freed memory back.
        Clock.schedule_once(lambda dt: release_free_memory(), 0)

    def on_leave(self, *_):
        if self._cycle is not None:
            self._cycle.cancel()
            self._cycle = None
        super().on_leave()

    def next_page(self, *_):
        self.page += 1
        self.refresh()
