"""What the wall *drew* for each call, read back from its screenshots.

The display reports each call it shows (``call_shown``), but that event is
the app's own word: a wall whose big "now serving" number showed another
ticket would still report the right one. Here the now-serving box is found
by its colour in the screenshot, and the ticket number, the counter and the
rows of earlier calls are read back from the pixels glyph by glyph
(tests/glyph_read.py), then compared with what the queue called.
"""

from __future__ import annotations

import time

from PIL import Image, ImageChops

from glyph_read import DIGITS, GlyphReader, bands, ink_mask, pieces, read_any_size, words
from pishkhan.text.persian import to_persian_digits
from wall_ocr import ocr

#: The wall's colours (display.app.COLOURS) as drawn: the latest call's box
#: while highlighted, the same box afterwards, and the window's background.
HIGHLIGHT = (244, 162, 97)
PANEL = (19, 54, 95)
BACKGROUND = (11, 37, 69)
#: Type sizes in the now-serving panel at scale 1 (1920x1080 and 1080x1920):
#: the number in Vazirmatn Black, the counter in Bold, earlier calls in Regular.
NUMBER, COUNTER, ROW = (190, "Black"), (92, "Bold"), (44, "Regular")


def _exactly(shot: Image.Image, colour) -> Image.Image:
    """A mask, white where *shot* is exactly *colour*."""
    diff = ImageChops.difference(shot.convert("RGB"), Image.new("RGB", shot.size, tuple(colour)))
    r, g, b = diff.split()
    return ImageChops.lighter(ImageChops.lighter(r, g), b).point(lambda v: 255 if v == 0 else 0)


def _box(shot: Image.Image, colour) -> tuple[int, int, int, int] | None:
    """The bounding box of the pixels of exactly *colour* (the now-serving box)."""
    return _exactly(shot, colour).getbbox()


