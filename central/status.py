"""The fleet at a glance: each device's state today, and the counts by province.

A device's flags for a Tehran day (:func:`device_day`):

- ``online`` / ``offline``: its last status (birth, Last Will or clean stop);
- ``late``: it opened late that day — a ``late_opening`` event dated that
  day (Tehran time), or one in the day's report it sent;
- ``closed``: closed during announced hours that day — a
  ``closed_during_hours`` or ``early_closing`` event, the same way;
- ``gaps``: messages never received (:func:`lost_messages`);
- ``outdated``: the board it shows is older than the newest official board
  of one of its scopes (:func:`central.official.board_currency`).

:func:`fleet_view` gives the counts by province (``online``, ``offline``,
``late``, ``closed``, ``outdated``, ``total``), their totals, and the device
rows, filtered by province and by one of those states.
"""

from __future__ import annotations

import datetime as dt
import json

from central.official import board_currency, newest_boards
from pishkhan.text import jalali

STATES = ("online", "offline", "late", "closed", "outdated")
LATE_KINDS = ("late_opening",)
CLOSED_KINDS = ("closed_during_hours", "early_closing")
#: Events shown as alerts on the fleet page.
ALERT_KINDS = ("late_opening", "closed_during_hours", "early_closing", "printer_out", "display_off", "offline",
               "document_refused", "board_not_current", "schedule_not_current", "clock_not_synchronised",
               "clock_jumped", "outage", "identity_mismatch", "seq_jumped")


def parse_time(text) -> dt.datetime | None:
    """An ISO time (``…Z`` or with an offset; naive is UTC), or None."""
    if not text or not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def tehran_day(text) -> dt.date | None:
    moment = parse_time(text)
    return jalali.to_tehran(moment).date() if moment else None


def day_start_utc(day: dt.date) -> str:
    """The UTC instant a Tehran day begins, as ``…Z`` text (comparable with stored times)."""
    start = dt.datetime.combine(day, dt.time(0, 0), jalali.TEHRAN).astimezone(dt.timezone.utc)
    return start.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def events_of_day(db, day: dt.date, *, province: str | None = None, kinds=LATE_KINDS + CLOSED_KINDS) -> list[dict]:
    """Events of *kinds* that happened on Tehran *day* (received from the day before it on)."""
    since = day_start_utc(day - dt.timedelta(days=1))
    marks = ",".join("?" * len(kinds))
    sql = f"SELECT device_id, province, kind, at, detail FROM events WHERE kind IN ({marks}) AND received_at >= ?"
    params = [*kinds, since]
    if province:
        sql += " AND province = ?"
        params.append(province)
    out = []
    for row in db.query(sql, params):
        if tehran_day(row["at"]) == day:
            out.append(row | {"detail": _loads(row["detail"]) or {}})
    return out


def reports_of_day(db, day: dt.date, *, province: str | None = None, mentioning=()) -> dict[str, dict]:
    """The day's report each device sent: ``{device_id: report}``.

    :param mentioning: only reports whose text names one of these words (event kinds), found by
        the database before any is parsed.
    """
    sql, params = "SELECT device_id, province, report FROM reports WHERE date = ? AND province <> ''", [day.isoformat()]
    if province:
        sql += " AND province = ?"
        params.append(province)
    if mentioning:
        sql += " AND (" + " OR ".join("report LIKE ?" for _ in mentioning) + ")"
        params += [f'%"{word}"%' for word in mentioning]
    return {r["device_id"]: (_loads(r["report"]) or {}) | {"_province": r["province"]} for r in db.query(sql, params)}


def _loads(text):
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None


def _event_minutes(e: dict):
    detail = e.get("detail") or {}
    value = detail.get("minutes", e.get("minutes"))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def lost_messages(device: dict) -> int:
    """Messages the centre never got: the fleet's gaps, less the Last Will a live connection holds back.

    A birth reserves the seq of its connection's Last Will; while the
    connection lives that seq is a hole by design, not a loss. The numbers a
    flagged ``seq`` jump skipped (``seq_skipped``, :data:`central.fleet.SEQ_JUMP`)
    are not losses either.
    """
    if "highest_seq" in device and "received" in device:
        gaps = max(0, int(device["highest_seq"] or 0) - int(device["received"] or 0)
                   - int(device.get("seq_skipped") or 0))
    else:
        gaps = int(device.get("gaps") or 0)
    will = device.get("will_seq")
    if device.get("online") and will is not None and int(will) <= int(device.get("highest_seq") or 0) and gaps:
        gaps -= 1
    return gaps


def device_day(device: dict, *, events: list[dict], report: dict | None, newest: dict, currency=None) -> dict:
    """The device's row for the day: its flags and what they come from."""
    kinds = {}
    for e in events:
        kinds.setdefault(e["kind"], []).append({"at": e["at"], "minutes": _event_minutes(e),
                                                "opened_at": (e.get("detail") or {}).get("opened_at")})
    for e in (report or {}).get("events") or []:
        if isinstance(e, dict) and e.get("kind") in LATE_KINDS + CLOSED_KINDS:
            seen = kinds.setdefault(e["kind"], [])
            if not any(x["at"] == e.get("start") for x in seen):
                seen.append({"at": e.get("start"), "minutes": e.get("minutes"),
                             "opened_at": (e.get("detail") or {}).get("opened_at")})
    late = [x for k in LATE_KINDS for x in kinds.get(k, [])]
    closed = [x | {"kind": k} for k in CLOSED_KINDS for x in kinds.get(k, [])]
    currency = currency or board_currency(device, newest)
    return {
        "device_id": device["device_id"], "province": device["province"], "office_id": device["office_id"],
        "office_name": device["office_name"], "online": device["online"], "status_since": device["status_since"],
        "status_reason": device["status_reason"], "last_seen": device["last_seen"],
        "late": bool(late), "late_events": late, "closed": bool(closed), "closed_events": closed,
        "outdated": currency["state"] == "outdated", "board": currency, "gaps": lost_messages(device),
    }


