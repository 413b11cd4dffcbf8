"""The ticket number the kiosk *drew*, read back from a screenshot.

The other kiosk tests check the number widget's text, which is what the app
meant to show; here the pixels inside that widget are read glyph by glyph
(tests/glyph_read.py) and must spell the ticket the store holds, in order,
large, and visible on its ground.
"""

from __future__ import annotations

from PIL import Image

from glyph_read import DIGITS, LETTERS, pieces, read_any_size, tallest_band
from kiosk.widgets import FONT_BOLD
from pishkhan.queue.core import Queue

FIRST = "ID-01"


def drawn_number(d, path) -> tuple[str, int]:
    """What the ticket screen drew inside its number widget: (glyphs read, ink height)."""
    d.screenshot(path)
    number = d.find("ticket-number")
    shot = Image.open(path).convert("RGB")
    assert shot.size == tuple(int(v) for v in d.kiosk.size)
    x, y = number.to_window(number.x, number.y)
    # Kivy counts y up from the bottom; the image counts down from the top.
    box = (int(x), int(shot.height - y - number.height), int(x + number.width), int(shot.height - y))
    crop = shot.crop(box)
    band = tallest_band(crop)
    weight = FONT_BOLD.rsplit("Vazirmatn-", 1)[-1].removesuffix(".ttf")
    read = read_any_size(pieces(band), weight, largest=int(number.font_size), chars=DIGITS + LETTERS)
    return read, band.height


def _ticket(d, service=FIRST):
    d.tap("start")
    d.tap(f"service:{service}")
    d.tap("take-ticket")
    assert d.kiosk.current == "ticket"
    d.wait_for(lambda: d.kiosk.screen.params.get("print_state") != "printing")


def test_the_ticket_number_drawn_is_the_ticket_issued(make_kiosk, open_store, config, tmp_path):
    d = make_kiosk(open_store)
    _ticket(d)
    read, height = drawn_number(d, tmp_path / "first.png")
    label = open_store.query_one("SELECT label FROM tickets ORDER BY id DESC")["label"]
    assert (label, read) == ("A001", "A۰۰۱")
    assert height >= 80, f"the number is drawn only {height} px tall"
    d.tap("done")

    # Others take tickets meanwhile (the staff, a second kiosk): the next number has other digits.
    queue = Queue(open_store, config)
    for _ in range(45):
        queue.issue(FIRST)
    _ticket(d)
    read, _ = drawn_number(d, tmp_path / "second.png")
    assert read == "A۰۴۷", read
    assert open_store.query_one("SELECT label FROM tickets ORDER BY id DESC")["label"] == "A047"


def test_a_failed_print_keeps_the_number_drawn(make_kiosk, open_store, tmp_path):
    d = make_kiosk(open_store)
    d.printer.fail_with("paper_out")
    _ticket(d)
    assert d.kiosk.screen.params["print_state"] == "failed"
    read, height = drawn_number(d, tmp_path / "failed.png")
    assert read == "A۰۰۱" and height >= 80, (read, height)
