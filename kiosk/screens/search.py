"""Search: the query typed on our Persian keyboard, shown in a Label, and
matching services found with the core's normalised search."""

from __future__ import annotations

from pishkhan.text.persian import matches

from ..keyboard import PersianKeyboard
from ..widgets import MIN_TARGET, SPACING, WARN, Column, find, page_slice, pages
from .browse import BrowseScreen


class SearchScreen(BrowseScreen):
    title_key = "search"

    def results(self, query: str) -> list:
        board = self.model.board
        if not query.strip() or board is None:
            return []
        return [s for s in board.services() if matches(query, s.title, s.title_en, s.code)]

    def on_query(self, text: str):
        """A key was pressed: redraw only the query and the results (the keyboard stays)."""
        self.params.update(query=text, page=0, kb_layout=self._keyboard.layout)
        title = find(self, "title")
        if title is not None:
            title.text = self.title()
        self.fill_results()

    def title(self):
        return self.params.get("query") or self.t("search_hint")

    def body(self):
        key_h = MIN_TARGET
        self._keyboard = PersianKeyboard(on_change=self.on_query, lang=self.lang, text=self.params.get("query", ""),
                                         key_height=key_h, font=self.fs(0.9), columns=12 if self.landscape else 7,
                                         layout=self.params.get("kb_layout", "fa"))
        list_h = self.body_height() - self._keyboard.height - SPACING
        self._results = Column(size_hint_y=None, height=list_h)
        self.fill_results()
        return Column([self._results, self._keyboard])

    def fill_results(self):
        query = self.params.get("query", "")
        found = self.results(query)
        results = self._results
        results.clear_widgets()
        list_h = results.height
        item_h = self.item_height(2)
        columns = 2 if self.landscape else 1
        rows = max(1, (list_h + SPACING) // (item_h + SPACING))
        if len(found) > rows * columns:
            rows = max(1, (list_h - MIN_TARGET) // (item_h + SPACING))
        per_page = rows * columns
        total = pages(found, per_page)
        page = min(self.params.get("page", 0), total - 1)
        if query.strip() and not found:
            results.add_widget(self.text(self.t("no_results"), 1.1, color=WARN, name="no-results",
                                         size_hint_y=None, height=item_h))
        shown = page_slice(found, page, per_page)
        for i in range(0, len(shown), columns):
            tiles = [self.service_tile(s, item_h) for s in shown[i:i + columns]]
            tiles += [Column() for _ in range(columns - len(tiles))]
            results.add_widget(self.row(tiles, size_hint_y=None, height=item_h))
        results.add_widget(Column())
        if total > 1:
            results.add_widget(self.pager(page, total, "page"))
