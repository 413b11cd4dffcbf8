"""The daily compliance report by province, from the reports the offices sent.

Each device sends its day's report (:func:`pishkhan.compliance.judge.day_report`)
on the ``report`` stream; the centre keeps the latest per device and date.
:func:`daily_report` sums them per province: scheduled, serving, degraded,
closed and unknown minutes, late openings (offices with a ``late_opening``
event that day, and their minutes), early closings, offices reporting,
offices known and offices not reporting (known, less those that sent a report). It counts
only the reports the offices sent — an office sends its day's report when its hours end —
so a province none of whose offices reported has no figures, not zeros; the fleet page
counts the day so far from the offices' events and states instead (:mod:`central.status`).
The dashboard's report page, its CSV and JSON, and
``pishkhan central report`` all come from this one function.

A report sent before its day ended (``complete: false``) counts as scheduled only the
minutes it judged (:func:`judged_so_far`).

The reports are what devices sent: a report that is not a readable object is
left out, a count of minutes that is not a whole number from 0 to a day's
1,440 is read as 0, an ``events`` that is not a list as none; each is counted
in the report's ``unreadable``. :func:`to_csv` writes no cell a spreadsheet
would run as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from central import stored
from central.status import province_order

MINUTE_KEYS = ("scheduled_minutes", "serving_minutes", "degraded_minutes", "closed_minutes", "unknown_minutes")
COLUMNS = ("province", "offices_known", "offices_reporting", "offices_not_reporting", *MINUTE_KEYS, "late_openings",
           "late_opening_minutes", "early_closings")
#: The columns that sum what the reports say: a province none of whose offices reported has none of them
#: (not zeros: the CSV leaves them empty, the page says «گزارش نداده»).
REPORTED = tuple(k for k in COLUMNS if k not in ("province", "offices_known", "offices_reporting",
                                                 "offices_not_reporting"))


#: The most minutes one office's day may count.
DAY_MINUTES = 24 * 60


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class _Minutes:
    """Reads a report's minute counts: a whole number from 0 to :data:`DAY_MINUTES`, else 0 (counted)."""

    def __init__(self, tally: stored.Tally, province: str):
        self.tally, self.province = tally, province

    def __call__(self, value) -> int:
        if value is None:
            return 0
        minutes = stored.integer(value, low=0, high=DAY_MINUTES)
        if minutes is None:
            self.tally.add("reports", province=self.province)
            return 0
        return minutes


#: The customers' ratings of an office's day (a report's ``ratings``: count and by score 1-5, each a whole number
#: up to :data:`MAX_RATINGS`, else 0 and counted unreadable; zeros for a report from before ratings).
RATING_FIGURES = ("ratings_count", "ratings_1", "ratings_2", "ratings_3", "ratings_4", "ratings_5")
MAX_RATINGS = 1_000_000


def rating_figures(ratings, *, tally: stored.Tally, province: str, served=None) -> dict:
    """:data:`RATING_FIGURES` of a report's ``ratings`` (zeros when it has none: a report from before).

    Read whole, a day's ratings must add up (``count`` is the sum of ``by_score``) and be no more than the
    tickets *served* that day (the report's ``tickets_served``, when it has one): one rating a served ticket.
    Otherwise they are zeros and counted unreadable, so one office cannot outweigh its province's mean."""
    out = dict.fromkeys(RATING_FIGURES, 0)
    if ratings is None:
        return out
    by_score = ratings.get("by_score") if isinstance(ratings, dict) else None
    if not isinstance(by_score, dict):
        tally.add("reports", province=province)
        return out
    unread = False
    for key, value in (("ratings_count", ratings.get("count")),
                       *((f"ratings_{n}", by_score.get(str(n), 0)) for n in range(1, 6))):
        number = stored.integer(value, low=0, high=MAX_RATINGS)
        if number is None:
            tally.add("reports", province=province)
            unread = True
        else:
            out[key] = number
    if not unread:
        ceiling = stored.integer(served, low=0, high=MAX_RATINGS)
        if out["ratings_count"] != sum(out[f"ratings_{n}"] for n in range(1, 6)) or \
                (ceiling is not None and out["ratings_count"] > ceiling):
            tally.add("reports", province=province)
            return dict.fromkeys(RATING_FIGURES, 0)
    return out


def rating_summary(figures: dict) -> dict:
    """``{"count", "by_score": {"1": …, "5": …}, "mean"}`` of summed :data:`RATING_FIGURES` (mean None with none)."""
    by_score = {str(n): int(figures.get(f"ratings_{n}") or 0) for n in range(1, 6)}
    rated = sum(by_score.values())
    mean = round(sum(n * by_score[str(n)] for n in range(1, 6)) / rated, 1) if rated else None
    return {"count": int(figures.get("ratings_count") or 0), "by_score": by_score, "mean": mean}


def judged_so_far(report: dict, counted: dict) -> dict:
    """*counted* (the report's :data:`MINUTE_KEYS`, read) with a report sent before its day ended
    (``complete: false``) scheduled only for the minutes it judged: the rest of its day has not happened, and
    counting it as scheduled would pull the open share down. A report without ``complete`` is a whole day."""
    if report.get("complete") is not False:
        return counted
    judged = sum(counted[k] for k in MINUTE_KEYS if k != "scheduled_minutes")
    return {**counted, "scheduled_minutes": min(counted["scheduled_minutes"], judged)}


