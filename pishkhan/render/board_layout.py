"""The one layout engine for board pages: wall screens, the touchscreen and
the printed poster.

:func:`layout_pages` turns an effective board into pages of plain positioned
boxes (:class:`Page` holding :class:`Fill`, :class:`TextBlock` and
:class:`QRCode` items). It measures text with the same shaping engine the
renderer draws with (:mod:`pishkhan.render.typeset`), so what it decides is what
appears. :mod:`pishkhan.render.board_pages` and :mod:`pishkhan.render.poster` only draw the boxes.

The page, right to left::

    ┌────────────────────────────────────────────────────────────────┐
    │ date, board title                     office name, licence no. │  header
    ├────────────┬─────────────┬─────────────┬───────────────────────┤
    │  جمع کل     │ کارمزد دفتر  │  سهم دولت   │               شرح خدمت │  column heads
    │                                          category heading ████ │
    │   ۱۲۳٬۰۰۰  │     ۴۵٬۰۰۰  │    ۷۸٬۰۰۰   │   service title, wrapped │  rows
    │ notices                                                         │
    │ QR  page n of m       code  ·  version · effective · issuer     │  footer
    └────────────────────────────────────────────────────────────────┘

Rules the engine keeps (and the tests check): every text block fits inside
its cell and the cell inside the page; long titles wrap at word boundaries
and are never cut; a category heading is always followed on the same page by
at least one of its services (a category that goes on to the next page
repeats its heading there, marked «ادامه»).

Text the layout does not control (the office name from the config, a
board's titles, issuer and notices, staff's reasons) is laid out in time
linear in its length and in a bounded number of lines, so no text can stall
the wall or push the table off the page: the office name and the licence
take at most :data:`MAX_LINES` ``["office"]`` (``["licence"]``) lines, the
footer's parts, a category heading and a reason for unavailability their
own few, the last line ending in an ellipsis (…) when the text needs more.
A service title is cut (with an ellipsis) only when it would not fit on an
empty page at all; a notice taller than its band is left out as before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from pishkhan.text import jalali
from pishkhan.render import typeset
from pishkhan.exc import RenderError
from pishkhan.text.persian import format_money, to_persian_digits, unit_name

from pishkhan.render import strings

#: Paper sizes in millimetres (portrait).
PAPER_MM = {"A4": (210, 297), "A3": (297, 420)}
POSTER_DPI = 300

#: Type sizes in pixels at scale 1 (a 1080-pixel-high wall screen) and
#: weights. Body text is 34 px there: legible across a waiting room.
STYLES: dict[str, tuple[str, int]] = {
    "office": ("Bold", 42),
    "licence": ("Medium", 30),
    "board_title": ("Bold", 40),
    "date": ("Medium", 30),
    "col_head": ("Bold", 29),
    "col_unit": ("Medium", 26),
    "heading": ("Bold", 37),
    "title": ("Medium", 34),
    "amount": ("Medium", 34),
    "total": ("Bold", 34),
    "unavailable": ("Bold", 29),
    "notice": ("Bold", 30),
    "footer": ("Medium", 28),
    "code": ("Bold", 30),
    "unsigned": ("Bold", 32),
    "page": ("Bold", 30),
    "message": ("Bold", 60),
}
#: The most lines a text of each style takes; more ends in an ellipsis.
MAX_LINES = {"office": 3, "licence": 2, "footer": 2, "code": 2, "unsigned": 2, "heading": 3,
             "unavailable": 3}

#: Styles whose digits must line up in a column.
TABULAR = {"amount", "total"}
LINE_SPACING = 1.04

#: Colour roles -> RGB. High contrast for a wall TV and for print.
COLOURS: dict[str, tuple[int, int, int]] = {
    "background": (255, 255, 255),
    "ink": (17, 24, 39),
    "muted": (55, 65, 81),
    "header": (11, 61, 92),
    "on_header": (255, 255, 255),
    "col_head": (226, 235, 242),
    "heading": (11, 61, 92),
    "on_heading": (255, 255, 255),
    "stripe": (243, 246, 249),
    "rule": (203, 213, 225),
    "total": (11, 61, 92),
    "unavailable_bg": (254, 236, 236),
    "unavailable": (176, 20, 20),
    "notice_bg": (255, 243, 205),
    "footer_bg": (241, 245, 249),
    "unsigned": (176, 20, 20),
}


# --------------------------------------------------------------------------- boxes

@dataclass(frozen=True)
class Box:
    """A rectangle in page pixels; ``right``/``bottom`` are exclusive."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def contains(self, other: "Box") -> bool:
        return (self.x <= other.x and self.y <= other.y and other.right <= self.right
                and other.bottom <= self.bottom)

    def as_tuple(self) -> tuple[int, int, int, int]:
        """``(left, top, right, bottom)`` as Pillow wants it."""
        return (self.x, self.y, self.right, self.bottom)


