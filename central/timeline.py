"""One office's day, any past day, as a timeline: from its stored report, and from the facts the centre re-judged.

:func:`office_day` reads, for one device and one Tehran date:

- **the report** the office sent for that day (``reports``), read as untrusted (:func:`central.stored.loads`):
  its announced periods, its runs of states (``serving``, ``degraded``, ``closed``, ``unknown``) and its events
  (late opening, printer out, display off …). A run is kept only with a known state and readable start and end,
  start before end, within the day; an event only with a readable start within the day. What is left out is
  counted (``unreadable``).
- **the centre's verdict** on that report (:func:`central.verification.verify_day`), and **the centre's own
  judgement** of the day: the device's fact chain re-judged by the same judge (:func:`rejudge`) over the report's
  periods, or — a day with no report — over the periods the official schedules and holiday lists give the office
  (:func:`central.verification.official_periods`). None where the facts cannot be judged (none received, the
  chain broken, no hours known).
- **what the centre saw itself** that day: its own alerts of the device (``offline``, …, from ``events``).

Each timeline (report, centre) places its runs and events on one axis shared by both: from the earliest announced
period or run to the latest, in percent, with a tick each whole hour. A day with neither a report nor a judgement
has ``report`` and ``centre`` None: the page says so in one sentence and draws no chart.
"""

from __future__ import annotations

import datetime as dt
import json

from central import stored, verification
from central.status import parse_time
from pishkhan.text import jalali

STATES = ("serving", "degraded", "closed", "unknown")
#: The most runs, events and centre alerts read of one day.
MAX_RUNS = 1500
MAX_EVENTS = 300
#: The centre's own alerts shown on a device's day (a device cannot send these: central.fleet.CENTRE_ALERTS).
CENTRE_KINDS = ("offline", "identity_mismatch", "seq_jumped", "document_refused", "over_budget")


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0, 0), jalali.TEHRAN)
    return start, start + dt.timedelta(days=1)


