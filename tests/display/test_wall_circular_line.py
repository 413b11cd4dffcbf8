"""The wall's staff line: while a circular awaits the staff's acknowledgement the wall says so in one small
line, never what the circular says; acknowledged (or superseded), the line goes."""

from __future__ import annotations

import datetime as dt

from circulars_for_screens import entry, install, persian_pdf

from display import wall_strings as S
from display.model import WallModel
from pishkhan.boards.trust import trust_key
from pishkhan.circulars.library import Library
from pishkhan.store.database import Store

TITLE = "بخشنامه محرمانه تعرفه"


def test_the_wall_says_a_circular_awaits_the_staff_and_nothing_more(config, issuer_key, tmp_path):
    office = Store(config.store_path)  # the agent and the kiosk, another connection
    trust_key(office, issuer_key.public, label="test issuer", actor="test")
    wall = WallModel(Store(config.store_path), config, board_size=(1320, 870), pages_dir=tmp_path / "pages")
    try:
        wall.refresh_footer()
        assert wall.staff_text == ""
        install(office, issuer_key, [entry("1405/123", persian_pdf(TITLE), title=TITLE)])
        update = wall.poll()
        assert update.footer and wall.staff_text == S.NEW_CIRCULAR
        shown = " ".join([wall.staff_text, wall.hours_text, wall.version_text, wall.ticker])
        assert TITLE not in shown and "1405" not in shown  # not the content
        Library(office, config.state_dir / "circulars").acknowledge(
            "national", "1405/123", who="staff", now=dt.datetime(2026, 12, 7, 9, tzinfo=dt.timezone.utc))
        update = wall.poll()
        assert update.footer and wall.staff_text == ""
    finally:
        wall.pages.close()
        wall.store.close()
        office.close()


def test_the_staff_line_is_drawn_small_under_the_recent_calls(office, issuer_key, sample_doc, display_factory):
    from PIL import Image
    from wall_ocr import ocr

    from pishkhan.text.persian import normalise

    office.install(issuer_key, sample_doc)
    install(office.store, issuer_key, [entry("1405/123", persian_pdf(TITLE), title=TITLE)])
    wall = display_factory(office, seconds=60)
    page = wall.wait_for(lambda e: e["event"] == "page" and "screenshot" in e, timeout=40)
    line = Image.open(page["screenshot"]).convert("RGB").crop((0, 918, 600, 984))  # the panel's foot (1920x1080)
    read = normalise(ocr(line, psm=7)).replace(" ", "")
    assert normalise("برای کارکنان").replace(" ", "") in read, read
