"""How long the compliance minute takes as the device's history grows.

Prints figures, never asserts. A store is filled with N days of an office's
facts — one boot a day (the Pi restarted each night), the agent beating
every ten minutes from 07:00 to 15:00, the kiosk, three counters and the
printer changing state some 40 times a day — then ``judge_day`` for the last
day is timed, as the agent's minute does it (best of 5, this process's CPU).
``load_facts`` reads the whole state log and every uptime row, so the time
grows with the history: the figures say by how much.

    .venv/bin/python bench/compliance.py [--days 1 30 90 365]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pishkhan.compliance.judge import judge_day  # noqa: E402
from pishkhan.compliance.uptime import beat  # noqa: E402
from pishkhan.hardware.clock import FakeClock  # noqa: E402
from pishkhan.schedule.hours import Hours  # noqa: E402
from pishkhan.store.database import Store  # noqa: E402
from pishkhan.text.jalali import TEHRAN  # noqa: E402

FIRST = dt.date(2026, 1, 1)


class DayShift(Hours):
    def periods(self, day):
        return [(dt.datetime.combine(day, dt.time(7, 30), TEHRAN), dt.datetime.combine(day, dt.time(14, 30), TEHRAN))]


def fill(store: Store, clock: FakeClock, days: int) -> int:
    """*days* office days into *store*; the number of facts written."""
    facts = 0
    for n in range(days):
        day = FIRST + dt.timedelta(days=n)
        if n:
            clock.reboot(down=dt.timedelta(hours=15), wall=dt.datetime.combine(day, dt.time(7, 0), TEHRAN),
                         synced=True)
        clock.wall = dt.datetime.combine(day, dt.time(7, 0), TEHRAN)
        for step in range(48):  # 07:00 to 15:00, ten minutes a step
            beat(store, "agent")
            if step == 3:
                facts += store.record_state("kiosk", "accepting")
            if step in (3, 20, 30):
                for c in (1, 2, 3):
                    facts += store.record_state(f"counter:{c}", "open" if step != 20 or c != 2 else "closed")
            if step % 6 == 5:
                facts += store.record_state("printer", "paper_out" if step % 12 == 5 else "ok")
            if step == 46:
                facts += store.record_state("kiosk", "not_accepting", "closed")
            clock.advance(minutes=10)
    return facts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, nargs="+", default=[1, 30, 90, 365])
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-compliance-"))
    for days in args.days:
        clock = FakeClock(dt.datetime.combine(FIRST, dt.time(7, 0), TEHRAN), synced=True, boot_id="boot-1")
        path = work / f"{days}.db"
        with Store(path, clock=clock.now, boot=clock) as store:
            start = time.monotonic()
            facts = fill(store, clock, days)
            filled = time.monotonic() - start
            last = FIRST + dt.timedelta(days=days - 1)
            until = dt.datetime.combine(last, dt.time(14, 0), TEHRAN)
            times = []
            for _ in range(5):
                t = time.process_time()
                report = judge_day(store, DayShift(), last, until=until)
                times.append(time.process_time() - t)
            rows = store.query("SELECT COUNT(*) AS n FROM state_log")[0]["n"]
            print(f"{days:4d} days: {rows} facts, {len(store.query('SELECT 1 FROM uptime'))} uptime rows, "
                  f"store {path.stat().st_size / 1e6:.1f} MB (filled in {filled:.1f} s); judge_day for the last "
                  f"day {min(times) * 1000:.0f} ms (best of 5), serving {report['serving_minutes']} of "
                  f"{report['judged_minutes']} judged minutes")


if __name__ == "__main__":
    main()
