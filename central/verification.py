"""Is an office's daily report what the centre itself finds? The fact chain, re-judged; and what the broker saw.

The device is in the hands of the office it reports on, so the centre checks
the report three ways, each from something the device cannot quietly change
afterwards:

**The chain** (:func:`apply_facts`, from ``dev/{id}/facts``). Each link is
stored once per (device, chain, n) with the hash the centre computes itself
(:mod:`pishkhan.compliance.chain`). ``fact_heads`` keeps, per chain, how far
the links are contiguous from the genesis and the hash they reach. A
*break* (``fact_breaks``) is recorded when a link's ``prev`` is not the hash
of the link before it (a fact changed or a link missing at that point), when
a link comes again with other content (``changed``), or when the state facts
skip a ``state_log`` id (a row deleted before it was streamed: the store
numbers its rows without holes). When a day is verified the links it is
judged from (:class:`DayLinks`) are checked again, whole: every *n*
there, each ``prev`` the hash before it, no state id skipped. A link that
never comes is a hole: :data:`MISSING_AFTER` after a later link arrived it
is a break, before that the day is still *pending*. A day is judged on its
own links: a link lost on Monday makes Monday unverifiable, not every day
after it.

**The same judge** (:func:`verify_day`). The device's facts around the day
(:data:`MARGIN` either side, found by their synchronised times, everything
between them in chain order, and each component's last state before) are loaded
into an in-memory store shaped as the judge reads one
(:class:`~pishkhan.compliance.chain.FactStore`) and judged by
:func:`pishkhan.compliance.judge.judge_day` over the report's own periods,
up to the report's ``judged_until``. The minutes by state (and scheduled and
violation minutes) must equal the report's.

**What the broker saw** (:func:`record_presence`, from every new ``status``
message: a birth, a Last Will, a clean offline, at the centre's receive
time). The device was *gone* from an offline until its next birth, and —
Last Will or not — whenever nothing of it reached the centre for longer
than :data:`SILENT_AFTER` (:func:`silent`): gone from its last message
until its next one. The will is the device's own choice (a modified agent
connects without one, and Mosquitto tells no one of a disconnect without
a will); its silence is not: a connected agent streams its facts, a
heartbeat among them, every minute. A device
cut off from the broker can still serve — its kiosk works offline and its
facts wait in the outbox — so being gone is not itself a fault. What the
outbox explains is this: the agent beats every minute and streams each beat,
so a device that was really up while gone has a heartbeat streamed for each
of those minutes, made while it was gone and delivered after it came back.
A minute the centre's own judgement counts as serving or degraded, inside a
gone stretch, with no streamed heartbeat within :data:`BEAT_SLACK` of it, is
*unexplained*: the device claims it served while the broker saw it gone and
it sent no heartbeat for that time either (the agent stopped, the device
off, or an up-span pieced together from beats before and after). More than
:data:`TOLERATED_MINUTES` of them flag the report.

:func:`verify_day` gives a :class:`Verdict` — ``ok``, a ``reason`` from
:data:`REASONS` and a ``detail`` — and :attr:`Verdict.text` the Persian
sentence for the dashboard.

**The hours.** The judge runs over the report's own periods; where the
centre holds official schedules or holiday lists that decide the day for
the device's office (:func:`official_periods`, the same calendar the device
runs), those periods must be the report's.

What this does not do: a day no official document decides is judged over
the hours the device states (its configuration's weekly hours), and a
device whose owner fabricates a consistent chain from the start — fake
facts and beats, streamed on time — is not caught by the chain; the broker's
presence bounds what such a chain can claim while the device was gone
(docs/security.md).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from pishkhan.compliance import chain as fact_chain
from pishkhan.compliance.judge import judge_day
from pishkhan.compliance.timeline import MINUTE
from pishkhan.exc import ProtocolError
from pishkhan.schedule.hours import Hours
from pishkhan.store.database import iso, parse_iso
from pishkhan.text import jalali

#: How far either side of a day its facts are read (beats, re-dating anchors).
MARGIN = dt.timedelta(hours=3)
#: A link missing this long after a later one arrived is a break, not a delay.
MISSING_AFTER = dt.timedelta(minutes=10)
#: A heartbeat this close to a minute's start explains it (the agent beats every minute).
BEAT_SLACK = dt.timedelta(seconds=90)
#: Nothing received from a device this long and it is gone from its last message, Last Will or not: three of
#: the minutes in each of which a connected agent streams its facts (edge_agent.facts.TICK_SECONDS), its heartbeat
#: among them. The broker's own verdict, with a will, comes after 1.5 × keepalive (45 s by default).
SILENT_AFTER = dt.timedelta(minutes=3)
#: Unexplained minutes forgiven (a birth or a will crossing a minute's edge).
TOLERATED_MINUTES = 2
#: Minutes compared between the report and the centre's judgement.
COMPARED = ("scheduled_minutes", "serving_minutes", "degraded_minutes", "closed_minutes", "unknown_minutes",
            "violation_minutes")

#: reason -> (Persian for the dashboard, English for ops)
REASONS = {
    "verified": ("گزارش به تأیید مرکز رسید",
                 "report verified: the centre's own judgement of the device's fact chain agrees"),
    "no_report": ("گزارش این روز به مرکز نرسیده است", "no daily report for this day"),
    "no_facts": ("مرکز از این روز داده‌ای ندارد", "the centre holds no streamed facts of this day"),
    "pending": ("داده‌های این روز هنوز کامل به مرکز نرسیده است",
                "the fact chain does not yet reach the end of this day's hours"),
    "chain_broken": ("زنجیرهٔ داده‌ها گسسته است: داده‌ای حذف یا دستکاری شده است",
                     "the fact chain is broken: a fact missing or changed after it was streamed"),
    "report_differs": ("گزارش دفتر با داوری مرکز یکی نیست",
                       "the report's minutes differ from the centre's judgement of the same facts"),
    "served_while_gone": ("ادعای خدمت در دقایقی که دستگاه از دید مرکز قطع بود",
                          "minutes claimed serving while the broker saw the device gone, with no heartbeat"),
    "hours_differ": ("ساعت‌های کاری گزارش با برنامهٔ رسمی این دفتر یکی نیست",
                     "the report is judged over hours that are not the office's official schedule for the day"),
    "unreadable": ("گزارش یا داده‌های این روز خوانا نیست", "the report or the day's facts cannot be read"),
}


@dataclass(frozen=True)
class Verdict:
    """Whether the centre vouches for a device's report of a day, and if not why."""

    ok: bool
    reason: str
    detail: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return REASONS[self.reason][0]

    @property
    def text_en(self) -> str:
        return REASONS[self.reason][1]

    def as_dict(self) -> dict:
        return {"ok": self.ok, "reason": self.reason, "text": self.text, "text_en": self.text_en,
                "detail": self.detail}


