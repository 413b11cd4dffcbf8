"""Read ESC/POS bytes back: decode every ``GS v 0`` raster block into an image."""

from __future__ import annotations

from PIL import Image

GS_V_0 = b"\x1dv0"
CUT = (b"\x1dV", b"\x1bi", b"\x1bm")


def decode_raster(data: bytes) -> list[Image.Image]:
    """Each printed image in *data* (consecutive raster blocks stacked), as mode "L".

    A cut command ends one ticket. Raises AssertionError on a malformed block.
    """
    tickets, blocks, i = [], [], 0
    while i < len(data):
        if data.startswith(GS_V_0, i):
            mode = data[i + 3]
            assert mode in (0, 48), f"unexpected raster mode {mode}"
            xb = data[i + 4] | data[i + 5] << 8
            height = data[i + 6] | data[i + 7] << 8
            start, end = i + 8, i + 8 + xb * height
            assert end <= len(data), "raster block runs past the end of the data"
            # ESC/POS: bit set = black dot; PIL "1" raw: bit set = white
            inverted = bytes(b ^ 0xFF for b in data[start:end])
            blocks.append(Image.frombytes("1", (xb * 8, height), inverted))
            i = end
        elif any(data.startswith(c, i) for c in CUT):
            if blocks:
                tickets.append(_stack(blocks))
                blocks = []
            i += 2
        else:
            i += 1
    if blocks:
        tickets.append(_stack(blocks))
    return tickets


def _stack(blocks):
    width = max(b.width for b in blocks)
    out = Image.new("L", (width, sum(b.height for b in blocks)), 255)
    y = 0
    for b in blocks:
        out.paste(b.convert("L"), (0, y))
        y += b.height
    return out


def ocr(image, *, lang: str = "fas", psm: int = 6) -> str:
    """Tesseract's reading of *image* (white margin added, 2x for small text)."""
    import pytesseract

    padded = Image.new("L", (image.width + 40, image.height + 40), 255)
    padded.paste(image.convert("L"), (20, 20))
    return pytesseract.image_to_string(padded, lang=lang, config=f"--psm {psm}")


def _runs(inked: list[bool], gap: int) -> list[tuple[int, int]]:
    """``(start, end)`` of the runs of True in *inked*, split at *gap* or more False."""
    out, start, white = [], None, 0
    for i, ink in enumerate(inked + [False] * gap):
        if ink:
            if start is None:
                start = i
            white = 0
        elif start is not None:
            white += 1
            if white >= gap:
                out.append((start, i - white + 1))
                start, white = None, 0
    return out


def bands(image, *, gap: int = 6) -> list[tuple[int, int]]:
    """Horizontal bands of ink ``(top, bottom)``, split at runs of *gap* white rows."""
    gray = image.convert("L")
    w, h = gray.size
    px = gray.load()
    return _runs([any(px[x, y] < 128 for x in range(0, w, 2)) for y in range(h)], gap)


def number_band(image):
    """The ticket number: the tallest band of ink that is wide rather than square (not the QR)."""
    gray = image.convert("L")
    candidates = []
    for top, bottom in bands(gray):
        box = gray.crop((0, top, gray.width, bottom)).point(lambda v: 255 - v).getbbox()
        if box and box[2] - box[0] > 1.5 * (bottom - top):
            candidates.append((bottom - top, top, bottom, box))
    _, top, bottom, box = max(candidates)
    return gray.crop((box[0], top, box[2], bottom))


def columns(image, *, gap: int = 4) -> list[tuple[int, int]]:
    """Vertical runs of ink ``(left, right)`` in *image*, split at *gap* white columns."""
    gray = image.convert("L")
    w, h = gray.size
    px = gray.load()
    return _runs([any(px[x, y] < 128 for y in range(h)) for x in range(w)], gap)


def _with_context(digits, *, size: int = 28):
    """*digits* pasted into the line «شماره نوبت شما … است» drawn by the test.

    Tesseract's Persian model reads a lone run of very large digits poorly
    (zeros vanish, ۲ becomes ۳) but reads them well at text size inside a
    Persian sentence. The words only prime the model: every digit read still
    comes from the printed image, scaled to the height of digits at *size*.
    """
    from PIL import ImageDraw

    from pishkhan.render import typeset

    f = typeset.font(size, "Bold")
    probe = Image.new("L", (size * 12, size * 3), 255)
    ImageDraw.Draw(probe).text((10, size), "۱۲۳۴۵۶۷۸۹", font=f, fill=0, direction="ltr")
    box = probe.point(lambda v: 255 - v).getbbox()
    height, top = box[3] - box[1], box[1] - size
    digits = digits.resize((max(1, int(digits.width * height / digits.height)), height), Image.Resampling.LANCZOS)
    right, left, space = "شماره نوبت شما", "است", int(size * 0.3)
    width = typeset.width(right, f) + typeset.width(left, f) + digits.width + 4 * space + 40
    canvas = Image.new("L", (width, size * 2), 255)
    draw = ImageDraw.Draw(canvas)
    y = size // 3
    typeset.draw_text(draw, (width - 20, y), right, f, align="right")
    x = width - 20 - typeset.width(right, f) - space - digits.width
    canvas.paste(digits, (x, y + top))
    typeset.draw_text(draw, (x - space, y), left, f, align="right")
    return canvas


def ocr_number(image, *, prefixed: bool) -> str:
    """Read the ticket's large number back, e.g. ``"A۰۱۲"`` or ``"۱۲۳"``.

    A prefix letter is the leftmost glyph (the label runs left to right) and
    is read with the English model; the digits with the Persian one.
    """
    band = number_band(image)
    letter = ""
    if prefixed:
        left, right = columns(band)[0]
        glyph = band.crop((left, 0, right, band.height))
        glyph = glyph.resize((max(1, int(glyph.width * 48 / band.height)), 48), Image.Resampling.LANCZOS)
        letter = "".join(ch for ch in ocr(glyph, lang="eng", psm=10) if ch.isalpha())[:1].upper()
        band = band.crop((right, 0, band.width, band.height))
        band = band.crop(band.point(lambda v: 255 - v).getbbox())
    read = ocr(_with_context(band), lang="fas", psm=7)
    return letter + "".join(ch for ch in read if ch in "۰۱۲۳۴۵۶۷۸۹")
