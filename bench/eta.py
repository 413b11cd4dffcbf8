"""How good are the wait estimates? Simulate a seeded office day and measure.

Customers arrive at random (Poisson, per lane) from 07:30 to the cut-off,
service times are drawn at random (log-normal, per lane), and three
counters call the next ticket whenever they are free — all through the real
:class:`~pishkhan.queue.core.Queue` on a real store file, with the store's clock
moved by the simulation. For every ticket the estimate printed on it is
compared with the wait it actually had (arrival → first call).

Prints the mean absolute error in minutes (overall and per lane), the bias,
and the mean actual wait for scale. ``--days`` runs several days in a row on
one store, so later days start from the service times learned earlier.

    .venv/bin/python bench/eta.py [--seed 1] [--days 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import math
import random
import statistics
import sys
import tempfile
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pishkhan.boards.installed import install_board  # noqa: E402
from pishkhan.config import parse_config  # noqa: E402
from pishkhan.exc import OfficeClosed  # noqa: E402
from pishkhan.text.jalali import TEHRAN  # noqa: E402
from pishkhan.queue.core import Queue  # noqa: E402
from pishkhan.boards.signing import SigningKey  # noqa: E402
from pishkhan.store.database import Store, parse_iso  # noqa: E402
from pishkhan.boards.trust import trust_key  # noqa: E402

#: lane -> (service code, arrivals per hour, mean service minutes, spread of log-normal)
LANES = {"A": ("ID-01", 14.0, 7.0, 0.5), "B": ("VEH-01", 9.0, 5.0, 0.5), "C": ("POST-01", 12.0, 4.0, 0.6)}
FIRST_DAY = dt.date(2026, 11, 28)  # a Saturday: 07:30-14:30 by the default hours


def simulate_day(q: Queue, clock: list, day: dt.date, rng: random.Random) -> list[tuple[str, int, float]]:
    """Run one day; returns (lane, estimated minutes, actual minutes) per ticket called."""
    opening = dt.datetime.combine(day, dt.time(7, 30), TEHRAN)
    closing = dt.datetime.combine(day, dt.time(14, 30), TEHRAN)
    events: list = []
    seq = 0

    def push(at, kind, data=None):
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, seq, kind, data))

    for lane, (_, per_hour, _, _) in LANES.items():
        at = opening
        while True:
            at += dt.timedelta(minutes=rng.expovariate(per_hour / 60))
            if at >= closing:
                break
            push(at, "arrive", lane)
    counters = [c.number for c in q.config.counters]
    busy: dict[int, bool] = {n: False for n in counters}
    issued: dict[int, tuple[str, int]] = {}
    results = []

    def call(n):
        t = q.call_next(n)
        if t is None:
            busy[n] = False
            return
        busy[n] = True
        est = issued.pop(t.id, None)
        if est is not None:
            actual = (parse_iso(t.called_at) - parse_iso(t.arrived_at)).total_seconds() / 60
            results.append((t.lane, est[1], actual))
        _, _, mean, spread = LANES[t.lane]
        minutes = rng.lognormvariate(math.log(mean) - spread ** 2 / 2, spread)
        push(clock[0] + dt.timedelta(minutes=minutes), "done", n)

    while events:
        at, _, kind, data = heapq.heappop(events)
        clock[0] = at
        if kind == "arrive":
            try:
                t = q.issue(LANES[data][0])
            except OfficeClosed:
                continue
            issued[t.id] = (t.lane, t.wait_minutes)
            for n in counters:
                if not busy[n]:
                    call(n)
        else:
            call(data)  # finishes the current ticket and calls the next
    for n in counters:
        q.finish(n)
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=int, default=1)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    clock = [dt.datetime.combine(FIRST_DAY, dt.time(7, 0), TEHRAN)]
    all_results = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = parse_config({"device": {"state_dir": tmp}, "hours": {"always_open": False}})
        doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
        key = SigningKey.generate()
        with Store(cfg.store_path, clock=lambda: clock[0]) as st:
            trust_key(st, key.public, label="bench", actor="bench")
            install_board(st, key.sign(doc), source="cli", actor="bench")
            q = Queue(st, cfg)
            for c in cfg.counters:
                q.open_counter(c.number, actor="bench")
            day, done = FIRST_DAY, 0
            while done < args.days:
                if q.hours.periods(day):
                    all_results.append(simulate_day(q, clock, day, rng))
                    done += 1
                day += dt.timedelta(days=1)
    print(f"simulated {args.days} day(s), seed {args.seed}; lanes (arrivals/h, mean service min): "
          + ", ".join(f"{k} ({v[1]:g}, {v[2]:g})" for k, v in LANES.items()) + "; 3 counters")
    for i, results in enumerate(all_results, 1):
        errors = [est - actual for _, est, actual in results]
        print(f"day {i}: {len(results)} tickets, mean actual wait {statistics.mean(a for *_, a in results):.1f} min, "
              f"MAE {statistics.mean(abs(e) for e in errors):.1f} min, bias {statistics.mean(errors):+.1f} min")
    results = [r for day in all_results for r in day]
    errors = [est - actual for _, est, actual in results]
    print("per lane MAE: " + ", ".join(
        f"{lane} {statistics.mean(abs(e - a) for l, e, a in results if l == lane):.1f} min" for lane in LANES))
    print(f"MAE of the wait estimate: {statistics.mean(abs(e) for e in errors):.1f} minutes "
          f"(bias {statistics.mean(errors):+.1f}; mean actual wait {statistics.mean(a for *_, a in results):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
