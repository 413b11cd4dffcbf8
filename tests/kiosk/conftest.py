"""One real Kivy window (Xvfb) for every kiosk test; a fresh Kiosk per test.

Touches are real MotionEvents dispatched through Kivy's event loop at the
centre of the widget named in the test, and the clock is advanced with
``EventLoop.idle()``. Screens are read back with Tesseract (Persian).
"""

from __future__ import annotations

import pytest
from kiosk_harness import Driver, pump

from kivy.core.window import Window

from kiosk.app import Kiosk
from kiosk.model import KioskModel
from pishkhan.hardware.printer import FakePrinter


@pytest.fixture
def make_kiosk(config):
    made = []

    def make(store, *, printer=None, cfg=None, **kw):
        cfg = cfg or config
        printer = printer if printer is not None else FakePrinter()
        model = KioskModel(store, config=cfg, printer=printer)
        kiosk = Kiosk(model, config=cfg, **kw)
        Window.add_widget(kiosk)
        made.append(kiosk)
        pump()
        return Driver(kiosk, printer, store, cfg)

    yield make
    for kiosk in made:
        kiosk.close()
        Window.remove_widget(kiosk)
    pump()


@pytest.fixture
def open_store(board_store, config):
    """The sample board installed and every counter open."""
    from pishkhan.queue.core import Queue

    q = Queue(board_store, config)
    for c in config.counters:
        q.open_counter(c.number, actor="test")
    return board_store