def matches(row: dict, state: str | None) -> bool:
    if not state:
        return True
    if state == "online":
        return row["online"]
    if state == "offline":
        return not row["online"]
    return bool(row.get(state))


def fleet_view(fleet, *, day: dt.date, province: str | None = None, state: str | None = None) -> dict:
    """Counts by province and the device rows (filtered by *province* and *state*) for Tehran *day*."""
    if state and state not in STATES:
        from pishkhan.exc import PishkhanError

        raise PishkhanError(f"state: expected one of {', '.join(STATES)}, got {state!r}")
    db = fleet.db
    newest = newest_boards(db)
    events: dict[str, list] = {}
    for e in events_of_day(db, day, province=province):
        events.setdefault(e["device_id"], []).append(e)
    reports = reports_of_day(db, day, province=province, mentioning=LATE_KINDS + CLOSED_KINDS)
    office_boards = any(scope.startswith("office:") for scope in newest)
    judged: dict[tuple, dict] = {}  # devices showing the same board in the same scopes share a judgement
    rows = []
    for d in _devices(db, province):
        key = (d["board_text"], d["province"], d["office_id"] if office_boards else "")
        if key not in judged:
            judged[key] = board_currency(d, newest)
        rows.append(device_day(d, events=events.get(d["device_id"], []), report=reports.get(d["device_id"]),
                               newest=newest, currency=judged[key]))
    provinces: dict[str, dict] = {}
    for row in rows:
        counts = provinces.setdefault(row["province"], {"province": row["province"], "total": 0,
                                                        **dict.fromkeys(STATES, 0)})
        counts["total"] += 1
        for s in STATES:
            counts[s] += matches(row, s)
    ordered = [provinces[p] for p in sorted(provinces, key=_province_order)]
    totals = {"total": sum(p["total"] for p in ordered), **{s: sum(p[s] for p in ordered) for s in STATES}}
    return {"date": day.isoformat(), "province": province, "state": state, "provinces": ordered, "totals": totals,
            "devices": [r for r in rows if matches(r, state)]}


DEVICE_COLUMNS = ("device_id, province, office_id, office_name, online, status_since, status_reason, last_seen, "
                  "board, will_seq, highest_seq, received, seq_skipped")


def _devices(db, province: str | None) -> list[dict]:
    """The devices with just what a day's row needs (the board decoded; telemetry is not read)."""
    sql, params = f"SELECT {DEVICE_COLUMNS} FROM devices WHERE province <> ''", []  # unregistered: quarantined
    if province:
        sql += " AND province = ?"
        params.append(province)
    out = []
    for row in db.query(sql + " ORDER BY device_id", params):
        row["board_text"] = row["board"]
        row["board"] = _loads(row["board"]) if row["board"] else None
        row["online"] = bool(row["online"])
        row["gaps"] = max(0, int(row["highest_seq"]) - int(row["received"]))
        out.append(row)
    return out


def _province_order(code: str):
    return (0, int(code), code) if code.isdigit() else (1, 0, code)


#: The most alerts of one device on the fleet page's list, so one device cannot fill it.
ALERTS_PER_DEVICE = 5


def alerts(fleet, *, day: dt.date, province: str | None = None, limit: int = 50, days: int = 7,
           per_device: int = ALERTS_PER_DEVICE) -> list[dict]:
    """The newest alert events (of :data:`ALERT_KINDS`) received in the *days* up to Tehran *day*, newest
    first by when the centre received them (a device's own clock orders nothing), at most *per_device* of
    each device (the window keeps the query on the ``received_at`` index)."""
    marks = ",".join("?" * len(ALERT_KINDS))
    where = f"e.kind IN ({marks}) AND e.received_at >= ? AND e.province <> ''"  # unregistered: quarantined
    params = [*ALERT_KINDS, day_start_utc(day - dt.timedelta(days=days))]
    if province:
        where += " AND e.province = ?"
        params.append(province)
    sql = (f"SELECT r.*, d.office_name, d.office_id FROM (SELECT e.*, ROW_NUMBER() OVER "
           f"(PARTITION BY e.device_id ORDER BY e.received_at DESC, e.id DESC) AS nth FROM events e WHERE {where}) r "
           f"LEFT JOIN devices d ON d.device_id = r.device_id WHERE r.nth <= ? "
           f"ORDER BY r.received_at DESC, r.id DESC LIMIT ?")
    rows = fleet.db.query(sql, (*params, per_device, limit))
    return [{k: v for k, v in r.items() if k != "nth"} | {"detail": _loads(r["detail"]) or {}} for r in rows]


def today_compliance(db, device: dict, day: dt.date) -> dict | None:
    """The latest compliance report of *day* the device sent (its report, else its telemetry's state)."""
    row = db.query_one("SELECT report FROM reports WHERE device_id = ? AND date = ?",
                       (device["device_id"], day.isoformat()))
    if row:
        return _loads(row["report"])
    compliance = device.get("compliance")
    if isinstance(compliance, dict) and compliance.get("date") in (None, day.isoformat()) and \
            ("timeline" in compliance or "serving_minutes" in compliance):
        return compliance
    return None
