"""The printed queue ticket as a 1-bit Pillow image, 576 or 384 dots wide.

From top to bottom: office name, service title, the number very large,
people ahead and estimated wait, Jalali date and time, one line of advice
(the documents to bring), and a QR code holding only the office id, the
date and the number; last, when the board names one, the province's complaint
channel (phone, short code, address: the customer-respect plan). Text is drawn in grey levels by raqm (shaped right to
left) and then thresholded at 50 % without dithering, so strokes stay solid.
"""

from __future__ import annotations

import datetime as dt

from functools import lru_cache

from PIL import Image, ImageDraw, ImageOps

from pishkhan.text import jalali
from pishkhan.render import ticket_strings as text
from pishkhan.render import typeset
from pishkhan.exc import RenderError
from pishkhan.text.persian import to_persian_digits
from pishkhan.hardware.printer import PAPER_WIDTH


def qr_payload(ticket, *, office_id: str) -> str:
    """What the QR code holds: ``PISHKHAN:<office>:<day>:<label>``; nothing personal."""
    return f"PISHKHAN:{office_id}:{ticket.day}:{ticket.label}"


def _qr_image(payload: str, box: int) -> Image.Image:
    """The QR code as black modules on white, *box* dots per module (2-module border)."""
    import qrcode

    # a fixed mask pattern: searching for the best one costs more than the rest of the ticket
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, mask_pattern=0)
    qr.add_data(payload)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    n = len(matrix)
    modules = Image.frombytes("L", (n, n), bytes(0 if dark else 255 for row in matrix for dark in row))
    return modules.resize((n * box, n * box), Image.Resampling.NEAREST)


def _strip(value: str, size: int, weight: str, width: int, max_lines: int, fill: int = 0,
           spacing: float = 1.25) -> Image.Image:
    """Lines of *value* centred in *width*, wrapped to at most *max_lines*
    (longer text ends in an ellipsis)."""
    f = typeset.font(size, weight)
    step = typeset.line_height(f, spacing)
    lines = typeset.wrap(value, f, width, max_lines=max_lines)
    strip = Image.new("L", (width, step * len(lines)), 255 - fill)
    draw = ImageDraw.Draw(strip)
    for i, part in enumerate(lines):
        if part:
            typeset.draw_text(draw, (width // 2, i * step), part, f, fill=fill, align="center")
    return strip


#: Lines that repeat on every ticket (office, service, labels, advice) are drawn
#: once and kept; the number, the queue figures and the time change, so are not.
_kept_strip = lru_cache(maxsize=64)(_strip)


def _number(label: str, size: int) -> Image.Image:
    """The very large ticket number, cropped to its ink."""
    f = typeset.font(size, "Black")
    strip = Image.new("L", (typeset.width(label, f) + size, int(size * 1.6)), 255)
    typeset.draw_text(ImageDraw.Draw(strip), (strip.width // 2, 0), label, f, align="center")
    return strip.crop(ImageOps.invert(strip).getbbox())


def threshold(image: Image.Image) -> Image.Image:
    """Grey to 1 bit at 50 %, no dithering (dithered text prints ragged)."""
    return image.convert("L").point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)


def complaint_lines(complaints) -> list[str]:
    """The ticket's complaint-channel lines (Persian digits; the address on its own line), [] for none."""
    if not complaints:
        return []
    parts = [text.COMPLAINTS_PHONE.format(phone=to_persian_digits(complaints.phone)) if complaints.phone else "",
             text.COMPLAINTS_SHORT_CODE.format(code=to_persian_digits(complaints.short_code))
             if complaints.short_code else ""]
    lines = [text.COMPLAINTS.format(channel="، ".join(p for p in parts if p))] if any(parts) else \
        [text.COMPLAINTS.format(channel="").strip()]
    return lines + ([complaints.url] if complaints.url else [])


def render_ticket(ticket, *, config, paper: str = "80mm", now: dt.datetime | None = None,
                  advice: str | None = None, complaints=None) -> Image.Image:
    """Draw *ticket* for *paper* (``"80mm"`` or ``"58mm"``); returns a mode ``"1"`` image.

    :param config: for the office name and id.
    :param now: the time printed (default: now).
    :param advice: one line, e.g. the documents to bring; a general line if None.
    :param complaints: the board's :class:`~pishkhan.boards.document.Complaints`, or None (no line).
    """
    try:
        width = PAPER_WIDTH[paper]
    except KeyError:
        raise RenderError(f"paper must be one of {sorted(PAPER_WIDTH)}, got {paper!r}") from None
    k = width / 576
    margin = int(round(14 * k))
    inner = width - 2 * margin
    centre = width // 2
    image = Image.new("L", (width, int(1400 * k)), 255)
    draw = ImageDraw.Draw(image)
    y = int(round(8 * k))

    def line(value: str, size: int, weight: str = "Regular", *, max_lines: int = 3, gap: int = 4, keep=True):
        nonlocal y
        strip = (_kept_strip if keep else _strip)(value, int(round(size * k)), weight, inner, max_lines)
        image.paste(strip, (margin, y))
        y += strip.height + int(round(gap * k))

    def rule():
        nonlocal y
        draw.line((margin, y, width - margin, y), fill=0, width=max(1, int(round(2 * k))))
        y += int(round(12 * k))

    line(config.office.name, 26, "Bold", max_lines=2)
    rule()
    line(ticket.service_title, 32, "Bold", max_lines=3)
    line(text.TICKET_NUMBER, 24, "Medium", gap=6)
    number = _number(ticket.display_label, int(round(150 * k)))
    image.paste(number, (centre - number.width // 2, y + int(round(6 * k))))
    y += number.height + int(round(30 * k))
    if ticket.priority:
        mark = _kept_strip(text.PRIORITY, int(round(28 * k)), "Bold", inner, 1, fill=255, spacing=1.2)
        box = mark.getbbox() or (0, 0, mark.width, mark.height)  # white ink on black
        pad = int(round(15 * k))
        w = box[2] - box[0] + 2 * pad
        draw.rectangle((centre - w // 2, y, centre + w // 2, y + mark.height), fill=0)
        image.paste(mark.crop((box[0] - pad, 0, box[2] + pad, mark.height)), (centre - w // 2, y))
        y += mark.height + int(round(10 * k))
    ahead = (text.PEOPLE_AHEAD.format(n=to_persian_digits(ticket.people_ahead)) if ticket.people_ahead
             else text.NOBODY_AHEAD)
    line(ahead, 28, "SemiBold", max_lines=1, gap=0, keep=False)
    wait = (text.WAIT.format(minutes=to_persian_digits(ticket.wait_minutes)) if ticket.wait_minutes > 0
            else text.WAIT_NONE)
    line(wait, 28, "SemiBold", max_lines=1, keep=False)
    rule()
    line(advice if advice else text.ADVICE_NONE, 22, "Regular", max_lines=2)
    moment = jalali.to_tehran(now or dt.datetime.now(dt.timezone.utc))
    line(f"{jalali.format_date(moment.date())} - {jalali.format_time(moment)}", 22, "Medium", max_lines=1,
         keep=False)
    qr = _qr_image(qr_payload(ticket, office_id=config.office.office_id), 5 if width >= 576 else 4)
    image.paste(qr, (centre - qr.width // 2, y))
    y += qr.height + int(round(4 * k))
    line(text.FOOTER, 20, "Regular", max_lines=1, gap=8)
    for value in complaint_lines(complaints):
        line(value, 22, "Medium", max_lines=2, gap=6)
    return threshold(image.crop((0, 0, width, min(y, image.height))))
