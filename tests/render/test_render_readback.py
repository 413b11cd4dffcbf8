"""Every service title and amount on the rendered pages is read back from
the pixels by an independent method: Tesseract's Persian model for titles,
glyph matching for amounts (see :class:`conftest.GlyphReader` for why).

The negative controls draw the same text wrongly -- without raqm shaping
and ordering, or with the digits reversed -- and the same checks must fail,
so a page with broken Persian cannot pass.
"""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from render_helpers import LINE_THRESHOLD, MEAN_THRESHOLD, GlyphReader, line_crops, need_tesseract, read_lines
from pishkhan.render.board_layout import COLOURS, Metrics
from pishkhan.text.fonts import font_path
from pishkhan.render.typeset import weight_of

WALL = (1920, 1080)


def _title_lines(images, size):
    """(text, crop) of every title line on every page of *size*."""
    out = []
    for page, image, _ in images[size]:
        for block in page.texts("title:"):
            out += line_crops(image, block)
    return out


@pytest.fixture(scope="module")
def title_lines(images):
    return _title_lines(images, WALL)


def _report(pairs):
    return "\n".join(f"  {score:.2f}  drawn «{drawn}»  read «{read}»" for drawn, read, score in pairs)


@pytest.mark.parametrize("size", [WALL, (1080, 1920), (1280, 800)])
def test_every_title_is_read_back_by_tesseract(signed_board, images, size):
    """Every page of every screen size (one Tesseract run per size; lines it
    misses are retried one by one)."""
    need_tesseract()
    # every service title is on some page, and only once
    drawn_titles = [b.text for page, _, _ in images[size] for b in page.texts("title:")]
    assert sorted(drawn_titles) == sorted(s.title for s in signed_board.services())

    scored = read_lines(_title_lines(images, size))
    bad = [s for s in scored if s[2] < LINE_THRESHOLD]
    mean = sum(s[2] for s in scored) / len(scored)
    assert not bad, f"{len(bad)} title line(s) not read back:\n{_report(bad)}"
    assert mean >= MEAN_THRESHOLD, f"mean similarity {mean:.3f} < {MEAN_THRESHOLD}:\n{_report(scored)}"


def test_negative_control_unshaped_text_is_not_read_back(title_lines):
    """The same lines drawn without raqm (no shaping, no bidi ordering:
    isolated letters left to right) must fail the same OCR check."""
    need_tesseract()
    m = Metrics(1.0)
    f = m.font("title")
    basic = ImageFont.truetype(str(font_path(weight_of(f))), f.size, layout_engine=ImageFont.Layout.BASIC)
    lines = title_lines[:8]  # each rejected line is retried three ways, so keep this short
    crops = []
    for text, crop in lines:
        wrong = Image.new("RGB", crop.size, COLOURS["background"])
        ImageDraw.Draw(wrong).text((crop.width, 0), text, font=basic, fill=COLOURS["ink"], anchor="ra")
        crops.append(wrong)
    scores = [score for _, _, score in read_lines([(text, crop) for (text, _), crop in zip(lines, crops)])]
    passing = [s for s in scores if s >= LINE_THRESHOLD]
    # a page made of such lines fails: (nearly) every line is rejected and the mean is far off
    assert not passing, f"unshaped lines passed OCR: {scores}"
    assert sum(scores) / len(scores) < MEAN_THRESHOLD - 0.2, scores


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 800), (1080, 1920)])
def test_every_amount_is_read_back(images, signed_board, size):
    pages = images[size]
    m = Metrics(pages[0][0].scale)
    readers = {style: GlyphReader(m.font(style).size, weight_of(m.font(style))) for style in ("amount", "total")}
    seen = {}
    wrong = []
    for page, image, _ in pages:
        for block in page.texts("amount:"):
            got = readers[block.style].read(image.crop(block.box.as_tuple()))
            _, column, code = block.role.split(":")
            seen[(column, code)] = block.lines[0]
            if got != block.lines[0]:
                wrong.append((block.role, block.lines[0], got))
    assert not wrong, wrong
    from pishkhan.text.persian import format_money
    for s in signed_board.services():  # the text drawn is the right amount, for every service
        assert seen[("government", s.code)] == format_money(s.government_fee, with_unit=False)
        assert seen[("office", s.code)] == format_money(s.office_fee, with_unit=False)
        assert seen[("total", s.code)] == format_money(s.total_fee, with_unit=False)


def test_negative_control_reversed_amount_is_not_read_back(images):
    """Digits drawn in the wrong order (as a naive RTL renderer would) read
    back differently, so the amount check above would catch them."""
    page, image, _ = images[WALL][0]
    block = next(b for b in page.texts("amount:total:"))
    m = Metrics(page.scale)
    f = m.font(block.style)
    reader = GlyphReader(f.size, weight_of(f))
    text = block.lines[0]
    basic = ImageFont.truetype(str(font_path(weight_of(f))), f.size, layout_engine=ImageFont.Layout.BASIC)
    wrong = Image.new("RGB", (block.box.w, block.box.h), COLOURS["background"])
    ImageDraw.Draw(wrong).text((block.box.w, 0), text[::-1], font=basic, fill=COLOURS["ink"], anchor="ra")
    assert reader.read(wrong) == text[::-1] != text
