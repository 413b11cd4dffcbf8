"""``pishkhan kiosk``: run the customer touchscreen, set the staff PIN, end a
PIN lock-out, or play a scripted journey headless and save screenshots (for the demo)."""

from __future__ import annotations

import getpass
from pathlib import Path

from pishkhan.exc import PishkhanError
from cli.headless import VirtualDisplay

from . import context


def register(sub, common):
    p = sub.add_parser("kiosk", parents=[common], help="the customer touchscreen (Kivy), with staff mode")
    p.add_argument("--fullscreen", action="store_true",
                   help="take the whole of the kiosk's own output ([kiosk] output; as on the device)")
    p.add_argument("--size", default="1280x800", metavar="WxH", help="window size, e.g. 1280x800 or 800x1280")
    p.add_argument("--script", choices=["journey", "library"],
                   help="play a scripted customer journey, or the staff's (library: the staff PIN is read from "
                        "standard input; the newest unread circular is opened and acknowledged), and exit")
    p.add_argument("--screenshots", metavar="DIR", default="demo-out",
                   help="with --script: where the screenshots go (default demo-out)")
    p.set_defaults(handler=cmd_kiosk)
    s = p.add_subparsers(dest="action", metavar="ACTION")
    sp = s.add_parser("set-pin", parents=[common], help="set the staff PIN (stored as a scrypt hash)")
    sp.add_argument("--pin", help="the new PIN (4-8 digits, no pattern like 1234 or 1111); asked for when not given")
    sp.set_defaults(handler=cmd_set_pin)
    un = s.add_parser("unlock", parents=[common],
                      help="end a staff PIN lock-out and forget the wrong PINs (audited)")
    un.set_defaults(handler=cmd_unlock)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w < 320 or h < 320:
            raise ValueError
    except ValueError:
        raise PishkhanError(f"--size must look like 1280x800 (both at least 320), got {text!r}") from None
    return w, h


def cmd_set_pin(args):
    from kiosk.pin import set_pin
    from pishkhan.staff_pin import check_new_pin

    pin = args.pin
    if pin is None:
        pin = getpass.getpass("new staff PIN: ")
        check_new_pin(pin)  # say why before asking again
        if getpass.getpass("again: ") != pin:
            raise PishkhanError("the two PINs differ; nothing was changed")
    try:
        check_new_pin(pin)
    except PishkhanError as e:
        raise PishkhanError(f"{e}; nothing was changed") from None
    cfg = context.config(args)
    with context.store(cfg) as st:
        set_pin(st, pin, actor=context.actor())
    print("staff PIN set (scrypt hash stored in the device store)")


def cmd_unlock(args):
    from kiosk.pin import PinGuard

    cfg = context.config(args)
    with context.store(cfg) as st:
        cleared = PinGuard(st, config=cfg).unlock(actor=context.actor())
    if cleared["was_locked"]:
        print(f"staff mode unlocked ({cleared['seconds_left']} s of lock-out were left); "
              f"wrong PINs forgotten")
    else:
        print(f"staff mode was not locked; {cleared['failures']} wrong PIN(s) forgotten")


def cmd_kiosk(args):
    from pishkhan.runtime.kivy_env import prepare_kivy

    cfg = context.config(args)
    size = _size(args.size)
    screen = VirtualDisplay(size).start() if args.script else None
    try:
        if args.fullscreen and not args.script:  # on its own X screen (docs/two-screens.md)
            from cli.screens import borderless_at_origin, output_window

            prepare_kivy(size=output_window(cfg, "kiosk"), show_cursor=False)
            borderless_at_origin()
        else:
            prepare_kivy(size=None if args.fullscreen else size, fullscreen=args.fullscreen)
        if args.script:
            return _play_journey(cfg, Path(args.screenshots), script=args.script)
        from kiosk.app import run

        run(cfg)
    finally:
        if screen is not None:
            screen.stop()


def _play_journey(cfg, out: Path, *, script: str = "journey") -> int:
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from kiosk.app import Kiosk, open_model
    from kiosk.journey import play, play_library, pump
    from pishkhan.hardware.printer import open_printer

    EventLoop.ensure_window()
    model = open_model(cfg, printer=open_printer(cfg.printer.uri))
    if model.queue is not None and not model.queue.open_counters():
        for counter in cfg.counters:
            model.queue.open_counter(counter.number, actor="demo")
        print("no counter was open: opened every counter for the demo (audited as 'demo')")
        model.reload()
    kiosk = Kiosk(model, config=cfg)
    Window.add_widget(kiosk)
    pump(0.2)
    if script == "library":
        import sys

        print(f"the staff's library at {Window.width}x{Window.height}:")
        done = play_library(kiosk, out, pin=sys.stdin.readline().strip())
        kiosk.close()
        print(f"acknowledged as staff: {done['acknowledged'] or 'nothing'}; {len(done['shots'])} screenshot(s) "
              f"saved in {out}/")
        return 0 if done["acknowledged"] else 1
    print(f"kiosk journey at {Window.width}x{Window.height}:")
    shots = play(kiosk, out)
    kiosk.close()
    print(f"{len(shots)} screenshot(s) saved in {out}/")
    return 0 if model.board is not None else 1