def _no(reason: str, **detail) -> Verdict:
    return Verdict(False, reason, detail)


# -- ingest ------------------------------------------------------------------------
def record_presence(c, message: dict, received_at: str):
    """Record a new ``status`` message as the broker delivered it: online, or gone (``lost``, ``stopped``).

    An offline whose ``seq`` is not the ``will_seq`` of the latest birth is
    the will of an older connection, delivered after a newer one began (the
    broker fires it when the new connection takes over): it is kept as
    ``stale`` and does not make the device gone.
    """
    device = message["device"]
    if message.get("state") == "online":
        state, will_seq = "online", message.get("will_seq")
    else:
        state, will_seq = ("stopped" if message.get("reason") == "stopped" else "lost"), None
        latest = c.execute("SELECT state, will_seq FROM presence WHERE device_id = ? AND state != 'stale' "
                           "ORDER BY received_at DESC, id DESC LIMIT 1", (device,)).fetchone()
        if latest and latest[0] == "online" and latest[1] is not None and int(latest[1]) != message["seq"]:
            state = "stale"
    c.execute("INSERT INTO presence(device_id, state, boot_id, seq, will_seq, received_at) VALUES (?,?,?,?,?,?)",
              (device, state, str(message.get("boot_id", ""))[:64], message["seq"], will_seq, received_at))


