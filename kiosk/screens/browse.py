"""Categories, then services: category buttons on the start side, the chosen
category's services (total fee and current wait) beside them. The first
category is open from the start, so a service on it is one touch away."""

from __future__ import annotations

from pishkhan.text.persian import format_money

from ..widgets import MIN_TARGET, SPACING, Column, Tile, page_slice, pages
from .base import KioskScreen


def money(amount: int, unit: str, lang: str) -> str:
    if lang == "fa":
        return format_money(amount, unit=unit)
    return f"{amount // (10 if unit == 'toman' else 1):,} {'toman' if unit == 'toman' else 'rials'}"


def service_title(service, lang: str) -> str:
    return service.title if lang == "fa" or not service.title_en else service.title_en


def category_title(category, lang: str) -> str:
    return category.title if lang == "fa" or not category.title_en else category.title_en


class BrowseScreen(KioskScreen):
    title_key = "choose_service"

    def wait_text(self, service) -> str:
        if service.unavailable:
            return self.t("unavailable", reason=service.unavailable)
        estimate = self.model.estimate(service.code)
        if estimate is None or estimate.minutes < 0:
            return ""
        return self.wait_phrase(estimate.people_ahead, estimate.minutes, short=True)

    def service_tile(self, service, height):
        fee = self.t("total_fee", amount=money(service.total_fee, self.model.currency(), self.lang))
        wait = self.wait_text(service)
        line2 = f"{fee}   —   {wait}" if wait else fee
        return Tile([(service_title(service, self.lang), self.fs(1.0), True), (line2, self.fs(0.85), False)],
                    rtl=self.rtl, name=f"service:{service.code}", kind="panel" if service.unavailable else "normal",
                    on_press=lambda s=service: self.kiosk.show("detail", code=s.code),
                    size_hint_y=None, height=height)

    def pager(self, page, total, key):
        """Previous / next buttons for a paged list; *key* names the param."""
        prev = self.button(self.t("prev_page"), lambda: self.kiosk.update(**{key: page - 1}), name=f"{key}-prev",
                           disabled=page <= 0)
        label = self.text(self.t("page_of", n=page + 1, total=total), 0.8, align="center")
        nxt = self.button(self.t("next_page"), lambda: self.kiosk.update(**{key: page + 1}), name=f"{key}-next",
                          disabled=page >= total - 1)
        return self.row([prev, label, nxt], size_hint_y=None, height=MIN_TARGET)

    def body(self):
        board = self.model.board
        cats = board.categories
        chosen = min(self.params.get("category", 0), len(cats) - 1)
        avail = self.body_height()
        # Search first, then the categories (a "more" button when they do not fit).
        cat_h = self.item_height(1.2)
        search = self.button(self.t("search"), lambda: self.kiosk.show("search"), name="search",
                             kind="primary", size_hint_y=None, height=cat_h)
        cat_buttons = []
        for i, cat in enumerate(cats):
            cat_buttons.append(self.button(category_title(cat, self.lang), lambda i=i: self.kiosk.update(
                category=i, page=0), name=f"category:{cat.code}", kind="ok" if i == chosen else "normal",
                size_hint_y=None, height=cat_h))
        # Services of the chosen category, paged.
        service_h = self.item_height(2)
        services = list(cats[chosen].services)
        if self.landscape:
            slots = max(2, (avail + SPACING) // (cat_h + SPACING)) - 1
            shown = cat_buttons
            if len(cat_buttons) > slots:
                per = slots - 1
                total_cat = pages(cat_buttons, per)
                cat_page = self.params.get("cat_page", 0) % total_cat
                shown = page_slice(cat_buttons, cat_page, per) + [self.button(
                    self.t("more_categories", n=cat_page + 1, total=total_cat),
                    lambda: self.kiosk.update(cat_page=(cat_page + 1) % total_cat), name="more-categories",
                    step=0.85, size_hint_y=None, height=cat_h)]
            cat_col = Column([search] + shown + [Column()], size_hint_x=0.34)
            list_h = avail
        else:
            cells = [search] + cat_buttons
            grid_rows = (len(cells) + 1) // 2
            cat_col = Column([self.row(cells[i:i + 2], size_hint_y=None, height=cat_h)
                              for i in range(0, len(cells), 2)],
                             size_hint_y=None, height=grid_rows * (cat_h + SPACING))
            list_h = avail - cat_col.height - SPACING
        per_page = max(1, (list_h + SPACING) // (service_h + SPACING))
        total = pages(services, per_page)
        if total > 1:
            per_page = max(1, (list_h - MIN_TARGET) // (service_h + SPACING))
            total = pages(services, per_page)
        page = min(self.params.get("page", 0), total - 1)
        svc_col = Column([self.service_tile(s, service_h) for s in page_slice(services, page, per_page)])
        svc_col.add_widget(Column())  # filler keeps tiles at the top
        if total > 1:
            svc_col.add_widget(self.pager(page, total, "page"))
        if self.landscape:
            return self.row([cat_col, svc_col])
        return Column([cat_col, svc_col])
