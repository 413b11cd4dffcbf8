"""A scripted customer journey with real touches, saving a screenshot per step.

Used by the demo (``pishkhan kiosk --script journey --screenshots DIR``)
and the memory benchmark. Touches are Kivy MotionEvents dispatched through
the event loop at the centre of the named widget, exactly as a finger's.
"""

from __future__ import annotations

import time
from pathlib import Path

from kivy.base import EventLoop
from kivy.tests.common import UnitTestTouch

from .widgets import find


def pump(seconds: float = 0.0, frames: int = 2):
    """Run the event loop for a few frames, or for *seconds*."""
    end = time.monotonic() + seconds
    for _ in range(frames):
        EventLoop.idle()
    while time.monotonic() < end:
        EventLoop.idle()


class TouchDriver:
    """Touches widgets of a :class:`~kiosk.app.Kiosk` by name."""

    def __init__(self, kiosk, *, frames: int = 2):
        self.kiosk = kiosk
        self.frames = frames
        self.touches = 0

    def widget(self, name):
        widget = find(self.kiosk.screen, name)
        if widget is None:
            names = sorted({str(getattr(w, "name", "")) for w in self.kiosk.screen.walk() if getattr(w, "name", "")})
            raise LookupError(f"no widget {name!r} on the {self.kiosk.current} screen; there are: {names}")
        return widget

    def touch_at(self, x, y, *, hold: float = 0.0):
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        pump(hold)
        touch.touch_up()
        pump(frames=self.frames)
        self.touches += 1

    def tap(self, name, *, hold: float = 0.0):
        widget = self.widget(name)
        if getattr(widget, "disabled", False):
            raise LookupError(f"{name!r} is disabled on the {self.kiosk.current} screen")
        x, y = widget.to_window(*widget.center)
        self.touch_at(x, y, hold=hold)

    def wait_printed(self, timeout: float = 10.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pump()
            state = self.kiosk.screen.params.get("print_state")
            if self.kiosk.current == "ticket" and state != "printing":
                return state
            time.sleep(0.005)
        raise TimeoutError("the ticket did not finish printing")


def take_ticket(driver: TouchDriver, code: str) -> str:
    """attract → browse → service → take ticket (three touches); the print state."""
    driver.kiosk.home()
    pump(frames=driver.frames)
    driver.tap("start")
    driver.tap(f"service:{code}")
    driver.tap("take-ticket")
    if driver.kiosk.current != "ticket":
        return driver.kiosk.current
    return driver.wait_printed()


class Screenshots:
    """Numbered screenshots of *kiosk* in *out_dir* (``PREFIX-NN-label.png``): call it with a label; ``taken`` lists
    them in order."""

    def __init__(self, kiosk, out_dir, *, prefix: str, say=print):
        self.kiosk, self.out, self.prefix, self.say = kiosk, Path(out_dir), prefix, say
        self.out.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def __call__(self, label: str) -> Path:
        pump(0.05)
        path = self.out / f"{self.prefix}-{len(self.taken) + 1:02d}-{label}.png"
        self.kiosk.export_to_png(str(path))
        self.taken.append(path)
        self.say(f"  {path.name}: {self.kiosk.current} screen")
        return path


def play(kiosk, out_dir, *, say=print) -> list[Path]:
    """Play the demo journey on *kiosk*, saving numbered screenshots in *out_dir*."""
    d = TouchDriver(kiosk)
    shot = Screenshots(kiosk, out_dir, prefix="kiosk", say=say)
    shots = shot.taken

    board = kiosk.model.board
    shot("attract")
    if board is None:
        return shots
    first = board.categories[0].services[0].code
    d.tap("start")
    shot("services")
    d.tap(f"service:{first}")
    shot("service-detail")
    d.tap("take-ticket")
    if kiosk.current == "ticket":
        d.wait_printed()
    shot("ticket" if kiosk.current == "ticket" else kiosk.current)
    d.tap("done" if kiosk.current == "ticket" else "home")
    d.tap("start")
    d.tap("search")
    for ch in "گذرنامه":
        d.tap(f"key:{ch}")
    shot("search")
    d.tap("home")
    d.tap("language")
    d.tap("start")
    shot("english")
    d.tap("language")
    d.tap("text-size")
    shot("large-text")
    d.tap("text-size")
    d.tap("text-size")
    d.tap("home")
    # Staff: a long press in the top-left corner opens the PIN pad.
    d.touch_at(20, kiosk.height - 20, hold=kiosk.long_press_seconds + 0.3)
    shot("staff-pin")
    kiosk.home()
    return shots


def play_library(kiosk, out_dir, *, pin: str, say=print) -> dict:
    """The staff's part of the demo on *kiosk*: the PIN typed on the pad, the circulars library, the newest
    unread circular opened, its first page, acknowledged with «خواندم؛ تأیید»; a screenshot per step in
    *out_dir* (``staff-NN-label.png``). Returns ``{"shots": [...], "acknowledged": "scope/number" or ""}``."""
    d = TouchDriver(kiosk)
    shot = Screenshots(kiosk, out_dir, prefix="staff", say=say)
    shots = shot.taken

    kiosk.home()
    pump(frames=d.frames)
    d.touch_at(20, kiosk.height - 20, hold=kiosk.long_press_seconds + 0.3)  # the long press opens the PIN pad
    for digit in pin:
        d.tap(f"pin:{digit}")
    d.tap("pin:OK")
    if kiosk.current != "staff":
        shot(kiosk.current)
        return {"shots": shots, "acknowledged": ""}
    d.tap("staff_library")
    shot("library")
    unread = [e for e in kiosk.model.library.entries() if e.acknowledged_at is None and not e.superseded_by]
    if not unread:
        kiosk.home()
        d.tap("staff_exit")
        return {"shots": shots, "acknowledged": ""}
    e = unread[0]
    d.tap(f"circular:{e.number}")
    shot("circular")
    d.tap("pages")
    shot("page-1")
    d.tap("back")
    d.tap("acknowledge")
    shot("acknowledged")
    d.tap("back")
    shot("library-read")
    d.tap("home")  # the staff menu
    d.tap("staff_exit")
    return {"shots": shots, "acknowledged": f"{e.scope_key}/{e.number}"}
