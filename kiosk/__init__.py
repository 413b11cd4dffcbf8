"""The customer touchscreen (Kivy), with staff mode.

Call :func:`prepare_kivy` before anything imports Kivy: it selects the
``pil`` text provider (the only one that shapes Persian, through raqm),
refuses to go on without raqm, and sets the window size.
"""

import os


def prepare_kivy(*, size=None, fullscreen=False):
    """Set Kivy up for the kiosk; raises RenderError when Persian cannot be shaped.

    :param size: ``(width, height)`` of the window, e.g. ``(1280, 800)``.
    :param fullscreen: take the whole screen (the size is then the screen's).
    """
    from pishkhan.text.fonts import font_path, require_raqm

    os.environ["KIVY_TEXT"] = "pil"
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    require_raqm()
    font_path("Regular")
    font_path("Bold")
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("graphics", "resizable", "1")
    if fullscreen:
        Config.set("graphics", "fullscreen", "auto")
        Config.set("graphics", "show_cursor", "0")
    if size:
        Config.set("graphics", "width", str(size[0]))
        Config.set("graphics", "height", str(size[1]))
