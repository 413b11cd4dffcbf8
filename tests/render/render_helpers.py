"""Read-back helpers for the board renderer tests: OCR of title lines with
Tesseract, glyph matching of amounts, and the thresholds they use."""

from __future__ import annotations

import csv
import difflib
import io
import re
import subprocess

from required_tools import require_tool
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps, ImageStat

from pishkhan.render.board_layout import COLOURS
from pishkhan.text.fonts import font_path
from pishkhan.text.persian import normalise, to_latin_digits

SIZES = [(1920, 1080), (1080, 1920), (1280, 800)]

#: A title line passes when Tesseract's reading, normalised, is at least this
#: similar (difflib ratio) to the text drawn. Tesseract's Persian model makes
#: small known errors on correctly drawn text -- a dropped dot, ی/ي, Latin
#: letters in parentheses read as Persian digits -- which cost a few percent;
#: reversed or unshaped text (the negative control) scores far below (~0.2-0.5).
LINE_THRESHOLD = 0.80
#: ... and the mean over all lines of a run must reach this.
MEAN_THRESHOLD = 0.93


# --------------------------------------------------------------------------- OCR

def need_tesseract():
    """Fail (not skip) without Tesseract's Persian model: see tests/required_tools.py."""
    require_tool("tesseract")


def line_crops(image: Image.Image, block) -> list[tuple[str, Image.Image]]:
    """(text, crop) for each line of a text block, cropped to that line."""
    ascent_descent = block.box.h - (len(block.lines) - 1) * block.line_height
    out = []
    for i, line in enumerate(block.lines):
        top = block.box.y + i * block.line_height
        out.append((line, image.crop((block.box.x, top, block.box.right, top + ascent_descent))))
    return out


