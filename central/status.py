"""The fleet at a glance: each device's state today, and the counts by province.

A device's flags for a Tehran day (:func:`device_day`):

- ``online`` / ``offline``: its last status (birth, Last Will or clean stop),
  and offline whatever that said once nothing of it has come for longer than
  :data:`central.verification.SILENT_AFTER` (``silent``: a device that set no
  Last Will and dropped, :func:`central.verification.silent`);
- ``late``: it opened late that day — a ``late_opening`` event dated that
  day (Tehran time), or one in the day's report it sent. The event fires
  at the threshold, while the office is still closed, so each late opening
  follows the office's later state (:func:`follow_opening`): when it opened
  and the true minutes late, or until when it is known to have stayed closed;
- ``closed``: closed during announced hours that day — a
  ``closed_during_hours`` or ``early_closing`` event, the same way;
- ``gaps``: messages never received (:func:`lost_messages`);
- ``outdated``: the board it shows is older than the newest official board
  of one of its scopes (:func:`central.official.board_currency`).

:func:`fleet_view` gives the counts by province (``online``, ``offline``,
``late``, ``closed``, ``outdated``, ``total``), their totals, and the device
rows, filtered by province and by one of those states.

Every stored field is read through :mod:`central.stored`: a row or field that
cannot be read is left out or shown as unknown, and counted in the view's
``unreadable`` (a :class:`~central.stored.Tally` when the caller passes one).
"""

from __future__ import annotations

import datetime as dt

from central import stored
from central.queries import UNSENT_WILLS, unexplained_gaps
from central.verification import silent
from central.official import board_currency, newest_boards
from pishkhan.text import jalali

STATES = ("online", "offline", "late", "closed", "outdated")
#: Counts beside the states' (not a filter of the fleet page): ``board_unknown``, offices whose board is
#: neither current nor outdated (none reported, or one that cannot be read): the list's ``board=unknown``.
EXTRA_COUNTS = ("board_unknown",)
LATE_KINDS = ("late_opening",)
#: The office's own events that say it opened (the simulator's ``office.opened``).
OPENED_KINDS = ("office.opened",)
#: The compliance states of an open office.
OPEN_STATES = ("serving", "degraded")
CLOSED_KINDS = ("closed_during_hours", "early_closing")
#: Events shown as alerts on the fleet page.
ALERT_KINDS = ("late_opening", "closed_during_hours", "early_closing", "printer_out", "display_off", "offline",
               "document_refused", "board_not_current", "schedule_not_current", "clock_not_synchronised",
               "clock_jumped", "outage", "identity_mismatch", "seq_jumped",
               "over_budget")


def parse_time(text) -> dt.datetime | None:
    """An ISO time (``…Z`` or with an offset; naive is UTC) within :data:`central.stored.YEARS`, or None."""
    if not text or not isinstance(text, str) or len(text) > 64:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if not stored.YEARS[0] <= moment.year <= stored.YEARS[1]:
        return None  # Tehran time or a Jalali date of year 9999 overflows
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def tehran_day(text) -> dt.date | None:
    moment = parse_time(text)
    return jalali.to_tehran(moment).date() if moment else None


def day_start_utc(day: dt.date) -> str:
    """The UTC instant a Tehran day begins, as ``…Z`` text (comparable with stored times)."""
    start = dt.datetime.combine(day, dt.time(0, 0), jalali.TEHRAN).astimezone(dt.timezone.utc)
    return start.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def events_of_day(db, day: dt.date, *, province: str | None = None, kinds=LATE_KINDS + CLOSED_KINDS,
                  tally: stored.Tally | None = None) -> list[dict]:
    """Events of *kinds* that happened on Tehran *day* (received from the day before it on).

    An event whose time cannot be read is counted in *tally* and left out.
    """
    since = day_start_utc(day - dt.timedelta(days=1))
    marks = ",".join("?" * len(kinds))
    sql = f"SELECT device_id, province, kind, at, detail FROM events WHERE kind IN ({marks}) AND received_at >= ?"
    params = [*kinds, since]
    if province:
        sql += " AND province = ?"
        params.append(province)
    out = []
    for row in db.query(sql, params):
        when = tehran_day(row["at"])
        if when is None and tally is not None:
            tally.add("events", province=row["province"])
        if when == day:
            detail = stored.loads(row["detail"], tally=tally, table="events", province=row["province"])
            out.append(row | {"detail": detail or {}})
    return out