@dataclass(frozen=True)
class Fill:
    """A filled rectangle: a band, a stripe, a rule."""

    box: Box
    colour: str


@dataclass(frozen=True)
class TextBlock:
    """Lines of text drawn inside ``box`` (the text never leaves it).

    ``role`` names what the text is, for tests and tools: ``title:CODE``,
    ``amount:government:CODE``, ``heading:CAT``, ``footer``, ...
    ``cell`` is the table column (or header/footer area) the block belongs to.
    """

    box: Box
    lines: tuple[str, ...]
    style: str
    colour: str = "ink"
    align: str = "right"
    line_height: int = 0
    role: str = ""
    cell: Box | None = None
    #: Pixels kept clear at the left and right ends of the box: a glyph's ink
    #: may reach a pixel or two past its advance width.
    inset: int = 0

    @property
    def text(self) -> str:
        return " ".join(self.lines)


@dataclass(frozen=True)
class QRCode:
    box: Box
    data: str


@dataclass
class Row:
    """One row of the table: a category heading or a service."""

    kind: str  # "heading" | "service"
    box: Box
    category: str
    code: str = ""
    continued: bool = False


@dataclass
class Page:
    number: int
    count: int
    width: int
    height: int
    scale: float
    items: list = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    #: Table columns by name ("title", "government", "office", "total").
    columns: dict[str, Box] = field(default_factory=dict)
    #: The area the table rows flow in.
    body: Box | None = None

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    def texts(self, prefix: str = "") -> list[TextBlock]:
        return [i for i in self.items if isinstance(i, TextBlock) and i.role.startswith(prefix)]


# --------------------------------------------------------------------------- metrics

#: Measured widths, shared by every layout: the wall display lays the same
#: board out again and again.
_WIDTHS: dict[tuple, int] = {}
_WRAPS: dict[tuple, tuple[str, ...]] = {}


class Metrics:
    """Fonts and spacing for one scale."""

    def __init__(self, scale: float):
        self.scale = scale
        self._fonts = {}

    def px(self, value: float) -> int:
        return max(1, int(round(value * self.scale)))

    def font(self, style: str):
        f = self._fonts.get(style)
        if f is None:
            weight, size = STYLES[style]
            f = self._fonts[style] = typeset.font(self.px(size), weight)
        return f

    def features(self, style: str):
        return ["tnum"] if style in TABULAR else None

    def line_height(self, style: str) -> int:
        return typeset.line_height(self.font(style), LINE_SPACING)

    def text_height(self, style: str, lines: int) -> int:
        """Height of *lines* lines of *style*, from the first line's top to the last one's descent."""
        ascent, descent = self.font(style).getmetrics()
        return (max(lines, 1) - 1) * self.line_height(style) + ascent + descent

    def width(self, text: str, style: str) -> int:
        f = self.font(style)
        key = (text, f.path, f.size, style in TABULAR)
        w = _WIDTHS.get(key)
        if w is None:
            if len(_WIDTHS) > 20000:
                _WIDTHS.clear()
            w = _WIDTHS[key] = typeset.width(text, f, features=self.features(style))
        return w

    def wrap(self, text: str, style: str, max_width: int, max_lines: int | None = None) -> list[str]:
        f = self.font(style)
        key = (text, f.path, f.size, max_width, max_lines)
        lines = _WRAPS.get(key)
        if lines is None:
            if len(_WRAPS) > 5000:
                _WRAPS.clear()
            lines = _WRAPS[key] = tuple(typeset.wrap(text, f, max_width, max_lines=max_lines))
        return list(lines)

    def block(self, text: str, style: str, x: int, y: int, w: int, *, colour="ink", align="right",
              role="", cell: Box | None = None, wrap: bool = True, max_lines: int | None = None) -> TextBlock:
        """A text block of *text* wrapped to width *w*, top at *y*; text
        needing more than *max_lines* lines ends the last in an ellipsis."""
        inset = self.inset
        lines = self.wrap(text, style, w - 2 * inset, max_lines) if wrap else [text]
        height = self.text_height(style, len(lines))
        return TextBlock(Box(x, y, w, height), tuple(lines), style, colour, align,
                         self.line_height(style), role, cell, inset)

    @property
    def inset(self) -> int:
        return max(2, self.px(3))


