"""The screen outputs of a device: which app is on which output, and whether that output is plugged in.

**The stack** (docs/two-screens.md says why): one Xorg server, started by its
own unit (``pishkhan-x.service``), with the ``modesetting`` driver and one X
screen per configured output (``ZaphodHeads``). The kiosk's output is X screen
0 and the wall display's the next one, so the apps find their screen as
``:0.0`` and ``:0.1`` (``:0.0`` alone when the office has one screen). A
single DRM device has only one master, which rules out two KMS apps or two X
servers on the Pi's one display controller; one X server holds the master and
both apps are its clients.

**The names** are the kernel's DRM connector names, as under
``/sys/class/drm/card*-NAME`` (``HDMI-A-1``, ``HDMI-A-2``, ``DSI-1``,
``DSI-2``, ``DPI-1``, ``Composite-1``). The empty name means that this office
has no such screen: that app's unit does not start.

**Is it plugged in?** :class:`Outputs` answers with one
:class:`OutputStatus`; :class:`DrmOutputs` reads the kernel's connector
status (``connected``, ``disconnected``, ``unknown``), :class:`FakeOutputs` is
told. A machine without any DRM connector (Xvfb, a container) answers
``UNKNOWN`` for every name: nothing can be said there, and nothing is
recorded. ``PISHKHAN_DRM_ROOT`` points :func:`open_outputs` at another folder
laid out like ``/sys/class/drm`` (tests unplug a TV by writing a file there).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import enum
import os
import re
from pathlib import Path

#: The apps with a screen, in X screen order (the kiosk first: the touch pointer starts on screen 0).
APPS = ("kiosk", "display")
#: Where the kernel lists connectors; overridden by ``PISHKHAN_DRM_ROOT``.
DRM_ROOT = Path("/sys/class/drm")


class OutputStatus(enum.Enum):
    """What is known of one output."""

    CONNECTED = "connected"
    #: the connector exists and nothing is plugged into it
    DISCONNECTED = "disconnected"
    #: the device has DRM connectors, but none of this name (another Pi model, a typo)
    ABSENT = "absent"
    #: no DRM connectors here at all (a virtual X server): nothing can be said
    UNKNOWN = "unknown"


class OutputProblem(enum.Enum):
    """Why an app's output cannot show it: the ``reason`` recorded with ``display off``."""

    DISCONNECTED = "output_disconnected"
    ABSENT = "output_absent"


class Outputs:
    """The device's outputs. Subclasses implement :meth:`status`."""

    def status(self, name: str) -> OutputStatus:
        raise NotImplementedError

    def names(self) -> list[str]:
        """Every connector name known here."""
        raise NotImplementedError

    def problem(self, name: str) -> OutputProblem | None:
        """Why the output *name* shows nothing, or None (connected, or nothing can be said)."""
        status = self.status(name)
        if status is OutputStatus.DISCONNECTED:
            return OutputProblem.DISCONNECTED
        if status is OutputStatus.ABSENT:
            return OutputProblem.ABSENT
        return None


class DrmOutputs(Outputs):
    """The kernel's connectors: ``ROOT/card*-NAME/status``.

    :param root: the folder laid out like ``/sys/class/drm``.
    """

    def __init__(self, *, root: Path = DRM_ROOT):
        self.root = Path(root)

    def _connectors(self) -> dict[str, Path]:
        try:
            entries = sorted(self.root.iterdir())
        except OSError:
            return {}
        out = {}
        for entry in entries:
            m = re.fullmatch(r"card[0-9]+-(.+)", entry.name)
            if m and (entry / "status").exists():
                out.setdefault(m.group(1), entry / "status")
        return out

    def names(self):
        return list(self._connectors())

    def device(self, name: str) -> str | None:
        """The DRM device node of the card that has connector *name* (``/dev/dri/card1``), or None."""
        path = self._connectors().get(name)
        return f"/dev/dri/{path.parent.name.split('-', 1)[0]}" if path else None

    def status(self, name):
        connectors = self._connectors()
        if not connectors:
            return OutputStatus.UNKNOWN
        path = connectors.get(name)
        if path is None:
            return OutputStatus.ABSENT
        try:
            text = path.read_text(encoding="ascii").strip()
        except OSError:
            return OutputStatus.ABSENT  # unplugged from the bus between listing and reading
        if text == "connected":
            return OutputStatus.CONNECTED
        if text == "disconnected":
            return OutputStatus.DISCONNECTED
        return OutputStatus.UNKNOWN  # the kernel's "unknown": it cannot detect this connector


class FakeOutputs(Outputs):
    """Outputs a test sets: ``FakeOutputs({"HDMI-A-1": OutputStatus.CONNECTED})``; unnamed ones are ABSENT."""

    def __init__(self, statuses: dict[str, OutputStatus] | None = None):
        self.statuses = dict(statuses or {})

    def set(self, name: str, status: OutputStatus):
        self.statuses[name] = status

    def names(self):
        return list(self.statuses)

    def status(self, name):
        if not self.statuses:
            return OutputStatus.UNKNOWN
        return self.statuses.get(name, OutputStatus.ABSENT)


