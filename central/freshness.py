"""How fresh the centre's picture of the fleet is: when it last heard from the fleet, and whether its monitors run.

Every figure the dashboard shows is what the fleet database holds, and the
database is only as fresh as the monitors that keep it. When the monitors stop
(or the broker, or the network before them) nothing changes in it: a page
would go on saying "294 online". So the page and ``/metrics`` also say:

- ``last_message_at``: the newest ``devices.last_seen`` in scope — the last
  message the centre received from any of its devices (a Last Will does not
  count: the broker sends it, not the device);
- ``monitors``: each monitor's row (:mod:`central.monitor_housekeeping`), with
  the age of its last heartbeat; a monitor is ``alive`` while that age is at
  most :data:`MONITOR_GONE_AFTER`.

The picture is ``stale`` (with a ``reason``) when no monitor is alive
(``no_monitor``) or nothing came from the fleet for :data:`STALE_AFTER`
(``fleet_silent``); a fleet that never sent anything is not stale.
"""

from __future__ import annotations

import datetime as dt

from central import stored
from central.status import parse_time

#: No message from any device for this long: the figures are stale (as a device is silent after
#: :data:`central.verification.SILENT_AFTER`).
STALE_AFTER = dt.timedelta(minutes=3)
#: A monitor whose heartbeat (every 10 s) is older than this is taken as stopped.
MONITOR_GONE_AFTER = dt.timedelta(seconds=60)
#: Why the picture is stale.
STALE_REASONS = ("no_monitor", "fleet_silent")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def age(text, now: dt.datetime | None = None) -> float | None:
    """Seconds from the UTC time *text* to *now* (never below 0); None when *text* is not a time."""
    now = now or utc_now()
    moment = parse_time(text)  # the one bounded reader of stored times
    return None if moment is None else round(max(0.0, (now - moment).total_seconds()), 3)


def monitors(db, *, now: dt.datetime) -> list[dict]:
    """Each monitor's last heartbeat: its row, ``heartbeat_age_seconds``, ``alive`` and ``refusals`` decoded."""
    out = []
    for row in db.query("SELECT * FROM monitors ORDER BY monitor_id"):
        beat = age(row["heartbeat_at"], now)
        refusals = stored.loads(row["refusals"])
        out.append(row | {"heartbeat_age_seconds": beat, "connected": bool(row["connected"]),
                          "alive": beat is not None and beat <= MONITOR_GONE_AFTER.total_seconds(),
                          "refusals": refusals if isinstance(refusals, dict) else {},
                          "last_message_age_seconds": age(row["last_message_at"], now)})
    return out


def freshness(db, *, province: str | None = None, now: dt.datetime | None = None) -> dict:
    """``last_message_at``, ``last_message_age_seconds``, ``monitors``, ``monitors_alive``, ``stale`` and
    ``reason`` (one of :data:`STALE_REASONS`, or None) for *province* (None: the whole registered fleet)."""
    now = now or utc_now()
    sql, params = "SELECT MAX(last_seen) AS at FROM devices WHERE province <> ''", []
    if province:
        sql, params = sql + " AND province = ?", [province]
    last = db.query_one(sql, params)["at"]
    rows = monitors(db, now=now)
    alive = sum(1 for m in rows if m["alive"])
    silence = age(last, now)
    reason = None
    if not alive:
        reason = "no_monitor"
    elif silence is not None and silence > STALE_AFTER.total_seconds():
        reason = "fleet_silent"
    return {"last_message_at": last, "last_message_age_seconds": silence, "monitors": rows, "monitors_alive": alive,
            "stale": reason is not None, "reason": reason}