def apply_facts(c, message: dict, received_at: str):
    """Store a ``facts`` message's links and carry the chain's contiguous head forward, recording breaks."""
    device, chain = message["device"], message["chain"]
    c.execute("INSERT INTO fact_heads(device_id, chain, first_received, contiguous_n, contiguous_hash, highest_n, "
              "state_id, last_received) VALUES (?,?,?,0,?,0,0,?) ON CONFLICT (device_id, chain) DO NOTHING",
              (device, chain, received_at, fact_chain.genesis(device, chain), received_at))
    # Updating the head first holds its row until commit: two monitors never interleave one chain's links.
    c.execute("UPDATE fact_heads SET last_received = ? WHERE device_id = ? AND chain = ?", (received_at, device, chain))
    highest = c.execute("SELECT highest_n FROM fact_heads WHERE device_id = ? AND chain = ?",
                        (device, chain)).fetchone()[0]
    for link in message["links"]:
        n, fact = link["n"], link["fact"]
        try:
            h = fact_chain.link_hash(n, link["prev"], fact)
            body = fact_chain.canonical(fact).decode("utf-8")
        except ProtocolError as e:
            _break(c, device, chain, n, "unreadable", received_at, error=str(e)[:200])
            continue
        known = c.execute("SELECT hash FROM fact_links WHERE device_id = ? AND chain = ? AND n = ?",
                          (device, chain, n)).fetchone()
        if known is not None:
            if known[0] != h:
                _break(c, device, chain, n, "changed", received_at, first=known[0], again=h)
            continue
        c.execute("INSERT INTO fact_links(device_id, chain, n, prev, hash, kind, component, at, synced, body, "
                  "received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (device_id, chain, n) DO NOTHING",
                  (device, chain, n, link["prev"], h, fact["kind"],
                   fact.get("component") or fact.get("process") or "", fact["at"], int(bool(fact["synced"])), body,
                   received_at))
        highest = max(highest, n)
    _advance(c, device, chain, highest, received_at)


def _break(c, device, chain, n, reason, received_at, **detail):
    c.execute("INSERT INTO fact_breaks(device_id, chain, n, reason, received_at, detail) VALUES (?,?,?,?,?,?)",
              (device, chain, n, reason, received_at, json.dumps(detail)))


def _advance(c, device, chain, highest, received_at):
    n, h, state_id = c.execute("SELECT contiguous_n, contiguous_hash, state_id FROM fact_heads "
                               "WHERE device_id = ? AND chain = ?", (device, chain)).fetchone()
    rows = c.execute("SELECT n, prev, hash, kind, body FROM fact_links WHERE device_id = ? AND chain = ? "
                     "AND n > ? AND n <= ? ORDER BY n", (device, chain, n, n + 5000)).fetchall()
    rows = rows if rows and rows[0][0] == n + 1 else []  # the next link has not come: nothing to carry forward
    for link_n, prev, link_hash, kind, body in rows:
        if link_n != n + 1:
            break
        if prev != h:
            _break(c, device, chain, link_n, "mismatch", received_at, expected=h, prev=prev)
        if kind == "state":
            fact_id = json.loads(body).get("id", 0)
            if fact_id != state_id + 1:
                _break(c, device, chain, link_n, "state_skipped", received_at, after=state_id, id=fact_id)
            state_id = max(state_id, fact_id)
        n, h = link_n, link_hash
    c.execute("UPDATE fact_heads SET contiguous_n = ?, contiguous_hash = ?, state_id = ?, "
              "highest_n = CASE WHEN highest_n < ? THEN ? ELSE highest_n END WHERE device_id = ? AND chain = ?",
              (n, h, state_id, highest, highest, device, chain))


# -- verifying a day -------------------------------------------------------------------
class ReportHours(Hours):
    """The periods a report states, for its own day only."""

    def __init__(self, day: dt.date, periods: list[tuple[dt.datetime, dt.datetime]]):
        self.day, self._periods = day, periods

    def periods(self, day):
        return list(self._periods) if day == self.day else []


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(0, 0), jalali.TEHRAN)
    return start, start + dt.timedelta(days=1)


def _read_report(text: str, day: dt.date):
    report = json.loads(text)
    periods = [(parse_iso(p["start"]), parse_iso(p["end"])) for p in report["periods"]]
    day_start, day_end = _day_bounds(day)
    if any(not (day_start <= s <= e <= day_end) for s, e in periods):
        raise ValueError("a period outside its day")
    until = parse_iso(report["judged_until"]) if report.get("judged_until") else day_end
    return report, periods, min(until, day_end)


