"""The circulars library on the kiosk: for staff (read, acknowledge) and for an inspector (read only).

Staff screens (``staff_library``, ``staff_circular``, ``staff_circular_page``,
``staff_ack_name``) are reached from the staff menu. The inspector's screens
(``inspector`` and ``inspector_*``) are reached from the PIN pad without a PIN,
or from the staff menu; they are the same views with :attr:`readonly` set, and
offer no button that changes anything: the library with received and
acknowledged times, the tariff board history and today's working-hours
compliance. Every screen has the header's back and home buttons.

The library lists circulars newest issued first, by kind; an unread one (not
acknowledged, not superseded) says «خوانده‌نشده» in words. A circular's pages
are drawn from its kept PDF by :class:`pishkhan.render.pdf.PageRenderer`; a
file not yet fetched, or one that cannot be drawn, is said in words and the
rest of the library works on.
"""

from __future__ import annotations

import datetime as dt
import logging

from kivy.uix.image import Image

from pishkhan.exc import PishkhanError
from pishkhan.text import jalali
from pishkhan.text.persian import to_persian_digits

from ..widgets import MIN_TARGET, SPACING, WARN, Column, Scrolling, Tile
from .staff import StaffScreen, StaffTextScreen

log = logging.getLogger(__name__)

#: The kinds of the index, in the order of the filter buttons (None: all).
KINDS = (None, "circular", "instruction", "regulation", "tariff_list")
#: A name typed for an acknowledgement, at most (the centre's bound).
MAX_NAME = 60


def kind_word(kind, lang: str) -> str:
    from ..strings import t

    return t(f"kind_{kind or 'all'}", lang)