def now_serving(shot: Image.Image) -> dict:
    """The ticket number and counter drawn in the now-serving box of *shot*."""
    colour = HIGHLIGHT if _box(shot, HIGHLIGHT) else PANEL
    box = _box(shot, colour)
    assert box is not None, "no now-serving box on the screen"
    panel = shot.convert("RGB").crop(box)
    found = bands(ink_mask(panel, background=colour), gap=6)
    assert len(found) >= 3, f"expected title, number and counter in the box, found ink bands {found}"
    top, bottom = max(found, key=lambda b: b[1] - b[0])
    below = [b for b in found if b[0] >= bottom]
    assert below, f"no counter line under the number (bands {found})"
    c_top, c_bottom = max(below, key=lambda b: b[1] - b[0])
    number = read_any_size(pieces(panel.crop((0, top, panel.width, bottom)), background=colour), NUMBER[1],
                           largest=NUMBER[0])
    counter_line = panel.crop((0, c_top, panel.width, c_bottom))
    groups = words(pieces(counter_line, background=colour), gap=(c_bottom - c_top) // 5)
    # «باجه ۲» drawn right to left: the digits are the word on the left
    counter = read_any_size(groups[0], COUNTER[1], largest=COUNTER[0], chars=DIGITS)
    return {"box": box, "colour": colour, "number": number, "counter": counter, "number_height": bottom - top}


def earlier_calls(shot: Image.Image, box) -> list[tuple[str, str]]:
    """(number, counter) of each row of earlier calls under the now-serving box, top first."""
    rgb = shot.convert("RGB")
    x = max(1, box[0] // 2)                      # the panel's margin, left of the box
    bottom = box[3]
    while bottom < rgb.height and rgb.getpixel((x, bottom)) != BACKGROUND:
        bottom += 1                              # the gap under the box
    end = bottom
    while end < rgb.height and rgb.getpixel((x, end)) == BACKGROUND:
        end += 1                                 # down to the footer
    area = rgb.crop((box[0], bottom, box[2], end))
    rows = []
    reader = GlyphReader(*ROW)
    found = bands(ink_mask(area, background=BACKGROUND), gap=6)
    for top, low in found[1:]:                   # the first line is the heading «نوبت‌های قبلی»
        line = area.crop((0, top, area.width, low))
        groups = words(pieces(line, background=BACKGROUND), gap=(low - top) // 5)
        # «A۰۰۱   —   باجه ۱» drawn right to left: the counter on the left, the number on the right
        rows.append((reader.read_pieces(groups[-1]), reader.read_pieces(groups[0])))
    return rows, area


def _called(wall, ticket, after):
    return wall.wait_for(lambda e: e["event"] == "call_shown" and e["ticket"] == ticket.label and "screenshot" in e,
                         after=after)


def test_the_now_serving_number_drawn_is_the_ticket_called(office, issuer_key, sample_doc, display_factory):
    office.install(issuer_key, sample_doc)
    for n in (1, 2, 3):
        office.queue.open_counter(n, actor="test")
    a1 = office.queue.issue("ID-01")          # A001
    b1 = office.queue.issue("VEH-01")         # 101 (a range lane)
    a2 = office.queue.issue("PASS-01")        # A002
    wall = display_factory(office, seconds=90)
    wall.wait_for(lambda e: e["event"] == "first_page", timeout=30)

    seen = []
    for counter, ticket in ((1, a1), (2, b1), (3, a2)):
        before = time.time()
        called = office.queue.call_next(counter)
        assert called.label == ticket.label
        shown = _called(wall, ticket, before)
        shot = Image.open(shown["screenshot"])
        drawn = now_serving(shot)
        assert drawn["colour"] == HIGHLIGHT, "a new call is highlighted"
        assert (drawn["number"], drawn["counter"]) == (ticket.display_label, to_persian_digits(str(counter))), \
            (counter, ticket.label, drawn)
        assert drawn["number_height"] > 100     # the big number, not a row of the list
        seen.append((shot, drawn))

    # The rows of earlier calls, newest first, under the last screenshot's box.
    shot, drawn = seen[-1]
    rows, area = earlier_calls(shot, drawn["box"])
    assert rows == [(b1.display_label, "۲"), (a1.display_label, "۱")], rows
    # The heading over them says what they are (Tesseract reads words well at this size).
    heading = bands(ink_mask(area, background=BACKGROUND), gap=6)[0]
    assert "نوبت" in ocr(area.crop((0, heading[0] - 4, area.width, heading[1] + 4)), psm=7)


def test_after_the_highlight_the_number_stays_and_a_recall_shows_it_again(office, issuer_key, sample_doc,
                                                                          display_factory):
    office.install(issuer_key, sample_doc)
    office.queue.open_counter(2, actor="test")
    b1 = office.queue.issue("VEH-01")          # 101
    b2 = office.queue.issue("VEH-02")          # 102
    wall = display_factory(office, seconds=90, size="1080x1920")   # portrait: the panel spans the width
    wall.wait_for(lambda e: e["event"] == "first_page", timeout=30)
    before = time.time()
    office.queue.call_next(2)
    first = now_serving(Image.open(_called(wall, b1, before)["screenshot"]))
    assert (first["number"], first["counter"]) == (b1.display_label, "۲")

    before = time.time()
    office.queue.call_next(2)                  # 101 done, 102 called
    second = now_serving(Image.open(_called(wall, b2, before)["screenshot"]))
    assert (second["number"], second["counter"]) == (b2.display_label, "۲")

    # A recall is a new call of the same ticket: shown again, highlighted again.
    before = time.time()
    office.queue.recall(2)
    again = wall.wait_for(lambda e: e["event"] == "call_shown" and e.get("recall") and "screenshot" in e,
                          after=before)
    drawn = now_serving(Image.open(again["screenshot"]))
    assert (drawn["number"], drawn["counter"], drawn["colour"]) == (b2.display_label, "۲", HIGHLIGHT)


HEADER = (7, 25, 48)   # the header's and the footer's ground


def _fold(text: str) -> str:
    from pishkhan.text.persian import normalise, to_latin_digits

    return "".join(ch for ch in to_latin_digits(normalise(text)) if not ch.isspace() and ch not in "\u200c.،:")


def test_the_footer_shows_the_whole_notice(office, issuer_key, sample_doc, display_factory):
    """The ticker line reads as the notice posted, all of it (not one word of two)."""
    import difflib

    from pishkhan.boards.notices import post_notice

    office.install(issuer_key, sample_doc)
    wall = display_factory(office, seconds=90)
    wall.wait_for(lambda e: e["event"] == "first_page", timeout=30)
    notice = "فردا دفتر از ساعت ۹ باز است"
    post_notice(office.store, notice, actor="test")
    posted = time.time()
    # The wall picks the notice up within a poll (1/30 s); a page shown a second later has it.
    page = wall.wait_for(lambda e: e["event"] == "page" and "screenshot" in e, after=posted + 1.0, timeout=30)
    shot = Image.open(page["screenshot"]).convert("RGB")
    top = shot.height - 1
    while top > 0 and shot.getpixel((2, top - 1)) == HEADER:
        top -= 1                                   # up to the footer's top edge
    footer = shot.crop((0, top, shot.width, shot.height))
    line = bands(ink_mask(footer, background=HEADER), gap=6)[0]   # the ticker is the footer's first line
    read = ocr(footer.crop((0, max(0, line[0] - 8), footer.width, line[1] + 8)), psm=7)
    ratio = difflib.SequenceMatcher(None, _fold(notice), _fold(read)).ratio()
    assert ratio >= 0.85, (read, ratio)
    for word in ("فردا", "دفتر", "ساعت", "باز"):
        assert word in read, (word, read)
