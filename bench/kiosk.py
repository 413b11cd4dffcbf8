"""Kiosk benchmark: cold start to first frame, memory over 1,000 customer journeys.

Prints figures, never fails on them. Targets: resident memory after 1,000
journeys under 5 % above that after 10 (no leak); peak under 150 MB.

    .venv/bin/python -m bench.kiosk [--journeys 1000] [--starts 3] [--no-gl-journeys 200]

Runs under Xvfb when there is no display. Each journey is real touches:
attract → a service on the first category page → "take a ticket", the
ticket committed to a real store and printed to a printer that discards
the bytes (a recording fake would itself grow). The journeys run in a new
process, as a kiosk would: the parent prepares the store.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def software_gl_mb() -> float:
    """Resident size of a software GL driver's code (Mesa llvmpipe: libLLVM, swrast); 0 on a GPU."""
    total, counted = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            parts = line.split()
            if parts and not parts[0].endswith(":") and "-" in parts[0]:
                path = parts[5] if len(parts) > 5 else ""
                counted = any(k in path for k in ("libLLVM", "swrast_dri", "libgallium"))
            elif counted and parts[0] == "Rss:":
                total += int(parts[1])
    return total / 1024


def peak_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def bench_config(state_dir):
    """The kiosk's configuration for the benchmark: always open, its store in *state_dir*."""
    from pishkhan.config import parse_config

    return parse_config({"device": {"state_dir": str(state_dir)}, "hours": {"always_open": True}})


def prepare_state(state_dir: Path):
    """A store with the sample board installed and every counter open.

    Done in the parent: signing loads cryptography, which a kiosk that only
    reads its installed board never does, so it must not count in the kiosk.
    """
    from importlib import resources

    from pishkhan.boards.installed import install_board
    from pishkhan.queue.core import Queue
    from pishkhan.boards.signing import SigningKey
    from pishkhan.store.database import Store
    from pishkhan.boards.trust import trust_key

    cfg = bench_config(state_dir)
    doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
    key = SigningKey.generate()
    with Store(cfg.store_path) as store:
        trust_key(store, key.public, actor="bench")
        install_board(store, key.sign(doc), source="cli", actor="bench")
        queue = Queue(store, cfg)
        for counter in cfg.counters:
            queue.open_counter(counter.number, actor="bench")


def child_first_frame(state_dir: str):
    """Start a kiosk and report when its first frame has been drawn."""
    from pishkhan.runtime.kivy_env import prepare_kivy

    prepare_kivy(size=(1280, 800))
    from kivy.base import EventLoop
    from kivy.clock import Clock
    from kivy.core.window import Window

    from kiosk.app import Kiosk, open_model

    cfg = bench_config(state_dir)
    EventLoop.ensure_window()
    kiosk = Kiosk(open_model(cfg, printer=None), config=cfg)
    Window.add_widget(kiosk)
    drawn = []
    Window.bind(on_flip=lambda *_: drawn.append(time.time()))
    while not drawn:
        EventLoop.idle()
    print(json.dumps({"first_frame": drawn[0], "screen": kiosk.current}), flush=True)
    Clock.unschedule(kiosk.tick)