def screen_scale(size: tuple[int, int]) -> float:
    """Type scale for a screen: 1.0 at 1080 pixels on the short side."""
    return min(size) / 1080


def paper_size(paper: str, dpi: int = POSTER_DPI) -> tuple[int, int]:
    try:
        w_mm, h_mm = PAPER_MM[paper]
    except KeyError:
        raise RenderError(f"paper must be one of {sorted(PAPER_MM)}, got {paper!r}") from None
    return (int(round(w_mm / 25.4 * dpi)), int(round(h_mm / 25.4 * dpi)))


def poster_scale(dpi: int = POSTER_DPI) -> float:
    """Poster type: body text of 12 points, whatever the paper size."""
    body_px = 12 / 72 * dpi
    return body_px / STYLES["title"][1]


# --------------------------------------------------------------------------- page facts

@dataclass(frozen=True)
class Facts:
    """What the header and footer say, resolved from board and config."""

    office: str
    licence: str
    date: str
    unit: str
    version: str = ""
    effective: str = ""
    issuer: str = ""
    code: str = ""
    notices: tuple[str, ...] = ()
    verify_url: str = strings.VERIFY_URL


def facts_for(board, config, *, now: dt.datetime | None = None, notices=None) -> Facts:
    if config is None:
        office, licence, unit, verify_url = "", "", "rial", strings.VERIFY_URL
    else:
        named = config.office
        office, licence, unit, verify_url = named.name, named.licence, named.currency_unit, config.centre.verify_url
    office, licence = office.strip(), to_persian_digits(licence.strip())
    date = jalali.format_date(jalali.today(now))
    texts: list[str] = []
    for n in list(getattr(board, "notices", None) or []) + list(notices or []):
        text = " ".join(str(getattr(n, "text", n)).split())
        if text and text not in texts:
            texts.append(text)
    if board is None:
        return Facts(office, licence, date, unit, notices=tuple(texts), verify_url=verify_url)
    return Facts(office, licence, date, unit,
                 version=to_persian_digits(board.version_label),
                 effective=jalali.format_date(board.effective_from, weekday=False),
                 issuer=board.issuer, code=board.verification_code or "", notices=tuple(texts),
                 verify_url=verify_url)


def verification_url(base: str, code: str) -> str:
    """The public verification page of *code*: ``base`` ending in ``/`` (or ``=``), then the code."""
    if base and not base.endswith(("/", "=")):
        base += "/"
    return strings.QR_DATA.format(base=base, code=code)


# --------------------------------------------------------------------------- layout

