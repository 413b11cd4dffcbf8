"""How long the USB scan and read take on a crowded stick, against their limits.

Builds a stick in a temporary folder with *--entries* entries (files, folders
three deep, FIFOs and links to /dev/zero mixed in), then prints the time of a
full scan (limit ``SCAN_SECONDS``, stopped at ``MAX_ENTRIES`` entries) and of
reading a board-sized file of *--mb* MB (limit ``READ_SECONDS``, ``MAX_BYTES``).

    .venv/bin/python bench/usb.py [--entries 5000] [--mb 4.5] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk import usb_import  # noqa: E402


def build(root: Path, entries: int, mb: float) -> Path:
    made = 0
    folder = root
    while made < entries:
        if made % 200 == 0:
            folder = root.joinpath(*[f"d{made // 200 % 7}", f"e{made // 1400}", "f"][: 1 + made // 200 % 3])
            folder.mkdir(parents=True, exist_ok=True)
        name = folder / f"b{made}.json"
        kind = made % 10
        if kind == 8:
            os.mkfifo(name)
        elif kind == 9:
            os.symlink("/dev/zero", name)
        else:
            name.write_bytes(b"{}")
        made += 1
    big = root / "big.json"
    big.write_bytes(b" " * int(mb * 1024 * 1024))
    return big


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--mb", type=float, default=4.5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        big = build(root, args.entries, args.mb)
        scans, reads = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            found = usb_import.scan(root)
            scans.append(time.perf_counter() - start)
            start = time.perf_counter()
            data = usb_import.read_board_file(root, big)
            reads.append(time.perf_counter() - start)
        print(f"stick: {args.entries} entries (1 in 10 a FIFO, 1 in 10 a link to /dev/zero), big file {args.mb} MB")
        print(f"scan: median {statistics.median(scans) * 1000:.1f} ms, max {max(scans) * 1000:.1f} ms "
              f"(limit {usb_import.SCAN_SECONDS:g} s); listed {len(found.files)}, left out {found.skipped}, "
              f"stopped early: {found.truncated}")
        print(f"read: median {statistics.median(reads) * 1000:.1f} ms for {len(data) / 1024 / 1024:.1f} MB "
              f"(limit {usb_import.READ_SECONDS:g} s, {usb_import.MAX_BYTES // 1024 // 1024} MB)")


if __name__ == "__main__":
    main()
