"""The office's customers, staff and centre, as one process the power cut kills with the rest.

Run by :class:`power_office.PowerOffice`:
``python office_driver.py CONFIG KEY SEED [RATE [BOARD_SHARE [CALL_SHARE]]]``.
It plays, in a loop, what the office's people and the centre do:

- a customer takes a ticket: the kiosk's path (``issue_and_print`` on the
  configured printer, a fake); when the call returns it writes
  ``T id day lane number`` on stdout: that ticket is *issued*;
- a counter calls the next ticket: the panel's path (``Queue.call_next``);
- now and then the centre's sync installs a newer signed board (the one
  install path); when it returns it writes ``B version verification_code``.

Each line is flushed before the next action, so what the parent has read is
what had returned before the cut. *RATE* is actions per second (default 25);
a day's rate in ``bench/storage_wear.py`` is far lower.
"""

from __future__ import annotations

import copy
import json
import random
import sys
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pishkhan.boards.installed import effective_for_config, install_board  # noqa: E402
from pishkhan.boards.signing import SigningKey  # noqa: E402
from pishkhan.config import load_config  # noqa: E402
from pishkhan.exc import PishkhanError  # noqa: E402
from pishkhan.hardware.printer import open_printer  # noqa: E402
from pishkhan.queue.core import Queue  # noqa: E402
from pishkhan.queue.issuing import issue_and_print  # noqa: E402
from pishkhan.store.database import open_store  # noqa: E402

SERVICES = ("ID-01", "VEH-01", "POST-01")
#: Share of actions that install a newer board (about one every few seconds at the default rate).
BOARD_SHARE = 0.01
CALL_SHARE = 0.25


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv) -> int:
    config_path, key_path, seed = argv[1], argv[2], int(argv[3])
    rate = float(argv[4]) if len(argv) > 4 else 25.0
    board_share = float(argv[5]) if len(argv) > 5 else BOARD_SHARE
    call_share = float(argv[6]) if len(argv) > 6 else CALL_SHARE
    rng = random.Random(seed)
    cfg = load_config(config_path)
    key = SigningKey.load(key_path)
    doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
    store = open_store(cfg)
    queue = Queue(store, cfg)
    printer = open_printer(cfg.get("printer.uri"))
    board = effective_for_config(store, cfg)
    version = board.base.board.version if board else 0
    say(f"S {time.time()}")
    while True:
        roll = rng.random()
        try:
            if roll < board_share:
                version += 1
                fresh = copy.deepcopy(doc)
                fresh["version"] = version
                installed = install_board(store, key.sign(fresh), source="centre", actor="power-cut driver")
                say(f"B {version} {installed.verification_code}")
            elif roll < board_share + call_share:
                queue.call_next(rng.choice(cfg.counters).number)
            else:
                result = issue_and_print(queue, printer, rng.choice(SERVICES), config=cfg)
                t = result.ticket
                say(f"T {t.id} {t.day} {t.lane} {t.number}")
        except PishkhanError as e:  # a refusal is a finding the parent counts, not a crash
            say(f"E {type(e).__name__} {getattr(e, 'reason', '')}")
        time.sleep(rng.uniform(0, 2 / rate))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
