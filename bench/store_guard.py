"""What the store's guards cost: opening (``PRAGMA quick_check``) and the numbering mark per ticket.

Printed:

- milliseconds to open a store of about 1, 10 and 50 MB (the open guard reads
  every page once through ``quick_check``), against ``quick_check`` alone;
- milliseconds per ticket issued, with the high-water mark written (fsync and
  rename) as built, and with the mark write left out, for comparison.

    .venv/bin/python bench/store_guard.py [--dir /var/tmp] [--tickets 100]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from pishkhan.config import parse_config
from pishkhan.queue.core import Queue
from pishkhan.queue.numbering import HighWaterMark
from pishkhan.store.database import Store


def _grow(path: Path, megabytes: int):
    with Store(path) as st:
        blob = "x" * 4000
        n = megabytes * 1024 * 1024 // 4100

        def fill(c):
            for i in range(n):
                c.execute("INSERT INTO audit_log(at, actor, action, subject, detail) VALUES (?,?,?,?,?)",
                          ("2026-01-01T00:00:00.000000Z", "bench", "fill", str(i), blob))

        st.write(fill)


def _open_ms(path: Path, runs: int = 5) -> tuple[float, float]:
    opens, checks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        Store(path).close()
        opens.append((time.perf_counter() - start) * 1000)
        conn = sqlite3.connect(path)
        start = time.perf_counter()
        conn.execute("PRAGMA quick_check").fetchall()
        checks.append((time.perf_counter() - start) * 1000)
        conn.close()
    return statistics.median(opens), statistics.median(checks)


def _issue_ms(folder: Path, tickets: int, *, mark: bool) -> float:
    from pishkhan.boards.installed import install_board
    from pishkhan.boards.signing import SigningKey
    from pishkhan.boards.trust import trust_key
    import json
    from importlib import resources

    state = folder / ("with" if mark else "without")
    cfg = parse_config({"device": {"state_dir": str(state)}, "hours": {"always_open": True}})
    key = SigningKey.generate()
    doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
    with Store(cfg.store_path) as st:
        trust_key(st, key.public, actor="bench")
        install_board(st, key.sign(doc), source="cli", actor="bench")
        q = Queue(st, cfg)
        q.open_counter(1, actor="bench")
        if not mark:
            q.mark = type("NoMark", (HighWaterMark,), {"raise_to": lambda self, *a: None})(q.mark.path)
        code = "ID-01"  # a service of the sample board
        times = []
        for _ in range(tickets):
            start = time.perf_counter()
            q.issue(code)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=None)
    ap.add_argument("--tickets", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        folder = Path(d)
        print("open a store (median of 5 runs):")
        for mb in (1, 10, 50):
            path = folder / f"s{mb}.db"
            _grow(path, mb)
            size = path.stat().st_size / 1e6
            opened, checked = _open_ms(path)
            print(f"  {size:6.1f} MB   open {opened:7.1f} ms   quick_check alone {checked:7.1f} ms")
        print(f"issue a ticket (median of {args.tickets}):")
        for mark in (True, False):
            label = "with the mark   " if mark else "without the mark"
            print(f"  {label}  {_issue_ms(folder, args.tickets, mark=mark):6.2f} ms")


if __name__ == "__main__":
    main()
