"""Text layout for any text: it finishes, never leaves its box, loses nothing
unless told to stop at a number of lines (then it ends in an ellipsis), and
its number of measurements grows at most linearly with the text's length.

Text is drawn from Persian letters and marks, Latin letters, Latin and
Persian digits, punctuation, spaces, newlines and ZWNJ, in words and in long
runs without spaces. Measurements are counted on the font itself (a
FreeTypeFont whose ``getlength`` counts), a deterministic check of the work
done rather than a timed one; the hypothesis deadline only stops a run that
would never finish (the old line breaker took tens of seconds on 4,000
characters).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont, ImageOps

from pishkhan.config import parse_config
from pishkhan.render import typeset
from pishkhan.render.board_layout import COLOURS, Metrics
from pishkhan.render.board_pages import draw_block
from pishkhan.render.ticket import render_ticket
from pishkhan.text.fonts import font_path

PERSIAN = "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیآأؤئةء"
MARKS = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0654"  # tanwin, harakat, shadda, sukun, hamza above
LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789۰۱۲۳۴۵۶۷۸۹"
PUNCT = ".,:;()-/«»،؛؟!"
ZWNJ = "\u200c"


def _drawable(chars: str) -> str:
    ok = []
    for ch in chars:
        try:
            for weight in ("Regular", "Medium", "Bold"):
                typeset.check_glyphs(ch, weight)
        except Exception:
            continue
        ok.append(ch)
    return "".join(ok)


PERSIAN, MARKS, LATIN, DIGITS, PUNCT = (_drawable(s) for s in (PERSIAN, MARKS, LATIN, DIGITS, PUNCT))
ANY = PERSIAN + MARKS + LATIN + DIGITS + PUNCT + ZWNJ + " "

words = st.one_of(
    st.text(alphabet=PERSIAN + ZWNJ, min_size=1, max_size=12),
    st.text(alphabet=LATIN + DIGITS, min_size=1, max_size=12),
    st.text(alphabet=PERSIAN + MARKS, min_size=1, max_size=8),
    st.text(alphabet=ANY, max_size=30),
)
runs = st.one_of(  # long runs without spaces
    st.text(alphabet=PERSIAN + ZWNJ, min_size=40, max_size=800),
    st.text(alphabet=LATIN + DIGITS, min_size=40, max_size=800),
    st.builds(lambda w, n: w * n, st.text(alphabet=PERSIAN + DIGITS, min_size=1, max_size=5),
              st.integers(20, 400)),
    st.builds(lambda n: ZWNJ * n, st.integers(100, 1500)),
)
gaps = st.sampled_from([" ", "  ", "\n", "\n\n", " \n ", ZWNJ])
texts = st.lists(st.one_of(words, words, runs, gaps), max_size=16).map("".join)

SETTINGS = dict(deadline=dt.timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)


class CountingFont(ImageFont.FreeTypeFont):
    """Vazirmatn that counts its measurements."""

    def __init__(self, size: int, weight: str = "Medium"):
        super().__init__(str(font_path(weight)), size, layout_engine=ImageFont.Layout.RAQM)
        self.reset()

    def reset(self):
        self.calls = 0
        self.longest = 0

    def getlength(self, text, *args, **kwargs):
        self.calls += 1
        self.longest = max(self.longest, len(text))
        return super().getlength(text, *args, **kwargs)


FONTS = {(size, weight): CountingFont(size, weight) for size in (18, 34) for weight in ("Medium", "Bold")}
fonts = st.sampled_from(sorted(FONTS))


def _visible(text: str) -> str:
    return "".join(text.split())


def _budget(text: str) -> int:
    """The most measurements the line breaker may make: linear in the length."""
    return 6 * len(text) + 12


@settings(max_examples=60, **SETTINGS)
@given(text=texts, font_key=fonts, max_width=st.integers(60, 1400))
def test_wrap_finishes_fits_and_loses_nothing(text, font_key, max_width):
    f = FONTS[font_key]
    f.reset()
    lines = typeset.wrap(text, f, max_width)
    calls, longest = f.calls, f.longest
    assert calls <= _budget(text), f"{calls} measurements for {len(text)} characters"
    assert longest <= typeset.MAX_LINE_CHARS + 1
    assert _visible("".join(lines)) == _visible(text)  # broken at spaces or between characters, never cut
    for line in lines:
        assert len(line) <= typeset.MAX_LINE_CHARS
        assert len(line) == 1 or typeset.width(line, f) <= max_width, line


@settings(max_examples=60, **SETTINGS)
@given(text=texts, font_key=fonts, max_width=st.integers(60, 1400), max_lines=st.integers(1, 4))
def test_wrap_to_a_number_of_lines_ends_in_an_ellipsis(text, font_key, max_width, max_lines):
    f = FONTS[font_key]
    f.reset()
    lines = typeset.wrap(text, f, max_width, max_lines=max_lines)
    assert f.calls <= _budget(text)
    full = typeset.wrap(text, f, max_width)
    assert 1 <= len(lines) <= max_lines
    if not _visible("".join(full[max_lines:])):  # all there is fits (empty lines after it are left out)
        assert lines == full[:max_lines]
    else:
        assert lines[:-1] == full[:max_lines - 1] and lines[-1].endswith(typeset.ELLIPSIS)
        assert _visible(lines[-1][:-1]) in _visible(full[max_lines - 1])  # a shortened last line
    for line in lines:
        assert len(line) == 1 or typeset.width(line, f) <= max_width, line


@settings(max_examples=60, **SETTINGS)
@given(text=texts, style=st.sampled_from(["title", "office", "notice", "heading"]),
       scale=st.sampled_from([0.5, 0.74, 1.0]), box_w=st.integers(120, 900), max_lines=st.integers(1, 5),
       align=st.sampled_from(["right", "left", "center"]))
def test_a_text_block_never_draws_outside_its_box(text, style, scale, box_w, max_lines, align):
    """The pixels, not the renderer's own check: outside the block's box
    (one pixel of antialiasing allowed) the canvas stays blank."""
    m = Metrics(scale)
    margin = 40
    block = m.block(text, style, margin, margin, box_w, align=align, max_lines=max_lines)
    assert len(block.lines) <= max_lines
    canvas = Image.new("RGB", (box_w + 2 * margin, block.box.h + 2 * margin), COLOURS["background"])
    draw_block(ImageDraw.Draw(canvas), m, block)
    b = block.box
    ImageDraw.Draw(canvas).rectangle((b.x - 1, b.y - 1, b.right, b.bottom), fill=COLOURS["background"])
    assert ImageOps.invert(canvas.convert("L")).getbbox() is None, "ink outside the box"


NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone.utc)
FILLER = "درخواست صدور المثنی گواهی‌نامهٔ پایان خدمت وظیفهٔ عمومی برای مشمولان مقیم خارج از کشور " * 4


def _ticket(tmp_path_factory, title: str, office: str):
    config = parse_config({"device": {"state_dir": str(tmp_path_factory.getbasetemp() / "ticket")},
                           "office": {"office_id": "23-1234"}})
    # The configuration refuses names over 120 characters; the renderer must
    # stay linear even for one that got past it, so set it behind its back.
    config.data["office"]["name"] = office
    ticket = SimpleNamespace(service_title=title, display_label="A۰۰۱", label="A001", day="2026-11-28",
                             priority=False, people_ahead=3, wait_minutes=12)
    return render_ticket(ticket, config=config, now=NOW)


@pytest.fixture(scope="module")
def tallest_ticket(tmp_path_factory):
    """A ticket whose office name and title each fill every line they may take."""
    return _ticket(tmp_path_factory, FILLER, FILLER).height


@settings(max_examples=25, **SETTINGS)
@given(title=texts.filter(lambda t: t.strip()), office=texts.filter(lambda t: t.strip()))
def test_any_title_and_office_name_give_a_whole_ticket(tmp_path_factory, tallest_ticket, title, office):
    """However long the texts, the ticket keeps its bounded height and its QR
    code (nothing is pushed off the paper)."""
    from pyzbar.pyzbar import decode

    image = _ticket(tmp_path_factory, title, office)
    assert image.width == 576 and image.height <= tallest_ticket
    assert [c.data.decode() for c in decode(image.convert("L"))] == ["PISHKHAN:23-1234:2026-11-28:A001"]


class _Counting:
    """Counts every measurement made through Pillow's fonts."""

    def __init__(self, monkeypatch):
        self.calls = 0
        real = ImageFont.FreeTypeFont.getlength

        def counting(font, text, *args, **kwargs):
            self.calls += 1
            return real(font, text, *args, **kwargs)

        monkeypatch.setattr(ImageFont.FreeTypeFont, "getlength", counting)


