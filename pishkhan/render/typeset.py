"""Draw Persian (and mixed Persian/Latin) text with Pillow, right to left.

Text is shaped and ordered by raqm (``direction="rtl"`` as the paragraph
direction), measured with the same engine, wrapped at word boundaries and
never cut. Before drawing, every character is checked against the font's
character map: a character Vazirmatn lacks raises :exc:`MissingGlyph`
instead of becoming a box on the wall.
"""

from __future__ import annotations

import re
import struct
import unicodedata
from functools import lru_cache

from PIL import ImageDraw, ImageFont

from pishkhan.exc import MissingGlyph
from pishkhan.text.fonts import font_path, require_raqm

#: Characters that are never drawn, so need no glyph.
_INVISIBLE = {"\u200c", "\u200d", "\u200e", "\u200f", "\n", "\t", " ", "\u00a0", "\u202a", "\u202b",
              "\u202c", "\u2066", "\u2067", "\u2068", "\u2069"}


@lru_cache(maxsize=None)
def _cmap(weight: str) -> frozenset[int]:
    """Code points the font maps to a glyph.

    Read straight from the font's ``cmap`` table (a Unicode subtable of
    format 12 or 4), which takes a few milliseconds where fontTools takes
    tens; any other layout falls back to fontTools.
    """
    path = font_path(weight)
    try:
        return _read_cmap(path.read_bytes())
    except (ValueError, struct.error, IndexError):
        from fontTools.ttLib import TTFont

        with TTFont(str(path), lazy=True) as tt:
            return frozenset(tt.getBestCmap().keys())


def _read_cmap(data: bytes) -> frozenset[int]:
    num_tables = struct.unpack_from(">H", data, 4)[0]
    for i in range(num_tables):
        tag, _, offset, _ = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        if tag == b"cmap":
            break
    else:
        raise ValueError("no cmap table")
    count = struct.unpack_from(">H", data, offset + 2)[0]
    subtables = {}
    for i in range(count):
        platform, encoding, sub = struct.unpack_from(">HHI", data, offset + 4 + 8 * i)
        subtables[(platform, encoding)] = offset + sub
    for key in ((3, 10), (0, 4), (0, 6)):
        if key in subtables and struct.unpack_from(">H", data, subtables[key])[0] == 12:
            at = subtables[key]
            groups = struct.unpack_from(">I", data, at + 12)[0]
            points = set()
            for g in range(groups):
                start, end, glyph = struct.unpack_from(">III", data, at + 16 + 12 * g)
                points.update(range(start if glyph else start + 1, end + 1))
            return frozenset(points)
    for key in ((3, 1), (0, 3), (0, 4), (0, 1), (0, 0)):
        if key in subtables and struct.unpack_from(">H", data, subtables[key])[0] == 4:
            at = subtables[key]
            segs = struct.unpack_from(">H", data, at + 6)[0] // 2
            ends = struct.unpack_from(f">{segs}H", data, at + 14)
            starts = struct.unpack_from(f">{segs}H", data, at + 16 + 2 * segs)
            deltas = struct.unpack_from(f">{segs}h", data, at + 16 + 4 * segs)
            range_at = at + 16 + 6 * segs
            ranges = struct.unpack_from(f">{segs}H", data, range_at)
            points = set()
            for i in range(segs):
                for c in range(starts[i], ends[i] + 1):
                    if c == 0xFFFF:
                        continue
                    if ranges[i] == 0:
                        glyph = (c + deltas[i]) & 0xFFFF
                    else:
                        where = range_at + 2 * i + ranges[i] + 2 * (c - starts[i])
                        glyph = struct.unpack_from(">H", data, where)[0]
                        glyph = (glyph + deltas[i]) & 0xFFFF if glyph else 0
                    if glyph:
                        points.add(c)
            return frozenset(points)
    raise ValueError("no Unicode cmap subtable of format 4 or 12")


@lru_cache(maxsize=256)
def font(size: int, weight: str = "Regular") -> ImageFont.FreeTypeFont:
    """Vazirmatn at *size* pixels, laid out by raqm."""
    require_raqm()
    return ImageFont.truetype(str(font_path(weight)), size, layout_engine=ImageFont.Layout.RAQM)