class DayLinks:
    """The links of one chain a day is judged from, and whether they are whole.

    The range is every link from the first to the last *synchronised* fact
    within the window (facts on an unsynchronised clock between them come
    with them, by chain order), and before it the last state of each
    component (a counter opened a month ago is still open).
    """

    def __init__(self, db, device_id, chain, lo, hi):
        self.db, self.device_id, self.chain, self.lo, self.hi = db, device_id, chain, lo, hi
        key = (device_id, chain)
        self.earlier = db.query("SELECT f.n, f.body FROM fact_links f JOIN (SELECT component, MAX(n) AS n "
                                "FROM fact_links WHERE device_id = ? AND chain = ? AND kind = 'state' AND n < ? "
                                "GROUP BY component) m ON f.n = m.n WHERE f.device_id = ? AND f.chain = ? "
                                "ORDER BY f.n", (*key, lo, *key))
        self.first = min([lo] + [int(r["n"]) for r in self.earlier])
        self.rows = db.query("SELECT n, prev, hash, kind, body, received_at FROM fact_links WHERE device_id = ? "
                             "AND chain = ? AND n >= ? AND n <= ? ORDER BY n", (*key, lo, hi))

    @classmethod
    def find(cls, db, device_id: str, start: dt.datetime, end: dt.datetime):
        """The links for the window *start*–*end*, or the :class:`Verdict` saying why there are none to judge."""
        chains = db.query("SELECT chain, MIN(n) AS lo, MAX(n) AS hi FROM fact_links WHERE device_id = ? "
                          "AND synced = 1 AND at >= ? AND at < ? GROUP BY chain", (device_id, iso(start), iso(end)))
        if not chains:
            return _no("no_facts")
        if len(chains) > 1:
            return _no("chain_broken", why="restarted", chains=sorted(r["chain"] for r in chains))
        return cls(db, device_id, chains[0]["chain"], int(chains[0]["lo"]), int(chains[0]["hi"]))

    def problem(self, *, now: dt.datetime, needed: dt.datetime | None) -> Verdict | None:
        """Why these links cannot be judged yet or at all, or None.

        A break recorded at ingest in the window or at a link used from
        before it; in the window, a link whose ``prev`` is not the hash before it, a state fact
        that skips a ``state_log`` id, or a hole — ``pending`` while it may
        still come, ``missing`` once a later link has been here
        :data:`MISSING_AFTER`; and ``pending`` while the synchronised facts
        do not reach *needed* (the end of the hours). A hole *before* the
        window is that earlier day's break, not this one's: what it could
        hide from this day is a component's state, and the report's minutes
        would then not be the centre's.
        """
        key = (self.device_id, self.chain)
        used = {int(r["n"]) for r in self.earlier}
        breaks = [{"n": int(b["n"]), "why": b["reason"]} for b in self.db.query(
            "SELECT n, reason FROM fact_breaks WHERE device_id = ? AND chain = ? AND n >= ? AND n <= ? ORDER BY n",
            (*key, self.first, self.hi)) if int(b["n"]) >= self.lo or int(b["n"]) in used]
        holes = False
        last_n, last_hash, last_id, reached = None, None, None, None
        for r in self.rows:
            n = int(r["n"])
            if last_n is not None and n != last_n + 1:
                holes = True
            elif last_n is not None and r["prev"] != last_hash:
                breaks.append({"n": n, "why": "mismatch"})
            if r["kind"] == "state":
                fact = json.loads(r["body"])
                if last_id is not None and fact.get("id") != last_id + 1:
                    breaks.append({"n": n, "why": "state_skipped"})
                last_id = fact.get("id")
                reached = max(reached or "", fact.get("at", "") if fact.get("synced") else "")
            elif json.loads(r["body"]).get("synced"):
                reached = max(reached or "", json.loads(r["body"]).get("at", ""))
            last_n, last_hash = n, r["hash"]
        if breaks:
            unique = {(b["n"], b["why"]): b for b in breaks}
            return _no("chain_broken", chain=self.chain, breaks=sorted(unique.values(), key=lambda b: b["n"])[:10])
        if holes:
            received = max(parse_iso(r["received_at"]) for r in self.rows)
            if received + MISSING_AFTER < now:
                return _no("chain_broken", chain=self.chain, breaks=[{"n": None, "why": "missing"}])
            return _no("pending", chain=self.chain, why="links on their way")
        if needed is not None and (reached or "") < iso(needed):
            return _no("pending", chain=self.chain, reached=reached)
        return None

    def bodies(self):
        """The facts' texts, in chain order."""
        for r in self.earlier:
            yield r["body"]
        for r in self.rows:
            yield r["body"]