def open_outputs() -> Outputs:
    """The device's outputs (``PISHKHAN_DRM_ROOT`` or ``/sys/class/drm``)."""
    return DrmOutputs(root=Path(os.environ.get("PISHKHAN_DRM_ROOT") or DRM_ROOT))


# -- which X screen each app is on ----------------------------------------------------

def app_outputs(config) -> dict[str, str]:
    """``{"kiosk": NAME, "display": NAME}`` from ``[kiosk] output`` and ``[display] output`` ("" for none)."""
    return {"kiosk": config.kiosk.output, "display": config.display.output}


def screens(config, *, outputs: Outputs | None = None) -> list[tuple[str, str]]:
    """``[(app, output)]`` in X screen order: the configured outputs this device has (not ABSENT)."""
    found = outputs if outputs is not None else open_outputs()
    return [(app, name) for app, name in app_outputs(config).items()
            if name and found.status(name) is not OutputStatus.ABSENT]


def x_screen(config, app: str, *, outputs: Outputs | None = None) -> int | None:
    """The X screen number *app* is on (None when the office or this device has no screen for it)."""
    order = [a for a, _ in screens(config, outputs=outputs)]
    return order.index(app) if app in order else None


def x_display(base: str, screen: int) -> str:
    """*base* (``:0``, ``:0.0``, ``host:1``) with its screen number replaced by *screen*."""
    m = re.fullmatch(r"(.*:[0-9]+)(\.[0-9]+)?", base or "")
    if not m:
        raise ValueError(f"not an X display name: {base!r} (expected e.g. :0)")
    return f"{m.group(1)}.{screen}"


def modesetting_name(name: str) -> str:
    """The modesetting driver's (xrandr's) name for the kernel's connector *name*: ``HDMI-A-1`` → ``HDMI-1``."""
    return re.sub(r"^HDMI-A-", "HDMI-", name)


def xorg_conf(config, *, outputs: Outputs | None = None) -> str:
    """The Xorg configuration giving each output of :func:`screens` its own X screen, kiosk first.

    :param outputs: where to find each connector's card (default :func:`open_outputs`);
        a connector not found is looked for on ``/dev/dri/card1`` (the Pi's display controller since bookworm).
    """
    found = outputs if outputs is not None else open_outputs()
    outputs_ = screens(config, outputs=found)
    lines = ["# Written by `pishkhan screens xorg-conf` from [kiosk] output and [display] output.",
             "# One X screen per output (modesetting ZaphodHeads), no desktop, no window manager.",
             'Section "ServerFlags"', '    Option "AutoAddGPU" "false"', '    Option "DontVTSwitch" "true"',
             '    Option "BlankTime" "0"', '    Option "StandbyTime" "0"', '    Option "SuspendTime" "0"',
             '    Option "OffTime" "0"', "EndSection", ""]
    for i, (app, name) in enumerate(outputs_):
        device = (found.device(name) if isinstance(found, DrmOutputs) else None) or "/dev/dri/card1"
        portrait = app == "display" and config.display.orientation == "portrait"
        if portrait:  # a TV hung on its side: X turns the picture, the wall lays out 1080x1920
            lines += ['Section "Monitor"', f'    Identifier "{app}-monitor"', '    Option "Rotate" "left"',
                      "EndSection", ""]
        lines += ['Section "Device"', f'    Identifier "{app}-card"', '    Driver "modesetting"',
                  f'    Option "kmsdev" "{device}"', f'    Option "ZaphodHeads" "{modesetting_name(name)}"',
                  *([f'    Option "Monitor-{modesetting_name(name)}" "{app}-monitor"'] if portrait else []),
                  f"    Screen {i}", "EndSection", "",
                  'Section "Screen"', f'    Identifier "{app}-screen"', f'    Device "{app}-card"', "EndSection", ""]
    lines += ['Section "ServerLayout"', '    Identifier "pishkhan"']
    lines += [f'    Screen {i} "{app}-screen"' + (f' RightOf "{outputs_[i - 1][0]}-screen"' if i else "")
              for i, (app, _) in enumerate(outputs_)]
    lines += ["EndSection", ""]
    return "\n".join(lines)


# -- the size of an X screen -------------------------------------------------------------

def x_screen_size(display: str | None = None) -> tuple[int, int] | None:
    """``(width, height)`` of the default screen of *display* (default ``DISPLAY``); None if it cannot be opened."""
    name = ctypes.util.find_library("X11")
    if not name:
        return None
    x11 = ctypes.CDLL(name)
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
    x11.XDisplayWidth.argtypes = x11.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode() if display else None)
    if not dpy:
        return None
    try:
        screen = x11.XDefaultScreen(dpy)
        return int(x11.XDisplayWidth(dpy, screen)), int(x11.XDisplayHeight(dpy, screen))
    finally:
        x11.XCloseDisplay(dpy)