def weight_of(f: ImageFont.FreeTypeFont) -> str:
    return f.path.rsplit("Vazirmatn-", 1)[-1].removesuffix(".ttf")


def check_glyphs(text: str, f: ImageFont.FreeTypeFont | str = "Regular") -> None:
    """Raise :exc:`MissingGlyph` naming each character the font cannot draw."""
    weight = f if isinstance(f, str) else weight_of(f)
    cmap = _cmap(weight)
    missing = sorted({ch for ch in text if ch not in _INVISIBLE and ord(ch) not in cmap
                      and unicodedata.category(ch) != "Cf"})
    if missing:
        names = ", ".join(f"U+{ord(ch):04X} {unicodedata.name(ch, '?')}" for ch in missing)
        raise MissingGlyph(f"the font Vazirmatn-{weight} has no glyph for {names} in {text!r}")


def _direction(text: str) -> str:
    """``rtl`` unless the text has no right-to-left letter at all."""
    for ch in text:
        if unicodedata.bidirectional(ch) in ("R", "AL"):
            return "rtl"
    return "ltr"


def width(text: str, f: ImageFont.FreeTypeFont, *, features: list[str] | None = None) -> int:
    """Advance width of *text* in pixels (``features`` as for :func:`draw_text`)."""
    if not text:
        return 0
    return int(round(f.getlength(text, direction=_direction(text), features=features)))


#: No line holds more characters than this, so no measurement costs more than
#: a bounded amount of shaping. A real line (a 1920-pixel wall, an A3 poster)
#: holds under 200; only a run of zero-width characters could reach it.
MAX_LINE_CHARS = 500
#: Ends the last line of a text cut at ``max_lines``.
ELLIPSIS = "\u2026"
_WORD = re.compile(r"\S+")


def line_height(f: ImageFont.FreeTypeFont, spacing: float = 1.35) -> int:
    ascent, descent = f.getmetrics()
    return int(round((ascent + descent) * spacing))


#: No line holds more characters than this, so that no measurement costs
#: more than a bounded amount of shaping. A real line (a 1920-pixel wall,
#: an A3 poster) holds under 200; only text of zero-width characters could
#: reach it, and that is broken here rather than measured whole.
MAX_LINE_CHARS = 500
#: Ends the last line of a text cut at ``max_lines``.
ELLIPSIS = "\u2026"
_WORD = re.compile(r"\S+")


def wrap(text: str, f: ImageFont.FreeTypeFont, max_width: int, *, max_lines: int | None = None) -> list[str]:
    """Break *text* into lines no wider than *max_width*, at spaces.

    A single word wider than the line is broken between characters rather
    than cut, so nothing is ever lost -- unless *max_lines* is given: text
    that needs more lines than that ends its last line in an ellipsis (…).

    Time is linear in the length of the text, and stops after *max_lines*:
    each word is measured once with the line it would join; a word too long
    for a line is broken by a galloping search on the break point (a number
    of measurements logarithmic in the line's length, so at most a few per
    character placed); no measured string is longer than
    :data:`MAX_LINE_CHARS` characters. One character is the least a line
    takes, so only a glyph wider than *max_width* on its own is wider.
    """
    if max_lines is not None and max_lines < 1:
        raise ValueError(f"max_lines must be at least 1, got {max_lines!r}")
    text = str(text)
    lines: list[str] = []
    start = 0
    while True:
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        cut_short = _wrap_paragraph(text, start, end, f, max_width, lines, max_lines)
        if max_lines is not None and len(lines) >= max_lines:
            if cut_short or _WORD.search(text, end):
                lines[-1] = _with_ellipsis(lines[-1], f, max_width)
            return lines
        if end == len(text):
            return lines
        start = end + 1


def one_line(text: str, f: ImageFont.FreeTypeFont, max_width: int) -> str:
    """*text* on one line of at most *max_width*: as it is if it fits, else
    cut with an ellipsis (in time bounded by the line, not by the text)."""
    return wrap(text, f, max_width, max_lines=1)[0]


