"""``pishkhan display``: the wall display (board, calls, screen power)."""

from __future__ import annotations

import re
from pathlib import Path

from pishkhan.exc import PishkhanError
from cli.headless import VirtualDisplay

from . import context


def register(sub, common):
    p = sub.add_parser("display", parents=[common], help="run the wall display (board pages, calls, screen power)",
                       description="Open the wall display. With --screenshots it saves what it shows "
                                   "(starting a virtual X server when there is no display).")
    p.add_argument("--fullscreen", action="store_true",
                   help="fill the wall's own output ([display] output; as on the wall TV), and record "
                        "display off while that output is unplugged")
    p.add_argument("--size", metavar="WxH", default=None,
                   help="window size, e.g. 1920x1080 or 1080x1920 (default by display.orientation)")
    p.add_argument("--screenshots", metavar="DIR", type=Path, default=None,
                   help="save a screenshot of each board page and each call into DIR")
    p.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--events", metavar="FILE", default=None,
                   help="append what is shown as JSON lines (for tests and benchmarks)")
    p.set_defaults(handler=run)


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{3,5})\s*[xX×]\s*(\d{3,5})\s*", text or "")
    if not m:
        raise PishkhanError(f"--size must look like 1920x1080, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def run(args) -> int:
    cfg = context.config(args)
    if args.size:
        size = parse_size(args.size)
    else:
        size = (1080, 1920) if cfg.display.orientation == "portrait" else (1920, 1080)
    if args.screenshots is not None and args.seconds is None:
        raise PishkhanError("--screenshots needs --seconds N (how long to run before stopping)")
    screen = VirtualDisplay(size).start() if args.screenshots is not None and not args.fullscreen else None
    try:
        from display import WALL_WINDOW
        from pishkhan.runtime.kivy_env import prepare_kivy

        output = ""
        if args.fullscreen:  # on its own X screen, watching its output (docs/two-screens.md)
            from cli.screens import borderless_at_origin, output_window

            size = output_window(cfg, "display")
            output = cfg.display.output
            prepare_kivy(size=size, **WALL_WINDOW)
            borderless_at_origin()
        else:
            prepare_kivy(size=size, **WALL_WINDOW)
        from display.app import run_display

        code = run_display(cfg, size=size, events_path=args.events, screenshots=args.screenshots,
                           seconds=args.seconds, output=output)
        if args.screenshots is not None:
            shots = sorted(p.name for p in Path(args.screenshots).glob("*.png"))
            print(f"saved {len(shots)} screenshots in {args.screenshots}")
        return code
    finally:
        if screen is not None:
            screen.stop()