def when(value, lang: str) -> str:
    """A stored instant (ISO text or datetime) as a Jalali date and Tehran time; "" for none."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    day = jalali.to_tehran(value).date()
    if lang == "fa":
        return f"{jalali.format_numeric(day)} {jalali.format_time(value)}"
    return jalali.to_tehran(value).strftime("%Y-%m-%d %H:%M")


def jalali_text(value: str, lang: str) -> str:
    """A Jalali date of the index (``1405-09-16``) as shown: ``۱۴۰۵/۰۹/۱۶``."""
    text = (value or "").replace("-", "/")
    return to_persian_digits(text) if lang == "fa" else text


class LibraryMixin:
    """What the library screens share: the library, the names of their sister screens, read-only or not."""

    #: The inspector's screens set this: no button that changes anything.
    readonly = False

    @property
    def library(self):
        return self.model.library

    def sister(self, what: str) -> str:
        """The screen called *what* on the same side (``staff_…`` or ``inspector_…``)."""
        return f"{'inspector' if self.readonly else 'staff'}_{what}"

    def entry_or_none(self):
        try:
            return self.library.entry(self.params.get("scope_key", ""), self.params.get("number", ""))
        except PishkhanError as e:
            log.exception("cannot read the circular")
            self.params.setdefault("message", self.t("failed", reason=str(e)))
            return None

    def marks(self, e) -> list[str]:
        out = []
        if e.urgent:
            out.append(self.t("urgent"))
        if e.superseded_by:
            out.append(self.t("superseded", number=e.superseded_by))
        elif not e.acknowledged_at:
            out.append(self.t("unread"))
        return out


class LibraryScreen(LibraryMixin, StaffScreen):
    """The library, by kind, newest first. Params: ``kind`` (None: all), ``page``."""

    title_key = "staff_library"
    row_height = 120

    def rows(self):
        kind = self.params.get("kind")
        filters = [self.button(kind_word(k, self.lang), lambda k=k: self.kiosk.update(kind=k, page=0, message=""),
                               name=f"kind:{k or 'all'}", step=0.8, kind="ok" if k == kind else "normal")
                   for k in KINDS]
        out = [self.row(filters)]
        try:
            entries = self.library.entries(kind=kind)
        except PishkhanError as e:
            log.exception("cannot read the library")
            return out + [self.row([self.text(self.t("failed", reason=str(e)), 0.85, color=WARN, max_lines=2)])]
        for e in entries:
            out.append(self.tile(e))
        if kind == "tariff_list":  # the tariff boards the office kept are tariff lists too
            out += self.board_rows()
        if len(out) == 1:
            out.append(self.row([self.text(self.t("no_circulars"), name="library-empty")]))
        return out

    def tile(self, e):
        meta = self.t("entry_meta", number=self.num(e.number), kind=kind_word(e.kind, self.lang),
                      issued=jalali_text(e.issued_on, self.lang))
        marks = self.marks(e)
        if self.readonly:
            second = self.t("received_at", when=when(e.received_at, self.lang)) + " — " + (
                self.t("acknowledged_line", who=e.acknowledged_by, when=when(e.acknowledged_at, self.lang))
                if e.acknowledged_at else self.t("not_acknowledged"))
            lines = [(e.title, self.fs(0.95), True), (meta, self.fs(0.7), False), (second, self.fs(0.7), False)]
        else:
            lines = [(e.title + ("  —  " + "، ".join(marks) if marks else ""), self.fs(0.95), True),
                     (meta, self.fs(0.75), False)]
        unread = not self.readonly and not e.acknowledged_at and not e.superseded_by
        tile = Tile(lines, rtl=self.rtl, kind="primary" if unread else "normal", name=f"circular:{e.number}",
                    on_press=lambda e=e: self.kiosk.show(self.sister("circular"), scope_key=e.scope_key,
                                                         number=e.number))
        tile.unread = unread
        return tile

    def board_rows(self) -> list:
        try:
            history = self.library.tariff_history()
        except PishkhanError:
            log.exception("cannot read the board history")
            return []
        return [self.row([self.text(board_line(b, self.lang), 0.8, name=f"board:{i}", max_lines=2)])
                for i, b in enumerate(reversed(history))]  # newest first


def board_line(b: dict, lang: str) -> str:
    """One installed board of the history, in words."""
    from ..strings import t

    version = b.get("version_label") or b.get("version", "")
    installed = when(b.get("installed_at") or b.get("at") or "", lang)
    text = t("board_line", lang, version=to_persian_digits(version) if lang == "fa" else version, when=installed)
    code = b.get("verification_code")
    return f"{text} — {code}" if code else text


class CircularScreen(LibraryMixin, StaffScreen):
    """One circular: its facts, its summary, its pages and (staff) the acknowledgement.

    Params: ``scope_key``, ``number``, ``message``.
    """

    def title(self):
        e = self.entry_or_none()
        return e.title if e else self.t("staff_library")

    def acknowledge(self, who: str = "staff"):
        e = self.entry_or_none()
        if e is None:
            return
        self.act(lambda: self.library.acknowledge(e.scope_key, e.number, who=who, now=self.model.store.now()),
                 lambda done: self.t("acknowledged_ok"))

    def body(self):
        e = self.entry_or_none()
        line = self.message_line()
        if e is None:
            return Column([line, self.text(self.t("no_such_circular"), name="no-circular"), Column()])
        facts = [self.t("entry_meta", number=self.num(e.number), kind=kind_word(e.kind, self.lang),
                        issued=jalali_text(e.issued_on, self.lang)),
                 self.t("effective", date=jalali_text(e.effective_on, self.lang)),
                 self.t("issuer_line", issuer=e.issuer),
                 self.t("received_at", when=when(e.received_at, self.lang)),
                 self.t("acknowledged_line", who=e.acknowledged_by, when=when(e.acknowledged_at, self.lang))
                 if e.acknowledged_at else self.t("not_acknowledged")]
        marks = self.marks(e)
        if marks:
            facts.insert(0, "، ".join(marks))
        texts = [self.text(f, 0.85, fit=True, name=f"fact:{i}") for i, f in enumerate(facts)]
        texts.append(self.text(e.summary, 1.0, fit=True, name="summary"))
        scroll = Scrolling(texts)
        buttons = [self.button(self.t("show_pages"), lambda: self.kiosk.show(self.sister("circular_page"),
                                                                            scope_key=e.scope_key, number=e.number,
                                                                            n=1), name="pages")]
        if not self.readonly and not e.acknowledged_at:
            buttons += [self.button(self.t("acknowledge"), self.acknowledge, kind="ok", name="acknowledge"),
                        self.button(self.t("acknowledge_named"),
                                    lambda: self.kiosk.show("staff_ack_name", scope_key=e.scope_key, number=e.number),
                                    name="acknowledge-named")]
        return Column([line, scroll, self.row(buttons, size_hint_y=None, height=MIN_TARGET)])


class CircularPageScreen(LibraryMixin, StaffScreen):
    """A page of a circular's PDF, with big previous / next buttons. Params: ``scope_key``, ``number``, ``n``."""

    def title(self):
        e = self.entry_or_none()
        return e.title if e else self.t("staff_library")

    def body(self):
        e = self.entry_or_none()
        if e is None:
            return Column([self.text(self.t("no_such_circular"), name="no-circular"), Column()])
        problem, info, image = "", None, None
        n = int(self.params.get("n", 1))
        path = None
        try:
            path = self.library.file(e)
        except PishkhanError:
            log.exception("cannot find the circular's file")
        if path is None:
            problem = self.t("file_missing")
        else:
            from pishkhan.render.pdf import PdfRefused

            try:
                info = self.model.pdf_pages.info(path, sha256=e.sha256)
                n = max(1, min(n, info.shown))
                image = self.model.pdf_pages.page(path, sha256=e.sha256, n=n)
            except (PdfRefused, OSError) as err:
                log.warning("circular %s cannot be shown: %s", e.number, err)
                problem = self.t("file_broken")
        if problem:
            return Column([self.text(problem, 1.1, bold=True, color=WARN, name="page-problem", max_lines=4),
                           self.button(self.t("back_to_library"), lambda: self.kiosk.show(self.sister("library")),
                                       name="to-library", size_hint_y=None, height=MIN_TARGET),
                           Column()])
        picture = Image(source=str(image), fit_mode="contain", nocache=True)
        picture.name = "page-image"
        nav = [self.button(self.t("prev_page"), lambda: self.kiosk.update(n=n - 1), name="page-prev",
                           disabled=n <= 1, size_hint_x=0.3),
               self.text(self.t("page_of", n=n, total=info.shown)
                         + ("\n" + self.t("pages_cut", n=info.shown) if info.shown < info.pages else ""),
                         0.8, align="center", name="page-number", max_lines=2),
               self.button(self.t("next_page"), lambda: self.kiosk.update(n=n + 1), name="page-next",
                           disabled=n >= info.shown, size_hint_x=0.3)]
        return Column([picture, self.row(nav, size_hint_y=None, height=MIN_TARGET)], spacing=SPACING)


