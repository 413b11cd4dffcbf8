"""Input size against time and memory: long titles, big boards.

Prints, never asserts:

- time to lay out and render one queue ticket whose service title is a
  4,000-character and a 1 MB word without spaces (and, for the 4,000 case,
  the same on the code before the linear line breaker, in a fresh Python
  with a timeout: that code takes tens of seconds), with the number of text
  measurements made; the same for a 4,000-character office name on the
  ticket and on a wall page header;
- peak RSS of a fresh Python whose wall page cache renders a board of 1,000
  and of 5,000 services (installed, signed) at 1920x1080 and then cycles
  through every page as the wall does (each page asked for in turn, the next
  read ahead), with the pages' count, the most held decoded at once and
  their size on disk. Beside it, what keeping every page decoded (the cache
  before) would take for those pages.

If the board schema refuses a board that big (a documented limit on services
per board), the board is handed to the cache directly instead of installed,
and the line says so: memory must stay bounded whatever the size.

    .venv/bin/python bench/render_limits.py [--services 1000 5000] [--before REV] [--timeout 120]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW_ISO = "2026-11-28T09:00:00+00:00"

#: The ticket child: render one ticket, print seconds and measurement count.
TICKET_CHILD = r"""
import datetime as dt, json, sys, time
from types import SimpleNamespace
from PIL import ImageFont
from pishkhan.config import parse_config
from pishkhan.render.ticket import render_ticket
n, what, state = int(sys.argv[1]), sys.argv[2], sys.argv[3]
calls = [0]
real = ImageFont.FreeTypeFont.getlength
def counting(self, *a, **k):
    calls[0] += 1
    return real(self, *a, **k)
