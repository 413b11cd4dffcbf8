"""Queue figures for one business day, per lane, per counter and in total.

- ``issued``: tickets taken in the lane (a transfer is not a new ticket);
  for a counter, ``called``: tickets it called;
- ``served``, ``no_show``, ``cancelled``, ``transferred``: tickets that ended so;
- ``wait_mean``/``wait_p90`` (minutes): arrival to first call (p90 by nearest rank);
- ``service_mean`` (minutes): first call to done;
- ``longest_queue``: the most tickets waiting at once.
"""

from __future__ import annotations

import math

from pishkhan.store.database import parse_iso


def _minutes(start: str, end: str) -> float:
    return (parse_iso(end) - parse_iso(start)).total_seconds() / 60


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _longest(rows) -> int:
    """Most rows waiting at once; a row waits from issue until called or ended."""
    edges = []
    for r in rows:
        leave = min([t for t in (r["called_at"], r["finished_at"]) if t] or ["~"])
        edges.append((r["issued_at"], 1))
        edges.append((leave, -1))
    longest = current = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):  # leaving before arriving at one instant
        current += step
        longest = max(longest, current)
    return longest


def _figures(rows, *, issued_key: str = "issued") -> dict:
    waits = [_minutes(r["arrived_at"], r["called_at"]) for r in rows if r["called_at"]]
    services = [_minutes(r["called_at"], r["finished_at"]) for r in rows
                if r["state"] == "done" and r["called_at"] and r["finished_at"]]
    rnd = lambda v: None if v is None else round(v, 1)  # noqa: E731
    out = {issued_key: (sum(1 for r in rows if r["origin_id"] is None) if issued_key == "issued"
                        else sum(1 for r in rows if r["called_at"]))}
    for state, key in (("done", "served"), ("no_show", "no_show"), ("cancelled", "cancelled"),
                       ("transferred", "transferred")):
        out[key] = sum(1 for r in rows if r["state"] == state)
    out.update(wait_mean=rnd(_mean(waits)), wait_p90=rnd(_p90(waits)), service_mean=rnd(_mean(services)),
               longest_queue=_longest(rows))
    return out


def day_report(store, config, day: str) -> dict:
    """The figures of business day *day* (``YYYY-MM-DD``, Tehran date)."""
    rows = store.query("SELECT * FROM tickets WHERE day = ? ORDER BY id", (day,))
    lanes = {lane.code: _figures([r for r in rows if r["lane"] == lane.code]) for lane in config.lanes}
    counters = {}
    for counter in config.counters:
        mine = [r for r in rows if r["counter"] == counter.number]
        figures = _figures(mine, issued_key="called")
        # the queue a counter faces: every ticket of the lanes it serves
        figures["longest_queue"] = _longest([r for r in rows if r["lane"] in counter.lanes])
        counters[str(counter.number)] = figures
    return {"day": day, "total": _figures(rows), "lanes": lanes, "counters": counters}


COLUMNS = [("issued", "issued"), ("served", "served"), ("no_show", "no-show"), ("cancelled", "cancelled"),
           ("wait_mean", "wait mean"), ("wait_p90", "wait p90"), ("service_mean", "service mean"),
           ("longest_queue", "longest queue")]


def format_report(report: dict) -> str:
    """The report as a plain table (minutes for waits and service)."""
    head = ["", *[title for _, title in COLUMNS]]
    lines = [head]

    def row(name, figures):
        values = [figures.get(key, figures.get("called")) if key == "issued" else figures.get(key)
                  for key, _ in COLUMNS]
        lines.append([name, *("-" if v is None else str(v) for v in values)])

    row("total", report["total"])
    for code, figures in report["lanes"].items():
        row(f"lane {code}", figures)
    for number, figures in report["counters"].items():
        row(f"counter {number}", figures)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = [f"queue report for {report['day']} (minutes; counters: issued = called)"]
    for line in lines:
        out.append("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths))))
    return "\n".join(out)
