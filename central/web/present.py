"""What a page shows of a stored row: an office's page, today's timeline, the readings table,
a verified board.

The rows come from devices, so nothing here may assume a field has the type
the protocol promises: what does not fit is left out or shown as unknown, and
counted (:class:`central.stored.Tally`) where a page says how much it could not read.
"""

from __future__ import annotations

import datetime as dt

from central import queries, status, stored, verification
from central.official import newest_boards
from central.web import strings

READING_KEYS = tuple(strings.READINGS)
#: The most readings the office page lists (the rest are counted as unreadable).
MAX_READINGS = 300


def office_page(db, device_id: str, *, day: dt.date, province: str | None = None,
                now: dt.datetime | None = None) -> dict | None:
    """The office page's data for *device_id* on Tehran *day*, or None when there is no such device
    (or it is not in *province*, the user's own). ``unreadable`` counts the stored values it could not read."""
    tally = stored.Tally()
    row = queries.device_row(db, device_id)
    if row is None or (province and row["province"] != province):
        return None
    device = status.device_row(row, tally, now=now)
    compliance = status.today_compliance(db, device, day, tally=tally)
    snapshot = queries.snapshot_of(db, device_id)
    kinds = status.LATE_KINDS + status.CLOSED_KINDS + status.OPENED_KINDS
    mine = [e for e in status.events_of_day(db, day, province=device["province"] or None, kinds=kinds, tally=tally)
            if e["device_id"] == device_id]
    today = status.device_day(device, events=mine, report=compliance, newest=newest_boards(db), tally=tally)
    shown = timeline(compliance, tally=tally, province=device["province"])
    table = readings(device.get("telemetry"), tally=tally, province=device["province"])
    events = status.device_events(db, device_id, limit=100, tally=tally)
    return {"date": day.isoformat(), "device": device, "today": today, "compliance": compliance,
            "timeline": shown, "readings": table, "events": events, "snapshot": snapshot,
            "booted": booted(device, now=now),
            "verdicts": verification.recent(db, device_id, today=day), "unreadable": tally.total}


def follow_late_alerts(db, alerts: list[dict]) -> list[dict]:
    """*alerts* with ``opening`` on each ``late_opening`` one: the late opening as the office's later state
    tells it (:func:`central.status.follow_opening`: its events that day, its day's report, its last state)."""
    late = [a for a in alerts if a.get("kind") in status.LATE_KINDS]
    if not late:
        return alerts
    later = queries.later_states(db, sorted({a["device_id"] for a in late}),
                                 since=min(str(a.get("received_at") or "") for a in late),
                                 kinds=status.OPENED_KINDS)
    out = []
    for a in alerts:
        if a.get("kind") in status.LATE_KINDS:
            mine = later.get(a["device_id"], {})
            row = status.device_day({"device_id": a["device_id"], "province": a.get("province"), "office_id": "",
                                     "office_name": "", "online": False, "last_seen": None, "status_since": None,
                                     "status_reason": None, "compliance": mine.get("compliance"),
                                     "compliance_at": mine.get("compliance_at")},
                                    events=[a] + mine.get("events", []), report=_report_of(db, a),
                                    newest={}, currency={"state": "unknown"})
            found = [x for x in row["late_events"] if status._same_time(x["at"], status._time_text(a.get("at")))]
            a = a | {"opening": found[0] if found else None}
        out.append(a)
    return out


def _report_of(db, alert: dict) -> dict | None:
    day = status.tehran_day(alert.get("at"))
    return queries.report_of(db, alert["device_id"], day.isoformat()) if day else None


def _minutes(value, high: int = status.DAY_MINUTES) -> int | None:
    return stored.integer(value, low=0, high=high)


