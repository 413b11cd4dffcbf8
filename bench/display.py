"""Benchmark the wall display: start-up, call latency, page switches, memory.

Runs the real ``pishkhan display`` process (on Xvfb when there is no screen)
against a fresh office state with the sample board, no broker and no network,
and prints:

- process start to first board page on screen (cold, then with the pages
  kept on disk), target < 10 s;
- call to counter → call on screen, p50/p95 ms over 200 calls (``call_next``
  from this process, i.e. another connection, as the panel process does);
- board change (staff marks a service unavailable) → new first page on screen;
- page switch (texture upload) time;
- resident memory over a long run of rotation, calls and a scrolling ticker.

Usage: ``.venv/bin/python -m bench.display [--calls 200] [--soak 150]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pishkhan.boards.installed import install_board, set_unavailable  # noqa: E402
from pishkhan.config import default_toml, parse_config  # noqa: E402
from cli.headless import VirtualDisplay  # noqa: E402
from pishkhan.boards.notices import post_notice  # noqa: E402
from pishkhan.queue.core import Queue  # noqa: E402
from pishkhan.boards.signing import SigningKey  # noqa: E402
from pishkhan.store.database import Store  # noqa: E402
from pishkhan.boards.trust import trust_key  # noqa: E402


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class Events:
    """Follows the display's --events file."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.seen: list[dict] = []

    def poll(self) -> list[dict]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind("\n")
        if end < 0:
            return []
        self.offset += len(chunk[:end + 1].encode("utf-8"))
        new = [json.loads(line) for line in chunk[:end].splitlines() if line.strip()]
        self.seen += new
        return new

    def wait(self, predicate, timeout=30.0) -> dict:
        end = time.monotonic() + timeout
        for e in self.seen:
            if predicate(e):
                self.seen.remove(e)
                return e
        while time.monotonic() < end:
            for e in self.poll():
                if predicate(e):
                    self.seen.remove(e)
                    return e
            time.sleep(0.01)
        raise TimeoutError("the display did not report the expected event in time")


def make_office(root: Path, *, seconds_per_page: int):
    state = root / "state"
    state.mkdir(parents=True, exist_ok=True)
    toml = (default_toml(always_open=True)
            .replace('state_dir = ""', f'state_dir = "{state}"')
            .replace('screen_power = ["cec", "blank"]', 'screen_power = ["fake", "blank"]')
            .replace('audio = "auto"', f'audio = "file:{state / "audio.jsonl"}"')
            .replace("seconds_per_page = 12", f"seconds_per_page = {seconds_per_page}"))
    path = root / "pishkhan.toml"
    path.write_text(toml, encoding="utf-8")
    config = parse_config(tomllib.loads(toml), path)
    store = Store(config.store_path)
    key = SigningKey.generate()
    trust_key(store, key.public, label="bench", actor="bench")
    doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
    install_board(store, key.sign(doc), source="cli", actor="bench")
    queue = Queue(store, config)
    for n in (1, 2, 3):
        queue.open_counter(n, actor="bench")
    return path, config, store, queue, doc


