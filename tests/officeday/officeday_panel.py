"""The counter panel of the office day: the real panel on gpiozero's MockFactory, buttons pressed on request.

``python officeday_panel.py CONFIG`` builds :class:`panel.app.Panel` as
``pishkhan panel --pin-factory mock`` does, keeping the MockFactory, and
reads one JSON command a line on stdin: ``{"press": 1}`` drives counter 1's
button pin low then high (a short press: the panel calls the next ticket
there). It answers ``C counter`` once the press was released.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv) -> int:
    from gpiozero.pins.mock import MockFactory

    from panel.app import Panel
    from pishkhan.config import load_config
    from pishkhan.queue.core import Queue
    from pishkhan.store.database import open_store

    cfg = load_config(argv[1])
    factory = MockFactory()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    pins = {c.number: c.button_pin for c in cfg.counters if c.button_pin is not None}

    def presses():
        for line in sys.stdin:
            if not line.strip():
                continue
            number = json.loads(line)["press"]
            pin = factory.pin(pins[number])
            pin.drive_low()
            time.sleep(0.05)
            pin.drive_high()
            sys.stdout.write(f"C {number}\n")
            sys.stdout.flush()
        stop.set()

    with open_store(cfg) as store:
        with Panel(Queue(store, cfg), cfg, pin_factory=factory) as panel:
            sys.stdout.write(f"S {time.time()}\n")
            sys.stdout.flush()
            threading.Thread(target=presses, name="presses", daemon=True).start()
            panel.run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
