"""Read ticket numbers back from screen pixels, glyph by glyph.

Tesseract's Persian model reads a lone run of huge Persian digits poorly
(the zero is a small diamond it drops), so what a screen *drew* for a ticket
number is read by a simpler, independent method, as the board renderer's
amounts are (tests/render/render_helpers.py): the ink of one line is cut
into glyphs at blank columns, and each glyph is matched against the Persian
digits and the Latin prefix letters drawn one at a time with plain FreeType
(no raqm, no pishkhan code) in the same Vazirmatn weight and size. Glyphs
are read left to right, the way a ticket label runs inside Persian text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps, ImageStat

from pishkhan.text.fonts import font_path

DIGITS = "۰۱۲۳۴۵۶۷۸۹"
LETTERS = "ABCDEFGHKLMNPRST"   # the prefixes a lane may have (display.wall_strings.LETTER_NAMES)


@dataclass(frozen=True)
class Piece:
    """One glyph's ink: its columns in the line and its tight image (black on white)."""

    left: int
    right: int
    image: Image.Image


def ink_mask(image: Image.Image, *, background=None, threshold: int = 90) -> Image.Image:
    """White where *image* differs from its background colour (default: its commonest one)."""
    rgb = image.convert("RGB")
    if background is None:
        background = max(rgb.getcolors(rgb.width * rgb.height), key=lambda c: c[0])[1]
    diff = ImageChops.difference(rgb, Image.new("RGB", rgb.size, tuple(background))).convert("L")
    return ImageOps.autocontrast(diff).point(lambda v: 255 if v > threshold else 0)


def bands(mask: Image.Image, *, gap: int = 4) -> list[tuple[int, int]]:
    """Horizontal runs of ink rows ``(top, bottom)`` in a mask, split at *gap* empty rows."""
    rows = [v > 0 for v in mask.resize((1, mask.height), Image.BOX).tobytes()]
    return _runs(rows, gap)


def tallest_band(image: Image.Image, **kw) -> Image.Image:
    """The crop of *image* holding its tallest line of ink (the big number of a panel)."""
    mask = ink_mask(image, **kw)
    found = bands(mask)
    if not found:
        raise AssertionError("no ink at all where the number should be")
    top, bottom = max(found, key=lambda b: b[1] - b[0])
    return image.crop((0, top, image.width, bottom))


def pieces(image: Image.Image, **kw) -> list[Piece]:
    """The glyphs of one line, left to right (cut at blank columns)."""
    mask = ink_mask(image, **kw)
    cols = [v > 0 for v in mask.resize((mask.width, 1), Image.BOX).tobytes()]
    out = []
    for left, right in _runs(cols, 1):
        part = mask.crop((left, 0, right, mask.height))
        out.append(Piece(left, right, ImageOps.invert(part.crop(part.getbbox()))))
    return out


def words(found: list[Piece], *, gap: int) -> list[list[Piece]]:
    """*found* grouped into words: a blank wider than *gap* pixels starts a new one."""
    groups: list[list[Piece]] = []
    for p in found:
        if groups and p.left - groups[-1][-1].right <= gap:
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


class GlyphReader:
    """Matches glyphs against *chars* drawn in Vazirmatn *weight* at *size* pixels."""

    def __init__(self, size: int, weight: str, chars: str = DIGITS + LETTERS):
        f = ImageFont.truetype(str(font_path(weight)), size, layout_engine=ImageFont.Layout.BASIC)
        self.refs = {}
        for ch in chars:
            im = Image.new("L", (size * 2, size * 2), 255)
            ImageDraw.Draw(im).text((size // 2, size // 4), ch, font=f, fill=0)
            self.refs[ch] = im.crop(ImageOps.invert(im).getbbox())

    def classify(self, glyph: Image.Image) -> tuple[str, float]:
        """The best matching character and its score (0 is a perfect match)."""
        best, best_score = "?", float("inf")
        for ch, ref in self.refs.items():
            size_penalty = abs(ref.width - glyph.width) + abs(ref.height - glyph.height)
            a = glyph.resize(ref.size, Image.BILINEAR) if glyph.size != ref.size else glyph
            score = ImageStat.Stat(ImageChops.difference(a.convert("L"), ref)).mean[0] / 255 + 0.05 * size_penalty
            if score < best_score:
                best, best_score = ch, score
        return best, best_score

    def read_pieces(self, found: list[Piece]) -> str:
        return "".join(self.classify(p.image)[0] for p in found)

    def read(self, image: Image.Image, **kw) -> str:
        """Every glyph of the line *image*, left to right."""
        return self.read_pieces(pieces(image, **kw))


@lru_cache(maxsize=64)
def reader(size: int, weight: str, chars: str = DIGITS + LETTERS) -> GlyphReader:
    return GlyphReader(size, weight, chars)


def read_any_size(found: list[Piece], weight: str, *, largest: int, chars: str = DIGITS + LETTERS) -> str:
    """Read *found* at whichever size from *largest* down to 60 % of it (a box too
    small for its text draws it smaller) matches the glyphs best."""
    best, best_score = "", float("inf")
    for size in range(largest, int(largest * 0.6) - 1, -max(1, largest // 40)):
        r = reader(size, weight, chars)
        scored = [r.classify(p.image) for p in found]
        score = sum(s for _, s in scored) / max(1, len(scored))
        if score < best_score:
            best, best_score = "".join(ch for ch, _ in scored), score
    return best


def _runs(flags: list[bool], gap: int) -> list[tuple[int, int]]:
    """``(start, end)`` of the runs of True in *flags*, split at *gap* or more False."""
    out, start, blank = [], None, 0
    for i, flag in enumerate(flags + [False] * gap):
        if flag:
            if start is None:
                start = i
            blank = 0
        elif start is not None:
            blank += 1
            if blank >= gap:
                out.append((start, i - blank + 1))
                start, blank = None, 0
    return out
