"""What the store-backed working hours cost per question, and the first use of the built-in calendar.

The queue, kiosk and display ask :class:`~pishkhan.schedule.hours.ScheduleHours`
many times a second at worst (the screen power asks three days each tick,
``next_open`` walks up to a month). Each question checks whether a schedule
was installed since (one small query), then answers from memory. Prints
microseconds per ``is_open``, ``next_open`` (across a closure and a weekend)
and ``describe_day``, for the config's hours, for ScheduleHours with nothing
installed and with a schedule installed; the time of re-reading after an
install; and the first built-in calendar lookup (a child process).

    .venv/bin/python bench/schedule.py [--n 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pishkhan.boards.signing import SigningKey  # noqa: E402
from pishkhan.boards.trust import trust_key  # noqa: E402
from pishkhan.config import parse_config  # noqa: E402
from pishkhan.schedule.defaults import CALENDAR  # noqa: E402
from pishkhan.schedule.hours import hours_from_config  # noqa: E402
from pishkhan.schedule.installed import install_schedule  # noqa: E402
from pishkhan.store.database import Store  # noqa: E402
from pishkhan.text.jalali import TEHRAN  # noqa: E402

AT = dt.datetime(2026, 12, 14, 15, 0, tzinfo=TEHRAN)  # Monday after closing; the 15th-16th are closed


def per_call(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def measure(label: str, hours, n: int):
    print(f"{label:34} is_open {per_call(lambda: hours.is_open(AT), n):7.1f} µs   "
          f"next_open {per_call(lambda: hours.next_open(AT), n // 10):8.1f} µs   "
          f"describe_day {per_call(lambda: hours.describe_day(AT.date()), n):7.1f} µs")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    CALENDAR.holiday(AT.date())  # the instance ScheduleHours uses, so later figures leave it out
    print(f"built-in calendar, first lookup (child process): {(time.perf_counter() - start) * 1000:.0f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = parse_config({"device": {"state_dir": tmp}, "hours": {"always_open": False}})
        with Store(cfg.store_path) as st:
            measure("config WeeklyHours", hours_from_config(cfg), args.n)
            hours = hours_from_config(cfg, store=st)
            measure("ScheduleHours, nothing installed", hours, args.n)
            key = SigningKey.generate()
            trust_key(st, key.public, actor="bench")
            doc = json.loads(resources.files("pishkhan.data").joinpath("sample_schedule.json").read_text("utf-8"))
            install_schedule(st, key.sign(doc), source="cli", actor="bench", province="23")
            start = time.perf_counter()
            hours.is_open(AT)
            print(f"re-read after an install: {(time.perf_counter() - start) * 1000:.2f} ms")
            measure("ScheduleHours, schedule installed", hours, args.n)


if __name__ == "__main__":
    main()