class _Frame:
    """Header, column heads, notices and footer of a page; the body between."""

    def __init__(self, m: Metrics, size: tuple[int, int], facts: Facts, *, poster: bool, amount_w: int = 0):
        self.m, self.facts = m, facts
        self.amount_w = amount_w
        self.stacked = False
        self.width, self.height = size
        self.margin = m.px(56 if poster else 40)
        self.pad = m.px(18)
        self.gap = m.px(28)
        self.inner = Box(self.margin, 0, self.width - 2 * self.margin, self.height)
        self.items: list = []
        self._header()
        self._footer_height()
        self._notices()
        self.columns: dict[str, Box] = {}
        self.body_top = self.header_bottom + m.px(10)
        if amount_w:
            self._column_heads()
        self.body = Box(self.inner.x, self.body_top, self.inner.w,
                        max(0, self.notice_top - m.px(10) - self.body_top))

    # header: office name and licence on the right, title and date on the left
    def _header(self):
        m, f = self.m, self.facts
        x, w = self.inner.x, self.inner.w
        top = m.px(16)
        # the board title and date take what they need (at most 40%), the
        # office name the rest
        need = max(m.width(strings.BOARD_TITLE, "board_title"), m.width(f.date, "date")) + 2 * m.inset + 1
        left_w = min(need, int(w * 0.4))
        right_w = w - left_w - self.gap
        right_x = x + w - right_w
        blocks = []
        y = top
        if f.office:
            cap = MAX_LINES["office"]
            b = m.block(f.office, "office", right_x, y, right_w, colour="on_header", role="header:office",
                        max_lines=cap)
            if len(b.lines) > 1 and len(m.wrap(f.office, "office", w - 2 * m.inset, cap)) == 1:
                # a narrow page: the office name gets the whole first line
                b = m.block(f.office, "office", x, y, w, colour="on_header", role="header:office", max_lines=cap)
                top = b.box.bottom + m.px(4)
            blocks.append(b)
            y = b.box.bottom + m.px(4)
        if f.licence:
            b = m.block(strings.LICENCE.format(licence=f.licence), "licence", right_x, y, right_w,
                        colour="on_header", role="header:licence", max_lines=MAX_LINES["licence"])
            blocks.append(b)
        y = top
        b = m.block(strings.BOARD_TITLE, "board_title", x, y, left_w, colour="on_header", align="left",
                    role="header:title")
        blocks.append(b)
        b = m.block(f.date, "date", x, b.box.bottom + m.px(4), left_w, colour="on_header", align="left",
                    role="header:date")
        blocks.append(b)
        bottom = max(b.box.bottom for b in blocks) + m.px(16)
        band = Box(0, 0, self.width, bottom)
        self.items.append(Fill(band, "header"))
        self.items.extend(_with_cell(b, band) for b in blocks)
        self.header_bottom = bottom

    def _footer_height(self):
        """Lay the footer out once with a wide page number to learn its height."""
        self.footer_top = 0
        items = self._footer_items(0, 333, 333)
        self.footer_top = self.height - (max(i.box.bottom for i in items[1:]) + self.pad)

    def _notices(self):
        m = self.m
        self.notice_top = self.footer_top
        if not self.facts.notices:
            return
        x, w = self.inner.x + self.pad, self.inner.w - 2 * self.pad
        limit = (self.footer_top - self.header_bottom) // 4  # notices never crowd out the board
        # one line more than the band holds: a notice that needs it is left out below
        cap = max(1, limit // m.line_height("notice")) + 1
        blocks, y = [], 0
        for text in self.facts.notices:
            b = m.block(strings.NOTICE.format(text=text), "notice", x, y, w, role="notice", max_lines=cap)
            blocks.append(b)
            y = b.box.bottom + m.px(6)
        height = y - m.px(6) + 2 * m.px(10)
        while blocks and height > limit:
            dropped = blocks.pop()
            height -= dropped.box.h + m.px(6)
        if not blocks:
            return
        top = self.footer_top - m.px(8) - height
        band = Box(self.inner.x, top, self.inner.w, height)
        self.items.append(Fill(band, "notice_bg"))
        for b in blocks:
            moved = _moved(b, dy=top + m.px(10))
            self.items.append(_with_cell(moved, band))
        self.notice_top = top

    def footer(self, number: int, count: int) -> list:
        """The footer items of page *number* of *count*."""
        return self._footer_items(self.footer_top, number, count)

    def _footer_items(self, top: int, number: int, count: int) -> list:
        m, f = self.m, self.facts
        band = Box(0, top, self.width, self.height - top)
        items: list = [Fill(band, "footer_bg")]
        x, w = self.inner.x, self.inner.w
        y = top + self.pad
        # the page number's box is as wide as for page ۳۳۳ of ۳۳۳, so the
        # text beside it wraps the same way on every page
        widest = strings.PAGE.format(n="۳۳۳", count="۳۳۳")
        page_w = m.width(widest, "page") + 2 * m.inset + 1
        min_qr = m.px(110)
        text_x = x + (min_qr + self.gap if f.code else 0) + page_w + self.gap
        text_w = x + w - text_x
        if text_w < m.px(200):
            raise RenderError(f"the page is too narrow for the footer ({self.width} px)")
        blocks = []
        rules: list[Fill] = []
        if f.version:
            parts = [(strings.VERSION.format(version=f.version), "footer:version"),
                     (strings.EFFECTIVE.format(date=f.effective), "footer:effective"),
                     (strings.ISSUER.format(issuer=f.issuer), "footer:issuer")]
            blocks, rules = self._flow(parts, "footer", text_x, y, text_w)
        y2 = blocks[-1].box.bottom + m.px(8) if blocks else y
        if f.code:
            blocks.append(m.block(strings.CODE.format(code=f.code), "code", text_x, y2, text_w,
                                  role="footer:code", max_lines=MAX_LINES["code"]))
        elif f.version:
            blocks.append(m.block(strings.UNSIGNED, "unsigned", text_x, y2, text_w, colour="unsigned",
                                  role="footer:unsigned", max_lines=MAX_LINES["unsigned"]))
        text_h = (blocks[-1].box.bottom - y) if blocks else m.text_height("page", 1)
        qr_size = max(min_qr, text_h)
        left = x
        if f.code:
            data = verification_url(f.verify_url, f.code)
            items.append(QRCode(Box(left, y, qr_size, qr_size), data))
            left += qr_size + self.gap
        if blocks:  # centre the text beside the code vertically
            dy = max(0, (qr_size - text_h) // 2) if f.code else 0
            items += [Fill(Box(r.box.x, r.box.y + dy, r.box.w, r.box.h), r.colour) for r in rules]
            items += [_with_cell(_moved(b, dy=dy), band) for b in blocks]
        page_text = strings.PAGE.format(n=to_persian_digits(number), count=to_persian_digits(count))
        page_h = m.text_height("page", 1)
        block_h = qr_size if f.code else text_h
        items.append(TextBlock(Box(left, y + max(0, (block_h - page_h) // 2), page_w, page_h), (page_text,),
                               "page", "ink", "left", m.line_height("page"), "footer:page", band, m.inset))
        return items

    def _flow(self, parts: list[tuple[str, str]], style: str, x: int, y: int, w: int):
        """Set short texts side by side from the right, separated by thin
        rules, starting a new line when the next does not fit."""
        m = self.m
        gap = m.px(36)
        blocks, rules = [], []
        right, line_top, line_h = x + w, y, m.text_height(style, 1)
        for text, role in parts:
            need = m.width(text[:typeset.MAX_LINE_CHARS + 1], style)
            if right < x + w and right - gap - need < x:  # next line
                line_top += m.line_height(style)
                right = x + w
            if right < x + w:
                rule_h = int(line_h * 0.55)
                rules.append(Fill(Box(right - gap // 2 - m.px(1), line_top + (line_h - rule_h) // 2,
                                      max(1, m.px(2)), rule_h), "muted"))
                right -= gap
            block_w = min(need + 2 * m.inset + 1, right - x)
            b = m.block(text, style, right - block_w, line_top, block_w, role=role,
                        max_lines=MAX_LINES.get(style))
            blocks.append(b)
            line_top = b.box.bottom - line_h
            right = b.box.x if len(b.lines) == 1 else x  # a wrapped part fills its line
        return blocks, rules

    def _column_heads(self):
        m = self.m
        unit = unit_name(self.facts.unit)
        x, w = self.inner.x, self.inner.w
        # amount columns as wide as the widest amount or head, title takes the rest
        cols = {}
        right = x + w
        title_w = w - 3 * self.amount_w - 3 * self.gap
        # On a narrow page (portrait) the title takes the row's full width
        # and the amounts go on a line of their own under it.
        self.stacked = title_w < 0.5 * w
        if title_w < m.px(160):
            raise RenderError(f"the page is too narrow for the board at this scale ({self.width} px)")
        cols["title"] = Box(right - title_w, 0, title_w, 0)
        cx = right - title_w
        for name in ("government", "office", "total"):
            cx -= self.gap + self.amount_w
            cols[name] = Box(cx, 0, self.amount_w, 0)
        top = self.body_top
        heads = {"title": strings.COL_TITLE, "government": strings.COL_GOVERNMENT,
                 "office": strings.COL_OFFICE, "total": strings.COL_TOTAL}
        blocks = []
        y = top + m.px(10)
        for name, col in cols.items():
            align = "right"
            b = m.block(heads[name], "col_head", col.x, y, col.w, align=align, role=f"colhead:{name}")
            blocks.append(b)
            if name != "title":
                blocks.append(m.block(strings.COL_UNIT.format(unit=unit), "col_unit", col.x, b.box.bottom + m.px(2),
                                      col.w, colour="muted", align=align, role=f"colunit:{name}"))
        bottom = max(b.box.bottom for b in blocks) + m.px(10)
        band = Box(x, top, w, bottom - top)
        self.items.append(Fill(band, "col_head"))
        for b in blocks:
            self.items.append(_with_cell(b, Box(cols[b.role.split(":")[1]].x, top, cols[b.role.split(":")[1]].w,
                                                bottom - top)))
        self.head_columns = dict(cols)
        if self.stacked:
            cols["title"] = Box(x, 0, w, 0)
        self.columns = cols
        self.body_top = bottom + m.px(6)




def _moved(b: TextBlock, dy: int = 0, dx: int = 0) -> TextBlock:
    return replace(b, box=Box(b.box.x + dx, b.box.y + dy, b.box.w, b.box.h))


def _with_cell(b: TextBlock, cell: Box) -> TextBlock:
    return replace(b, cell=cell)


def _amount_width(m: Metrics, board, unit: str) -> int:
    texts = [format_money(v, unit=unit, with_unit=False) for s in board.services()
             for v in (s.government_fee, s.office_fee, s.total_fee)] or ["۰"]
    widest = max(max(m.width(t, "amount"), m.width(t, "total")) for t in texts)
    heads = [strings.COL_GOVERNMENT, strings.COL_OFFICE, strings.COL_TOTAL]
    # a head may wrap onto two lines, so only its longest word must fit
    head = max(m.width(word, "col_head") for h in heads for word in h.split())
    return max(widest, head, m.px(150)) + m.px(8)


def _service_row(m: Metrics, frame: _Frame, service, y: int, stripe: bool,
                 title_lines: int | None = None) -> tuple[list, int]:
    """Items of one service row with its top at *y*, its title in at most
    *title_lines* lines; returns (items, height)."""
    cols = frame.columns
    pad = m.px(9)
    unit = frame.facts.unit
    title_col = cols["title"]
    blocks = []
    title = m.block(service.title, "title", title_col.x, y + pad, title_col.w, role=f"title:{service.code}",
                    max_lines=title_lines)
    blocks.append(title)
    bottom = title.box.bottom
    if service.unavailable is not None:
        reason = " ".join(str(service.unavailable).split())
        text = strings.UNAVAILABLE_REASON.format(reason=reason) if reason else strings.UNAVAILABLE
        note = m.block(text, "unavailable", title_col.x, bottom + m.px(4), title_col.w, colour="unavailable",
                       role=f"unavailable:{service.code}", max_lines=MAX_LINES["unavailable"])
        blocks.append(note)
        bottom = note.box.bottom
    amount_y = bottom + m.px(6) if frame.stacked else y + pad
    for name, value in (("government", service.government_fee), ("office", service.office_fee),
                        ("total", service.total_fee)):
        col = cols[name]
        style = "total" if name == "total" else "amount"
        text = format_money(value, unit=unit, with_unit=False)
        b = m.block(text, style, col.x, amount_y, col.w, colour="total" if name == "total" else "ink",
                    role=f"amount:{name}:{service.code}", wrap=False)
        blocks.append(b)
        bottom = max(bottom, b.box.bottom)
    height = bottom + pad - y
    row_box = Box(frame.inner.x, y, frame.inner.w, height)
    items: list = []
    if service.unavailable is not None:
        items.append(Fill(row_box, "unavailable_bg"))
    elif stripe:
        items.append(Fill(row_box, "stripe"))
    for b in blocks:
        col = cols[b.role.split(":")[1] if b.role.startswith("amount:") else "title"]
        items.append(_with_cell(b, Box(col.x, y, col.w, height)))
    return items, height


def _heading_row(m: Metrics, frame: _Frame, category, y: int, continued: bool) -> tuple[list, int]:
    pad = m.px(7)
    title = strings.CONTINUED.format(title=category.title) if continued else category.title
    x, w = frame.inner.x, frame.inner.w
    inset = m.px(16)
    b = m.block(title, "heading", x + inset, y + pad, w - 2 * inset, colour="on_heading",
                role=f"heading:{category.code}", max_lines=MAX_LINES["heading"])
    height = b.box.bottom + pad - y
    band = Box(x, y, w, height)
    return [Fill(band, "heading"), _with_cell(b, band)], height


def layout_pages(board, *, config=None, size: tuple[int, int] = (1920, 1080), scale: float | None = None,
                 now: dt.datetime | None = None, notices=None, poster: bool = False) -> list[Page]:
    """Lay *board* (an :class:`~pishkhan.boards.layering.EffectiveBoard`, or None)
    out on pages of *size* pixels at type *scale* (default: by screen size).

    ``board=None`` gives one page that says plainly that no valid board is
    available, and nothing else about services.
    """
    width, height = (int(v) for v in size)
    if width < 200 or height < 200:
        raise RenderError(f"page size {width}x{height} is too small")
    m = Metrics(scale if scale is not None else screen_scale((width, height)))
    facts = facts_for(board, config, now=now, notices=notices)
    services = list(board.services()) if board is not None else []
    if not services:
        frame = _Frame(m, (width, height), facts, poster=poster)
        message = strings.NO_BOARD if board is None else strings.NO_SERVICES
        w = frame.inner.w - 2 * m.px(60)
        b = m.block(message, "message", frame.inner.x + m.px(60), 0, w, align="center", role="message")
        b = _moved(b, dy=frame.body.y + max(0, (frame.body.h - b.box.h) // 2))
        page = Page(1, 1, width, height, m.scale, list(frame.items), body=frame.body)
        page.items.append(_with_cell(b, frame.body))
        page.items += frame.footer(1, 1)
        return [page]

    frame = _Frame(m, (width, height), facts, poster=poster, amount_w=_amount_width(m, board, facts.unit))
    body = frame.body
    pages: list[Page] = []

    def new_page() -> Page:
        page = Page(len(pages) + 1, 0, width, height, m.scale, list(frame.items),
                    columns={k: Box(c.x, body.y, c.w, body.h) for k, c in frame.columns.items()}, body=body)
        pages.append(page)
        return page

    page = new_page()
    y = body.y
    stripe = False
    # a title of more lines than this could not fit on any page
    most_lines = max(1, body.h // m.line_height("title"))
    for category in board.categories:
        heading_on_page = False
        for i, service in enumerate(category.services):
            lines = most_lines
            s_items, s_h = _service_row(m, frame, service, 0, False, lines)
            h_items, h_h = ([], 0) if heading_on_page else _heading_row(m, frame, category, 0, i > 0)
            if y + h_h + s_h > body.bottom and page.rows:
                page = new_page()
                y = body.y
                heading_on_page = False
                h_items, h_h = _heading_row(m, frame, category, 0, i > 0)
            while h_h + s_h > body.h and lines > 1:  # too long for a whole page: cut, with an ellipsis
                over = -(-(h_h + s_h - body.h) // m.line_height("title"))
                lines = max(1, min(lines, len(_title_lines(s_items))) - over)
                s_items, s_h = _service_row(m, frame, service, 0, False, lines)
            if h_h + s_h > body.h:
                raise RenderError(f"service {service.code} does not fit on an empty {width}x{height} page")
            if not heading_on_page:
                page.items += _shifted(h_items, y)
                page.rows.append(Row("heading", Box(body.x, y, body.w, h_h), category.code, continued=i > 0))
                y += h_h
                heading_on_page = True
                stripe = False
            if stripe:
                s_items, _ = _service_row(m, frame, service, 0, True, lines)
            page.items += _shifted(s_items, y)
            page.rows.append(Row("service", Box(body.x, y, body.w, s_h), category.code, service.code))
            y += s_h
            stripe = not stripe
    for page in pages:
        page.count = len(pages)
        page.items += frame.footer(page.number, page.count)
    return pages


def _title_lines(items: list) -> tuple[str, ...]:
    return next(i.lines for i in items if isinstance(i, TextBlock) and i.role.startswith("title:"))


def _shifted(items: list, dy: int) -> list:
    out = []
    for item in items:
        if isinstance(item, Fill):
            out.append(Fill(Box(item.box.x, item.box.y + dy, item.box.w, item.box.h), item.colour))
        elif isinstance(item, TextBlock):
            moved = _moved(item, dy=dy)
            cell = item.cell and Box(item.cell.x, item.cell.y + dy, item.cell.w, item.cell.h)
            out.append(_with_cell(moved, cell))
        else:
            out.append(item)
    return out


def page_count(board, **kwargs) -> int:
    return len(layout_pages(board, **kwargs))