@pytest.mark.parametrize("word", ["ثبت", "x", "۱۲", "گواهی‌نامه"])
def test_measurements_of_a_long_word_grow_linearly(word):
    """Ten times the text costs at most ten times the measurements (the old
    breaker re-measured the rest of the word for every character)."""
    f = CountingFont(34)
    counts = {}
    for n in (1000, 10000):
        f.reset()
        text = (word * (n // len(word) + 1))[:n]
        lines = typeset.wrap(text, f, 500)
        assert "".join(lines) == text
        counts[n] = f.calls
        assert f.calls <= _budget(text), counts
    assert counts[10000] <= 10 * counts[1000] * 1.05 + 20, counts


def test_a_ticket_with_a_1_mb_title_measures_as_little_as_with_4000_characters(tmp_path_factory, monkeypatch):
    counter = _Counting(monkeypatch)
    counts = {}
    for n in (4000, 1_000_000):
        counter.calls = 0
        title = ("ثبت" * (n // 3 + 1))[:n]
        office = ("دفتر" * (n // 4 + 1))[:n]
        _ticket(tmp_path_factory, title, office)
        counts[n] = counter.calls
        assert counts[n] < 400, counts  # a few lines' worth, not one per character
    assert counts[1_000_000] <= counts[4000] + 10, counts


@settings(max_examples=60, **SETTINGS)
@given(text=texts, font_key=fonts, max_width=st.integers(60, 1400))
def test_one_line_is_the_text_or_its_start_with_an_ellipsis(text, font_key, max_width):
    f = FONTS[font_key]
    f.reset()
    line = typeset.one_line(text, f, max_width)
    assert f.calls <= _budget(text) and "\n" not in line
    assert len(line) == 1 or typeset.width(line, f) <= max_width
    if " ".join(text.split()) == text and (len(text) <= 1 or typeset.width(text, f) <= max_width) \
            and len(text) <= typeset.MAX_LINE_CHARS:
        assert line == text
    else:  # all of it, or its start and an ellipsis
        assert _visible(line) == _visible(text) or (
            line.endswith(typeset.ELLIPSIS) and _visible(text).startswith(_visible(line[:-1]))), line
