"""Kivy's environment for the apps that draw Persian (the kiosk and the wall display).

Kivy reads its environment once, when it is first imported, so
:func:`prepare_kivy` must run before anything imports Kivy; this module
imports Kivy only inside that function, after the environment is set.

The rules:

- text is drawn by the ``pil`` text provider (``KIVY_TEXT=pil``): it is the
  only one that shapes Persian, through Pillow with raqm and fribidi;
- without raqm, or without the Vazirmatn fonts, nothing is drawn at all:
  :exc:`~pishkhan.exc.RenderError` says what to install (broken Persian on a
  public screen is worse than none);
- Kivy neither parses the command line (``KIVY_NO_ARGS``) nor logs to the
  console (``KIVY_NO_CONSOLELOG``) unless the caller's environment already says
  otherwise;
- Escape never closes the app; the mouse is one pointer (no multitouch
  emulation by right-click);
- the window's size, fullscreen, resizing, frame cap and cursor are the
  caller's (a touchscreen kiosk and a wall TV differ there).

A module that imports Kivy at import time calls :func:`require_prepared`
first, so that importing it too early fails with words instead of drawing
unshaped text.
"""

from __future__ import annotations

import os

from pishkhan.exc import RenderError

#: The only Kivy text provider that shapes Persian.
TEXT_PROVIDER = "pil"


def prepare_kivy(*, size: tuple[int, int] | None = None, fullscreen: bool = False, resizable: bool = True,
                 max_fps: int | None = None, show_cursor: bool | None = None) -> None:
    """Set Kivy's environment and window configuration; call before Kivy is imported.

    Raises :exc:`~pishkhan.exc.RenderError` when Persian cannot be shaped or
    the fonts are missing.

    :param size: ``(width, height)`` of the window (None: Kivy's default, or the screen's when fullscreen).
    :param fullscreen: take the whole screen.
    :param resizable: whether the window may be resized.
    :param max_fps: cap the frame rate (None: Kivy's default).
    :param show_cursor: show the mouse cursor (None: hidden when fullscreen).
    """
    from pishkhan.text.fonts import font_path, require_raqm

    os.environ["KIVY_TEXT"] = TEXT_PROVIDER
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    require_raqm()
    font_path("Regular")
    font_path("Bold")
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("graphics", "resizable", "1" if resizable else "0")
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    if show_cursor is None:
        show_cursor = not fullscreen
    if not show_cursor:
        Config.set("graphics", "show_cursor", "0")
    if max_fps is not None:
        Config.set("graphics", "maxfps", str(int(max_fps)))
    if size:
        Config.set("graphics", "width", str(size[0]))
        Config.set("graphics", "height", str(size[1]))


def require_prepared(module: str) -> None:
    """Raise :exc:`~pishkhan.exc.RenderError` unless Kivy's text provider is set for Persian.

    :param module: the module about to import Kivy, named in the message.
    """
    if os.environ.get("KIVY_TEXT") != TEXT_PROVIDER:
        raise RenderError(f"{module} draws Persian, so Kivy must use the {TEXT_PROVIDER!r} text provider: call "
                          "pishkhan.runtime.kivy_env.prepare_kivy() before importing it "
                          f"(KIVY_TEXT is {os.environ.get('KIVY_TEXT')!r})")