def child(args: list[str], failure: str, *, timeout: float, **env) -> dict:
    """Run this benchmark with *args* in a new process, passing its progress
    lines through; returns the JSON line it printed last."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "bench.kiosk", *args], cwd=ROOT, env={**os.environ, **env},
                                stdout=subprocess.PIPE, stderr=err, text=True)
        result = None
        deadline = time.monotonic() + timeout
        for line in proc.stdout:
            if line.startswith("{"):
                result = json.loads(line)
            else:
                print(line, end="", flush=True)
            if time.monotonic() > deadline:
                proc.kill()
                break
        proc.wait()
        if result is None:
            err.seek(0)
            raise SystemExit(f"{failure}:\n{err.read()[-2000:]}")
    return result


def cold_starts(state_dir: Path, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.time()
        frame = child(["--child-first-frame", str(state_dir)], "the kiosk did not start", timeout=120)
        times.append(frame["first_frame"] - start)
    return times


def journeys(state_dir: str, count: int) -> dict:
    """*count* customer journeys on a new kiosk; its memory along the way."""
    from pishkhan.runtime.kivy_env import prepare_kivy

    prepare_kivy(size=(1280, 800))
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.app import Kiosk, open_model
    from kiosk.journey import TouchDriver, pump, take_ticket
    from pishkhan.hardware.printer import FakePrinter

    class NullPrinter(FakePrinter):
        """Counts jobs and drops their bytes."""

        def __init__(self):
            super().__init__()
            self.count = 0

        def write(self, data):
            self.count += 1

    cfg = bench_config(state_dir)
    EventLoop.ensure_window()
    pump()
    baseline = rss_mb()
    printer = NullPrinter()
    model = open_model(cfg, printer=printer)
    kiosk = Kiosk(model, config=cfg, threaded_print=False)
    Window.add_widget(kiosk)
    pump()
    driver = TouchDriver(kiosk, frames=1)
    codes = [s.code for s in model.board.categories[0].services[:3]]
    marks = {}
    started = time.perf_counter()
    checkpoints = {10, count} | {c for c in (100, 250, 500, 750) if c < count}
    for n in range(1, count + 1):
        state = take_ticket(driver, codes[n % len(codes)])
        if state != "printed":
            raise SystemExit(f"journey {n} ended on {state!r}")
        if n in checkpoints:
            # Measured where the kiosk waits between customers: back on the
            # attract screen, which hands freed memory back (kiosk's own doing).
            busy = rss_mb()
            kiosk.home()
            pump(0.3)
            marks[n] = rss_mb()
            print(f"  after {n:5d} journeys: RSS {marks[n]:.1f} MB on the attract screen "
                  f"({busy:.1f} MB on the ticket screen), {time.perf_counter() - started:.0f} s", flush=True)
    elapsed = time.perf_counter() - started
    issued = model.store.query_one("SELECT COUNT(*) FROM tickets")[0]
    kiosk.close()
    return {"baseline": baseline, "marks": marks, "elapsed": elapsed, "issued": issued, "printed": printer.count,
            "touches": driver.touches, "peak": peak_mb(), "gl_code": software_gl_mb(),
            "cryptography": "cryptography" in sys.modules}


def run_journeys(state_dir: Path, count: int, **env) -> dict:
    """:func:`journeys` in a new process that has prepared nothing itself."""
    return child(["--child-journeys", str(state_dir), "--journeys", str(count)],
                 "the customer journeys did not finish", timeout=7200, **env)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--journeys", type=int, default=1000)
    p.add_argument("--starts", type=int, default=3)
    p.add_argument("--no-gl-journeys", type=int, default=200,
                   help="journeys of the second run, with GL stubbed out (0: skip it)")
    p.add_argument("--child-first-frame", metavar="STATE_DIR", help=argparse.SUPPRESS)
    p.add_argument("--child-journeys", metavar="STATE_DIR", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_first_frame:
        child_first_frame(args.child_first_frame)
        return 0
    if args.child_journeys:
        print(json.dumps(journeys(args.child_journeys, args.journeys)), flush=True)
        return 0
    if args.journeys < 10:
        p.error("--journeys must be at least 10")
    from cli.headless import VirtualDisplay

    with VirtualDisplay((1280, 800)):
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["KIVY_HOME"] = str(Path(tmp) / "kivy")
            state = Path(tmp) / "state"
            prepare_state(state)
            starts = cold_starts(state, args.starts)
            print(f"cold start to first frame: best {min(starts):.2f} s, "
                  f"mean {sum(starts) / len(starts):.2f} s over {len(starts)} starts")
            run = run_journeys(state, args.journeys)
            marks = {int(n): mb for n, mb in run["marks"].items()}
            after10, after_n = marks[10], marks[args.journeys]
            growth = (after_n - after10) / after10 * 100
            print(f"{args.journeys} customer journeys ({run['touches']} touches) in {run['elapsed']:.1f} s "
                  f"({run['elapsed'] / args.journeys * 1000:.0f} ms each); {run['issued']} tickets stored, "
                  f"{run['printed']} printed")
            print(f"RSS after 10 journeys: {after10:.1f} MB; after {args.journeys}: {after_n:.1f} MB "
                  f"({growth:+.1f} %, target < 5 %; on the attract screen)")
            peak, baseline, gl = run["peak"], run["baseline"], run["gl_code"]
            print(f"peak RSS: {peak:.1f} MB (target < 150 MB); of which an empty Kivy window takes "
                  f"{baseline:.1f} MB here (Python, Kivy, SDL2 and the GL driver), the kiosk {peak - baseline:.1f} MB"
                  + ("; cryptography was loaded" if run["cryptography"] else ""))
            if gl:
                print(f"this machine draws with a software GL driver whose code alone is {gl:.1f} MB resident "
                      f"(libLLVM, swrast; a Pi's GPU driver loads neither), and keeps textures in the process's "
                      f"own memory: peak less that code is {peak - gl:.1f} MB")
            if args.no_gl_journeys:
                count = max(10, args.no_gl_journeys)
                state = Path(tmp) / "state-no-gl"
                prepare_state(state)
                print(f"the same journeys with GL stubbed out ({count}, nothing drawn):", flush=True)
                run = run_journeys(state, count, KIVY_GL_BACKEND="mock")
                print(f"peak RSS {run['peak']:.1f} MB; less the software GL code SDL2 still loads "
                      f"({run['gl_code']:.1f} MB): {run['peak'] - run['gl_code']:.1f} MB for Python, Kivy, SDL2 "
                      f"and the kiosk, to which a Pi adds its GPU driver's own share")
    return 0


if __name__ == "__main__":
    sys.exit(main())
