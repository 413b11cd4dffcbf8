"""The centre's override of the wall screen's power (the signed ``screen`` command).

The agent writes it (:func:`set_override`), the wall display's screen power
honours it while it lasts (:func:`screen_override`), instead of the opening
hours; both through one store setting, so neither app imports the other.
"""

from __future__ import annotations

import datetime as dt

from pishkhan.store.database import iso, parse_iso

SETTING = "display.screen_override"
#: How long an override lasts before the opening hours decide again.
LASTS = dt.timedelta(hours=12)


def set_override(store, power: str, *, command: str, now: dt.datetime | None = None) -> dict:
    """Turn the wall screen *power* ("on" or "off") for :data:`LASTS`; audited."""
    if power not in ("on", "off"):
        from pishkhan.exc import PishkhanError

        raise PishkhanError(f"screen power must be \"on\" or \"off\", got {power!r}")
    now = now or store.now()
    value = {"power": power, "until": iso(now + LASTS), "command": command, "set_at": iso(now)}
    store.set_setting(SETTING, value)
    store.audit("centre", "screen.override", power, until=value["until"], command=command)
    return value


def screen_override(store, now: dt.datetime | None = None) -> dict | None:
    """The override still in force, or None."""
    value = store.get_setting(SETTING)
    if not isinstance(value, dict) or value.get("power") not in ("on", "off"):
        return None
    try:
        until = parse_iso(value["until"])
    except (KeyError, TypeError, ValueError):
        return None
    return value if (now or store.now()) < until else None