def spawn(config_path: Path, events: Path, seconds: float):
    env = dict(os.environ, KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", PYTHONPATH=str(ROOT))  # the CLI prepares Kivy
    start = time.time()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "display", "--config", str(config_path),
                             "--events", str(events), "--seconds", str(seconds)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return start, proc


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--soak", type=float, default=150, help="seconds of the memory run")
    args = ap.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-display-"))
    try:
        with VirtualDisplay((1920, 1080)):
            run(root, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(root: Path, args):
    config_path, config, store, queue, doc = make_office(root, seconds_per_page=2)
    services = [s["code"] for c in doc["categories"] for s in c["services"]]
    issuable = services[2:]  # the first two are marked unavailable now and then
    rng = random.Random(7)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start "
          "(other processes slow down software GL; the Pi draws with its GPU)")

    # 1. Start-up: cold (pages rendered), then warm (pages kept on disk).
    for label in ("cold", "warm"):
        ev_path = root / f"events-{label}.jsonl"
        started, proc = spawn(config_path, ev_path, 600)
        ev = Events(ev_path)
        first = ev.wait(lambda e: e["event"] == "first_page", timeout=60)
        page = ev.wait(lambda e: e["event"] == "page")
        print(f"start to first board page ({label}): {(page['shown_at'] - started) * 1000:.0f} ms "
              f"(target < 10000 ms)")
        if label == "cold":
            proc.terminate()
            proc.wait()

    # 2. Calls: 200 call_next from this process, each waited for on screen.
    for _ in range(args.calls + 10):
        queue.issue(rng.choice(issuable))
    latencies, detects, drawn, swaps, panels = [], [], [], [], []
    for i in range(args.calls):
        counter = 1 + i % 3
        t0 = time.time()
        ticket = queue.call_next(counter)
        if ticket is None:
            queue.issue(rng.choice(issuable))
            continue
        shown = ev.wait(lambda e: e["event"] == "call_shown" and e["ticket"] == ticket.label
                        and e["counter"] == counter, timeout=10)
        latencies.append((shown["shown_at"] - t0) * 1000)
        detects.append((shown["detected_at"] - t0) * 1000)
        drawn.append((shown["shown_at"] - shown["queued_at"]) * 1000)
        swaps.append(shown["swap_ms"])
        panels.append(shown["panel_ms"])
        time.sleep(rng.uniform(0.02, 0.12))
    print(f"call to screen over {len(latencies)} calls: p50 {pct(latencies, 50):.0f} ms, "
          f"p95 {pct(latencies, 95):.0f} ms, max {max(latencies):.0f} ms (target p95 < 150 ms); "
          f"of which commit seen: p50 {pct(detects, 50):.0f} ms, p95 {pct(detects, 95):.0f} ms; "
          f"update to frame on screen: p50 {pct(drawn, 50):.0f} ms, p95 {pct(drawn, 95):.0f} ms "
          f"(drawing the now-serving panel: p50 {pct(panels, 50):.0f} ms, p95 {pct(panels, 95):.0f} ms; "
          f"buffer swap alone: p50 {pct(swaps, 50):.0f} ms)")

    # 3. Board changes by staff → first page of the new board on screen; page switches.
    changes = []
    code = services[0]
    for i in range(6):
        t0 = time.time()
        set_unavailable(store, code, "سامانه قطع است" if i % 2 == 0 else None, actor="bench")
        shown = ev.wait(lambda e: e["event"] == "page" and e["reason"] == "board_changed", timeout=20)
        changes.append((shown["shown_at"] - t0) * 1000)
        time.sleep(0.5)
    print(f"staff change to new board page on screen: p50 {pct(changes, 50):.0f} ms, "
          f"max {max(changes):.0f} ms (target < 1000 ms)")
    proc.terminate()
    proc.wait()

    # 4. Memory over a long run: pages every second, a call every ~0.7 s, a scrolling ticker.
    store.close()
    config_path, config, store, queue, doc = make_office(root / "soak", seconds_per_page=1)
    post_notice(store, "به اطلاع می‌رساند " * 12 + "دفتر فردا از ساعت ۹ باز است.", actor="bench")
    ev_path = root / "events-soak.jsonl"
    started, proc = spawn(config_path, ev_path, args.soak + 30)
    ev = Events(ev_path)
    ev.wait(lambda e: e["event"] == "first_page", timeout=60)
    samples = []
    t_end = time.monotonic() + args.soak
    next_sample = time.monotonic() + 15  # after warm-up
    calls = 0
    while time.monotonic() < t_end:
        queue.issue(rng.choice(issuable))
        if queue.call_next(1 + calls % 3):
            calls += 1
        if calls % 40 == 20:
            set_unavailable(store, services[1], "موقتاً" if calls % 80 == 20 else None, actor="bench")
        if time.monotonic() >= next_sample:
            samples.append((time.monotonic(), rss_mb(proc.pid)))
            next_sample += 5
        ev.poll()
        ev.seen.clear()
        time.sleep(0.7)
    page_events = [e for e in Events(ev_path).poll() if e["event"] == "page"]
    blits = [e["blit_ms"] for e in page_events]
    proc.terminate()
    proc.wait()
    rss = [r for _, r in samples]
    n = len(samples)
    t0 = samples[0][0]
    xs = [(t - t0) / 60 for t, _ in samples]
    def trend(xs, ys):
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / max(1e-9, sum((x - mx) ** 2 for x in xs))

    half = n // 2
    slope, late = trend(xs, rss), trend(xs[half:], rss[half:])
    print(f"page switch (texture upload) over {len(blits)} switches: p50 {pct(blits, 50):.1f} ms, "
          f"p95 {pct(blits, 95):.1f} ms")
    print(f"memory over {args.soak:.0f} s ({calls} calls, {len(page_events)} page switches, "
          f"ticker scrolling): RSS after warm-up {rss[0]:.1f} MB, max {max(rss):.1f} MB, last {rss[-1]:.1f} MB; "
          f"mean first half {statistics.fmean(rss[:half]):.1f} MB, second half {statistics.fmean(rss[half:]):.1f} MB; "
          f"trend {slope:+.2f} MB/min overall, {late:+.2f} MB/min over the second half")
    print("RSS samples (MB, every 5 s): " + " ".join(f"{r:.0f}" for r in rss))


if __name__ == "__main__":
    main()
