"""The customer touchscreen (Kivy), with staff mode.

Call :func:`pishkhan.runtime.kivy_env.prepare_kivy` (also importable from
here as :func:`prepare_kivy`) before anything imports Kivy: it selects the
``pil`` text provider (the only one that shapes Persian, through raqm),
refuses to go on without raqm, and sets the window size. Its defaults are
the kiosk's window: resizable, the cursor hidden when fullscreen.
"""

from pishkhan.runtime.kivy_env import prepare_kivy

__all__ = ["prepare_kivy"]
