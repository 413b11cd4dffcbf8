"""Kill an issuing process with SIGKILL at random instants, many times; count the damage.

Each round forks a child that opens the store and issues tickets as fast as
it can, writing ``id lane number`` to a pipe after each ``issue()`` returns
(that is "reported as issued"). After a random delay the parent kills it
with SIGKILL — mid-query, mid-commit or between tickets — and reads what
was reported. At the end it prints how many numbers were duplicated, how
many reported tickets were lost, and the store's integrity check.
Target: 0 duplicated, 0 lost.

    .venv/bin/python bench/crash.py [--rounds 500] [--seed 1] [--max-delay-ms 25]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pishkhan.boards.installed import install_board  # noqa: E402
from pishkhan.config import parse_config  # noqa: E402
from pishkhan.queue.core import Queue  # noqa: E402
from pishkhan.boards.signing import SigningKey  # noqa: E402
from pishkhan.store.database import Store  # noqa: E402
from pishkhan.boards.trust import trust_key  # noqa: E402

SERVICES = ["ID-01", "VEH-01", "POST-01"]


def child(cfg, fd: int) -> None:
    """Issue tickets until killed, reporting each one after it is committed."""
    try:
        st = Store(cfg.store_path)
        q = Queue(st, cfg)
        i = random.randrange(len(SERVICES))
        while True:
            t = q.issue(SERVICES[i % len(SERVICES)])
            os.write(fd, f"{t.id} {t.lane} {t.number}\n".encode())
            i += 1
    except BaseException as e:  # any error is a finding: report it and leave
        os.write(fd, f"ERROR {type(e).__name__}: {e}\n".encode())
    finally:
        os._exit(0)


def read_all(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-delay-ms", type=float, default=25.0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        # the default lanes, with room in the range lane for thousands of tickets
        lanes = [{"code": "A", "prefix": "A", "categories": ["id-card", "passport", "driving"]},
                 {"code": "B", "range": [101, 99999], "categories": ["vehicle", "judicial"]},
                 {"code": "C", "prefix": "C", "categories": ["*"]}]
        cfg = parse_config({"device": {"state_dir": tmp}, "hours": {"always_open": True}, "lanes": lanes})
        doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
        key = SigningKey.generate()
        with Store(cfg.store_path) as st:  # closed before any fork
            trust_key(st, key.public, label="bench", actor="bench")
            install_board(st, key.sign(doc), source="cli", actor="bench")
            for c in cfg.counters:
                Queue(st, cfg).open_counter(c.number, actor="bench")
        reported: dict[int, tuple[str, int]] = {}
        errors: list[str] = []
        for _ in range(args.rounds):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                random.seed(os.getpid())
                child(cfg, w)
            os.close(w)
            time.sleep(rng.uniform(0, args.max_delay_ms) / 1000)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            for line in read_all(r).splitlines():
                if line.startswith("ERROR"):
                    errors.append(line)
                    continue
                parts = line.split()
                if len(parts) == 3:  # a torn last line was never fully reported
                    reported[int(parts[0])] = (parts[1], int(parts[2]))
            os.close(r)
        with Store(cfg.store_path) as st:
            rows = st.query("SELECT id, day, lane, number FROM tickets WHERE origin_id IS NULL")
            integrity = st.query_one("PRAGMA integrity_check")[0]
    stored = {r["id"]: (r["lane"], r["number"]) for r in rows}
    keys = [(r["day"], r["lane"], r["number"]) for r in rows]
    duplicated = len(keys) - len(set(keys))
    lost = sum(1 for tid, value in reported.items() if stored.get(tid) != value)
    gaps = 0
    for day, lane in {(d, l) for d, l, _ in keys}:
        numbers = sorted(n for d, l, n in keys if (d, l) == (day, lane))
        gaps += (numbers[-1] - numbers[0] + 1) - len(numbers)
    print(f"rounds: {args.rounds} SIGKILLs at random instants (0-{args.max_delay_ms:g} ms after start), "
          f"{time.monotonic() - started:.1f} s")
    print(f"tickets reported as issued: {len(reported)}; tickets in the store: {len(rows)} "
          f"(committed but killed before reporting: {len(rows) - len(set(reported) & set(stored))})")
    print(f"duplicated numbers: {duplicated}")
    print(f"lost issued tickets: {lost}")
    print(f"gaps in numbering: {gaps}; integrity check: {integrity}; errors in children: {len(errors)}")
    for line in errors[:5]:
        print(f"  {line}")
    return 0 if duplicated == 0 and lost == 0 and integrity == "ok" and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
