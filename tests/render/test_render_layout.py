"""Layout rules of the board pages: every box inside its column and the
page, nothing drawn outside the boxes, headings never last on a page, long
titles wrapped without loss, header and footer content, missing glyphs."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from PIL import Image, ImageChops, ImageDraw

from render_helpers import SIZES
from required_tools import require_tool
from pishkhan.render import strings
from pishkhan.render.board_layout import COLOURS, Box, Fill, Metrics, QRCode, TextBlock, layout_pages
from pishkhan.render.board_pages import TOLERANCE, draw_block, draw_page, render_pages
from pishkhan.text import jalali
from pishkhan.config import parse_config
from pishkhan.exc import MissingGlyph
from pishkhan.boards.layering import preview
from pishkhan.text.persian import format_money, to_persian_digits

NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=jalali.TEHRAN)


def _page_box(page) -> Box:
    return Box(0, 0, page.width, page.height)


@pytest.mark.parametrize("size", SIZES)
def test_every_box_fits_its_column_and_the_page(layouts, size):
    for page in layouts[size]:
        whole = _page_box(page)
        for item in page.items:
            assert whole.contains(item.box), (page.number, item)
            if isinstance(item, TextBlock):
                assert item.cell is not None and whole.contains(item.cell), item
                assert item.cell.contains(item.box), f"text box leaves its cell: {item}"
                assert item.lines and all(line.strip() for line in item.lines), item
        assert page.body is not None and whole.contains(page.body)
        for row in page.rows:
            assert page.body.contains(row.box), (page.number, row)
        # table cells lie in their column, horizontally, and in the body
        for block in page.texts("title:") + page.texts("amount:") + page.texts("unavailable:"):
            column = page.columns["title" if not block.role.startswith("amount:") else block.role.split(":")[1]]
            assert column.x <= block.box.x and block.box.right <= column.right, block
            assert page.body.y <= block.box.y and block.box.bottom <= page.body.bottom, block
        # columns do not overlap, left to right: total, office, government (title on the right)
        order = [page.columns[n] for n in ("total", "office", "government")]
        for left, right in zip(order, order[1:]):
            assert left.right <= right.x
        if page.columns["title"].w < page.width // 2:  # side by side, not stacked
            assert order[-1].right <= page.columns["title"].x


@pytest.mark.parametrize("size", SIZES)
def test_ink_stays_inside_each_text_box(images, size):
    """What Pillow actually drew for each block lies inside its cell.

    The renderer refuses a block whose *reported* ink box (Pillow's
    ``textbbox``) leaves its cell, so checking that box again could never
    fail. Here each block is drawn alone on a black page and its ink is
    measured from the pixels: a reported box that differs from what was
    drawn (a wrong anchor, direction or offset) shows up.
    """
    for page, _, inks in images[size]:
        canvas = Image.new("RGB", page.size, (0, 0, 0))   # no text colour is black
        draw = ImageDraw.Draw(canvas)
        metrics = Metrics(page.scale)
        measured = 0
        for block, reported in inks:
            cell = block.cell or block.box
            if reported is not None:   # the renderer's own figure, kept as a first check
                assert (cell.x - TOLERANCE <= reported[0] and reported[2] <= cell.right + TOLERANCE
                        and cell.y - TOLERANCE <= reported[1] and reported[3] <= cell.bottom + TOLERANCE), \
                    (block.role, reported, cell)
            draw_block(draw, metrics, block)
            ink = canvas.getbbox()
            assert (ink is None) == (reported is None), (block.role, block.text, ink, reported)
            if ink is None:
                continue
            measured += 1
            assert (cell.x - TOLERANCE <= ink[0] and ink[2] <= cell.right + TOLERANCE
                    and cell.y - TOLERANCE <= ink[1] and ink[3] <= cell.bottom + TOLERANCE), \
                f"{block.role} {block.text!r}: ink drawn at {ink}, cell {cell.as_tuple()}"
            canvas.paste((0, 0, 0), ink)
        assert measured > 10, f"page {page.number}: only {measured} text blocks drew any ink"


@pytest.mark.parametrize("size", SIZES)
def test_nothing_is_drawn_outside_the_boxes(images, size):
    """Outside text and QR boxes every pixel is exactly the colour the fills
    (bands, stripes, rules) and the background give it."""
    for page, image, _ in images[size]:
        expected = Image.new("RGB", page.size, COLOURS["background"])
        draw = ImageDraw.Draw(expected)
        for item in page.items:
            if isinstance(item, Fill):
                draw.rectangle((item.box.x, item.box.y, item.box.right - 1, item.box.bottom - 1),
                               fill=COLOURS[item.colour])
        mask = Image.new("L", page.size, 0)
        mdraw = ImageDraw.Draw(mask)
        for item in page.items:
            if isinstance(item, (TextBlock, QRCode)):
                b = item.cell if isinstance(item, TextBlock) else item.box
                mdraw.rectangle((b.x, b.y, b.right - 1, b.bottom - 1), fill=255)
        black = Image.new("RGB", page.size, (0, 0, 0))
        got = Image.composite(black, image, mask)
        want = Image.composite(black, expected, mask)
        stray = ImageChops.difference(got, want).getbbox()
        assert stray is None, f"page {page.number} at {size}: pixels drawn outside every box in {stray}"


@pytest.mark.parametrize("size", SIZES + [(1366, 768), (800, 1280), (2560, 1440)])
def test_pages_are_rgb_of_the_asked_size(signed_board, render_config, size):
    pages = render_pages(signed_board, config=render_config, size=size, now=NOW)
    assert pages and all(p.mode == "RGB" and p.size == size for p in pages)


@pytest.mark.parametrize("size", SIZES)
def test_a_heading_never_ends_a_page_and_every_service_is_shown_once(layouts, signed_board, size):
    shown = []
    for page in layouts[size]:
        assert page.rows, page.number
        assert page.rows[-1].kind == "service", f"page {page.number} ends with a heading"
        for row, after in zip(page.rows, page.rows[1:] + [None]):
            if row.kind == "heading":
                assert after is not None and after.kind == "service" and after.category == row.category
            else:
                shown.append(row.code)
        assert page.rows[0].kind == "heading", "a page starts with its category's heading"
        rows_y = [r.box.y for r in page.rows]
        assert rows_y == sorted(rows_y)
    assert shown == [s.code for s in signed_board.services()]


def test_type_is_big_enough_for_a_wall_and_scales_down(layouts):
    wall = Metrics(layouts[(1920, 1080)][0].scale)
    small = Metrics(layouts[(1280, 800)][0].scale)
    assert wall.font("title").size >= 28 and wall.font("amount").size >= 28
    assert min(wall.font(s).size for s in ("footer", "col_head", "unavailable")) >= 26
    assert small.font("title").size == round(wall.font("title").size * 800 / 1080)


def _board_with(sample_doc, **changes):
    doc = copy.deepcopy(sample_doc)
    service = doc["categories"][0]["services"][0]
    service.update(changes)
    return preview(doc), service


LONG = ("درخواست صدور المثنی گواهی‌نامهٔ پایان خدمت وظیفهٔ عمومی برای مشمولان مقیم خارج از کشور "
        "همراه با ترجمهٔ رسمی مدارک، تأیید وزارت امور خارجه و ارسال پستی به نشانی اعلام‌شده در سامانه")


@pytest.mark.parametrize("size", SIZES)
def test_long_titles_wrap_without_loss(sample_doc, render_config, size):
    board, service = _board_with(sample_doc, title=LONG)
    pages = layout_pages(board, config=render_config, size=size, now=NOW)
    block = next(b for p in pages for b in p.texts(f"title:{service['code']}"))
    assert len(block.lines) >= 2
    assert " ".join(block.lines) == LONG  # broken at spaces, nothing cut or added
    m = Metrics(pages[0].scale)
    for line in block.lines:
        assert m.width(line, "title") <= block.box.w - 2 * block.inset
    for page in pages:  # and the page still draws without leaving a column
        draw_page(page)


@pytest.mark.parametrize("size", SIZES)
def test_a_word_longer_than_the_column_is_broken_not_cut(sample_doc, render_config, size):
    word = "ثبت" * 40
    board, service = _board_with(sample_doc, title=word)
    pages = layout_pages(board, config=render_config, size=size, now=NOW)
    block = next(b for p in pages for b in p.texts(f"title:{service['code']}"))
    assert len(block.lines) >= 2 and "".join(block.lines) == word
    for page in pages:
        draw_page(page)


def test_amounts_in_persian_digits_with_the_configured_unit(sample_doc, tmp_path):
    cfg = parse_config({"device": {"state_dir": str(tmp_path)}, "office": {"currency_unit": "toman"}})
    board = preview(sample_doc)
    pages = layout_pages(board, config=cfg, now=NOW)
    s = next(board.services())
    total = next(b for b in pages[0].texts(f"amount:total:{s.code}"))
    assert total.lines == (format_money(s.total_fee, unit="toman", with_unit=False),)
    assert "\u066c" in total.lines[0] or s.total_fee < 10000
    assert not any(ch.isascii() and ch.isdigit() for ch in total.lines[0])
    units = {b.lines[0] for b in pages[0].texts("colunit:")}
    assert units == {strings.COL_UNIT.format(unit="تومان")}


def test_header_shows_office_licence_and_jalali_date(layouts, render_config):
    page = layouts[(1920, 1080)][0]
    texts = {b.role: b.text for b in page.texts("header:")}
    assert texts["header:office"] == render_config.get("office.name")
    assert to_persian_digits(render_config.get("office.licence")) in texts["header:licence"]
    pages = layout_pages(None, config=render_config, now=NOW)
    date = next(b.text for b in pages[0].texts("header:date"))
    assert date == jalali.format_date(NOW.date()) == "شنبه ۷ آذر ۱۴۰۵"


def test_footer_of_a_signed_board(layouts, signed_board):
    pages = layouts[(1920, 1080)]
    for page in pages:
        texts = {b.role: b.text for b in page.texts("footer:")}
        assert texts["footer:page"] == f"صفحه {to_persian_digits(page.number)} از {to_persian_digits(len(pages))}"
        assert signed_board.verification_code in texts["footer:code"]
        assert to_persian_digits(signed_board.version_label) in texts["footer:version"]
        assert jalali.format_date(signed_board.effective_from, weekday=False) in texts["footer:effective"]
        assert signed_board.issuer in texts["footer:issuer"]
        assert "footer:unsigned" not in texts
        qr = [i for i in page.items if isinstance(i, QRCode)]
        assert len(qr) == 1 and qr[0].data == f"https://pishkhan.example.ir/verify/{signed_board.verification_code}"


def test_qr_code_on_the_page_decodes_to_the_verification_code(images, signed_board):
    require_tool("zbar")
    from pyzbar import pyzbar

    page, image, _ = images[(1920, 1080)][0]
    qr = next(i for i in page.items if isinstance(i, QRCode))
    crop = image.crop((qr.box.x - 10, qr.box.y - 10, qr.box.right + 10, qr.box.bottom + 10))
    found = pyzbar.decode(crop.resize((crop.width * 3, crop.height * 3), Image.NEAREST))
    assert [f.data.decode() for f in found] == [qr.data]
    assert signed_board.verification_code in qr.data


def test_unsigned_preview_says_so_and_has_no_code(preview_board, render_config):
    for page in layout_pages(preview_board, config=render_config, now=NOW):
        texts = {b.role: b.text for b in page.texts("footer:")}
        assert texts["footer:unsigned"] == "پیش‌نمایش — امضا نشده"
        assert "footer:code" not in texts
        assert not any(isinstance(i, QRCode) for i in page.items)


def test_no_board_gives_one_plain_page(render_config):
    pages = layout_pages(None, config=render_config, now=NOW)
    assert len(pages) == 1
    page = pages[0]
    assert [b.text for b in page.texts("message")] == ["تابلوی معتبر در دسترس نیست — لطفاً از کارکنان بپرسید"]
    assert not page.texts("title:") and not page.texts("amount:") and not page.rows
    assert not page.texts("footer:code") and not page.texts("footer:version")
    image = render_pages(None, config=render_config, size=(1280, 800), now=NOW)
    assert len(image) == 1 and image[0].size == (1280, 800)


def test_unavailable_service_is_marked_with_its_reason(sample_doc, render_config):
    board = preview(sample_doc)
    first, second = list(board.services())[:2]
    board.with_unavailable({first.code: "سامانهٔ ثبت احوال قطع است", second.code: ""})
    page = layout_pages(board, config=render_config, now=NOW)[0]
    marks = {b.role: b.text for b in page.texts("unavailable:")}
    assert marks[f"unavailable:{first.code}"] == "فعلاً ارائه نمی‌شود: سامانهٔ ثبت احوال قطع است"
    assert marks[f"unavailable:{second.code}"] == "فعلاً ارائه نمی‌شود"
    fills = [i for i in page.items if isinstance(i, Fill) and i.colour == "unavailable_bg"]
    assert len(fills) == 2
    draw_page(page)


def test_notices_are_shown_above_the_footer(preview_board, render_config):
    text = "به دلیل قطعی سامانه، صدور گذرنامه تا اطلاع بعدی انجام نمی‌شود."
    pages = layout_pages(preview_board, config=render_config, now=NOW, notices=[text])
    for page in pages:
        notice = page.texts("notice")
        assert [b.text for b in notice] == [f"اطلاعیه: {text}"]
        assert notice[0].box.y >= page.body.bottom
        assert notice[0].box.bottom <= min(b.box.y for b in page.texts("footer:"))


def test_a_missing_glyph_is_an_error_not_a_box(sample_doc, render_config):
    board, _ = _board_with(sample_doc, title="صدور گواهی ☃ ویژه")
    with pytest.raises(MissingGlyph, match="U\\+2603"):
        render_pages(board, config=render_config, size=(1280, 800), now=NOW)
    board, _ = _board_with(sample_doc, title="گواهی 漢字")
    with pytest.raises(MissingGlyph):
        render_pages(board, config=render_config, now=NOW)
