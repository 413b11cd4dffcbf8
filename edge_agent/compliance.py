"""Working-hours compliance in the agent: heartbeats, events as they happen, the daily report.

Every minute (:meth:`Compliance.tick`):

1. a heartbeat (:func:`pishkhan.compliance.uptime.beat`, process ``agent``,
   ``compliance.clock_jump_seconds``): the facts that say the device was up;
2. if the clock is synchronised, today is judged so far
   (:func:`~pishkhan.compliance.judge.judge_day` until now, the office's
   hours and the ``[compliance]`` thresholds) and each event not sent before
   goes out as an ``event`` message (``event`` = its kind, ``at`` = its start,
   ``detail`` = the event, with its stable ``id``). Events fire as they
   happen: a late opening while the office is still closed, a closure once
   it lasted its threshold. An ``outage`` (unknown minutes) is sent once it
   has ended. With the clock not synchronised nothing is judged: "now"
   itself is not to be trusted, and a violation is never reported unsure;
3. the daily report (:func:`~pishkhan.compliance.judge.day_report`) as a
   ``report`` message, once per day, when it is due: at
   ``compliance.report_time`` if set, else when the day's last announced
   period has ended (a day without hours: at its end). Yesterday's report
   is sent late if it is due and was not sent (the agent was down at close
   of business), when the device was up yesterday at all. The day's events
   not sent yet go out before it.

What was sent is remembered in the store (table ``agent_published``,
migration 0010) and, for the time between the two writes, by the outbox's
own message keys, so a restart never sends an event or a report twice.
:func:`send_report` sends a day's report again on request (the centre's
``resend_report`` command), whether it was sent before or not.

The telemetry group ``compliance`` is the current minute's state from the
latest judgement: ``in_hours``, ``state`` (serving, degraded, closed,
unknown; null outside hours and in a period's first minute), ``why`` and
``since`` (when that state began).
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from pishkhan.compliance.judge import Thresholds, day_report, judge_day
from pishkhan.compliance.uptime import beat
from pishkhan.protocol.payloads import format_time
from pishkhan.store.database import iso, parse_iso
from pishkhan.text import jalali

log = logging.getLogger("pishkhan.agent.compliance")

TICK_SECONDS = 60
#: Settings read when used, so a reload is in force from the next minute (the hours are read again).
LIVE = ("compliance.*", "hours.*", "office.province", "office.office_id")


def _day(date) -> dt.date:
    if isinstance(date, dt.date):
        return date
    try:
        return dt.date.fromisoformat(str(date))
    except ValueError:
        from pishkhan.exc import AgentError
        raise AgentError(f"report date must be YYYY-MM-DD, got {date!r}") from None


def _utc(text: str | None) -> str | None:
    return format_time(parse_iso(text)) if text else None


def published(store, kind: str, key: str) -> bool:
    return store.query_one("SELECT 1 FROM agent_published WHERE kind = ? AND key = ?", (kind, key)) is not None


def remember(store, kind: str, key: str, seq: int):
    store.execute("INSERT OR IGNORE INTO agent_published(kind, key, seq, published_at) VALUES (?,?,?,?)",
                  (kind, key, seq, store.now_iso()))


def send_report(context, date, *, key: str | None = None) -> int:
    """Send Tehran date *date*'s report (so far, if it is today) now; returns its seq.

    Without *key* it is always sent (a re-send on request); with one, the
    outbox sends it once.
    """
    day = _day(date)
    store, config = context.store, context.settings.config
    now = store.now()
    today = jalali.today(now)
    if day > today:
        from pishkhan.exc import AgentError
        raise AgentError(f"no report for {day.isoformat()}: it is after today ({today.isoformat()})")
    from pishkhan.schedule.hours import hours_from_config

    hours = hours_from_config(config, store=store)
    report = day_report(store, config, hours, day, until=now if day == today else None)
    return context.publisher.report(day.isoformat(), report, key=key)


class Compliance:
    """The agent's compliance part; :meth:`tick` every minute. *hours*: fixed hours (else the settings')."""

    def __init__(self, context, *, hours=None):
        self.context = context
        self.settings = context.settings
        self._fixed_hours = hours
        self._hours = hours
        self.latest: dict | None = None
        self._latest_at = 0.0
        context.live(LIVE, on_change=self.reloaded)

    @property
    def store(self):
        return self.context.store

    @property
    def limits(self) -> Thresholds:
        return Thresholds.from_config(self.settings.config)

    @property
    def jump_seconds(self):
        return self.settings.compliance.clock_jump_seconds

    @property
    def report_time(self) -> str:
        return self.settings.compliance.report_time or ""

    @property
    def hours(self):
        if self._hours is None:
            from pishkhan.schedule.hours import hours_from_config
            self._hours = hours_from_config(self.settings.config, store=self.store)
        return self._hours

    def reloaded(self, changed: set, old=None):
        """After a reload: the hours are made again from the new settings; the latest judgement is stale."""
        self._hours = self._fixed_hours
        self.latest = None

    # -- the minute ----------------------------------------------------------------
    def tick(self):
        """Heartbeat, then (on a trusted clock) today's new events and any report due."""
        beat(self.store, "agent", jump_seconds=self.jump_seconds)
        if not self.clock_trusted():
            self.latest = None
            return
        now = self.store.now()
        self.judge(now)
        self.publish_events(self.latest)
        self.publish_due_reports(now)

    def clock_trusted(self) -> bool:
        try:
            return self.store.boot.synced() is True
        except Exception:  # noqa: BLE001
            return False

    def judge(self, now: dt.datetime) -> dict:
        self.latest = judge_day(self.store, self.hours, jalali.today(now), limits=self.limits, until=now)
        self._latest_at = time.monotonic()
        return self.latest

    # -- events ----------------------------------------------------------------------
    def publish_events(self, judgement: dict) -> list[int]:
        """Send every event of *judgement* not sent before; returns their seqs."""
        seqs = []
        for event in judgement["events"]:
            if event["kind"] == "outage" and not (event["end"] and event["end"] < judgement["judged_until"]):
                continue  # still going: sent once it has ended
            if published(self.store, "event", event["id"]):
                continue
            detail = dict(event, start=_utc(event["start"]), end=_utc(event["end"]))
            seq = self.context.publisher.event(event["kind"], at=parse_iso(event["start"]), detail=detail,
                                             key=f"event:{event['id']}")
            remember(self.store, "event", event["id"], seq)
            log.info("compliance event %s sent (seq %d)", event["id"], seq)
            seqs.append(seq)
        return seqs

    # -- reports ---------------------------------------------------------------------
    def report_due(self, day: dt.date) -> dt.datetime:
        """When *day*'s report is due (Tehran time)."""
        if self.report_time:
            hh, mm = (int(x) for x in self.report_time.split(":"))
            return dt.datetime.combine(day, dt.time(hh, mm), jalali.TEHRAN)
        periods = self.hours.periods(day)
        if periods:
            return max(end for _, end in periods)
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), jalali.TEHRAN)

    def _was_up(self, day: dt.date) -> bool:
        start = dt.datetime.combine(day, dt.time(0, 0), jalali.TEHRAN)
        row = self.store.query_one("SELECT 1 FROM uptime WHERE last_at >= ? AND first_at < ? LIMIT 1",
                                   (iso(start), iso(start + dt.timedelta(days=1))))
        return row is not None

    def publish_due_reports(self, now: dt.datetime) -> list[int]:
        """Send yesterday's (if missed) and today's report once each is due; returns their seqs."""
        today = jalali.today(now)
        seqs = []
        for day in (today - dt.timedelta(days=1), today):
            key = day.isoformat()
            if now < self.report_due(day) or published(self.store, "report", key):
                continue
            if day < today and not self._was_up(day):
                continue
            self.publish_events(judge_day(self.store, self.hours, day, limits=self.limits,
                                          until=now if day == today else None))
            seq = send_report(self.context, day, key=f"report:{key}")
            remember(self.store, "report", key, seq)
            log.info("daily report for %s sent (seq %d)", key, seq)
            seqs.append(seq)
        return seqs

    # -- telemetry -----------------------------------------------------------------------
    def state_now(self) -> dict:
        """The current minute's compliance state, from the latest judgement (made now if stale)."""
        if not self.clock_trusted():
            return {"in_hours": None, "state": "unknown", "why": "clock not synchronised", "since": None}
        if self.latest is None or time.monotonic() - self._latest_at > 1.5 * TICK_SECONDS:
            self.judge(self.store.now())
        judgement = self.latest
        until = judgement["judged_until"]
        if not self.hours.is_open(parse_iso(until)):
            return {"in_hours": False, "state": None, "why": "", "since": None}
        last = judgement["timeline"][-1] if judgement["timeline"] else None
        if last is None or last["end"] < until:  # the period has only just begun
            return {"in_hours": True, "state": None, "why": "", "since": None}
        return {"in_hours": True, "state": last["state"], "why": last["why"], "since": _utc(last["start"])}


def register(context, *, hours=None) -> Compliance:
    """Plug compliance in through *context*: the minute's tick and the ``compliance`` telemetry group."""
    part = Compliance(context, hours=hours)
    context.every(TICK_SECONDS, part.tick, first=0)  # the device is up from the agent's start, not a minute later
    context.add_telemetry_part("compliance", part.state_now)
    return part