ImageFont.FreeTypeFont.getlength = counting
word = ("ثبت" * (n // 3 + 1))[:n]
office = word if what == "office" else "دفتر پیشخوان دولت شماره ۱۲۳۴"
title = word if what == "title" else "گواهی عدم سوء پیشینه"
config = parse_config({"device": {"state_dir": state}, "office": {"name": office, "office_id": "23-1234"}})
ticket = SimpleNamespace(service_title=title, display_label="A۰۰۱", label="A001", day="2026-11-28",
                         priority=False, people_ahead=3, wait_minutes=12)
start = time.perf_counter()
image = render_ticket(ticket, config=config, now=dt.datetime.fromisoformat("%s"))
print(json.dumps({"seconds": time.perf_counter() - start, "calls": calls[0], "height": image.height}))
""" % NOW_ISO

#: The wall header child: lay out and draw page 1 of the sample board with a long office name.
HEADER_CHILD = r"""
import datetime as dt, json, sys, time
from importlib import resources
from PIL import ImageFont
from pishkhan.boards.layering import preview
from pishkhan.config import parse_config
from pishkhan.render.board_layout import layout_pages
from pishkhan.render.board_pages import draw_page
n, state = int(sys.argv[1]), sys.argv[2]
calls = [0]
real = ImageFont.FreeTypeFont.getlength
def counting(self, *a, **k):
    calls[0] += 1
    return real(self, *a, **k)
ImageFont.FreeTypeFont.getlength = counting
doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
config = parse_config({"device": {"state_dir": state}, "office": {"name": ("دفتر" * n)[:n]}})
start = time.perf_counter()
pages = layout_pages(preview(doc), config=config, size=(1920, 1080), now=dt.datetime.fromisoformat("%s"))
draw_page(pages[0])
print(json.dumps({"seconds": time.perf_counter() - start, "calls": calls[0], "pages": len(pages)}))
""" % NOW_ISO

#: The page cache child: install an n-service board, render it, cycle through every page.
CACHE_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from bench.render_limits import big_board
from pishkhan.boards.installed import install_board
from pishkhan.boards.layering import preview
from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.config import parse_config
from pishkhan.exc import BoardError
from pishkhan.store.database import Store
import display.page_cache as page_cache
n, state = int(sys.argv[1]), Path(sys.argv[2])
config = parse_config({"device": {"state_dir": str(state)}, "hours": {"always_open": True}})
store = Store(config.store_path)
key = SigningKey.generate()
trust_key(store, key.public, label="bench", actor="bench")
envelope = key.sign(big_board(n))
installed = True
try:
    install_board(store, envelope, source="cli", actor="bench")
except BoardError as e:
    installed = str(e)
    board = preview(envelope)
    page_cache.effective_for_config = lambda store, config, day=None: board
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cache = page_cache.PageCache(store, config, size=(1920, 1080), directory=state / "pages")
start = time.perf_counter()
pages = cache.refresh()
render_s = time.perf_counter() - start
rss_render = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
most = 0
start = time.perf_counter()
for _ in range(2):
    for i in range(pages.count):
        pages.page(i)
        pages.pages.settle()
        most = max(most, len(pages.pages.decoded()))
cycle_s = time.perf_counter() - start
disk = sum(f.stat().st_size for f in (state / "pages").rglob("*.png"))
print(json.dumps({"pages": pages.count, "installed": installed, "render_s": render_s, "cycle_s": cycle_s,
                  "rss_before_kb": rss0, "rss_render_kb": rss_render,
                  "rss_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "most_decoded": most, "disk_bytes": disk, "errors": cache.errors + pages.pages.errors}))
cache.close()
"""


def big_board(services: int) -> dict:
    """The sample board grown to *services* services, 25 to a category (unsigned)."""
    doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
    base = [s for c in doc["categories"] for s in c["services"]]
    categories = []
    for c in range(-(-services // 25)):
        rows = []
        for i in range(min(25, services - 25 * c)):
            s = copy.deepcopy(base[(25 * c + i) % len(base)])
            s["code"] = f"S{25 * c + i:05d}"
            rows.append(s)
        categories.append({"code": f"group-{c:03d}", "title": f"گروه خدمات {c + 1}", "services": rows})
    doc["categories"] = categories
    return doc


def run_child(code: str, args: list[str], *, pythonpath: Path, timeout: float) -> dict | None:
    env = dict(os.environ, PYTHONPATH=str(pythonpath), PYTHONDONTWRITEBYTECODE="1")
    try:
        out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                             timeout=timeout, cwd=str(pythonpath))
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def before_revision() -> str:
    """The commit before the linear line breaker came in."""
    out = subprocess.run(["git", "log", "--format=%H", "--reverse", "-S", "MAX_LINE_CHARS", "--",
                          "pishkhan/render/typeset.py"], cwd=ROOT, capture_output=True, text=True, check=True)
    first = out.stdout.split()
    if not first:
        raise SystemExit("cannot find the commit of the linear line breaker; pass --before REV")
    return first[0] + "^"


def export(rev: str, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", rev, "pishkhan"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    return where


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--services", type=int, nargs="*", default=[1000, 5000])
    p.add_argument("--before", default=None, help="the revision to time the 4,000-character case on")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds before the old code is given up")
    p.add_argument("--no-before", action="store_true")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("Ticket with a long word (no spaces), 80 mm paper:")
        print(f"  {'case':<34} {'code':<8} {'seconds':>9} {'measurements':>13}")
        cases = [(4000, "title"), (1_000_000, "title"), (4000, "office")]
        for n, what in cases:
            r = run_child(TICKET_CHILD, [str(n), what, str(tmp)], pythonpath=ROOT, timeout=600)
            print(f"  {f'{n:,}-character {what}':<34} {'now':<8} {r['seconds']:>9.3f} {r['calls']:>13,}")
        if not args.no_before:
            rev = args.before or before_revision()
            old = export(rev, tmp / "before")
            for n, what in [(4000, "title")]:
                r = run_child(TICKET_CHILD, [str(n), what, str(tmp)], pythonpath=old, timeout=args.timeout)
                label = f"{n:,}-character {what}"
                if r is None:
                    print(f"  {label:<34} {'before':<8} {'>' + format(args.timeout, '.0f'):>9} "
                          f"{'(timed out)':>13}")
                else:
                    print(f"  {label:<34} {'before':<8} {r['seconds']:>9.3f} {r['calls']:>13,}")
            short = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True)
            print(f"  (before = {short.stdout.strip()})")
        r = run_child(HEADER_CHILD, ["4000", str(tmp)], pythonpath=ROOT, timeout=600)
        print(f"  {'wall page 1, 4,000-char office':<34} {'now':<8} {r['seconds']:>9.3f} {r['calls']:>13,}")

        print("\nWall page cache at 1920x1080: render the whole board, then cycle through every page twice:")
        print(f"  {'services':>8} {'pages':>6} {'render s':>9} {'cycle s':>8} {'peak RSS MB':>12} "
              f"{'decoded max':>12} {'disk MB':>8} {'all decoded MB':>15}")
        for n in args.services:
            state = tmp / f"state-{n}"
            state.mkdir()
            r = run_child(CACHE_CHILD, [str(n), str(state), str(ROOT)], pythonpath=ROOT, timeout=3600)
            all_decoded = r["pages"] * 1920 * 1080 * 3 / 1e6
            print(f"  {n:>8,} {r['pages']:>6} {r['render_s']:>9.1f} {r['cycle_s']:>8.1f} "
                  f"{r['rss_peak_kb'] / 1024:>12.0f} {r['most_decoded']:>12} {r['disk_bytes'] / 1e6:>8.1f} "
                  f"{all_decoded:>15.0f}")
            if r["installed"] is not True:
                print(f"           (not installed, handed to the cache directly: {r['installed']})")
            if r["errors"]:
                print(f"           errors: {r['errors'][:3]}")


if __name__ == "__main__":
    main()