def timeline(compliance: dict | None, *, tally: stored.Tally | None = None, province: str | None = "") -> dict | None:
    """Today's runs as bar segments (share of the scheduled minutes), and the minutes by state.

    A run that is not an object with a known state and readable start and end
    no later than a day after it is left out, and counted in *tally*.
    """
    if not compliance or not isinstance(compliance, dict):
        return None
    from central.status import parse_time

    runs, bad = [], 0
    listed = compliance.get("timeline")
    if listed is not None and not isinstance(listed, list):
        listed, bad = [], 1
    for run in listed or []:
        if not isinstance(run, dict):
            bad += 1
            continue
        start, end = parse_time(run.get("start")), parse_time(run.get("end"))
        state = run.get("state") if isinstance(run.get("state"), str) else None
        if not start or not end or state not in strings.COMPLIANCE_STATES or \
                not dt.timedelta(0) <= end - start <= dt.timedelta(days=1):
            bad += 1
            continue
        why = run.get("why", "")
        runs.append({"state": state, "start": run["start"], "end": run["end"],
                     "minutes": int((end - start).total_seconds() // 60), "why": why if isinstance(why, str) else ""})
    judged = sum(r["minutes"] for r in runs)
    scheduled = _minutes(compliance.get("scheduled_minutes"))
    scheduled = judged if scheduled is None else scheduled
    scale = max(scheduled, judged, 1)
    for r in runs:
        r["percent"] = round(100 * r["minutes"] / scale, 2)
    totals = {}
    for state in strings.COMPLIANCE_STATES:
        given = _minutes(compliance.get(f"{state}_minutes"))
        totals[state] = given if given is not None else sum(r["minutes"] for r in runs if r["state"] == state)
    remaining = max(0, scheduled - judged)
    periods = compliance.get("periods") if isinstance(compliance.get("periods"), list) else []
    periods = [p for p in periods if isinstance(p, dict) and parse_time(p.get("start")) and parse_time(p.get("end"))]
    if tally is not None:
        tally.add("reports", province=province, n=bad)
    return {"runs": runs, "totals": totals, "scheduled": scheduled, "judged": judged, "remaining": remaining,
            "remaining_percent": round(100 * remaining / scale, 2), "complete": compliance.get("complete") is True,
            "judged_until": compliance.get("judged_until") if parse_time(compliance.get("judged_until")) else None,
            "periods": periods}


def readings(telemetry: dict | None, *, tally: stored.Tally | None = None, province: str | None = "") -> list[dict]:
    """The readings table: the known readings first (absent ones None), then the rest as sent
    (at most :data:`MAX_READINGS`; those left out are counted in *tally*)."""
    telemetry = telemetry if isinstance(telemetry, dict) else {}
    flat = _flatten(telemetry)
    health = telemetry.get("health") if isinstance(telemetry.get("health"), dict) else {}
    rows, used = [], set()
    by_name = {}  # a reading by its own name, in whichever group the agent sent it
    for path, v in flat.items():
        by_name.setdefault(path.rsplit(".", 1)[-1], (path, v))
    for key in READING_KEYS:  # a health reading is the device's (its group), never the agent's of the same name
        value = flat.get(key, flat.get(f"health.{key}", flat.get(f"device.{key}")))
        if f"device.{key}" in flat:
            used.add(f"device.{key}")
        if value is None and key in by_name:
            path, value = by_name[key]
            used.add(path)
        if key in flat:
            used.add(key)
        if f"health.{key}" in flat:
            used.add(f"health.{key}")
        group = telemetry.get(key) if isinstance(telemetry.get(key), dict) else health.get(key)
        if not isinstance(group, dict):  # a reading that is an object, in whichever group the agent sent it
            group = next((g[key] for g in telemetry.values() if isinstance(g, dict) and isinstance(g.get(key), dict)),
                         None)
        if isinstance(group, dict):  # shown in words (central/web/words.py), kept whole for the engineers
            value = group
            used.update(k for k in flat if k.startswith((f"{key}.", f"health.{key}.")) or f".{key}." in f".{k}")
        rows.append({"key": key, "label": strings.READINGS[key], "value": value})
    rest = [key for key in sorted(flat) if key not in used and key != "compliance"
            and not key.startswith("compliance.")]
    if len(rest) > MAX_READINGS and tally is not None:
        tally.add("devices", province=province, n=len(rest) - MAX_READINGS)
    for key in rest[:MAX_READINGS]:
        rows.append({"key": key, "label": key, "value": flat[key]})
    return rows


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def verified_document(doc: dict, unit: str) -> dict:
    """An official row for the verification page: its board parsed, every fee formatted."""
    from pishkhan.boards.document import parse_board
    from pishkhan.exc import BoardInvalid
    from pishkhan.text.persian import format_money

    out = {"scope": doc["scope_key"], "version": int(doc["version"]), "verification_code": doc["verification_code"],
           "newest_version": int(doc["newest_version"]), "superseded": bool(doc["superseded"]),
           "published_at": doc["published_at"], "issuer": doc["issuer"], "effective_from": doc["effective_from"],
           "categories": [], "readable": False}
    envelope = doc.get("envelope")
    try:
        board = parse_board(envelope.get("payload") if isinstance(envelope, dict) else None)
    except BoardInvalid:
        return out
    out.update(readable=True, issuer=board.issuer, effective_from=board.effective_from.isoformat(),
               version=board.version, scope=board.scope.key)
    for category in board.categories:
        out["categories"].append({"code": category.code, "title": category.title, "services": [
            {"code": s.code, "title": s.title, "government_fee": s.government_fee, "office_fee": s.office_fee,
             "total_fee": s.total_fee, "government_fee_text": format_money(s.government_fee, unit=unit),
             "office_fee_text": format_money(s.office_fee, unit=unit),
             "total_fee_text": format_money(s.total_fee, unit=unit)} for s in category.services]})
    return out


# -- what the defences found: quarantine, identity claims, refused messages ------------------------------------
#: The most quarantined devices the fleet page lists (the rest are counted).
MAX_QUARANTINED = 200
#: The most refusal rows read for one page.
MAX_REFUSAL_ROWS = 20_000
#: The largest refused count shown (a stored count beyond it is unreadable).
MAX_COUNT = 2 ** 53


def _text(value, limit: int = 300) -> str | None:
    """A stored text as shown (cut at *limit*), a stored number as text, anything else None."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)[:limit]
    return None


def command_id(device_id) -> str | None:
    """*device_id* if it may be pasted into ``pishkhan central devices add`` (a valid device id), else None."""
    from central.registry import RegistryRefused, check

    if not isinstance(device_id, str):
        return None
    try:
        check(device_id=device_id)
    except RegistryRefused:
        return None
    return device_id


def retired_at(db, device_id: str) -> str | None:
    """When the registry retired *device_id* (``devices retire``), or None."""
    from central import registry

    entry = registry.entry(db, device_id)
    return entry.retired_at if entry else None


def quarantine(db, *, limit: int = MAX_QUARANTINED) -> dict:
    """The devices heard from but not in the registry (:func:`central.registry.quarantined`), as the fleet
    page shows them: ``count`` (all of them), ``devices`` (newest heard first, at most *limit*), each with
    what its last birth claimed and ``command_id`` (its id when it can be pasted into the registration
    command). Only a national user is shown this."""
    from central import registry

    count = queries.quarantined_count(db)
    rows = []
    for r in registry.quarantined(db, limit=limit):
        rows.append({"device_id": _text(r.get("device_id"), 200) or "", "online": bool(r.get("online")),
                     "last_seen": r.get("last_seen"), "status_since": r.get("status_since"),
                     "claimed": {"province": _text(r.get("claimed_province")),
                                 "office_id": _text(r.get("claimed_office_id")),
                                 "office_name": _text(r.get("claimed_office_name")),
                                 "at": r.get("claimed_at")},
                     "retired_at": r.get("retired_at"),  # retired on purpose: not offered for registering again
                     "command_id": None if r.get("retired_at") else command_id(r.get("device_id"))})
    return {"count": count, "devices": rows, "shown": len(rows)}


def identity_mismatch(detail) -> list[dict] | None:
    """An ``identity_mismatch`` alert's *detail* (``fields``, ``registered``, ``claimed``) as rows of
    ``field``, ``label``, ``registered`` and ``claimed``; None when it is not that shape."""
    if not isinstance(detail, dict):
        return None
    fields, registered, claimed = detail.get("fields"), detail.get("registered"), detail.get("claimed")
    if not isinstance(fields, list) or not isinstance(registered, dict) or not isinstance(claimed, dict):
        return None
    rows = []
    for name in fields[:len(strings.IDENTITY_FIELDS) + 2]:
        if not isinstance(name, str):
            continue
        rows.append({"field": name[:60], "label": strings.IDENTITY_FIELDS.get(name),
                     "registered": _text(registered.get(name)), "claimed": _text(claimed.get(name))})
    return rows or None


def with_mismatches(alerts: list[dict]) -> list[dict]:
    """*alerts* with ``mismatch`` (:func:`identity_mismatch`) on each ``identity_mismatch`` alert."""
    from central.registry import MISMATCH

    return [a | {"mismatch": identity_mismatch(a.get("detail"))} if a.get("kind") == MISMATCH else a
            for a in alerts]


def _count(value) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return stored.integer(value, low=0, high=MAX_COUNT)


def refusals(db, device_id: str, *, tally: stored.Tally | None = None, province: str | None = "") -> dict | None:
    """*device_id*'s refused messages, as :meth:`central.fleet.Fleet.refusals` gives them but read
    as untrusted rows: ``refused`` (in all), ``last_reason``, ``last_label``, ``last_at``,
    ``last_message`` and ``by_reason`` (a list of ``reason``, ``label``, ``refused``, ``last_at``, most
    refused first); None when none was refused. A count that is not a whole number is left out and
    counted in *tally*."""
    rows = queries.refusal_rows(db, device_id, limit=MAX_REFUSAL_ROWS)
    if not rows:
        return None
    from central.status import parse_time

    by_reason, last = [], None
    for r in rows:
        reason = _text(r.get("reason"), 60) or ""
        n = _count(r.get("refused"))
        if n is None:
            if tally is not None:
                tally.add("refusals", province=province)
            continue
        at = r.get("last_at") if parse_time(r.get("last_at")) else None
        item = {"reason": reason, "label": strings.REFUSAL_REASONS.get(reason), "refused": n, "last_at": at,
                "last_message": _text(r.get("last_message"))}
        by_reason.append(item)
        if at and (last is None or parse_time(at) > parse_time(last["last_at"])):
            last = item
    if not by_reason:
        return None
    last = last or by_reason[0]
    by_reason.sort(key=lambda i: (-i["refused"], i["reason"]))
    return {"refused": sum(i["refused"] for i in by_reason), "last_reason": last["reason"],
            "last_label": last["label"], "last_at": last["last_at"], "last_message": last["last_message"],
            "by_reason": by_reason}


def refused_counts(db, *, province: str | None = None) -> dict[str, int]:
    """How many messages each device (of *province*) had refused, by device id (unreadable counts left out)."""
    out: dict[str, int] = {}
    for r in queries.refusal_counts(db, province=province, limit=MAX_REFUSAL_ROWS):
        n = _count(r.get("refused"))
        if n is not None and isinstance(r.get("device_id"), str):
            out[r["device_id"]] = out.get(r["device_id"], 0) + n
    return out


def freshness_line(fresh: dict) -> dict:
    """:func:`central.freshness.freshness` for the fleet page: its figures (monitors left out), ``ago`` and,
    when stale, ``stale_text`` (Persian) and ``stale_en``."""
    from pishkhan.text.persian import to_persian_digits

    out = {k: v for k, v in fresh.items() if k != "monitors"}
    age = fresh.get("last_message_age_seconds")
    out["ago"] = None if age is None else strings.FRESH_JUST_NOW if age < 60 else \
        strings.FRESH_AGO.format(minutes=to_persian_digits(str(int(age // 60))))
    if fresh.get("reason"):
        from central.freshness import STALE_AFTER

        out["stale_text"] = strings.STALE[fresh["reason"]].format(
            minutes=to_persian_digits(str(int(STALE_AFTER.total_seconds() // 60))))
        out["stale_en"] = strings.STALE_EN[fresh["reason"]]
    return out


def booted(device: dict, *, now: dt.datetime | None = None) -> dict:
    """When the device booted, as its last birth said (``at``, None when unknown), and, while it is online, how
    long it has been up (``uptime``: Persian days and hours). Not the agent's start: the device's."""
    from central.status import parse_time
    from pishkhan.text.persian import to_persian_digits

    at = device.get("booted_at")
    moment = parse_time(at) if isinstance(at, str) else None
    if moment is None:
        return {"at": None, "uptime": None}
    if not device.get("online"):
        return {"at": at, "uptime": None}
    seconds = max(0, int(((now or dt.datetime.now(dt.timezone.utc)) - moment).total_seconds()))
    days, hours = seconds // 86400, seconds % 86400 // 3600
    return {"at": at, "uptime": strings.UPTIME.format(days=to_persian_digits(str(days)),
                                                      hours=to_persian_digits(str(hours)))}
