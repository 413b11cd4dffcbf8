"""Helpers for the kiosk tests: a touch driver, clock pumping and OCR."""

from __future__ import annotations

import time

from kiosk import prepare_kivy

prepare_kivy(size=(1280, 800))

from kivy.base import EventLoop  # noqa: E402
from kivy.tests.common import UnitTestTouch  # noqa: E402

from kiosk.widgets import find  # noqa: E402

EventLoop.ensure_window()

from kiosk.journey import pump as journey_pump  # noqa: E402  (after the window exists)


def pump(seconds: float = 0.0, *, frames: int = 3):
    """Run Kivy's loop for a few frames, or for *seconds* (kiosk.journey.pump)."""
    journey_pump(seconds, frames)


class Driver:
    """Drives one kiosk with touches, as a customer would."""

    def __init__(self, kiosk, printer, store, config):
        self.kiosk, self.printer, self.store, self.config = kiosk, printer, store, config
        self.touches = 0

    def find(self, name):
        widget = find(self.kiosk.screen, name)
        if widget is None:
            names = sorted({str(getattr(w, "name", "")) for w in self.kiosk.screen.walk() if getattr(w, "name", "")})
            raise AssertionError(f"no widget {name!r} on screen {self.kiosk.current}; there are: {names}")
        return widget

    def touch_at(self, x, y, *, hold: float = 0.0):
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        pump(hold)
        touch.touch_up()
        pump()
        self.touches += 1

    def tap(self, name, *, hold: float = 0.0):
        """Touch the centre of the widget called *name* on the current screen."""
        widget = self.find(name)
        assert not getattr(widget, "disabled", False), f"{name} is disabled"
        x, y = widget.to_window(*widget.center)
        self.touch_at(x, y, hold=hold)

    def wait_for(self, predicate, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pump()
            if predicate():
                return
            time.sleep(0.01)
        raise AssertionError("timed out waiting")

    def screenshot(self, path) -> str:
        pump()
        self.kiosk.export_to_png(str(path))
        return str(path)


def ocr_readings(path):
    """Persian readings of a screenshot (Tesseract, ``fas``), cheapest first.

    The image is made black on white (inverted and thresholded: white text
    on dark ground and on the blue buttons becomes black) and read as a page,
    then as sparse text; the dark text on the yellow buttons is read from the
    thresholded image as it is.
    """
    import pytesseract
    from PIL import Image, ImageOps

    gray = Image.open(path).convert("RGB").convert("L")
    light_text = ImageOps.invert(gray).point(lambda v: 255 if v > 150 else 0)
    dark_text = gray.point(lambda v: 255 if v > 110 else 0)
    for image, psm in ((light_text, 3), (light_text, 11), (dark_text, 11)):
        yield pytesseract.image_to_string(image, lang="fas", config=f"--psm {psm}")


def seen(path, *phrases):
    """Assert Tesseract reads every phrase on the screenshot *path*."""
    text = ""
    for reading in ocr_readings(path):
        text += squash(reading)
        missing = [p for p in phrases if squash(p) not in text]
        if not missing:
            return
    raise AssertionError(f"OCR did not find {missing} in:\n{text}")


def squash(text: str) -> str:
    """Text without spaces, ZWNJ or Arabic-form differences, for OCR comparison."""
    from pishkhan.persian import normalise

    return normalise(text).replace(" ", "")
