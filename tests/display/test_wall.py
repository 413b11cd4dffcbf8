"""The wall display as a real process on Xvfb, driven by the counter panel
(gpiozero MockFactory) and by staff writing to the same store."""

from __future__ import annotations

import re
import time

import pytest
from PIL import Image

from pishkhan.boards.installed import set_unavailable
from pishkhan.boards.notices import post_notice

from wall_ocr import ocr


def press(factory, pin: int):
    """A short press of the (pull-up) button on *pin*."""
    p = factory.pin(pin)
    p.drive_low()
    time.sleep(0.05)
    p.drive_high()


@pytest.fixture
def panel(office):
    from gpiozero.pins.mock import MockFactory

    from panel.app import Panel

    factory = MockFactory()
    with Panel(office.queue, office.config, pin_factory=factory) as p:
        p.factory = factory
        yield p
    factory.close()


def test_counter_press_shows_and_announces_the_call(office, issuer_key, sample_doc, display_factory, panel):
    office.install(issuer_key, sample_doc)
    for n in (1, 2, 3):
        office.queue.open_counter(n, actor="test")
    a1 = office.queue.issue("ID-01")          # lane A
    b1 = office.queue.issue("VEH-01")         # lane B (range 101-499)
    a2 = office.queue.issue("PASS-01")        # lane A
    wall = display_factory(office, seconds=60)
    wall.wait_for(lambda e: e["event"] == "first_page", timeout=30)

    pressed = time.time()
    press(panel.factory, 17)                  # counter 1's button
    shown = wall.wait_for(lambda e: e["event"] == "call_shown", after=pressed)
    assert (shown["ticket"], shown["counter"]) == (a1.label, 1) == ("A001", 1)
    assert shown["phrase"] == "شماره A۰۰۱، باجه ۱"
    assert shown["shown_at"] - pressed < 3.0  # a sanity bound; the figure comes from bench/display.py

    # A burst: two counters at once; both shown, both announced in order.
    burst = time.time()
    press(panel.factory, 22)                  # counter 2 -> lane B
    press(panel.factory, 24)                  # counter 3 -> lanes C, A, B -> A002
    wall.wait_for(lambda e: e["event"] == "call_shown" and e["ticket"] == a2.label, after=burst)
    deadline = time.monotonic() + 15
    while len(office.phrases()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert office.phrases() == ["شماره A۰۰۱، باجه ۱", f"شماره {b1.display_label}، باجه ۲", "شماره A۰۰۲، باجه ۳"]

    # What the customers see, read back with Persian OCR.
    # (Tesseract misreads the huge ring-shaped Persian zeros, so the number is
    # read back from the list of earlier calls, where it moves next.)
    first = Image.open(shown["screenshot"])
    counter_text = ocr(first.crop((20, 440, 580, 608)), psm=7)
    assert "باجه1" in counter_text.replace(" ", "")
    header = ocr(first.crop((800, 0, 1920, 75)), psm=7)
    assert "پیشخوان" in header and "1234" in header
    latest = wall.wait_for(lambda e: e["event"] == "call_shown" and e["ticket"] == a2.label)
    recent = ocr(Image.open(latest["screenshot"]).crop((0, 600, 600, 980)))
    rows = [line.replace(" ", "") for line in recent.splitlines() if "با" in line]
    assert any("01" in row and re.search(r"با.{1,3}1", row) for row in rows), recent   # A۰۰۱ — باجه ۱
    assert any(re.search(r"با.{1,3}2", row) for row in rows), recent                    # ۱۰۱ — باجه ۲


def test_board_change_and_staff_marks_change_the_pages(office, issuer_key, sample_doc, display_factory):
    office.install(issuer_key, sample_doc)
    wall = display_factory(office, seconds=60)
    first = wall.wait_for(lambda e: e["event"] == "pages", timeout=30)
    assert first["verified"] and first["version"] == "1"

    newer = dict(sample_doc, version=2)
    newer["categories"][0]["services"][0]["government_fee"] += 1_000_000
    installed = time.time()
    office.install(issuer_key, newer)
    changed = wall.wait_for(lambda e: e["event"] == "page" and e.get("version") == "2", after=installed)
    assert changed["reason"] == "board_changed" and changed["index"] == 0
    assert changed["shown_at"] - installed < 3.0, [(round(e["t"] - installed, 2), e["event"], e.get("rendered_ms")) for e in wall.events()]

    marked = time.time()
    set_unavailable(office.store, "ID-01", "سامانه قطع است", actor="test")
    page = wall.wait_for(lambda e: e["event"] == "page" and e["reason"] == "board_changed", after=marked)
    assert page["key"] != changed["key"]
    text = ocr(Image.open(page["screenshot"]).crop((600, 110, 1920, 980)))
    assert "ارائه" in text and "سامانه قطع" in text

    post_notice(office.store, "فردا دفتر از ساعت ۹ باز است", actor="test")
    rotated = wall.wait_for(lambda e: e["event"] == "page" and e["reason"] == "rotate", after=time.time())
    assert rotated["index"] >= 1 and rotated["count"] > 2
    footer = ocr(Image.open(rotated["screenshot"]).crop((0, 980, 1920, 1030)), psm=7)
    assert "فردا" in footer or "دفتر" in footer


def test_no_verified_board_says_so_plainly(office, issuer_key, sample_doc, display_factory):
    wall = display_factory(office, seconds=60, size="1080x1920")   # the portrait variant
    page = wall.wait_for(lambda e: e["event"] == "page", timeout=30)
    assert page["version"] is None
    shot = Image.open(page["screenshot"])
    assert shot.size == (1080, 1920)
    # Portrait: the now-serving panel spans the width under the header, the board below it.
    assert "نوبت فعلی" in ocr(shot.crop((300, 140, 780, 230)), psm=7)
    text = ocr(shot.crop((0, 690, 1080, 1810)))
    assert "تابلوی معتبر" in text and "کارکنان" in text
    assert "ریال" not in text                          # no made-up tariffs
    deadline = time.monotonic() + 10
    while (office.store.last_state("display") or {}).get("reason") != "no_verified_board":
        assert time.monotonic() < deadline, office.store.state_history("display")
        time.sleep(0.1)
    assert office.store.last_state("display")["state"] == "on"

    installed = time.time()
    office.install(issuer_key, sample_doc)
    wall.wait_for(lambda e: e["event"] == "page" and e.get("version") == "1", after=installed)
    deadline = time.monotonic() + 10
    while office.store.last_state("display")["reason"] == "no_verified_board":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert office.store.last_state("display")["detail"]["board"] == "1"


def test_a_store_damaged_under_the_wall_is_reported_and_the_wall_goes_on(office, issuer_key, sample_doc,
                                                                          display_factory):
    from store_faults import damage

    office.install(issuer_key, sample_doc)
    office.queue.open_counter(1, actor="test")
    office.queue.issue("ID-01")
    office.queue.call_next(1)
    wall = display_factory(office, seconds=60)
    wall.wait_for(lambda e: e["event"] == "first_page", timeout=30)
    damaged = time.time()
    damage(office.config.store_path)
    error = wall.wait_for(lambda e: e["event"] == "store_error", after=damaged, timeout=10)
    assert "damaged" in error["error"] and str(office.config.store_path) in error["error"]
    # the poll caught it: the wall still turns its board pages, and says it once, not 30 times a second
    wall.wait_for(lambda e: e["event"] == "page", after=error["t"] + 0.5, timeout=10)
    assert wall.proc.poll() is None
    assert len([e for e in wall.events() if e["event"] == "store_error"]) == 1
def test_a_hostile_stored_board_leaves_the_last_one_on_the_wall(office, issuer_key, sample_doc, display_factory):
    """A board in the store that the rules refuse (written past validation) is refused when
    loaded: the wall keeps the board it shows, and the refusal is a fact. (A board that passes
    the rules but fails to draw is the model's tests' case: test_wall_model.py.)"""
    from test_wall_model import board_refusals, install_unchecked, newer_board

    office.install(issuer_key, sample_doc)
    wall = display_factory(office, seconds=60)
    first = wall.wait_for(lambda e: e["event"] == "pages", timeout=30)
    assert first["version"] == "1"
    hostile = newer_board(sample_doc, 2)
    hostile["categories"][0]["services"][0]["title"] = "گواهی\x00\x1b[2J"
    install_unchecked(office.store, issuer_key, hostile)
    installed = time.time()
    deadline = time.monotonic() + 30
    while not board_refusals(office.store):
        assert time.monotonic() < deadline, office.store.state_history()
        time.sleep(0.2)
    assert "invalid" in board_refusals(office.store)[0]["reason"]
    rotated = wall.wait_for(lambda e: e["event"] == "page" and e["reason"] == "rotate", after=installed)
    assert rotated["version"] == "1"
    assert [e for e in wall.events() if e["event"] == "pages"] == [first]   # nothing else was put on show