def verify_day(db, device_id: str, day: dt.date, *, now: dt.datetime | None = None) -> Verdict:
    """The centre's :class:`Verdict` on *device_id*'s report of Tehran date *day*."""
    now = now or dt.datetime.now(dt.timezone.utc)
    row = db.query_one("SELECT report FROM reports WHERE device_id = ? AND date = ?", (device_id, day.isoformat()))
    if row is None:
        return _no("no_report")
    try:
        report, periods, until = _read_report(row["report"], day)
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        return _no("unreadable", error=str(e)[:200])
    day_start, day_end = _day_bounds(day)
    links = DayLinks.find(db, device_id, day_start - MARGIN, day_end + MARGIN)
    if isinstance(links, Verdict):
        return links
    problem = links.problem(now=now, needed=min(max([e for _, e in periods], default=day_start), until)
                            if periods else None)
    if problem is not None:
        return problem
    official = official_periods(db, device_id, day)
    if official is not None and official != periods:
        return _no("hours_differ", report=[[iso(a), iso(b)] for a, b in periods],
                   official=[[iso(a), iso(b)] for a, b in official])
    store = fact_chain.FactStore()
    try:
        for body in links.bodies():
            store.add(json.loads(body))
        if store.unreadable:
            return _no("unreadable", facts=store.unreadable)
        mine = judge_day(store, ReportHours(day, periods), day, until=until)
        beats = store.beat_times()
    finally:
        store.close()
    differs = {k: {"report": report.get(k), "centre": mine[k]} for k in COMPARED if report.get(k) != mine[k]}
    if differs:
        return _no("report_differs", minutes=differs)
    gone = gone_stretches(db, device_id, day_start, min(day_end, now))
    offline, unexplained = _served_while_gone(mine["timeline"], gone, beats)
    if unexplained > TOLERATED_MINUTES:
        return _no("served_while_gone", minutes=unexplained,
                   gone=[{"from": iso(a), "to": iso(b), "why": why} for a, b, why in gone])
    return Verdict(True, "verified", {"chain": links.chain, "links": [links.first, links.hi],
                                      "judged_until": mine["judged_until"], "served_offline": offline,
                                      "minutes": {k: mine[k] for k in COMPARED}})


def official_periods(db, device_id: str, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]] | None:
    """The day's periods by the official schedules and holiday lists for the device's office, or None.

    None when no official document decides the day (the device then keeps
    its configuration's weekly hours, which the centre does not know). The
    same :class:`~pishkhan.schedule.calendar.OfficeCalendar` the device runs
    decides, over the documents the centre recorded as official.
    """
    from pishkhan.schedule.calendar import OfficeCalendar
    from pishkhan.schedule.defaults import CALENDAR
    from pishkhan.schedule.document import parse_document

    device = db.query_one("SELECT province, office_id FROM devices WHERE device_id = ?", (device_id,))
    province, office = (device["province"] or None, device["office_id"] or None) if device else (None, None)
    scopes = ["national"] + ([f"province:{province}"] if province else []) + ([f"office:{office}"] if office else [])
    rows = db.query(f"SELECT envelope FROM official WHERE kind IN ('schedule', 'holidays') "
                    f"AND scope_key IN ({','.join('?' * len(scopes))}) ORDER BY version", tuple(scopes))
    docs = []
    for r in rows:
        try:
            docs.append(parse_document(json.loads(r["envelope"])["payload"]))
        except Exception:  # noqa: BLE001 - a row the centre cannot read decides nothing
            continue
    calendar = OfficeCalendar(schedules=[d for d in docs if d.kind == "schedule"],
                              holiday_lists=[d for d in docs if d.kind == "holidays"], province=province,
                              office=office, fallback_week={}, defaults=CALENDAR)
    decided = calendar.day(day)
    return None if decided.source == "config" else decided.periods


def silent(last_seen, now: dt.datetime | None = None) -> bool:
    """True when the centre heard nothing of a device for more than :data:`SILENT_AFTER` before *now*.

    *last_seen*: the centre's receive time of the device's last message (``devices.last_seen``); None (never
    heard) is not silent, a text that is not a time is (nothing vouches for the device).
    """
    if last_seen is None:
        return False
    try:
        heard = dt.datetime.fromisoformat(last_seen[:40])
    except (TypeError, ValueError):
        return True
    heard = heard if heard.tzinfo else heard.replace(tzinfo=dt.timezone.utc)
    return (now or dt.datetime.now(dt.timezone.utc)) - heard > SILENT_AFTER


