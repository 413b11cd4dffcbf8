"""Draw board pages (from :mod:`pishkhan.render.board_layout`) with Pillow.

:func:`render_pages` gives one RGB image per page for a screen size:
1920x1080 (wall TV), 1080x1920 (portrait) and 1280x800 (the 7-inch
touchscreen) or any other. All text goes through :mod:`pishkhan.render.typeset`:
shaped right to left by raqm, and a character the font lacks raises
:exc:`~pishkhan.exc.MissingGlyph` rather than showing a box.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from PIL import Image, ImageDraw

from pishkhan.render import typeset
from pishkhan.exc import RenderError

from pishkhan.render.board_layout import COLOURS, Box, Fill, Metrics, Page, QRCode, TextBlock, layout_pages

#: How far (pixels) a glyph's ink may reach past its box: antialiasing only.
TOLERANCE = 1


def render_pages(board, *, config, size: tuple[int, int] = (1920, 1080), now: dt.datetime | None = None,
                 notices=None) -> list[Image.Image]:
    """The board's screen pages as RGB images of *size*.

    *board* is an :class:`~pishkhan.boards.layering.EffectiveBoard`; ``None`` gives a
    single page saying that no valid board is available.
    """
    pages = layout_pages(board, config=config, size=size, now=now, notices=notices)
    return [draw_page(page) for page in pages]


def iter_pages(board, *, config, size: tuple[int, int] = (1920, 1080), now: dt.datetime | None = None,
               notices=None):
    """Like :func:`render_pages`, one image at a time (the wall display keeps
    only the page on show in memory)."""
    for page in layout_pages(board, config=config, size=size, now=now, notices=notices):
        yield draw_page(page)


def draw_page(page: Page, *, ink_boxes: list | None = None) -> Image.Image:
    """Draw one laid-out page. With *ink_boxes* (a list), append each text
    block with the bounding box of the ink actually drawn for it."""
    image = Image.new("RGB", page.size, COLOURS["background"])
    draw = ImageDraw.Draw(image)
    m = Metrics(page.scale)
    for item in page.items:
        if isinstance(item, Fill):
            b = item.box
            draw.rectangle((b.x, b.y, b.right - 1, b.bottom - 1), fill=COLOURS[item.colour])
        elif isinstance(item, TextBlock):
            bbox = draw_block(draw, m, item)
            if ink_boxes is not None:
                ink_boxes.append((item, bbox))
        elif isinstance(item, QRCode):
            image.paste(qr_image(item.data, item.box.w), (item.box.x, item.box.y))
    return image


def draw_block(draw: ImageDraw.ImageDraw, m: Metrics, block: TextBlock) -> tuple[int, int, int, int] | None:
    """Draw a text block; returns the union of its lines' ink boxes.

    Raises :exc:`RenderError` if any line would leave its box: the layout
    measured it, so that is a bug, and the wall must not show clipped text.
    """
    f = m.font(block.style)
    features = m.features(block.style)
    box = block.box
    x = {"right": box.right - block.inset, "left": box.x + block.inset, "center": box.x + box.w // 2}[block.align]
    union = None
    for i, line in enumerate(block.lines):
        if not line:
            continue
        y = box.y + i * block.line_height
        bbox = typeset.draw_text(draw, (x, y), line, f, fill=COLOURS[block.colour], align=block.align,
                                 features=features)
        union = bbox if union is None else (min(union[0], bbox[0]), min(union[1], bbox[1]),
                                            max(union[2], bbox[2]), max(union[3], bbox[3]))
    if union is not None:
        limit = block.cell or box
        if (union[0] < limit.x - TOLERANCE or union[2] > limit.right + TOLERANCE
                or union[1] < limit.y - TOLERANCE or union[3] > limit.bottom + TOLERANCE):
            raise RenderError(f"text {block.text!r} ({block.role}) would leave its column: "
                              f"ink {union}, column {limit.as_tuple()}")
    return union


@lru_cache(maxsize=8)
def qr_image(data: str, size: int) -> Image.Image:
    """A QR code of *data*, black on white, scaled to *size* pixels square
    with whole-pixel modules (nearest neighbour, so it stays sharp)."""
    import qrcode

    # A fixed mask pattern: any mask scans, and choosing the "best" of eight
    # costs pure Python time on a Pi (docs/performance.md) for nothing a reader would notice.
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=1, mask_pattern=0)
    qr.add_data(data)
    qr.make(fit=True)
    small = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    modules = small.size[0]
    per = max(1, size // modules)
    big = small.resize((modules * per, modules * per), Image.NEAREST)
    out = Image.new("RGB", (size, size), "white")
    offset = (size - big.size[0]) // 2
    out.paste(big, (offset, offset))
    return out


def text_box(page: Page, role: str) -> Box | None:
    """The box of the text block with *role* on *page*, if any."""
    for block in page.texts(role):
        if block.role == role:
            return block.box
    return None
