"""Time from the issue call to ESC/POS bytes ready, over N tickets.

Each sample is one ticket: commit it (BEGIN IMMEDIATE, synchronous=FULL on a
real file), render the Persian ticket, threshold it and encode it as ESC/POS
raster + cut. Prints p50 and p95 in milliseconds (target: p95 < 50 ms).

    .venv/bin/python bench/ticket.py [--tickets 1000] [--paper 80mm]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pishkhan.boards.installed import install_board  # noqa: E402
from pishkhan.config import parse_config  # noqa: E402
from pishkhan.queue.issuing import ticket_bytes  # noqa: E402
from pishkhan.queue.core import Queue  # noqa: E402
from pishkhan.boards.signing import SigningKey  # noqa: E402
from pishkhan.store.database import Store  # noqa: E402
from pishkhan.boards.trust import trust_key  # noqa: E402

SERVICES = ["ID-01", "VEH-01", "POST-01", "PASS-01", "JUD-02", "SUB-01"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=1000)
    ap.add_argument("--paper", choices=["80mm", "58mm"], default="80mm")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = parse_config({"device": {"state_dir": tmp}, "hours": {"always_open": True},
                            "printer": {"paper": args.paper}})
        doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
        key = SigningKey.generate()
        with Store(cfg.store_path) as st:
            trust_key(st, key.public, label="bench", actor="bench")
            install_board(st, key.sign(doc), source="cli", actor="bench")
            q = Queue(st, cfg)
            for c in cfg.counters:
                q.open_counter(c.number, actor="bench")
            ticket_bytes(q.issue(SERVICES[0]), queue=q, config=cfg)  # warm caches (fonts, escpos)
            samples, sizes = [], 0
            for i in range(args.tickets):
                start = time.perf_counter()
                t = q.issue(SERVICES[i % len(SERVICES)])
                data = ticket_bytes(t, queue=q, config=cfg)
                samples.append((time.perf_counter() - start) * 1000)
                sizes += len(data)
                if i % 50 == 49:  # keep the queue short, as in an office
                    for c in cfg.counters:
                        q.call_next(c.number)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(round(0.95 * (len(samples) - 1)))]
    print(f"tickets: {len(samples)} ({args.paper}), bytes per ticket: {sizes // len(samples)}")
    print(f"issue -> ESC/POS bytes ready: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {samples[-1]:.1f} ms "
          f"(target p95 < 50 ms: {'met' if p95 < 50 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
