"""When an update may start: the office's signed working hours decide, then the release's window.

:func:`may_start` is a pure function of the moment, the release document
and the office's effective hours (:class:`~pishkhan.schedule.hours.Hours`,
built from the signed schedules and holiday lists installed):

1. before the document's ``not_before``: wait (``not_yet``);
2. ``urgent: true`` (only a national key may sign it, checked at install):
   start now, whatever the hours and the window;
3. while the office is open, or when it opens within *guard_minutes*
   (default 30) from now: wait (``in_hours``);
4. outside the document's ``window`` (Tehran local time; a window whose start
   is after its end runs over midnight): wait (``outside_window``);
5. otherwise: start (None).

A wait is a :class:`Wait` (a :data:`~pishkhan.releases.WAIT_REASONS` code and
a sentence), data like a refusal but not one: the device waits and decides
again every minute.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pishkhan.text.jalali import to_tehran

#: Why a device waits rather than starts an update: code -> (Persian, English). Reported on the wire.
WAIT_REASONS: dict[str, tuple[str, str]] = {
    "in_hours": ("ساعت کاری دفتر است", "the office is open, or opens within update.guard_minutes"),
    "outside_window": ("بیرون از بازهٔ به‌روزرسانی", "outside the release document's window (Tehran time)"),
    "not_yet": ("هنوز زمان آن نرسیده", "before the release document's not_before"),
    "not_canary": ("این دستگاه در گروه پیشرو نیست", "not among the canary devices; waits for promotion"),
    "halted": ("این انتشار متوقف شده است", "the rollout was halted"),
    "up_to_date": ("نسخه به‌روز است", "the device runs the release's package version already"),
    "failed_here": ("این نسخه اینجا شکست خورده است", "this device rolled this package back already"),
}


@dataclass(frozen=True)
class Wait:
    """Why an update does not start now: *reason* is a code of :data:`~pishkhan.releases.WAIT_REASONS`."""

    reason: str
    message: str

    def __post_init__(self):
        if self.reason not in WAIT_REASONS:
            raise ValueError(f"unknown wait reason {self.reason!r}; add it to pishkhan.releases.WAIT_REASONS")


def may_start(now: dt.datetime, doc, hours, guard_minutes: int = 30) -> Wait | None:
    """None when an update of release *doc* may start at *now* (aware), else the :class:`Wait` saying why not.

    :param hours: the office's effective working hours (:class:`~pishkhan.schedule.hours.Hours`).
    :param guard_minutes: no start this many minutes before the office opens.
    """
    if now < doc.not_before:
        return Wait("not_yet", f"the release may start from {doc.not_before:%Y-%m-%d %H:%M} UTC")
    if doc.urgent:
        return None
    if hours.is_open(now):
        return Wait("in_hours", "the office is open now (its signed working hours)")
    opens = hours.next_open(now, days=2)
    if opens is not None and opens - now <= dt.timedelta(minutes=guard_minutes):
        return Wait("in_hours", f"the office opens at {to_tehran(opens):%H:%M}, within {guard_minutes} minutes")
    if doc.window is not None and not doc.window.contains(to_tehran(now).time()):
        return Wait("outside_window", f"outside the release's window {doc.window.label} (Tehran time)")
    return None