def reports_of_day(db, day: dt.date, *, province: str | None = None, mentioning=(),
                   tally: stored.Tally | None = None) -> dict[str, dict]:
    """The day's report each device sent: ``{device_id: report}`` (a report that is not a readable
    object is counted in *tally* and left out).

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
    out = {}
    for r in db.query(sql, params):
        report = stored.loads(r["report"], tally=tally, table="reports", province=r["province"])
        if report is not None:
            out[r["device_id"]] = report | {"_province": r["province"]}
    return out


def _loads(text):
    """A stored JSON value of any type, cleaned (:func:`central.stored.loads`), or None."""
    return stored.loads(text, kind=None)


#: The most minutes an event or a report may count in a day.
DAY_MINUTES = 24 * 60


def _event_minutes(e: dict):
    detail = e.get("detail") if isinstance(e.get("detail"), dict) else {}
    return stored.integer(detail.get("minutes", e.get("minutes")), low=0, high=DAY_MINUTES)


def _time_text(value) -> str | None:
    """A stored time as text, if it reads as one (else None: shown as unknown)."""
    return value if parse_time(value) else None


def lost_messages(device: dict) -> int:
    """Messages the centre never got and the device never accounted for (docs/mqtt.md, "Gaps and duplicates").

    A birth announces the ``seq`` of its connection's Last Will: until that
    will or a clean offline comes (if ever: a live connection, a broker that
    never sent it) it is a hole by design (``unsent_wills``,
    :data:`central.queries.UNSENT_WILLS`). Telemetry the device's outbox
    dropped (``telemetry_dropped``, from ``agent.outbox.dropped``) and the
    numbers a flagged ``seq`` jump skipped (``seq_skipped``,
    :data:`central.fleet.SEQ_JUMP`) are not losses either. A row read without
    ``unsent_wills`` (an older query) counts the will a live connection holds back, as before.
    """

    if "highest_seq" in device and "received" in device:
        gaps = unexplained_gaps(device)
    else:
        gaps = int(device.get("gaps") or 0) - int(device.get("lost_before") or 0)
    will = device.get("will_seq")
    if "unsent_wills" not in device and device.get("online") and will is not None \
            and int(will) <= int(device.get("highest_seq") or 0) and gaps:
        gaps -= 1
    return max(0, gaps) + int(device.get("lost_before") or 0)  # and what the device's earlier epochs lost


def device_day(device: dict, *, events: list[dict], report: dict | None, newest: dict, currency=None,
               tally: stored.Tally | None = None, now: dt.datetime | None = None) -> dict:
    """The device's row for the day (as of *now*): its flags and what they come from.

    *device* is decoded (:func:`device_row`); a report whose ``events`` is not a list is counted in
    *tally* and its events are not read.
    """
    kinds = {}
    opened = []
    for e in events:
        if e["kind"] in OPENED_KINDS:
            opened.append(e["at"])
            continue
        detail = e.get("detail") if isinstance(e.get("detail"), dict) else {}
        kinds.setdefault(e["kind"], []).append({"at": _time_text(e["at"]), "minutes": _event_minutes(e),
                                                "opened_at": _opened_at(detail), "end": _time_text(detail.get("end"))})
    reported = (report or {}).get("events") if isinstance(report, dict) else None
    if reported is not None and not isinstance(reported, list):
        if tally is not None:
            tally.add("reports", province=device.get("province"))
        reported = None
    for e in reported or []:
        if isinstance(e, dict) and isinstance(e.get("kind"), str) and e["kind"] in LATE_KINDS + CLOSED_KINDS:
            seen = kinds.setdefault(e["kind"], [])
            start = _time_text(e.get("start"))
            detail = e.get("detail") if isinstance(e.get("detail"), dict) else {}
            record = {"at": start, "minutes": _event_minutes(e), "opened_at": _opened_at(detail),
                      "end": _time_text(e.get("end"))}
            same = [x for x in seen if _same_time(x["at"], start)]
            if not same:
                seen.append(record)
            elif record["opened_at"] and not same[0]["opened_at"]:  # the report is later: it knows the opening
                same[0].update(record, at=same[0]["at"])
    late = [follow_opening(x, opened=opened, state=device.get("compliance"), state_at=device.get("compliance_at"))
            for k in LATE_KINDS for x in _one_per_start(kinds.get(k, []))]
    closed = [x | {"kind": k} for k in CLOSED_KINDS for x in kinds.get(k, [])]
    currency = currency or board_currency(device, newest, tally=tally)
    quiet = bool(device.get("silent")) or (bool(device["online"]) and silent(device["last_seen"], now))
    return {
        "device_id": device["device_id"], "province": device["province"], "office_id": device["office_id"],
        "office_name": device["office_name"], "online": bool(device["online"]) and not quiet, "silent": quiet,
        "status_since": device["last_seen"] if quiet else device["status_since"],
        "status_reason": "silent" if quiet else device["status_reason"], "last_seen": device["last_seen"],
        "late": bool(late), "late_events": late, "closed": bool(closed), "closed_events": closed,
        "outdated": currency["state"] == "outdated", "board": currency,
        "gaps": lost_messages(device | {"online": bool(device["online"]) or quiet}),  # its will may yet come
    }


def _opened_at(detail: dict) -> str | None:
    """A late opening's ``opened_at``: in its detail, or in the judge's event the agent sends whole as the detail."""
    inner = detail.get("detail") if isinstance(detail.get("detail"), dict) else {}
    return _time_text(detail.get("opened_at")) or _time_text(inner.get("opened_at"))


def _same_time(a, b) -> bool:
    return a is not None and b is not None and parse_time(a) == parse_time(b)


def _one_per_start(records: list[dict]) -> list[dict]:
    """The records of one kind, one per start time: the one that knows the opening (or counts most) wins."""
    out: list[dict] = []
    for r in records:
        same = next((x for x in out if _same_time(x["at"], r["at"])), None)
        if same is None:
            out.append(dict(r))
        elif (r["opened_at"] and not same["opened_at"]) or (bool(r["opened_at"]) == bool(same["opened_at"]) and
                                                              (r["minutes"] or 0) > (same["minutes"] or 0)):
            same.update(r, at=same["at"])
    return out


def _minutes_between(start: dt.datetime, end: dt.datetime) -> int:
    return max(0, min(DAY_MINUTES, int((end - start).total_seconds() // 60)))


def follow_opening(late: dict, *, opened=(), state=None, state_at=None) -> dict:
    """A late opening as the office's later state tells it: ``at`` (when the period began, as the event
    says), ``minutes`` (late by), ``opened_at`` (or None), ``opened_from`` and ``closed_until``.

    The event fires at the threshold, while the office is still closed. What came after decides, first
    found:

    1. ``event``: the late opening itself (or a later copy of it: the day's report) names ``opened_at``;
    2. ``opened``: the office's own ``office.opened`` event, the first from the late opening's start on
       its Tehran day;
    3. ``state``: the office's last compliance state (its telemetry) is serving or degraded since a time
       from the start on that day — it opened then, or earlier if its state changed again since;
    4. not opened: ``closed_until`` is the latest moment it is known to have been closed — its last state
       still ``closed`` from before the start (when that state was sent), else the event's own end.

    Opened, ``minutes`` is from the start to the opening (at least what the event counted); not opened,
    to ``closed_until``.
    """
    out = dict(late) | {"opened_from": None, "closed_until": None}
    start = parse_time(late.get("at"))
    counted = late.get("minutes") or 0
    if late.get("opened_at"):
        out["opened_from"] = "event"
    elif start is not None:
        day = jalali.to_tehran(start).date()
        floor = start - dt.timedelta(minutes=1)
        times = sorted(t for t in (parse_time(x) for x in opened) if t and t >= floor and
                       jalali.to_tehran(t).date() == day)
        if times:
            out["opened_at"], out["opened_from"] = _iso(times[0]), "opened"
        else:
            state = _loads(state) if isinstance(state, str) else state
            state = state if isinstance(state, dict) else {}
            since = parse_time(state.get("since"))
            if state.get("state") in OPEN_STATES and since and since >= start and jalali.to_tehran(since).date() == day:
                out["opened_at"], out["opened_from"] = _iso(since), "state"
            elif state.get("state") == "closed" and since and since <= start and parse_time(state_at) and \
                    parse_time(state_at) > start and jalali.to_tehran(parse_time(state_at)).date() == day:
                out["closed_until"] = _iso(parse_time(state_at))
    if start is not None and out["opened_at"]:
        out["minutes"] = max(counted, _minutes_between(start, parse_time(out["opened_at"])))
    elif start is not None:
        end = parse_time(late.get("end")) or start + dt.timedelta(minutes=counted)
        until = max(end, parse_time(out["closed_until"]) or end)
        out["closed_until"] = _iso(until)
        out["minutes"] = max(counted, _minutes_between(start, until))
    return out


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def matches(row: dict, state: str | None) -> bool:
    if not state:
        return True
    if state == "online":
        return row["online"]
    if state == "offline":
        return not row["online"]
    return bool(row.get(state))


def fleet_view(fleet, *, day: dt.date, province: str | None = None, state: str | None = None,
               tally: stored.Tally | None = None, now: dt.datetime | None = None) -> dict:
    """Counts by province and the device rows (filtered by *province* and *state*) for Tehran *day*, as of *now*.

    ``unreadable`` is how many stored values could not be read (counted in *tally* too, if given).
    """
    if state and state not in STATES:
        from pishkhan.exc import PishkhanError

        raise PishkhanError(f"state: expected one of {', '.join(STATES)}, got {state!r}")
    db = fleet.db
    tally = tally if tally is not None else stored.Tally()
    newest = newest_boards(db)
    events: dict[str, list] = {}
    for e in events_of_day(db, day, province=province, kinds=LATE_KINDS + CLOSED_KINDS + OPENED_KINDS, tally=tally):
        events.setdefault(e["device_id"], []).append(e)
    reports = reports_of_day(db, day, province=province, mentioning=LATE_KINDS + CLOSED_KINDS, tally=tally)
    office_boards = any(scope.startswith("office:") for scope in newest)
    judged: dict[tuple, dict] = {}  # devices showing the same board in the same scopes share a judgement
    rows = []
    for d in _devices(db, province, tally):
        key = (d["board_text"], d["province"], d["office_id"] if office_boards else "")
        if key not in judged:
            judged[key] = board_currency(d, newest, tally=tally)
        rows.append(device_day(d, events=events.get(d["device_id"], []), report=reports.get(d["device_id"]),
                               newest=newest, currency=judged[key], tally=tally, now=now))
    provinces: dict[str, dict] = {}
    for row in rows:
        counts = provinces.setdefault(row["province"], {"province": row["province"], "total": 0,
                                                        **dict.fromkeys(STATES + EXTRA_COUNTS, 0)})
        counts["total"] += 1
        counts["board_unknown"] += row["board"]["state"] not in ("current", "outdated")
        for s in STATES:
            counts[s] += matches(row, s)
    ordered = [provinces[p] for p in sorted(provinces, key=province_order)]
    totals = {"total": sum(p["total"] for p in ordered),
              **{s: sum(p[s] for p in ordered) for s in STATES + EXTRA_COUNTS}}
    return {"date": day.isoformat(), "province": province, "state": state, "provinces": ordered, "totals": totals,
            "devices": [r for r in rows if matches(r, state)], "unreadable": tally.total}


DEVICE_COLUMNS = ("device_id, province, office_id, office_name, online, status_since, status_reason, last_seen, "
                  "board, will_seq, highest_seq, received, seq_skipped, compliance, compliance_at, lost_before, "
                  "telemetry_dropped, " + UNSENT_WILLS)


def _devices(db, province: str | None, tally: stored.Tally | None = None) -> list[dict]:
    """The devices with just what a day's row needs (the board decoded; telemetry is not read)."""
    sql, params = f"SELECT {DEVICE_COLUMNS} FROM devices WHERE province <> ''", []  # unregistered: quarantined
    if province:
        sql += " AND province = ?"
        params.append(province)
    out = []
    boards: dict = {}  # offices showing the same board store the same text: read it once
    for row in db.query(sql + " ORDER BY device_id", params):
        row["board_text"] = text = row["board"]
        if text not in boards:
            boards[text] = stored.loads(text, tally=tally, table="devices", province=row["province"])
        elif boards[text] is None and text and tally is not None:
            tally.add("devices", province=row["province"])
        row["board"] = boards[text]
        row["online"] = bool(row["online"])
        row["gaps"] = max(0, int(row["highest_seq"]) - int(row["received"]))
        out.append(row)
    return out


#: A devices row's JSON columns, each an object when readable.
JSON_COLUMNS = ("board", "schedule", "clock", "telemetry", "compliance")


def device_row(row: dict, tally: stored.Tally | None = None, *, now: dt.datetime | None = None) -> dict:
    """A whole ``devices`` row with its JSON columns decoded: each an object, or None (counted when
    something unreadable was stored); sequence counts as numbers and ``gaps``; offline (``silent``, since
    its last message) when nothing of it has come for longer than :data:`central.verification.SILENT_AFTER`."""
    out = dict(row)
    for key in JSON_COLUMNS:
        out[key] = stored.loads(row.get(key), tally=tally, table="devices", province=row.get("province"))
    out["silent"] = bool(row.get("online")) and silent(row.get("last_seen"), now)
    out["online"] = bool(row.get("online")) and not out["silent"]
    if out["silent"]:
        out["status_since"], out["status_reason"] = row.get("last_seen"), "silent"
    for key in ("highest_seq", "received", "duplicates"):
        out[key] = int(row.get(key) or 0)
    out["gaps"] = lost_messages(out) if "unsent_wills" in out else max(0, out["highest_seq"] - out["received"])
    return out


def device_events(db, device_id: str, *, limit: int = 100, tally: stored.Tally | None = None) -> list[dict]:
    """A device's newest events (by when the centre received them), each ``detail`` an object
    (an unreadable one is ``{}``, counted) and ``at`` None when it is not a readable time."""
    rows = db.query("SELECT * FROM events WHERE device_id = ? ORDER BY received_at DESC, id DESC LIMIT ?",
                    (device_id, limit))
    out = []
    for r in rows:
        if tally is not None and parse_time(r["at"]) is None:
            tally.add("events", province=r["province"])
        detail = stored.loads(r["detail"], tally=tally, table="events", province=r["province"])
        out.append(r | {"detail": detail or {}})
    return out


def province_order(code: str):
    """A sort key: province codes in numeric order, then any other text."""
    try:
        return (0, int(code), code) if code.isascii() and code.isdigit() and len(code) < 20 else (1, 0, code)
    except ValueError:
        return (1, 0, code)


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


def today_compliance(db, device: dict, day: dt.date, *, tally: stored.Tally | None = None) -> dict | None:
    """The latest compliance report of *day* the device sent (its report, else its telemetry's state);
    a report that is not a readable object is counted in *tally* and is None."""
    row = db.query_one("SELECT report FROM reports WHERE device_id = ? AND date = ?",
                       (device["device_id"], day.isoformat()))
    if row:
        return stored.loads(row["report"], tally=tally, table="reports", province=device.get("province"))
    compliance = device.get("compliance")
    if isinstance(compliance, dict) and compliance.get("date") in (None, day.isoformat()) and \
            ("timeline" in compliance or "serving_minutes" in compliance):
        return compliance
    return None