def _wrap_paragraph(text: str, start: int, end: int, f, max_width: int, lines: list[str],
                    max_lines: int | None) -> bool:
    """Append the lines of ``text[start:end]`` to *lines*; True if it stopped
    at *max_lines* with words of the paragraph left over."""
    current = ""
    for match in _WORD.finditer(text, start, end):
        word = match.group()
        if current:
            candidate = f"{current} {word}"
            if len(candidate) <= MAX_LINE_CHARS and width(candidate, f) <= max_width:
                current = candidate
                continue
            lines.append(current)
            if max_lines is not None and len(lines) >= max_lines:
                return True
        at = 0  # a very long word is split; *at* is where its rest starts
        while True:
            rest = len(word) - at
            if rest == 1 or rest <= MAX_LINE_CHARS and width(word[at:], f) <= max_width:
                break
            cut = _longest_fitting(word, at, f, max_width)
            lines.append(word[at:at + cut])
            at += cut
            if max_lines is not None and len(lines) >= max_lines:
                return True
        current = word[at:] if at else word
    lines.append(current)
    return False


def _longest_fitting(word: str, at: int, f, max_width: int) -> int:
    """The length of the longest part of *word* from *at* on that fits
    *max_width* (at least one character; never ending just before a
    combining mark), found by galloping up from a short part and then
    halving. The rest of *word* (two characters or more) does not fit whole."""
    limit = min(len(word) - at - 1, MAX_LINE_CHARS)
    good, bad = 0, limit + 1
    probe = min(8, limit)
    while probe < bad:  # gallop: 8, 16, 32 ... characters
        if width(word[at:at + probe], f) <= max_width:
            good = probe
            probe = min(probe * 2, limit) if probe < limit else bad
        else:
            bad = probe
    while bad - good > 1:  # halve
        mid = (good + bad) // 2
        if width(word[at:at + mid], f) <= max_width:
            good = mid
        else:
            bad = mid
    cut = max(good, 1)
    while cut > 1 and unicodedata.combining(word[at + cut]):
        cut -= 1  # keep a mark with its letter
    return cut


def _with_ellipsis(line: str, f, max_width: int) -> str:
    """*line* ending in an ellipsis, shortened (halving) until it fits."""
    line = line.rstrip()
    if width(line + ELLIPSIS, f) <= max_width:
        return line + ELLIPSIS
    good, bad = 0, len(line)
    while bad - good > 1:
        mid = (good + bad) // 2
        if width(line[:mid].rstrip() + ELLIPSIS, f) <= max_width:
            good = mid
        else:
            bad = mid
    while 0 < good < len(line) and unicodedata.combining(line[good]):
        good -= 1
    return line[:good].rstrip() + ELLIPSIS


def draw_text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, f: ImageFont.FreeTypeFont, *,
              fill="black", align: str = "right", features: list[str] | None = None) -> tuple[int, int, int, int]:
    """Draw one line of *text*; returns its bounding box.

    ``xy`` is the line's top edge at its *right* end for ``align="right"``
    (the Persian default), its left end for ``"left"`` and its middle for
    ``"center"``. Glyphs are checked first (:func:`check_glyphs`).
    ``features`` are OpenType features, e.g. ``["tnum"]`` for tabular digits
    that line up in a column of amounts.
    """
    check_glyphs(text, f)
    x, y = xy
    anchor = {"right": "ra", "left": "la", "center": "ma"}[align]
    direction = _direction(text)
    draw.text((x, y), text, font=f, fill=fill, anchor=anchor, direction=direction, features=features)
    return draw.textbbox((x, y), text, font=f, anchor=anchor, direction=direction, features=features)


def draw_paragraph(draw, xy, text: str, f, max_width: int, *, fill="black", align="right",
                   spacing: float = 1.35) -> int:
    """Draw *text* wrapped to *max_width*; returns the height used."""
    x, y = xy
    step = line_height(f, spacing)
    lines = wrap(text, f, max_width)
    for i, line in enumerate(lines):
        if line:
            draw_text(draw, (x, y + i * step), line, f, fill=fill, align=align)
    return step * len(lines)