def _span(item: dict, lo: dt.datetime, hi: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    start, end = parse_time(item.get("start")), parse_time(item.get("end"))
    if not start or not end or not lo <= start < end <= hi:
        return None
    return start, end


def _minutes(a: dt.datetime, b: dt.datetime) -> int:
    return int((b - a).total_seconds() // 60)


def read_judgement(judged: dict, day: dt.date, counts: list) -> dict:
    """The periods, runs and events of a day's report (or the centre's judgement of the same shape), read as
    untrusted; ``counts[0]`` is raised by each item left out."""
    lo, hi = day_bounds(day)
    listed = lambda key, most: judged.get(key)[:most] if isinstance(judged.get(key), list) else []  # noqa: E731
    periods, runs, events = [], [], []
    for p in listed("periods", 48):
        span = _span(p, lo, hi) if isinstance(p, dict) else None
        if span:
            periods.append({"start": span[0], "end": span[1], "minutes": _minutes(*span)})
        else:
            counts[0] += 1
    for r in listed("timeline", MAX_RUNS):
        span = _span(r, lo, hi) if isinstance(r, dict) else None
        if not span or r.get("state") not in STATES:
            counts[0] += 1
            continue
        why = r.get("why") if isinstance(r.get("why"), str) else ""
        runs.append({"state": r["state"], "start": span[0], "end": span[1], "minutes": _minutes(*span),
                     "why": why[:300]})
    for e in listed("events", MAX_EVENTS):
        start = parse_time(e.get("start")) if isinstance(e, dict) else None
        if not start or not lo <= start < hi or not isinstance(e.get("kind"), str):
            counts[0] += 1
            continue
        end = parse_time(e.get("end"))
        end = end if end and start <= end <= hi else None
        detail = e.get("detail") if isinstance(e.get("detail"), dict) else {}
        events.append({"kind": e["kind"][:60], "start": start, "end": end,
                       "minutes": _minutes(start, end) if end else None, "detail": detail})
    totals = {}
    for state in STATES:  # the minutes the judgement states, else its runs' sum
        given = stored.integer(judged.get(f"{state}_minutes"), low=0, high=24 * 60)
        totals[state] = given if given is not None else sum(r["minutes"] for r in runs if r["state"] == state)
    return {"periods": periods, "runs": runs, "events": events, "totals": totals,
            "scheduled": sum(p["minutes"] for p in periods), "complete": judged.get("complete") is True,
            "judged_until": parse_time(judged.get("judged_until"))}


def rejudge(db, device_id: str, day: dt.date, *, periods, until: dt.datetime, now: dt.datetime) -> dict | None:
    """The centre's own judgement of *day* from the device's fact chain over *periods* (a list of (start, end), or
    a function giving it or None, called only when there are facts to judge), up to *until*
    (:func:`pishkhan.compliance.judge.judge_day`, as :func:`central.verification.verify_day` runs it); None when
    there are no facts for the day, no periods, the chain is broken (a hole is a break once it is older than
    :data:`central.verification.MISSING_AFTER` at *now*), or a fact cannot be read."""
    from pishkhan.compliance import chain as fact_chain
    from pishkhan.compliance.judge import judge_day

    lo, hi = day_bounds(day)
    links = verification.DayLinks.find(db, device_id, lo - verification.MARGIN, hi + verification.MARGIN)
    if isinstance(links, verification.Verdict):
        return None
    problem = links.problem(now=now, needed=None)
    if problem is not None and problem.reason != "pending":
        return None
    periods = periods() if callable(periods) else periods
    if periods is None:
        return None
    store = fact_chain.FactStore()
    try:
        for body in links.bodies():
            store.add(json.loads(body))
        if store.unreadable:
            return None
        return judge_day(store, verification.ReportHours(day, periods), day, until=min(until, hi))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    finally:
        store.close()


def _centre_events(db, device_id: str, day: dt.date, counts: list, province: str | None = None) -> list[dict]:
    lo, hi = day_bounds(day)
    rows = db.query("SELECT kind, at, detail FROM events WHERE device_id = ? AND received_at >= ? AND received_at < ? "
                    f"AND kind IN ({','.join('?' * len(CENTRE_KINDS))}) "
                    + ("AND province = ? " if province else "") + "ORDER BY received_at, id LIMIT ?",
                    (device_id, _utc(lo - dt.timedelta(hours=1)), _utc(hi + dt.timedelta(hours=1)), *CENTRE_KINDS,
                     *([province] if province else []), MAX_EVENTS))
    out = []
    for r in rows:
        moment = parse_time(r.get("at"))
        if moment is None:
            counts[0] += 1
            continue
        if lo <= moment < hi:
            detail = stored.loads(r.get("detail"))
            out.append({"kind": r["kind"], "start": moment, "end": None, "minutes": None,
                        "detail": detail if isinstance(detail, dict) else {}})
    return out


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def office_day(db, device_id: str, day: dt.date, *, now: dt.datetime, province: str | None = None) -> dict:
    """*device_id*'s Tehran *day*: ``report`` and ``centre`` (each None, or its periods, runs, events and totals,
    placed on ``axis``), ``verdict``, ``centre_events`` and ``unreadable`` (see the module). *province*: only the
    report and alerts filed under it (a province user's view of a device the registry moved there)."""
    counts = [0]
    row = db.query_one("SELECT report FROM reports WHERE device_id = ? AND date = ?"
                       + (" AND province = ?" if province else ""),
                       (device_id, day.isoformat(), *([province] if province else [])))
    tally = stored.Tally()
    raw = stored.loads(row["report"], tally=tally, table="reports") if row else None
    counts[0] += tally.total
    report = read_judgement(raw, day, counts) if raw is not None else None
    lo, hi = day_bounds(day)
    until = min(now, hi)
    try:
        verdict = verification.verify_day(db, device_id, day, now=now).as_dict()
    except Exception as e:  # noqa: BLE001 - no stored row may break the page
        verdict = verification.Verdict(False, "unreadable", {"error": f"{type(e).__name__}: {str(e)[:200]}"}).as_dict()
    if report is not None:
        periods = [(p["start"], p["end"]) for p in report["periods"]]
        until = min(until, report["judged_until"] or hi)
        basis = "report"
    else:  # the office's official hours, read only when there are facts to judge over them
        periods, basis = (lambda: verification.official_periods(db, device_id, day)), "official"
    try:
        judged = rejudge(db, device_id, day, periods=periods, until=until, now=now)
    except Exception:  # noqa: BLE001 - no stored row may break the page
        judged = None
    centre = None
    if judged is not None:
        centre = read_judgement(judged, day, counts)
        centre["basis"] = basis
    out = {"date": day.isoformat(), "device_id": device_id, "report": report, "centre": centre, "verdict": verdict,
           "centre_events": _centre_events(db, device_id, day, counts, province)}
    out["axis"] = axis([x for x in (report, centre) if x], out["centre_events"])
    out["unreadable"] = counts[0]
    return out


def axis(judgements: list[dict], extra: list[dict]) -> dict | None:
    """One time axis for *judgements*: from their earliest period or run to the latest (whole hours), with every
    run, period and event (and *extra*'s events) given ``left`` and ``width`` in percent of it; and ``ticks``."""
    moments = [m for j in judgements for key in ("periods", "runs") for x in j[key] for m in (x["start"], x["end"])]
    if not moments:
        return None
    start = jalali.to_tehran(min(moments)).replace(minute=0, second=0, microsecond=0)
    end = jalali.to_tehran(max(moments))
    if end.minute or end.second or end.microsecond:
        end = end.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    span = max(60.0, (end - start).total_seconds())

    def place(item):
        a = max(0.0, (item["start"] - start).total_seconds() / span)
        b = min(1.0, ((item["end"] or item["start"]) - start).total_seconds() / span)
        item["left"], item["width"] = round(100 * a, 3), round(100 * max(0.0, b - a), 3)

    for j in judgements:
        for key in ("periods", "runs", "events"):
            for x in j[key]:
                place(x)
    for x in extra:
        place(x)
    hours = int(span // 3600)
    step = 1 if hours <= 12 else 2 if hours <= 24 else 3
    ticks = [{"at": start + dt.timedelta(hours=h), "left": round(100 * h * 3600 / span, 3)}
             for h in range(0, hours + 1, step)]
    return {"start": start, "end": end, "ticks": ticks}


def as_json(value):
    """*value* with its times as ISO text (for ``?format=json``)."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value
