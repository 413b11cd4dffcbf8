"""The kiosk of the office day: the real kiosk widgets, touched by a script the harness sends.

``python officeday_kiosk.py CONFIG`` builds the kiosk as ``pishkhan kiosk``
does (:func:`kiosk.app.open_model`, :class:`kiosk.app.Kiosk`, its printer from
``printer.uri``) and runs Kivy's event loop itself, so it can touch widgets
between frames with :class:`kiosk.journey.TouchDriver` (Kivy MotionEvents
dispatched at a widget's centre, as a finger's). It reads one JSON command a
line on stdin and answers on stdout, one line each, flushed:

- ``{"take": N}``: attract → start → the N-th service shown (modulo how many
  the first page shows) → take ticket. When the ticket screen shows a number:
  ``T id day lane number`` (the ticket is *issued*: a customer holds its
  number), and the next customer may come; when its print ended (the kiosk's
  own print thread): ``P id printed`` or ``P id STATE``; a refusal:
  ``R screen`` (``R closed``, ``R out``, ``R lookup …``).
- ``{"paper": "paper_out"}`` / ``{"paper": "ok"}``: the fake printer runs out
  of paper, or gets a new roll (the next print records ``ok``).
- ``{"usb": "attack"}``: staff mode, then the staff's USB board import
  (:class:`kiosk.staff.StaffActions`) of each file the stick shows: see :func:`usb`.

SIGTERM stops it cleanly, as systemd does.
"""

from __future__ import annotations

import json
import queue
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _commands() -> queue.Queue:
    inbox: queue.Queue = queue.Queue()

    def read():
        for line in sys.stdin:
            if line.strip():
                inbox.put(json.loads(line))
        inbox.put(None)

    threading.Thread(target=read, name="commands", daemon=True).start()
    return inbox


def main(argv) -> int:
    from pishkhan.config import load_config
    from pishkhan.runtime.kivy_env import prepare_kivy

    cfg = load_config(argv[1])
    prepare_kivy(size=(800, 480))
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.app import Kiosk, open_model
    from kiosk.journey import TouchDriver, pump
    from pishkhan.hardware.printer import open_printer

    EventLoop.ensure_window()
    printer = open_printer(cfg.printer.uri)
    model = open_model(cfg, printer=printer)
    print_ticket = model.print_ticket

    def printed(ticket):  # the kiosk's print thread: say how each print ended, while the next customer comes
        result = print_ticket(ticket)
        say(f"P {ticket.id} {'printed' if result[0] else result[1] or 'failed'}")
        return result

    model.print_ticket = printed
    kiosk = Kiosk(model, config=cfg)
    Window.add_widget(kiosk)
    pump(0.2)
    driver = TouchDriver(kiosk, frames=1)
    inbox = _commands()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a clean stop, as systemd asks
    say(f"S {time.time()}")
    while not stop.is_set():
        pump(frames=1)
        try:
            command = inbox.get(timeout=0.01)
        except queue.Empty:
            continue
        if command is None:
            return 0
        if "take" in command:
            take(driver, kiosk, command["take"])
        elif "paper" in command:
            if command["paper"] == "ok":
                printer.recover()
            else:
                printer.fail_with(command["paper"])
            say(f"K {command['paper']}")
        elif "usb" in command:
            usb(kiosk, cfg)
    kiosk.close()
    if model.store is not None:
        model.store.close()
    return 0


def take(driver, kiosk, choice: int):
    from kiosk.journey import pump

    kiosk.home()
    pump(frames=driver.frames)
    try:
        driver.tap("start")
        shown = sorted(str(w.name) for w in kiosk.screen.walk()
                       if str(getattr(w, "name", "")).startswith("service:") and not getattr(w, "disabled", False))
        if not shown:
            say(f"R no-service {kiosk.current}")
            return
        driver.tap(shown[int(choice) % len(shown)])
        driver.tap("take-ticket")
    except LookupError as e:
        say(f"R lookup {str(e).split(';')[0]}")
        return
    if kiosk.current != "ticket":
        say(f"R {kiosk.current}")
        return
    t = kiosk.screen.params["ticket"]
    say(f"T {t.id} {t.day} {t.lane} {t.number}")
    kiosk.finish()  # the customer takes the ticket as it prints; the next one comes


def usb(kiosk, cfg):
    """Staff mode, then the staff's USB board import (:class:`kiosk.staff.StaffActions`) of every file the
    stick shows: ``U scan problem skipped truncated``, then ``U refused REASON`` / ``U installed -`` per file,
    ``U crashed ERROR`` if anything escaped the import path's own refusals."""
    from kiosk.staff import ImportRefused

    kiosk.enter_staff()
    try:
        found = kiosk.staff_actions.usb_files()
        say(f"U scan {found.problem or 'ok'} {found.skipped} {found.truncated} {len(found.files)}")
        for path in found.files[:10]:
            try:
                kiosk.staff_actions.import_board(path)
                say("U installed -")
            except ImportRefused as e:
                say(f"U refused {getattr(e, 'reason', None) or getattr(e, 'kind', '-')}")
    except Exception as e:  # noqa: BLE001  -- the harness counts anything that escaped as a finding
        say(f"U crashed {type(e).__name__}")
    finally:
        kiosk.leave_staff("exit")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
