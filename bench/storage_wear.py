"""Storage wear: the bytes the whole office writes per hour of a normal day, split by file.

The office runs as on the device (``tests/power/power_office.py``): the wall
display, the kiosk, the counter panel, the agent against a real Mosquitto,
and a driver playing the day's customers and counters. Assumed day:

- 300 tickets over a 7-hour day (about 43 an hour), each one called
  (the driver issues and calls in equal shares, at random intervals);
- the agent's telemetry every ``mqtt.telemetry_seconds`` (60, the default),
  its compliance heartbeat and fact stream every minute;
- the wall's proof-of-display snapshot every ``display.snapshot_seconds``
  (300, the default), pages rotating, no board change during the span
  (a new board is a few hundred kB of pages, a few times a year);
- every process logging at INFO to its stdout (on the device: the journal).

After a warm-up (the wall shows the board, the agent has sent its first
messages) the measured span starts. Two measures, both printed:

- per process, ``write_bytes`` from ``/proc/PID/io``: bytes the process
  caused to be sent to the block layer (page-cache writeback included; the
  file system's own journal is not in it);
- per file, ``strace -f -y`` on every process of the office: the bytes of
  each ``write``/``pwrite64``/``writev`` and each ``fsync``/``fdatasync``, by
  the file's path (temporary names counted under the file they become).

``--speed K`` runs the day K times faster (tickets, telemetry and snapshots K
times as often) and divides by K; the agent's once-a-minute heartbeat and
facts cannot be sped up, so they are under-counted by K then. Target: < 50 MB
an hour.

    .venv/bin/python bench/storage_wear.py [--minutes 10] [--speed 1] [--no-strace]
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "power")]

from cli.headless import VirtualDisplay  # noqa: E402
from mqtt_broker import MosquittoBroker  # noqa: E402
from power_office import PowerOffice  # noqa: E402

TARGET_MB_PER_HOUR = 50
TICKETS_PER_DAY = 300
DAY_HOURS = 7
WRITE = re.compile(r"^\d+\s+(write|pwrite64|writev|pwritev|pwritev2)\((\d+)<([^>]*)>.*\)\s+=\s+(\d+)")
SYNC = re.compile(r"^\d+\s+(fsync|fdatasync)\((\d+)<([^>]*)>\)\s+=\s+0")
TEMP = re.compile(r"^\.(.+?)\.(\d+(-\d+)?\.tmp|new-\d+-\d+)$")


def io_write_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def file_class(path: str, office: PowerOffice) -> str | None:
    """The file a write counts under, relative to the office; None for sockets, pipes and the like."""
    p = Path(path)
    try:
        rel = p.relative_to(office.root)
    except ValueError:
        return None if not path.startswith("/") or path.startswith(("/dev/", "/proc/")) else f"(outside) {path}"
    parts = list(rel.parts)
    m = TEMP.match(parts[-1])
    if m:
        parts[-1] = m.group(1)
    if parts[0] == "logs":
        return "logs/" + re.sub(r"-\d+\.log$", ".log", parts[-1])
    if len(parts) >= 2 and parts[1] == "pages":
        return "state/pages/*"
    if len(parts) >= 2 and parts[1] == "snapshots":
        return "state/snapshots/*.png"
    if parts[0] == "home":
        return "home/.kivy/" + ("logs/*" if "logs" in parts else "/".join(parts[2:]))
    return "/".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="measured span (after the warm-up)")
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--warmup", type=float, default=75.0, help="seconds before measuring")
    ap.add_argument("--no-strace", action="store_true", help="only /proc/PID/io")
    args = ap.parse_args(argv)
    k = args.speed
    rate = 2 * TICKETS_PER_DAY / (DAY_HOURS * 3600) * k  # driver actions a second: half issue, half call
    use_strace = not args.no_strace and shutil.which("strace")
    span = args.minutes * 60
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp, VirtualDisplay((1920, 1080)):
        broker = MosquittoBroker(Path(tmp) / "broker")
        broker.start()
        office = PowerOffice(Path(tmp) / "office", broker, rate=rate, board_share=0.0, call_share=0.5,
                             telemetry_seconds=max(1, round(60 / k)), snapshot_seconds=max(5, round(300 / k)),
                             display_size="1920x1080", as_device=True)
        try:
            office.start()
            shown = office.restart_shows_board(office.expected, timeout=60)
            time.sleep(max(0.0, args.warmup - (time.time() - office.started_at)))
            pids = {name: proc.pid for name, proc in office.procs.items()}
            before = {name: io_write_bytes(pid) for name, pid in pids.items()}
            trace = Path(tmp) / "strace.txt"
            tracer = None
            if use_strace:
                tracer = subprocess.Popen(
                    ["strace", "-f", "-qq", "-y", "-s", "0", "-e", "trace=write,pwrite64,writev,pwritev,fsync,fdatasync",
                     "-e", "signal=none", "-o", str(trace)] + [a for pid in pids.values() for a in ("-p", str(pid))],
                    stderr=subprocess.DEVNULL)
            started = time.time()
            time.sleep(span)
            measured = time.time() - started
            after = {name: io_write_bytes(pid) for name, pid in pids.items()}
            if tracer is not None:
                tracer.send_signal(signal.SIGINT)
                tracer.wait(30)
            tickets = len([line for line in office.driver_said() if line.startswith("T ")])
            sizes = {p.relative_to(office.root).as_posix(): p.stat().st_size
                     for p in office.state.rglob("*") if p.is_file()}
            office.cut()
        finally:
            office.close()
            broker.close()
        per_file: dict[str, int] = defaultdict(int)
        syncs: dict[str, int] = defaultdict(int)
        if use_strace and trace.exists():
            for line in trace.read_text(errors="replace").splitlines():
                m = WRITE.match(line)
                if m:
                    name = file_class(m.group(3), office)
                    if name:
                        per_file[name] += int(m.group(4))
                    continue
                m = SYNC.match(line)
                if m:
                    name = file_class(m.group(3), office)
                    if name:
                        syncs[name] += 1
    hours = measured / 3600 * k  # hours of the office's day measured
    mb = 1e6
    print(f"office day: {TICKETS_PER_DAY} tickets in {DAY_HOURS} h, telemetry every {max(1, round(60 / k))} s, "
          f"snapshots every {max(5, round(300 / k))} s; speed x{k:g}; measured {measured:.0f} s after a "
          f"{args.warmup:.0f} s warm-up (the wall showed the board after {shown} s) = {hours * 60:.1f} min of the day; "
          f"tickets issued in the span and warm-up: {tickets}")
    total = sum(after[n] - before[n] for n in pids)
    print("\nper process, /proc/PID/io write_bytes (MB an hour):")
    for name in pids:
        print(f"  {name:8s} {(after[name] - before[name]) / mb / hours:8.2f}")
    print(f"  {'all':8s} {total / mb / hours:8.2f}   target < {TARGET_MB_PER_HOUR} MB an hour: "
          f"{'met' if total / mb / hours < TARGET_MB_PER_HOUR else 'NOT met'}")
    if per_file:
        print("\nper file, strace write()/pwrite64() bytes (MB an hour) and fsyncs an hour:")
        for name in sorted(set(per_file) | set(syncs), key=lambda n: -per_file.get(n, 0)):
            print(f"  {name:40s} {per_file.get(name, 0) / mb / hours:8.3f} MB  {syncs.get(name, 0) / hours:7.0f} fsync")
        print(f"  {'all files':40s} {sum(per_file.values()) / mb / hours:8.3f} MB  {sum(syncs.values()) / hours:7.0f} fsync")
    print("\nfile sizes at the end (kB):")
    for name, size in sorted(sizes.items()):
        if not name.startswith("state/pages/"):
            print(f"  {name:40s} {size / 1000:10.1f}")
    pages = sum(s for n, s in sizes.items() if n.startswith("state/pages/"))
    print(f"  {'state/pages/ (all)':40s} {pages / 1000:10.1f}")
    return 0 if total / mb / hours < TARGET_MB_PER_HOUR else 1


if __name__ == "__main__":
    sys.exit(main())
