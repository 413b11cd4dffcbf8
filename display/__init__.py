"""The wall display app: board pages, calls to counters, screen power, proof of display.

Modules: :mod:`display.model` (what the wall shows, no Kivy),
:mod:`display.widgets` (the Kivy widgets that draw it), :mod:`display.app`
(the Kivy app wiring them to the clock, screen power and announcer),
:mod:`display.events` (what reached the screen, no Kivy), and the parts the
app drives: :mod:`display.page_cache`, :mod:`display.announce`,
:mod:`display.screen_power`, :mod:`display.snapshot`.

Before :mod:`display.app` or :mod:`display.widgets` is imported, call
``pishkhan.runtime.kivy_env.prepare_kivy(size=..., fullscreen=..., **WALL_WINDOW)``.
"""

#: The wall TV's window for :func:`pishkhan.runtime.kivy_env.prepare_kivy`:
#: a fixed size, at most 30 frames a second, the cursor left as it is.
WALL_WINDOW = {"resizable": False, "max_fps": 30, "show_cursor": True}
