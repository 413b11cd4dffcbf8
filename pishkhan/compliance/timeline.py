"""The facts of one day, re-dated, as a state for every minute of announced hours.

**Trusting the clock.** Every fact carries its boot id, the seconds since
that boot and whether the wall clock was synchronised
(:mod:`pishkhan.hardware.clock`). A fact recorded on a synchronised clock
keeps its wall time. A fact recorded before the clock was synchronised is
re-dated from the first synchronised stamp of the same boot (a fact or a
heartbeat): ``anchor.at − (anchor.mono − fact.mono)``. A boot that never
synchronised has no trustworthy time at all: its facts are left out, and its
minutes are *unknown*.

**When the device was up.** The ``uptime`` rows (:mod:`.uptime`) give, per
boot, the first and latest heartbeat; re-dated the same way, they are the
spans the device was up, each lasting until one beat interval (a minute)
after its latest heartbeat. A minute outside every span is *unknown*.

**A minute's state**, for every minute of the announced hours (minute *m*
is judged at its start):

- *unknown*: outside the up spans, or inside one but the kiosk has stated
  nothing yet in that boot (its process had not started);
- *closed*: the kiosk is not accepting tickets, or no counter is open (a
  kiosk that stops issuing near closing time because the wait would run
  past it — the queue's ``cutoff`` — is still serving those waiting);
- *serving*: the kiosk is accepting and at least one counter is open;
- *degraded*: serving, but the printer is not ``ok``, or the wall display
  (where this device has one in this boot) is not ``on`` or shows no
  verified board.

The kiosk's and display's states belong to their process, so they start
afresh in each boot; counters and the printer keep their last state across
boots (they are facts about the office, not a process).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass

from pishkhan.store.database import parse_iso

SERVING, DEGRADED, CLOSED, UNKNOWN = "serving", "degraded", "closed", "unknown"
STATES = (SERVING, DEGRADED, CLOSED, UNKNOWN)
MINUTE = dt.timedelta(minutes=1)
#: How often a heartbeat comes (the agent beats every minute): a boot counts as up
#: until this long after its latest beat.
BEAT = dt.timedelta(minutes=1)
PER_BOOT = ("kiosk", "display")


@dataclass(frozen=True)
class Fact:
    """One state-log row placed in trusted time."""

    at: dt.datetime
    component: str
    state: str
    reason: str
    boot_id: str
    redated: bool
    detail: str = "{}"


@dataclass(frozen=True)
class Span:
    """A stretch of time one boot was up, in trusted time."""

    boot_id: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Minute:
    at: dt.datetime
    state: str
    why: str
    printer_ok: bool = True
    display_ok: bool = True


def _anchors(store) -> dict[str, tuple[dt.datetime, float]]:
    """Per boot, the first synchronised (wall time, mono) pair known."""
    anchors: dict[str, tuple[dt.datetime, float]] = {}
    candidates = []
    for r in store.query("SELECT boot_id, at, mono FROM state_log WHERE clock_synced = 1 AND mono IS NOT NULL "
                         "AND boot_id != ''"):
        candidates.append((r["boot_id"], r["mono"], parse_iso(r["at"])))
    for r in store.query("SELECT boot_id, first_at, first_mono, first_synced, last_at, last_mono, last_synced "
                         "FROM uptime"):
        if r["first_synced"]:
            candidates.append((r["boot_id"], r["first_mono"], parse_iso(r["first_at"])))
        if r["last_synced"]:
            candidates.append((r["boot_id"], r["last_mono"], parse_iso(r["last_at"])))
    for boot, mono, at in sorted(candidates, key=lambda c: (c[0], c[1])):
        anchors.setdefault(boot, (at, mono))
    return anchors


def _place(at: str, mono, synced, boot_id: str, anchors) -> tuple[dt.datetime, bool] | None:
    """Trusted time of a stamp, and whether it was re-dated; None when it cannot be trusted."""
    if synced or not boot_id or mono is None:
        return parse_iso(at), False
    anchor = anchors.get(boot_id)
    if anchor is None:
        return None
    anchor_at, anchor_mono = anchor
    return anchor_at - dt.timedelta(seconds=anchor_mono - mono), True


def load_facts(store) -> tuple[list[Fact], list[Span], list[str]]:
    """Every fact and up span in trusted time, and the boots whose clock never synchronised."""
    anchors = _anchors(store)
    untrusted: set[str] = set()
    facts = []
    for r in store.query("SELECT at, component, state, reason, detail, boot_id, mono, clock_synced "
                         "FROM state_log ORDER BY id"):
        placed = _place(r["at"], r["mono"], r["clock_synced"], r["boot_id"], anchors)
        if placed is None:
            untrusted.add(r["boot_id"])
            continue
        facts.append(Fact(placed[0], r["component"], r["state"], r["reason"], r["boot_id"], placed[1],
                          r["detail"]))
    spans = []
    for r in store.query("SELECT * FROM uptime"):
        start = _place(r["first_at"], r["first_mono"], r["first_synced"], r["boot_id"], anchors)
        end = _place(r["last_at"], r["last_mono"], r["last_synced"], r["boot_id"], anchors)
        if start is None or end is None:
            untrusted.add(r["boot_id"])
            continue
        spans.append(Span(r["boot_id"], start[0], end[0]))
    facts.sort(key=lambda f: f.at)
    return facts, _merge_spans(spans), sorted(untrusted)


def _merge_spans(spans: list[Span]) -> list[Span]:
    """One span per boot (the union of its processes' spans), in time order."""
    by_boot: dict[str, Span] = {}
    for s in spans:
        known = by_boot.get(s.boot_id)
        by_boot[s.boot_id] = s if known is None else Span(s.boot_id, min(known.start, s.start),
                                                          max(known.end, s.end))
    return sorted(by_boot.values(), key=lambda s: s.start)


class _History:
    """The facts of one component in time order, asked "what was your state at t in boot b?"."""

    def __init__(self, facts: list[Fact], *, per_boot: bool):
        self.facts = facts
        self.times = [f.at for f in facts]
        self.per_boot = per_boot

    def at(self, moment: dt.datetime, boot_id: str) -> Fact | None:
        i = bisect_right(self.times, moment)
        if i == 0:
            return None
        fact = self.facts[i - 1]
        if self.per_boot and fact.boot_id != boot_id:
            return None  # the latest fact is from another boot: this boot has said nothing yet
        return fact


def minutes_of(periods) -> list[dt.datetime]:
    out = []
    for start, end in periods:
        m = start
        while m < end:
            out.append(m)
            m += MINUTE
    return out


def judge_minutes(facts: list[Fact], spans: list[Span], periods, *, until: dt.datetime | None = None
                  ) -> list[Minute]:
    """The state of every minute of *periods* (those starting before *until*, when given)."""
    components: dict[str, list[Fact]] = {}
    for f in facts:
        components.setdefault(f.component, []).append(f)
    histories = {name: _History(fs, per_boot=name in PER_BOOT) for name, fs in components.items()}
    counters = [h for name, h in histories.items() if name.startswith("counter:")]
    kiosk, printer, display = histories.get("kiosk"), histories.get("printer"), histories.get("display")
    judged = [m for m in minutes_of(periods) if until is None or m < until]
    if judged:  # only the boots up on this day: a year of boots made every minute's search 365 long
        spans = [s for s in spans if s.start <= judged[-1] and s.end + BEAT > judged[0]]
    out = []
    for m in judged:
        span = next((s for s in spans if s.start <= m < s.end + BEAT), None)
        if span is None:
            out.append(Minute(m, UNKNOWN, "device down or clock not trustworthy"))
            continue
        p = printer.at(m, span.boot_id) if printer else None
        d = display.at(m, span.boot_id) if display else None
        printer_ok = p is None or p.state == "ok"
        display_ok = d is None or (d.state == "on" and d.reason != "no_verified_board")
        k = kiosk.at(m, span.boot_id) if kiosk else None
        if k is None:
            out.append(Minute(m, UNKNOWN, "kiosk has not reported in this boot", printer_ok, display_ok))
            continue
        if not (k.state == "accepting" or (k.state == "not_accepting" and k.reason == "cutoff")):
            why = f"kiosk {k.state}" + (f" ({k.reason})" if k.reason else "")
            out.append(Minute(m, CLOSED, why, printer_ok, display_ok))
            continue
        if not any((f := c.at(m, span.boot_id)) is not None and f.state == "open" for c in counters):
            out.append(Minute(m, CLOSED, "no counter open", printer_ok, display_ok))
            continue
        if printer_ok and display_ok:
            out.append(Minute(m, SERVING, "", True, True))
            continue
        why = []
        if not printer_ok:
            why.append(f"printer {p.state}")
        if not display_ok:
            why.append("display shows no verified board" if d.state == "on" else f"display {d.state}")
        out.append(Minute(m, DEGRADED, "; ".join(why), printer_ok, display_ok))
    return out


def runs(minutes: list[Minute], key=lambda m: m.state) -> list[tuple[str, dt.datetime, dt.datetime, str]]:
    """Consecutive minutes with the same *key*, as ``(value, start, end, first why)``."""
    out = []
    for m in minutes:
        value = key(m)
        if out and out[-1][0] == value and out[-1][2] == m.at:
            out[-1] = (value, out[-1][1], m.at + MINUTE, out[-1][3])
        else:
            out.append((value, m.at, m.at + MINUTE, m.why))
    return out
