"""Working-hours compliance: a day's minutes, its events and its report, from stored facts only.

The judge reads the state log, the heartbeats (:mod:`.uptime`) and the
office's :class:`~pishkhan.schedule.hours.Hours`; it keeps nothing of its
own, so a reboot mid-day changes nothing and the same report comes out on
the device (``pishkhan compliance report``) and at the centre.

**Events**, each with a threshold from the ``[compliance]`` settings. Within
each announced period (a shift):

- ``late_opening``: the period starts with at least ``late_opening_minutes``
  closed minutes (it fires while the office is still closed; ``opened_at``
  is then null);
- ``early_closing``: a period that has ended, whose last at least
  ``early_closing_minutes`` minutes were closed after it had been open;
- ``closed_during_hours``: any other run of at least ``closed_minutes``
  closed minutes;
- ``printer_out``: the printer not ``ok`` for at least ``printer_out_minutes``;
- ``display_off``: the wall display off, or on without a verified board,
  for at least ``display_off_minutes``;
- ``outage``: a run of unknown minutes (device down, or its clock not to be
  trusted) — reported so the centre sees it, but **never counted as a
  violation**: only closed minutes are;
- ``clock_not_synchronised`` and ``clock_jumped``: from the ``clock`` facts.

A run of unknown minutes neither starts nor ends a closed run: a late
opening is only reported when every minute of it is known to be closed.

Each event has a stable ``id`` (kind, and the minute it began), so the agent
publishes it once however often it judges the day.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass

from pishkhan.compliance.timeline import (CLOSED, DEGRADED, MINUTE, SERVING, STATES, UNKNOWN, judge_minutes,
                                          load_facts, runs)
from pishkhan.store.database import iso
from pishkhan.text import jalali


@dataclass(frozen=True)
class Thresholds:
    """Minutes a condition must last during hours before it is an event."""

    late_opening_minutes: int = 5
    early_closing_minutes: int = 5
    closed_minutes: int = 5
    printer_out_minutes: int = 10
    display_off_minutes: int = 5
    clock_jump_seconds: float = 120.0

    @classmethod
    def from_config(cls, config) -> Thresholds:
        c = config.compliance
        return cls(late_opening_minutes=c.late_opening_minutes, early_closing_minutes=c.early_closing_minutes,
                   closed_minutes=c.closed_minutes, printer_out_minutes=c.printer_out_minutes,
                   display_off_minutes=c.display_off_minutes, clock_jump_seconds=c.clock_jump_seconds)


@dataclass(frozen=True)
class Event:
    id: str
    kind: str
    start: str
    end: str | None
    minutes: int
    detail: dict

    def as_dict(self) -> dict:
        return asdict(self)


def _event(kind: str, start: dt.datetime, end: dt.datetime | None, **detail) -> Event:
    minutes = int((end - start) / MINUTE) if end else 0
    return Event(f"{kind}@{iso(start)}", kind, iso(start), iso(end) if end else None, minutes, detail)


def _period_events(minutes, period, limits: Thresholds, until: dt.datetime) -> list[Event]:
    start, end = period
    mine = [m for m in minutes if start <= m.at < end]
    if not mine:
        return []
    events = []
    state_runs = runs(mine)
    ended = until >= end
    for i, (state, run_start, run_end, why) in enumerate(state_runs):
        if state != CLOSED:
            continue
        length = int((run_end - run_start) / MINUTE)
        first, last = i == 0 and run_start == start, i == len(state_runs) - 1
        opened = any(s in (SERVING, DEGRADED) for s, *_ in state_runs[:i])
        if first and length >= limits.late_opening_minutes:
            after = state_runs[i + 1] if i + 1 < len(state_runs) else None
            opened_at = iso(after[1]) if after and after[0] in (SERVING, DEGRADED) else None
            events.append(_event("late_opening", run_start, run_end, opened_at=opened_at, why=why))
        elif last and ended and run_end == end and opened and length >= limits.early_closing_minutes:
            events.append(_event("early_closing", run_start, run_end, why=why))
        elif not first and length >= limits.closed_minutes:
            events.append(_event("closed_during_hours", run_start, run_end, why=why))
    for ok, run_start, run_end, why in runs([m for m in mine if m.state != UNKNOWN], key=lambda m: m.printer_ok):
        if not ok and (run_end - run_start) >= limits.printer_out_minutes * MINUTE:
            events.append(_event("printer_out", run_start, run_end))
    for ok, run_start, run_end, why in runs([m for m in mine if m.state != UNKNOWN], key=lambda m: m.display_ok):
        if not ok and (run_end - run_start) >= limits.display_off_minutes * MINUTE:
            events.append(_event("display_off", run_start, run_end))
    for state, run_start, run_end, why in state_runs:
        if state == UNKNOWN:
            events.append(_event("outage", run_start, run_end, why=why))
    return events


def _clock_events(facts, day_start, day_end) -> list[Event]:
    events = []
    for f in facts:
        if f.component != "clock" or not day_start <= f.at < day_end:
            continue
        if f.state == "jumped":
            events.append(_event("clock_jumped", f.at, None, seconds=json.loads(f.detail).get("seconds"),
                                 boot=f.boot_id))
        elif f.state == "not_synchronised":
            events.append(_event("clock_not_synchronised", f.at, None, boot=f.boot_id))
    return events


def judge_day(store, hours, day: dt.date, *, limits: Thresholds = Thresholds(),
              until: dt.datetime | None = None) -> dict:
    """The compliance of Tehran date *day*: minutes by state, the timeline, the events.

    :param until: judge only the minutes before this instant (today, so far);
        default: the whole day.
    """
    periods = hours.periods(day)
    day_start = dt.datetime.combine(day, dt.time(0, 0), jalali.TEHRAN)
    day_end = day_start + dt.timedelta(days=1)
    until = min(until, day_end) if until is not None else day_end
    facts, spans, untrusted = load_facts(store)
    minutes = judge_minutes(facts, spans, periods, until=until)
    counts = {state: sum(1 for m in minutes if m.state == state) for state in STATES}
    events = []
    for period in periods:
        events += _period_events(minutes, period, limits, until)
    events += _clock_events(facts, day_start, min(until, day_end))
    events.sort(key=lambda e: (e.start, e.kind))
    scheduled = sum(int((e - s) / MINUTE) for s, e in periods)
    return {
        "date": day.isoformat(),
        "date_jalali": jalali.format_numeric(day),
        "complete": until >= day_end,
        "judged_until": iso(until),
        "periods": [{"start": iso(s), "end": iso(e)} for s, e in periods],
        "scheduled_minutes": scheduled,
        "judged_minutes": len(minutes),
        **{f"{state}_minutes": counts[state] for state in STATES},
        "late_opening_minutes": sum(e.minutes for e in events if e.kind == "late_opening"),
        "early_closing_minutes": sum(e.minutes for e in events if e.kind == "early_closing"),
        "violation_minutes": counts[CLOSED],
        "outages": [{"start": e.start, "end": e.end, "minutes": e.minutes} for e in events if e.kind == "outage"],
        "timeline": [{"state": s, "start": iso(a), "end": iso(b), "why": why} for s, a, b, why in runs(minutes)],
        "events": [e.as_dict() for e in events],
        "untrusted_boots": untrusted,
    }


def day_report(store, config, hours, day: dt.date, *, until: dt.datetime | None = None) -> dict:
    """The daily report: compliance minutes and events, the queue's figures and the customers' ratings of the day."""
    from pishkhan.queue.kpi import day_report as queue_report
    from pishkhan.queue.ratings import day_figures as ratings_of

    report = judge_day(store, hours, day, limits=Thresholds.from_config(config), until=until)
    queue = queue_report(store, config, day.isoformat())["total"]
    report.update(device=config.device_id, office=config.office.office_id,
                  province=config.office.province,
                  tickets_issued=queue["issued"], tickets_served=queue["served"],
                  wait_mean=queue["wait_mean"], wait_p90=queue["wait_p90"],
                  ratings=ratings_of(store, day.isoformat()))
    return report