def gone_stretches(db, device_id: str, start: dt.datetime, end: dt.datetime) -> list[tuple]:
    """When the broker saw *device_id* gone between *start* and *end*: ``(from, to, why)`` by receive time.

    *why* is ``lost`` (its Last Will), ``stopped`` (a clean offline) or ``silent`` (nothing received for
    longer than :data:`SILENT_AFTER`, :func:`silences`); overlapping stretches are joined, named by what the
    broker said when it said anything.
    """
    rows = db.query("SELECT state, received_at FROM presence WHERE device_id = ? AND received_at < ? "
                    "ORDER BY received_at, id", (device_id, iso(end)))
    out, gone_since, why = [], None, ""
    for r in rows:
        at = parse_iso(r["received_at"])
        if r["state"] == "online":
            if gone_since is not None and at > start:
                out.append((max(gone_since, start), at, why))
            gone_since = None
        elif r["state"] in ("lost", "stopped") and gone_since is None:
            gone_since, why = at, r["state"]
    if gone_since is not None:
        out.append((max(gone_since, start), end, why))
    joined: list[tuple] = []
    stretches = [s for s in out if s[1] > s[0]] + silences(db, device_id, start, end)
    for a, b, w in sorted(stretches, key=lambda s: (s[0], s[2] == "silent", s[1])):
        if joined and a < joined[-1][1]:
            why = joined[-1][2] if joined[-1][2] != "silent" else w
            joined[-1] = (joined[-1][0], max(b, joined[-1][1]), why)
        else:
            joined.append((a, b, w))
    return joined


def silences(db, device_id: str, start: dt.datetime, end: dt.datetime) -> list[tuple]:
    """The stretches between *start* and *end* longer than :data:`SILENT_AFTER` with no message of *device_id*
    received (``seen``, every first receipt): ``(from, to, "silent")``, from the message before to the one after.

    A device never heard before *end* has none (there is nothing it could claim).
    """
    before = db.query_one("SELECT MAX(at) AS at FROM seen WHERE device_id = ? AND at < ?",
                          (device_id, iso(start)))
    heard = [_received(before["at"])] if before and before["at"] else []
    heard += [_received(r["at"]) for r in db.query("SELECT at FROM seen WHERE device_id = ? AND at >= ? AND at < ? "
                                                   "ORDER BY at", (device_id, iso(start), iso(end)))]
    out = []
    for a, b in zip(heard, heard[1:] + [end]):
        if b - a > SILENT_AFTER and b > start:
            out.append((max(a, start), b, "silent"))
    return out


def _received(text: str) -> dt.datetime:
    """A receive time as the monitor stores it (``…T08:30:00.123Z``, :func:`pishkhan.protocol.payloads.format_time`)."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _served_while_gone(timeline: list[dict], gone: list[tuple], beats: list[dt.datetime]) -> tuple[int, int]:
    """Minutes judged serving or degraded inside *gone*: (all of them, those with no heartbeat near them)."""
    from bisect import bisect_left

    served = unexplained = 0
    for run in timeline:
        if run["state"] not in ("serving", "degraded"):
            continue
        m, run_end = parse_iso(run["start"]), parse_iso(run["end"])
        while m < run_end:
            if any(a <= m < b for a, b, _ in gone):
                served += 1
                i = bisect_left(beats, m - BEAT_SLACK)
                if not (i < len(beats) and beats[i] <= m + BEAT_SLACK):
                    unexplained += 1
            m += MINUTE
    return served, unexplained


def recent(db, device_id: str, *, today: dt.date, days: int = 7, now: dt.datetime | None = None) -> list[dict]:
    """The verdicts of *device_id*'s last *days* days up to *today*, newest first, for the office page."""
    out = []
    for back in range(days):
        day = today - dt.timedelta(days=back)
        try:
            verdict = verify_day(db, device_id, day, now=now)
        except Exception as e:  # noqa: BLE001 - no stored row may break the office page
            verdict = _no("unreadable", error=f"{type(e).__name__}: {str(e)[:200]}")
        out.append({"date": day.isoformat(), **verdict.as_dict()})
    return out
