"""``pishkhan screens``: which app is on which output, the X server's configuration, and
whether an app's unit has a screen to start on (docs/two-screens.md).

The kiosk and the wall display call :func:`output_window` before Kivy starts,
when they run full screen: it points ``DISPLAY`` at the app's own X screen
and returns that screen's size.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from pishkhan.exc import PishkhanError

from . import context

#: ``pishkhan screens check`` exit status when the app has no screen (systemd's ExecCondition: skip the unit).
NO_SCREEN = 1


def register(sub, common):
    p = sub.add_parser("screens", parents=[common], help="the two screens: outputs, X screens, the X configuration")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = s.add_parser("check", parents=[common],
                     help=f"exit 0 when APP has an output on this device, else say why and exit {NO_SCREEN} "
                          "(the units' ExecCondition)")
    c.add_argument("app", choices=("kiosk", "display", "any"),
                   help="kiosk, display, or any (the X server's unit: is there a screen at all?)")
    c.set_defaults(handler=cmd_check)
    x = s.add_parser("xorg-conf", parents=[common], help="print the Xorg configuration: one X screen per output")
    x.add_argument("--out", metavar="FILE", help="write it to FILE instead (pishkhan-x.service does)")
    x.set_defaults(handler=cmd_xorg_conf)
    st = s.add_parser("status", parents=[common], help="each app's output, its X screen, and whether it is plugged in")
    st.set_defaults(handler=cmd_status)


@dataclass(frozen=True)
class NoScreen:
    """Why an app has no screen here: *reason* is ``no_output`` (the setting is empty) or
    ``output_absent`` (this device has no such connector); *text* says it in Persian and English."""

    reason: str
    text: str


def no_screen(cfg, app: str, outputs=None) -> NoScreen | None:
    """Why *app* has no screen on this device, or None when it has one."""
    from pishkhan.hardware.outputs import OutputStatus, app_outputs, open_outputs

    name = app_outputs(cfg)[app]
    if not name:
        who = "کیوسک" if app == "kiosk" else "نمایشگر دیواری"
        return NoScreen("no_output", f"این دفتر برای {who} صفحه‌ای ندارد — {app}.output is empty: "
                                     f"this office has no screen for the {app}; its unit does not start")
    if (outputs or open_outputs()).status(name) is OutputStatus.ABSENT:
        return NoScreen("output_absent", f"خروجی {name} روی این دستگاه نیست — {app}.output is {name!r}, and "
                                         "this device has no such connector (see `pishkhan screens status`)")
    return None


def output_window(cfg, app: str) -> tuple[int, int]:
    """Point ``DISPLAY`` at *app*'s own X screen and return its ``(width, height)``.

    SDL is told to see only that screen (``SDL_VIDEO_X11_XRANDR=0``): with
    RandR it lists every X screen and opens on the first, whatever
    ``DISPLAY`` says. There is no window manager, so the caller opens a
    borderless window of this size at the screen's origin (:func:`borderless_at_origin`).
    """
    from pishkhan.hardware.outputs import x_display, x_screen, x_screen_size

    why = no_screen(cfg, app)
    if why:
        raise PishkhanError(why.text)
    screen = x_screen(cfg, app)
    os.environ["DISPLAY"] = x_display(os.environ.get("DISPLAY") or ":0", screen)
    os.environ["SDL_VIDEO_X11_XRANDR"] = "0"
    size = x_screen_size(os.environ["DISPLAY"])
    if size is None:
        raise PishkhanError(f"cannot open the X screen {os.environ['DISPLAY']} for the {app} "
                            "(is pishkhan-x.service running?)")
    return size


def borderless_at_origin() -> None:
    """Kivy's window without a frame at (0, 0) of its screen; call after ``prepare_kivy``."""
    from kivy.config import Config

    Config.set("graphics", "borderless", "1")
    Config.set("graphics", "position", "custom")
    Config.set("graphics", "left", "0")
    Config.set("graphics", "top", "0")


def cmd_check(args) -> int:
    cfg = context.config(args)
    if args.app == "any":
        reasons = [no_screen(cfg, app) for app in ("kiosk", "display")]
        why = None if None in reasons else NoScreen(
            reasons[0].reason, "این دستگاه صفحه‌ای ندارد — neither the kiosk nor the wall display has a screen "
                               "here; the X server does not start (" + "; ".join(r.text for r in reasons) + ")")
    else:
        why = no_screen(cfg, args.app)
    if why:
        print(f"{why.reason}: {why.text}", file=sys.stderr)
        return NO_SCREEN
    return 0


def cmd_xorg_conf(args) -> int:
    from pishkhan.hardware.outputs import xorg_conf

    text = xorg_conf(context.config(args))
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_status(args) -> int:
    from pishkhan.hardware.outputs import app_outputs, open_outputs, x_screen

    cfg = context.config(args)
    outputs = open_outputs()
    for app, name in app_outputs(cfg).items():
        if not name:
            print(f"{app}: no output (this office has no such screen)")
            continue
        screen = x_screen(cfg, app)
        print(f"{app}: {name}, X screen :0.{screen}, {outputs.status(name).value}")
    known = outputs.names()
    print("connectors here: " + (", ".join(known) if known else "none (no DRM connectors: a virtual display)"))
    return 0
