"""The customer-respect channel at the kiosk (real window, real touches, real store, fake printer):
the complaint channel on the start screen and on the printed ticket, and rating the service once per ticket."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
from kiosk_harness import pump, seen

from kiosk.widgets import find, overflows
from pishkhan.boards.installed import install_board
from pishkhan.queue.core import Queue
from pishkhan.render.ticket import complaint_lines

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "queue"))
from queue_raster import decode_raster, ocr  # noqa: E402

FIRST = "ID-01"
CHANNEL = {"phone": "021-1112", "short_code": "30001111", "url": "https://tekrim.example.ir/s"}


class Ticking:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def channel_store(open_store, issuer_key, sample_doc):
    doc = copy.deepcopy(sample_doc)
    doc["version"] += 1
    doc["complaints"] = CHANNEL
    install_board(open_store, issuer_key.sign(doc), source="cli", actor="test")
    return open_store


def test_channel_on_the_start_screen_and_on_the_printed_ticket(make_kiosk, channel_store, tmp_path):
    d = make_kiosk(channel_store, threaded_print=False)
    line = d.find("complaints").text
    assert "پیشنهاد و شکایت" in line and "۰۲۱-۱۱۱۲" in line and "۳۰۰۰۱۱۱۱" in line and CHANNEL["url"] in line
    seen(d.screenshot(tmp_path / "attract.png"), "پیشنهاد و شکایت")
    assert not overflows(d.kiosk.screen)
    assert find(d.kiosk.screen, "rate") is None  # nothing served yet: no rating offered
    d.tap("start")
    d.tap(f"service:{FIRST}")
    d.tap("take-ticket")
    [ticket] = decode_raster(d.printer.data)
    assert complaint_lines(d.kiosk.model.complaints())[0].endswith("تلفن ۰۲۱-۱۱۱۲، پیامک ۳۰۰۰۱۱۱۱")
    tail = ticket.crop((0, ticket.height - 150, ticket.width, ticket.height))  # the channel closes the ticket
    persian = ocr(tail.crop((0, 0, tail.width, 100)))
    assert "پیشنهاد و شکایت" in persian and "پیامک" in persian, persian  # (Tesseract misreads the digits)
    latin = ocr(tail.crop((0, 90, tail.width, tail.height)), lang="eng", psm=7)
    assert CHANNEL["url"].removeprefix("https://") in latin.replace(" ", ""), latin


def test_nothing_shown_without_a_channel(make_kiosk, open_store):
    d = make_kiosk(open_store)
    assert find(d.kiosk.screen, "complaints") is None and find(d.kiosk.screen, "rate") is None
    assert d.kiosk.model.complaints() is None


def type_number(d, label):
    """Type *label* on the keypad and press OK; a bare number keeps the lane letter typed before (A)."""
    if label[0].isdigit() and not d.kiosk.screen.typed.startswith("A"):
        label = "A" + label
    for key in label:
        d.tap(f"rate-key:{key}")
    d.tap("rate-key:OK")


def test_rating_once_per_served_ticket_with_kind_refusals_and_timeout(make_kiosk, open_store, config):
    queue = Queue(open_store, config)
    first, second, waiting = (queue.issue(FIRST) for _ in range(3))
    for _ in range(2):
        queue.call_next(1)
        queue.finish(1)
    clock = Ticking()
    d = make_kiosk(open_store, monotonic=clock)
    assert not overflows(d.kiosk.screen)
    d.tap("rate")
    assert d.kiosk.current == "rate" and d.find("rate-message").text == "شماره نوبت خود را از روی برگه وارد کنید"
    assert not overflows(d.kiosk.screen)
    type_number(d, "A1")                                    # A001, typed short
    assert d.kiosk.screen.params["step"] == "score" and "A۰۰۱" in d.find("rate-question").text
    assert not overflows(d.kiosk.screen)
    assert [d.find(f"score:{s}").text.split()[-1] for s in (5, 1)] == ["عالی", "ضعیف"]
    d.tap("score:5")
    assert d.find("rate-thanks").text == "سپاس از شما؛ امتیاز شما ثبت شد."
    d.tap("done")
    assert d.kiosk.current == "attract"
    d.tap("rate")
    type_number(d, "1")                                     # the same ticket again (A001): refused kindly
    assert d.kiosk.screen.params["step"] == "number"
    assert d.find("rate-message").text.startswith("برای این نوبت امروز پیش‌تر امتیاز داده شده است")
    assert d.find("rate-typed").text == " "
    type_number(d, "3")                                     # A003: not served yet
    assert d.find("rate-message").text.startswith("خدمت این نوبت هنوز به پایان نرسیده است")
    type_number(d, "9")                                     # A009: never issued
    assert d.find("rate-message").text.startswith("این شماره در نوبت‌های امروز نیست")
    assert find(d.kiosk.screen, "back") is not None and find(d.kiosk.screen, "home") is not None  # no dead end
    type_number(d, "A2")
    d.tap("score:2")
    rows = [tuple(r) for r in open_store.query("SELECT ticket_number, score FROM ratings ORDER BY ticket_number")]
    assert rows == [(first.label, 5), (second.label, 2)]
    assert len(open_store.audit_entries(action="rating.given")) == 2
    clock.now += 16                                         # thanked: back to the start like a printed ticket
    d.kiosk.tick()
    pump()
    assert d.kiosk.current == "attract"
    # left alone on the keypad: the idle timeout takes it back to the start screen
    d.kiosk.show("rate", push=False, step="number")
    clock.now += float(config.kiosk.idle_timeout) + 1
    d.kiosk.tick()
    pump()
    assert d.kiosk.current == "attract"


def test_rating_screens_fit_a_portrait_screen(make_kiosk, open_store, config):
    from kivy.core.window import Window

    queue = Queue(open_store, config)
    queue.issue(FIRST)
    queue.call_next(1)
    queue.finish(1)
    before = tuple(Window.size)
    Window.size = (800, 1280)
    pump(frames=5)
    try:
        d = make_kiosk(open_store)
        assert not overflows(d.kiosk.screen)
        d.tap("rate")
        assert not overflows(d.kiosk.screen)
        type_number(d, "A1")
        assert d.kiosk.screen.params["step"] == "score" and not overflows(d.kiosk.screen)
        d.tap("score:3")
        assert [tuple(r) for r in open_store.query("SELECT ticket_number, score FROM ratings")] == [("A001", 3)]
    finally:
        Window.size = before
        pump(frames=5)