class AckNameScreen(StaffTextScreen):
    """Acknowledge a circular with a typed name. Params: ``scope_key``, ``number``, ``text``."""

    def title(self):
        return self.t("ack_name_title")

    def submit(self, text=None):
        who = " ".join((text if text is not None else self.params.get("text", "")).split())[:MAX_NAME]
        if not who:
            return
        try:
            self.model.library.acknowledge(self.params["scope_key"], self.params["number"], who=who,
                                           now=self.model.store.now())
        except PishkhanError as e:
            self.kiosk.update(message=self.t("failed", reason=str(e)))
            return
        self.kiosk.back(message=self.t("acknowledged_ok"))

    def body(self):
        self.params["purpose"] = "ack"
        return super().body()


# -- the inspector's side: the same views, read only, and three of its own ------------------------
class InspectorMenuScreen(StaffScreen):
    """The inspector's menu: library, board history, today's compliance, and the way out."""

    title_key = "inspector_title"
    readonly = True

    def leave(self):
        if self.kiosk.staff_mode:
            self.kiosk.home()
        else:
            self.kiosk.leave_inspector()

    def rows(self):
        k = self.kiosk
        items = [("inspector_library", lambda: k.show("inspector_library")),
                 ("board_history", lambda: k.show("inspector_boards")),
                 ("compliance_today", lambda: k.show("inspector_compliance")),
                 ("inspector_exit", self.leave)]
        return [self.row([self.button(self.t(key), fn, name=key, kind="danger" if key == "inspector_exit" else "normal")])
                for key, fn in items]


class InspectorLibraryScreen(LibraryScreen):
    title_key = "inspector_library"
    readonly = True
    row_height = 126


class InspectorCircularScreen(CircularScreen):
    readonly = True


class InspectorPageScreen(CircularPageScreen):
    readonly = True


class InspectorBoardsScreen(LibraryMixin, StaffScreen):
    """Every tariff board ever installed, newest first."""

    title_key = "board_history"
    readonly = True
    row_height = 80

    def rows(self):
        try:
            history = self.library.tariff_history()
        except PishkhanError as e:
            return [self.row([self.text(self.t("failed", reason=str(e)), 0.85, color=WARN)])]
        if not history:
            return [self.row([self.text(self.t("info_no_board"), name="no-boards")])]
        return [self.row([self.text(board_line(b, self.lang), 0.85, name=f"board:{i}", max_lines=2)])
                for i, b in enumerate(reversed(history))]  # newest first


class InspectorComplianceScreen(StaffScreen):
    """Today's working-hours compliance so far, in minutes (the judge's own figures)."""

    title_key = "compliance_today"
    readonly = True
    row_height = 72

    def rows(self):
        from pishkhan.compliance.judge import Thresholds, judge_day

        store = self.model.store
        try:
            now = store.now()
            day = judge_day(store, self.model.hours, jalali.today(now), limits=Thresholds.from_config(self.kiosk.config),
                            until=now)
        except Exception as e:  # read only: a failure is said, never raised into the screen
            log.exception("cannot judge today")
            return [self.row([self.text(self.t("failed", reason=str(e)), 0.85, color=WARN, max_lines=2)])]
        keys = ("scheduled_minutes", "serving_minutes", "degraded_minutes", "closed_minutes", "unknown_minutes",
                "late_opening_minutes", "early_closing_minutes")
        out = [self.row([self.text(jalali.format_date(jalali.today(now)) if self.rtl else day["date"], 0.9, bold=True,
                                   name="compliance-day")])]
        for key in keys:
            out.append(self.row([self.text(self.t(f"c_{key}"), 0.85, bold=True, size_hint_x=0.6),
                                 self.text(self.num(day.get(key, 0)), 0.9, name=f"c:{key}")]))
        return out


__all__ = ["LibraryScreen", "CircularScreen", "CircularPageScreen", "AckNameScreen", "InspectorMenuScreen",
           "InspectorLibraryScreen", "InspectorCircularScreen", "InspectorPageScreen", "InspectorBoardsScreen",
           "InspectorComplianceScreen", "KINDS"]
