"""Helpers for the kiosk tests: a touch driver, clock pumping and OCR."""

from __future__ import annotations

import time

from kiosk import prepare_kivy

prepare_kivy(size=(1280, 800))

from kivy.base import EventLoop  # noqa: E402


EventLoop.ensure_window()

from kiosk.journey import TouchDriver  # noqa: E402  (after the window exists)
from kiosk.journey import pump as journey_pump  # noqa: E402


def pump(seconds: float = 0.0, *, frames: int = 3):
    """Run Kivy's loop for a few frames, or for *seconds* (kiosk.journey.pump)."""
    journey_pump(seconds, frames)


class Driver(TouchDriver):
    """Drives one kiosk with touches, as a customer would; knows its printer and store."""

    def __init__(self, kiosk, printer, store, config):
        super().__init__(kiosk, frames=3)
        self.printer, self.store, self.config = printer, store, config

    def find(self, name):
        try:
            return self.widget(name)
        except LookupError as e:
            raise AssertionError(str(e)) from None

    def tap(self, name, *, hold: float = 0.0):
        """Touch the centre of the widget called *name* on the current screen."""
        try:
            super().tap(name, hold=hold)
        except LookupError as e:
            raise AssertionError(str(e)) from None

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
    from pishkhan.text.persian import normalise

    return normalise(text).replace(" ", "")