def ocr_lines(crops: list[Image.Image], *, lang: str = "fas", scale: float = 1.0) -> list[str]:
    """Read each crop as one line, with a single Tesseract run.

    The crops are stacked right-aligned, well apart, on one white sheet
    (grey, upscaled by *scale*); Tesseract reads it as a block (``--psm 6``)
    and each recognised word is given back to the crop its centre lies in.
    """
    gap, margin = 40, 40
    crops = [_trim(c.convert("L")) for c in crops]
    width = max(c.width for c in crops) + 2 * margin
    height = sum(c.height + gap for c in crops) + gap
    sheet = Image.new("L", (width, height), 255)
    spans, y = [], gap
    for c in crops:
        sheet.paste(c.convert("L"), (width - margin - c.width, y))
        spans.append((y, y + c.height))
        y += c.height + gap
    if scale != 1:
        sheet = sheet.resize((int(width * scale), int(height * scale)), Image.LANCZOS)
    buf = io.BytesIO()
    sheet.save(buf, "PNG")
    result = subprocess.run(["tesseract", "stdin", "stdout", "-l", lang, "--psm", "6", "tsv"],
                            input=buf.getvalue(), capture_output=True, check=True)
    words: list[list[str]] = [[] for _ in crops]
    rows = csv.DictReader(io.StringIO(result.stdout.decode("utf-8")), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in rows:
        if row.get("level") != "5" or not (row.get("text") or "").strip():
            continue
        centre = (int(row["top"]) + int(row["height"]) / 2) / scale
        for i, (top, bottom) in enumerate(spans):
            if top - gap / 2 <= centre < bottom + gap / 2:
                words[i].append(row["text"])
                break
    return [" ".join(w) for w in words]


def ocr_line(crop: Image.Image, *, lang: str = "fas", scale: int = 1) -> str:
    """Read one crop as a single line (``--psm 7``), on a white margin."""
    gray = _trim(crop.convert("L"))
    if scale != 1:
        gray = gray.resize((gray.width * scale, gray.height * scale), Image.BICUBIC)
    sheet = Image.new("L", (gray.width + 80, gray.height + 40), 255)
    sheet.paste(gray, (40, 20))
    buf = io.BytesIO()
    sheet.save(buf, "PNG")
    result = subprocess.run(["tesseract", "stdin", "stdout", "-l", lang, "--psm", "7"], input=buf.getvalue(),
                            capture_output=True, check=True)
    return " ".join(result.stdout.decode("utf-8").split())


def read_lines(lines: list[tuple[str, Image.Image]]) -> list[tuple[str, str, float]]:
    """(drawn, read, similarity) for each (text, crop).

    One block run over all lines first; a line it misses or misreads is
    read again on its own (``--psm 7``): as it is, enlarged twice (Tesseract
    sometimes drops a short line as noise), and in Persian with English (for
    Latin words inside a title), keeping the best reading.
    """
    read = ocr_lines([crop for _, crop in lines])
    out = []
    for (text, crop), got in zip(lines, read):
        score = similarity(text, got)
        for lang, scale in (("fas", 1), ("fas", 2), ("fas+eng", 2)):
            if score >= LINE_THRESHOLD:
                break
            again = ocr_line(crop, lang=lang, scale=scale)
            if similarity(text, again) > score:
                got, score = again, similarity(text, again)
        out.append((text, got, score))
    return out


def fold(text: str) -> str:
    """Normalise for comparison: pishkhan's search folding, digits folded to
    ASCII, punctuation and spaces dropped (Tesseract is loose with both)."""
    text = to_latin_digits(normalise(text))
    return re.sub(r"[\s\u200c()\[\]{}.,،؛:;«»\"'|/\\_-]+", "", text)


def similarity(drawn: str, read: str) -> float:
    """How well *read* matches *drawn*, 0..1.

    The ratio of the folded strings, in order. For a line that mixes Latin
    and Persian words, Tesseract's output order of the two directions is
    its own guess, so there the score is the better of that ratio and the
    word-by-word match regardless of order (each word must still be read
    right: an unshaped or reversed word matches nothing).
    """
    ratio = difflib.SequenceMatcher(None, fold(drawn), fold(read)).ratio()
    if not re.search("[A-Za-z]", drawn):
        return ratio
    want, got = [fold(w) for w in drawn.split()], [fold(w) for w in read.split()]
    want, got = [w for w in want if w], [w for w in got if w]
    matched = 0.0
    pool = list(got)
    for w in want:
        best = max(pool, key=lambda g: difflib.SequenceMatcher(None, w, g).ratio(), default=None)
        if best is not None:
            r = difflib.SequenceMatcher(None, w, best).ratio()
            if r >= 0.75:
                matched += r
                pool.remove(best)
    words = matched / max(len(want), len(got), 1)
    return max(ratio, words)


# --------------------------------------------------------------------------- amounts

class GlyphReader:
    """Read amounts back from the pixels, glyph by glyph.

    Tesseract's Persian model cannot read runs of Persian digits in
    Vazirmatn: the zero is a small dot that it drops or reads as ه/و, and it
    confuses ۲/۳/۴ (in our trials it read 0 of 17 amounts right, at every
    scale, page segmentation mode and with a digit whitelist). So amounts are
    read by an independent, simpler method: the ink of the amount cell is
    cut into glyphs at blank columns, and each glyph is matched against the
    ten Persian digits and the thousands separator drawn one at a time with
    plain FreeType (no raqm, no typeset code). Order is read left to right,
    the way a number is written inside Persian text.
    """

    CHARS = "۰۱۲۳۴۵۶۷۸۹\u066c"

    def __init__(self, size: int, weight: str):
        f = ImageFont.truetype(str(font_path(weight)), size, layout_engine=ImageFont.Layout.BASIC)
        self.refs = {}
        for ch in self.CHARS:
            im = Image.new("L", (size * 2, size * 2), 255)
            ImageDraw.Draw(im).text((size // 2, size // 4), ch, font=f, fill=0)
            self.refs[ch] = _tight(im)

    def read(self, crop: Image.Image) -> str:
        gray = crop.convert("L")
        bg = _mode(gray)
        ink = ImageOps.autocontrast(ImageChops.difference(gray, Image.new("L", gray.size, bg)))
        binary = ink.point(lambda v: 255 if v > 90 else 0)
        w, h = binary.size
        projection = binary.resize((w, 1), Image.BOX)  # mean of each column
        cols = [v > 0 for v in projection.tobytes()]
        out, x = [], 0
        while x < w:
            if cols[x]:
                start = x
                while x < w and cols[x]:
                    x += 1
                piece = binary.crop((start, 0, x, h))
                glyph = ImageOps.invert(piece.crop(piece.getbbox()))
                out.append(self.classify(glyph))
            x += 1
        return "".join(out)

    def classify(self, glyph: Image.Image) -> str:
        best, best_score = "?", None
        for ch, ref in self.refs.items():
            size_penalty = abs(ref.width - glyph.width) + abs(ref.height - glyph.height)
            a = glyph.resize(ref.size, Image.BILINEAR) if glyph.size != ref.size else glyph
            diff = ImageChops.difference(a.convert("L"), ref.convert("L"))
            score = ImageStat.Stat(diff).mean[0] / 255 + 0.05 * size_penalty
            if best_score is None or score < best_score:
                best, best_score = ch, score
        return best


def _tight(im: Image.Image) -> Image.Image:
    box = ImageOps.invert(im.convert("L")).getbbox()
    return im.crop(box) if box else im


def _trim(gray: Image.Image, pad: int = 12) -> Image.Image:
    """*gray* cut to its ink (what differs from its commonest shade), plus *pad*."""
    bg = _mode(gray)
    box = ImageChops.difference(gray, Image.new("L", gray.size, bg)).point(lambda v: 255 if v > 40 else 0).getbbox()
    if not box:
        return gray
    box = (max(0, box[0] - pad), max(0, box[1] - pad), min(gray.width, box[2] + pad), min(gray.height, box[3] + pad))
    return gray.crop(box)


def _mode(gray: Image.Image) -> int:
    hist = gray.histogram()
    return max(range(256), key=hist.__getitem__)


def background_of(colour_name: str) -> tuple[int, int, int]:
    return COLOURS[colour_name]