def daily_report(db, day: dt.date, *, province: str | None = None, tally: stored.Tally | None = None) -> dict:
    """``{"date", "province", "provinces": [...], "totals", "offices": [...], "unreadable", "ratings"}`` for Tehran
    *day*; ``ratings`` is ``{"by_province": {code: summary}, "totals": summary}`` (:func:`rating_summary`).

    ``unreadable`` counts the stored values that could not be read (in *tally* too, if given).
    """
    tally = tally if tally is not None else stored.Tally()
    params = [day.isoformat()]
    sql = "SELECT r.device_id, r.province, r.report, d.office_id, d.office_name, d.province AS device_province " \
          "FROM reports r LEFT JOIN devices d ON d.device_id = r.device_id WHERE r.date = ? AND r.province <> ''"
    if province:
        sql += " AND r.province = ?"
        params.append(province)
    known_sql, known_params = "SELECT province, COUNT(*) AS n FROM devices WHERE province <> ''", []
    if province:
        known_sql += " AND province = ?"
        known_params.append(province)
    known = {r["province"]: int(r["n"]) for r in db.query(known_sql + " GROUP BY province", known_params)}
    sums: dict[str, dict] = {}
    offices = []
    for row in db.query(sql + " ORDER BY r.device_id", params):
        report = stored.loads(row["report"], tally=tally, table="reports", province=row["province"])
        if report is None:
            continue
        named = report.get("province") if isinstance(report.get("province"), str) else ""
        code = row["province"] or row["device_province"] or named
        minutes = _Minutes(tally, code)
        p = sums.setdefault(code, _empty(code))
        p["offices_reporting"] += 1
        counted = judged_so_far(report, {key: minutes(report.get(key)) for key in MINUTE_KEYS})
        for key in MINUTE_KEYS:
            p[key] += counted[key]
        events = report.get("events")
        if events is not None and not isinstance(events, list):
            tally.add("reports", province=code)
            events = None
        events = [e for e in events or [] if isinstance(e, dict)]
        late = [e for e in events if e.get("kind") == "late_opening"]
        early = [e for e in events if e.get("kind") == "early_closing"]
        late_minutes = minutes(report.get("late_opening_minutes")) or \
            min(DAY_MINUTES, sum(minutes(e.get("minutes")) for e in late))
        if late or late_minutes:
            p["late_openings"] += 1
            p["late_opening_minutes"] += late_minutes
        p["early_closings"] += bool(early)
        for key, n in rating_figures(report.get("ratings"), tally=tally, province=code,
                                     served=report.get("tickets_served")).items():
            p.setdefault("_ratings", dict.fromkeys(RATING_FIGURES, 0))[key] += n
        office = report.get("office") if isinstance(report.get("office"), str) else ""
        offices.append({"device_id": row["device_id"], "office_id": row["office_id"] or office,
                        "office_name": row["office_name"] or "", "province": code, **counted,
                        "late_opening": bool(late or late_minutes), "late_opening_minutes": late_minutes,
                        "early_closing": bool(early), "complete": report.get("complete") is True})
    for code, n in known.items():
        sums.setdefault(code, _empty(code))["offices_known"] = n
    for p in sums.values():
        p["offices_not_reporting"] = max(0, p["offices_known"] - p["offices_reporting"])
    provinces = [sums[c] for c in sorted(sums, key=province_order)]
    totals = {k: sum(p[k] for p in provinces) for k in COLUMNS if k != "province"}
    rated = {p["province"]: p.pop("_ratings", dict.fromkeys(RATING_FIGURES, 0)) for p in provinces}
    ratings = {"by_province": {code: rating_summary(r) for code, r in rated.items()},
               "totals": rating_summary({k: sum(r[k] for r in rated.values()) for k in RATING_FIGURES})}
    return {"date": day.isoformat(), "province": province, "provinces": provinces, "totals": totals,
            "offices": offices, "unreadable": tally.total, "ratings": ratings}


def _empty(code: str) -> dict:
    return {"province": code, **{k: 0 for k in COLUMNS if k != "province"}}


#: What a spreadsheet reads as the start of a formula (or of a cell it may run as one).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value):
    """*value* safe in a CSV cell: a number as it is; text that a spreadsheet would take for a formula
    gets a leading ``'`` (the OWASP advice), so ``=HYPERLINK(…)`` shows as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(report: dict) -> str:
    """The report as CSV: a header, a row per province, then a total row (province ``all``);
    every text cell through :func:`csv_cell`. A province none of whose offices reported has its
    :data:`REPORTED` cells empty (not reported is not zero)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["date", *COLUMNS])
    for p in report["provinces"]:
        silent = not p["offices_reporting"]
        writer.writerow([csv_cell(report["date"]),
                         *("" if silent and k in REPORTED else csv_cell(p[k]) for k in COLUMNS)])
    writer.writerow([csv_cell(report["date"]), "all", *(csv_cell(report["totals"][k]) for k in COLUMNS[1:])])
    return out.getvalue()


def to_json(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)
