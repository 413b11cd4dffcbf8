"""Compliance over a date range, from the offices' daily reports the centre keeps (``reports``).

A *period* is a range of Tehran dates, first and last included, at most
:data:`MAX_DAYS` long. Each office's day is read from its report as
:mod:`central.report` reads it (minute counts a whole number from 0 to 1,440,
else 0 and counted in ``unreadable``); besides the minutes, the report's events
give late openings (a ``late_opening`` event or ``late_opening_minutes``),
early closings, and the minutes the printer was out (``printer_out``) and the
display off (``display_off``).

A day for which no office in scope sent a report is *not reported*: its figures
are None, never zeros. The *open share* of a day is (serving + degraded minutes)
÷ scheduled minutes of the reports received, in per cent (None with no scheduled
minutes). :func:`trend` gives a scope's days, weeks, totals and the same figures
for the previous period of the same length; :func:`offices` gives one row per
office over a period (the rankings and the exports); :func:`to_csv` and
:func:`to_xlsx` write those rows, no cell a formula.

A report does not say which board the office showed, so out-of-date boards are
not ranked over a range (the fleet page says which boards are out of date now).

Where the figures are kept: the monitor writes a report's figures (``report_figures``, one row an office and
day) as it stores the report, in the same transaction (:func:`record`), and moves three rollups by the row's
change (new − old, so a report sent again counts once): ``report_months`` (an office's Jalali month),
``report_weeks`` (an office's Saturday-to-Friday week) and ``report_days`` (a province's day). A province's or
the country's days come from ``report_days`` (31 rows a day at most); an office's sums over a period
(rankings, exports) are whole months, plus or less the whole weeks and the days of the partial months
(:class:`_Parts`), exact for any period. Chosen by measurement (bench/history.py, 8,000 offices × 90 days
on PostgreSQL): the country's 30-day ranking summed 240,000 day rows a request (p95 2.3–2.7 s with 10
clients); with the rollups it sums about 46,000 rows (a whole Jalali month: 8,000), and pages and rankings
keep p95 under 300 ms with 10 clients. No result is cached. :func:`refresh` stays as the back-fill of
reports stored without figures (before this, or written by another path), read once a date.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
from dataclasses import dataclass

from central import stored
from central.errors import HistoryRefused
from central.report import DAY_MINUTES, MINUTE_KEYS, RATING_FIGURES, _Minutes, csv_cell, judged_so_far, rating_figures

#: The longest period one page, ranking or export covers.
MAX_DAYS = 366
#: What a day of an office adds up (summed over offices and days).
FIGURES = (*MINUTE_KEYS, "late_openings", "late_opening_minutes", "early_closings", "printer_out_minutes",
           "display_off_minutes", *RATING_FIGURES)
#: What the offices can be ranked by (the worst first).
RANK_BY = ("closed_minutes", "late_openings", "late_opening_minutes", "unknown_minutes", "printer_out_minutes",
           "display_off_minutes", "days_not_reported")
#: The columns of an export, one row an office: the machine header (``?header=en``), stable; ``start`` and
#: ``end`` are Gregorian ISO dates, ``start_jalali`` and ``end_jalali`` the same days as ``YYYY/MM/DD``.
EXPORT_COLUMNS = ("device_id", "office_id", "office_name", "province", "province_name", "start_jalali",
                  "end_jalali", "start", "end", "days", "days_reported", "days_not_reported", *FIGURES,
                  "open_percent")
#: The inspectors' header (the default): each column's Persian name, as the dashboard names it.
EXPORT_HEADERS_FA = {
    "device_id": "شناسه دستگاه", "office_id": "شناسه دفتر", "office_name": "نام دفتر", "province": "کد استان",
    "province_name": "استان", "start_jalali": "از تاریخ", "end_jalali": "تا تاریخ",
    "start": "از تاریخ (میلادی)", "end": "تا تاریخ (میلادی)", "days": "روزهای دوره",
    "days_reported": "روزهای دارای گزارش", "days_not_reported": "روزهای بدون گزارش",
    "scheduled_minutes": "دقایق برنامه", "serving_minutes": "دقایق خدمت", "degraded_minutes": "دقایق خدمت با نقص",
    "closed_minutes": "دقایق بسته", "unknown_minutes": "دقایق نامعلوم", "late_openings": "دیر باز شدن",
    "late_opening_minutes": "دقایق دیرکرد", "early_closings": "زود بستن",
    "printer_out_minutes": "دقایق خرابی چاپگر", "display_off_minutes": "دقایق خاموشی نمایشگر",
    "ratings_count": "شمار امتیازها", "ratings_1": "امتیاز ۱", "ratings_2": "امتیاز ۲", "ratings_3": "امتیاز ۳",
    "ratings_4": "امتیاز ۴", "ratings_5": "امتیاز ۵", "open_percent": "سهم باز بودن (درصد)"}
#: The headers an export can have: ``fa`` (the Persian names, the default) or ``en`` (:data:`EXPORT_COLUMNS`).
HEADERS = ("fa", "en")
#: Column widths of the .xlsx (characters), by column; the rest :data:`XLSX_WIDTH`.
XLSX_WIDTHS = {"device_id": 16, "office_id": 14, "office_name": 30, "province": 9, "province_name": 18,
               "start_jalali": 12, "end_jalali": 12, "start": 12, "end": 12}
XLSX_WIDTH = 13


REFUSALS = HistoryRefused.reasons


@dataclass(frozen=True)
class Period:
    """Tehran dates *start* to *end*, both included."""

    start: dt.date
    end: dt.date

    def __post_init__(self):
        if self.end < self.start:
            raise HistoryRefused(f"the period ends ({self.end}) before it starts ({self.start})", reason="reversed")
        if self.days > MAX_DAYS:
            raise HistoryRefused(f"{self.days} days: at most {MAX_DAYS}", reason="too_long")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    def previous(self) -> "Period":
        """The period of the same length that ends the day before this one starts."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    def month_before(self) -> "Period":
        """The same days one Jalali month earlier: from this start's day of the month in the month before (its
        last day if that month is shorter), as many days, ending before this period starts."""
        from pishkhan.text import jalali

        j = jalali.to_jalali(self.start)
        year, month = (j.year, j.month - 1) if j.month > 1 else (j.year - 1, 12)
        first, last = month_dates(f"{year:04d}-{month:02d}")
        start = min(first + dt.timedelta(days=j.day - 1), last)
        end = min(start + dt.timedelta(days=self.days - 1), self.start - dt.timedelta(days=1))
        return Period(start, end)


def month_so_far(today: dt.date) -> tuple[Period, bool]:
    """The Jalali month of *today* up to yesterday — today's day is not over, so not counted — and False; on a
    month's first day there is no yesterday in it: that day alone, and True (today included)."""
    from pishkhan.text import jalali

    j = jalali.to_jalali(today)
    first = jalali.from_jalali(j.year, j.month, 1)
    if first == today:
        return Period(today, today), True
    return Period(first, today - dt.timedelta(days=1)), False


def day_figures(report: dict, *, tally: stored.Tally, province: str) -> dict:
    """The :data:`FIGURES` of one office's day report."""
    minutes = _Minutes(tally, province)
    out = judged_so_far(report, {key: minutes(report.get(key)) for key in MINUTE_KEYS})
    if out["serving_minutes"] + out["degraded_minutes"] > out["scheduled_minutes"]:
        # more open than scheduled (ingest refuses it; an older or hand-written row may hold it): unreadable, and
        # the open minutes are capped at the scheduled ones, so no share passes 100 %
        tally.add("reports", province=province)
        out["serving_minutes"] = min(out["serving_minutes"], out["scheduled_minutes"])
        out["degraded_minutes"] = min(out["degraded_minutes"], out["scheduled_minutes"] - out["serving_minutes"])
    events = report.get("events")
    if events is not None and not isinstance(events, list):
        tally.add("reports", province=province)
        events = None
    events = [e for e in events or [] if isinstance(e, dict)]

    def lasted(kind):
        return min(DAY_MINUTES, sum(minutes(e.get("minutes")) for e in events if e.get("kind") == kind))

    late_minutes = minutes(report.get("late_opening_minutes")) or lasted("late_opening")
    late = late_minutes or any(e.get("kind") == "late_opening" for e in events)
    out.update(late_openings=int(bool(late)), late_opening_minutes=late_minutes,
               early_closings=int(any(e.get("kind") == "early_closing" for e in events)),
               printer_out_minutes=lasted("printer_out"), display_off_minutes=lasted("display_off"))
    out.update(rating_figures(report.get("ratings"), tally=tally, province=province,
                              served=report.get("tickets_served")))
    return out


def _scope(period: Period, *, province: str | None, device_id: str | None, alias: str) -> tuple[str, list]:
    sql = f" {alias}.date >= ? AND {alias}.date <= ? AND {alias}.province <> ''"
    params: list = [period.start.isoformat(), period.end.isoformat()]
    if province:
        sql += f" AND {alias}.province = ?"
        params.append(province)
    if device_id:
        sql += f" AND {alias}.device_id = ?"
        params.append(device_id)
    return sql, params


#: Reports read into ``report_figures`` per write (by the back-fill).
REFRESH_BATCH = 2000


#: Reports received this long before the newest one read are read again (a write that committed late).
MARGIN = dt.timedelta(minutes=5)
#: What a figures row adds to its rollups (``report_months``, ``report_days``): readable reports, unreadable
#: values, and the figures (zero for a report that could not be read).
ROLLED = ("reports", "unreadable", *FIGURES)
_KEPT = ("device_id", "date", "province", "received_at", "readable", "unreadable", *FIGURES)


@functools.lru_cache(maxsize=4096)
def month_of(date: str) -> str:
    """The Jalali month (``'1405-09'``) of the Gregorian ISO *date*: the rollups' month (``''`` for a date that
    is none: no period holds it)."""
    from pishkhan.text import jalali

    try:
        j = jalali.to_jalali(dt.date.fromisoformat(date))
    except (TypeError, ValueError):
        return ""
    return f"{j.year:04d}-{j.month:02d}"


@functools.lru_cache(maxsize=4096)
def week_of(date: str) -> str:
    """The Saturday (ISO date) that starts the Jalali week of the ISO *date*: the rollups' week (``''`` for a
    date that is none)."""
    try:
        day = dt.date.fromisoformat(date)
    except (TypeError, ValueError):
        return ""
    return (day - dt.timedelta(days=(day.weekday() - 5) % 7)).isoformat()


def month_dates(month: str) -> tuple[dt.date, dt.date]:
    """The first and last Gregorian dates of the Jalali *month* (``'1405-09'``)."""
    from pishkhan.text import jalali

    year, number = (int(x) for x in month.split("-"))
    first = jalali.from_jalali(year, number, 1)
    following = jalali.from_jalali(year + number // 12, number % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def _is_postgres(c) -> bool:
    import sqlite3

    return not isinstance(c, sqlite3.Cursor)


def record(c, *, device_id: str, date: str, province: str, report: dict, received_at: str) -> None:
    """Keep the figures of a report the monitor has just stored (in its transaction *c*, after the ``reports``
    row): its ``report_figures`` row and the rollups, the report it replaces (if any) taken out of them."""
    if _is_postgres(c) and not getattr(c, "_figures_locked", False):
        # once a transaction: waits for a back-fill in progress (refresh), which locks the table whole
        c.execute("LOCK TABLE report_figures IN ROW EXCLUSIVE MODE")
        c._figures_locked = True
    old = c.execute(f"SELECT {', '.join(_KEPT)} FROM report_figures WHERE device_id = ? AND date = ?",
                    (device_id, date)).fetchone()
    new = _figures_row(device_id=device_id, date=date, province=province, text=json.dumps(report),
                       received_at=received_at)
    _keep(c, [(dict(zip(_KEPT, old)) if old else None, new)])


def _figures_row(*, device_id, date, province, text, received_at) -> dict:
    """The ``report_figures`` row of the stored report *text*."""
    tally = stored.Tally()
    report = stored.loads(text, tally=tally, table="reports", province=province)
    figures = day_figures(report, tally=tally, province=province) if report is not None else {}
    return {"device_id": device_id, "date": date, "province": province, "received_at": received_at,
            "readable": int(report is not None), "unreadable": tally.total,
            **{k: figures.get(k, 0) for k in FIGURES}}


def _keep(c, changes: list[tuple[dict | None, dict]]) -> None:
    """Write each (old, new) figures row and move the rollups by new − old (both under new's and old's keys)."""
    _many(c, f"INSERT INTO report_figures({', '.join(_KEPT)}) VALUES ({', '.join('?' * len(_KEPT))}) "
          "ON CONFLICT (device_id, date) DO UPDATE SET " + ", ".join(f"{k} = excluded.{k}" for k in _KEPT[2:]),
          [[new[k] for k in _KEPT] for _, new in changes])
    months: dict[tuple, list[int]] = {}
    weeks: dict[tuple, list[int]] = {}
    days: dict[tuple, list[int]] = {}
    for old, new in changes:
        for row, sign in ((old, -1), (new, 1)):
            if row is None:
                continue
            added = [sign * int(row["readable"]), sign * int(row["unreadable"]),
                     *(sign * int(row[k]) for k in FIGURES)]
            for into, key in ((months, (row["device_id"], month_of(row["date"]), row["province"])),
                              (weeks, (row["device_id"], week_of(row["date"]), row["province"])),
                              (days, (row["date"], row["province"]))):
                total = into.setdefault(key, [0] * len(ROLLED))
                total[:] = [a + b for a, b in zip(total, added)]
    for table, keys, into in (("report_months", ("device_id", "month", "province"), months),
                              ("report_weeks", ("device_id", "week", "province"), weeks),
                              ("report_days", ("date", "province"), days)):
        rows = [(*key, *total) for key, total in sorted(into.items()) if any(total)]
        if rows:
            columns = (*keys, *ROLLED)
            _many(c, f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                  f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " +
                  ", ".join(f"{k} = {table}.{k} + excluded.{k}" for k in ROLLED), rows)


def _many(c, sql: str, rows: list) -> None:
    """*sql* for each of *rows*; one row with ``execute`` (``executemany`` costs a pipeline's set-up)."""
    if len(rows) == 1:
        c.execute(sql, rows[0])
    elif rows:
        c.executemany(sql, rows)


def refresh(db, period: Period, *, province: str | None = None, device_id: str | None = None) -> int:
    """Back-fill: read into ``report_figures`` and its rollups the reports in *period* and scope that have no
    figures yet (stored before the monitor kept them, or written by another path), and those received since the
    last refresh whose figures differ; how many were read.

    The monitor keeps each report's figures as it stores it (:func:`record`), so in the normal case this reads
    nothing; it checks each date once (of the scope's province, or of every province: ``report_figures_read``),
    then only the reports received since the newest one seen (``report_figures_mark``, less :data:`MARGIN`),
    and figures filed under no province whose report has one now. Figures kept from before the rollups existed
    are dropped once and read again.
    """
    if db.query_one("SELECT value FROM report_figures_mark WHERE name = 'rollups'") is None:
        db.write(_restart)
    read = _read(db, "f.province = '' AND r.province <> ''", [])
    if device_id:
        where, params = _scope(period, province=province, device_id=device_id, alias="r")
        return read + _read(db, where, params)
    newest = db.query_one("SELECT MAX(received_at) AS m FROM reports")["m"]
    mark = db.query_one("SELECT value FROM report_figures_mark WHERE name = 'received'")
    if newest and (mark is None or newest > mark["value"]):
        if mark is not None:
            read += _read(db, "r.received_at > ?", [_before(mark["value"])])
        db.write(lambda c: c.execute("INSERT INTO report_figures_mark(name, value) VALUES ('received', ?) "
                                     "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (newest,)))
    filled = {(r["date"], r["province"]) for r in db.query(
        "SELECT date, province FROM report_figures_read WHERE date >= ? AND date <= ?",
        (period.start.isoformat(), period.end.isoformat()))}
    for day in period.dates():
        date = day.isoformat()
        if (date, "*") in filled or (date, province) in filled:
            continue
        where, params = "r.date = ? AND r.province <> ''", [date]
        if province:
            where += " AND r.province = ?"
            params.append(province)
        read += _read(db, where, params)
        db.write(lambda c, date=date: c.execute(
            "INSERT INTO report_figures_read(date, province) VALUES (?, ?) ON CONFLICT (date, province) DO NOTHING",
            (date, province or "*")))
    return read


def _restart(c) -> None:
    """Drop figures kept without their rollups (from before them), to be read again with them."""
    if _is_postgres(c):
        c.execute("LOCK TABLE report_figures IN SHARE ROW EXCLUSIVE MODE")
    if c.execute("SELECT value FROM report_figures_mark WHERE name = 'rollups'").fetchone() is None:
        for table in ("report_figures", "report_figures_read", "report_months", "report_weeks", "report_days"):
            c.execute(f"DELETE FROM {table}")
        c.execute("DELETE FROM report_figures_mark WHERE name = 'received'")
        c.execute("INSERT INTO report_figures_mark(name, value) VALUES ('rollups', 'kept')")


def _before(stamp: str) -> str:
    try:
        return (dt.datetime.fromisoformat(stamp) - MARGIN).isoformat()
    except ValueError:
        return stamp


def _read(db, where: str, params: list) -> int:
    """Read the reports matching *where* (on ``reports r``, ``report_figures f``) whose figures are missing or
    stale into ``report_figures`` and the rollups, :data:`REFRESH_BATCH` a transaction."""
    sql = (f"SELECT r.device_id, r.date, r.province, r.report, r.received_at, "
           f"{', '.join(f'f.{k} AS old_{k}' for k in _KEPT)} FROM reports r "
           "LEFT JOIN report_figures f ON f.device_id = r.device_id AND f.date = r.date "
           f"WHERE {where} AND (f.device_id IS NULL OR f.received_at <> r.received_at OR f.province <> r.province) "
           f"LIMIT {REFRESH_BATCH}")

    def batch(c):
        if _is_postgres(c):  # no report's figures kept by the monitor meanwhile: the rollups move once
            c.execute("LOCK TABLE report_figures IN SHARE ROW EXCLUSIVE MODE")
        cursor = c.execute(sql, params)
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
        _keep(c, [({k: row[f"old_{k}"] for k in _KEPT} if row["old_device_id"] is not None else None,
                   _figures_row(device_id=row["device_id"], date=row["date"], province=row["province"],
                                text=row["report"], received_at=row["received_at"])) for row in rows])
        return len(rows)

    if not db.query(sql.replace(f"LIMIT {REFRESH_BATCH}", "LIMIT 1"), params):  # read alone: no lock when none
        return 0
    read = 0
    while True:
        n = db.write(batch)
        read += n
        if n < REFRESH_BATCH:
            return read


def _unreadable(db, period: Period, *, province, device_id, tally: stored.Tally):
    if device_id:
        where, params = _scope(period, province=province, device_id=device_id, alias="f")
        table = "report_figures"
    else:
        where, params = _scope(period, province=province, device_id=None, alias="f")
        table = "report_days"
    for r in db.query(f"SELECT f.province, SUM(f.unreadable) AS n FROM {table} f WHERE {where} "
                      "AND f.unreadable > 0 GROUP BY f.province", params):
        tally.add("reports", province=r["province"], n=int(r["n"]))


_SUMS = ", ".join(f"SUM(f.{k}) AS {k}" for k in FIGURES)


def _by_date(db, period: Period, *, province, device_id) -> dict[str, dict]:
    """The readable reports' figures summed by date, with ``reports`` counted: one office's from
    ``report_figures``, a province's or the country's from ``report_days``."""
    where, params = _scope(period, province=province, device_id=device_id, alias="f")
    if device_id:
        sql = (f"SELECT f.date AS k, COUNT(*) AS reports, {_SUMS} FROM report_figures f "
               f"WHERE {where} AND f.readable = 1 GROUP BY f.date")
    else:
        sql = (f"SELECT f.date AS k, SUM(f.reports) AS reports, {_SUMS} FROM report_days f "
               f"WHERE {where} GROUP BY f.date HAVING SUM(f.reports) > 0")
    return {r["k"]: {k: int(v) for k, v in r.items() if k != "k"} for r in db.query(sql, params)}


class _Parts:
    """A period as whole Jalali months (``report_months``) plus or less whole weeks (``report_weeks``) and days
    (``report_figures``): exact for any period. For each month the period touches, the month is taken less the
    dates outside the period when those hold fewer reports (``report_days``) than the dates inside it, else the
    dates inside; of those dates, each whole week is its week's rows."""

    def __init__(self, db, period: Period, *, province: str | None):
        months = sorted({month_of(d.isoformat()) for d in (period.start, period.end)} |
                        {month_of(d.isoformat()) for d in period.dates()[::28]})
        first, last = month_dates(months[0])[0], month_dates(months[-1])[1]
        sql, params = "SELECT date, SUM(reports + unreadable) AS n FROM report_days WHERE date >= ? AND date <= ?", \
            [first.isoformat(), last.isoformat()]
        if province:
            sql += " AND province = ?"
            params.append(province)
        self.held = {r["date"]: int(r["n"] or 0) for r in db.query(sql + " GROUP BY date", params)}
        self.months: list[str] = []
        self.add: list[str] = []
        self.take: list[str] = []
        self.add_weeks: list[str] = []
        self.take_weeks: list[str] = []
        for month in months:
            a, b = month_dates(month)
            dates = [(a + dt.timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]
            inside = [d for d in dates if period.start.isoformat() <= d <= period.end.isoformat()]
            outside = [d for d in dates if not period.start.isoformat() <= d <= period.end.isoformat()]
            if self._cost(outside) < self._cost(inside):
                self.months.append(month)
                self._dates(outside, days=self.take, weeks=self.take_weeks)
            else:
                self._dates(inside, days=self.add, weeks=self.add_weeks)

    def _cost(self, dates: list[str]) -> int:
        return sum(self.held.get(d, 0) for d in dates)

    def _dates(self, dates: list[str], *, days: list[str], weeks: list[str]) -> None:
        """*dates* as the weeks they hold whole and the other dates, those with reports only."""
        chosen = set(dates)
        whole = {week_of(d) for d in dates if all(
            (dt.date.fromisoformat(week_of(d)) + dt.timedelta(days=i)).isoformat() in chosen for i in range(7))}
        whole = {w for w in whole if self._cost([(dt.date.fromisoformat(w) + dt.timedelta(days=i)).isoformat()
                                                 for i in range(7)])}
        weeks += sorted(whole)
        days += [d for d in dates if week_of(d) not in whole and self.held.get(d)]

    def union(self, columns: dict[str, str], *, province: str | None, devices: list[str] | None = None
              ) -> tuple[str, list]:
        """The rows to sum, as ``SELECT device_id, province, <name>…`` of each part; *columns*: name → a column
        of ``report_figures`` (``readable`` is the rollups' ``reports``)."""
        selects, params = [], []

        def part(table, key, values, sign):
            names = {name: ("reports" if e == "readable" and table != "report_figures" else e)
                     for name, e in columns.items()}
            sql = "SELECT device_id, province, " + ", ".join(
                f"CAST({sign}{e} AS INTEGER) AS {name}" for name, e in names.items())
            sql += f" FROM {table} WHERE {key} IN ({', '.join('?' * len(values))}) AND province <> ''"
            args = list(values)
            if province:
                sql += " AND province = ?"
                args.append(province)
            if devices is not None:
                sql += f" AND device_id IN ({', '.join('?' * len(devices))})"
                args += devices
            selects.append(sql)
            params.extend(args)

        for table, key, values, sign in (("report_months", "month", self.months, ""),
                                         ("report_weeks", "week", self.add_weeks, ""),
                                         ("report_weeks", "week", self.take_weeks, "-"),
                                         ("report_figures", "date", self.add, ""),
                                         ("report_figures", "date", self.take, "-")):
            if values:
                part(table, key, values, sign)
        if not selects:
            return "SELECT '' AS device_id, '' AS province, " + ", ".join(f"0 AS {n}" for n in columns) + \
                " WHERE 1 = 0", []
        return " UNION ALL ".join(selects), params


def _by_office(db, period: Period, *, province, top: str | None = None, limit: int | None = None
               ) -> dict[str, dict]:
    """The readable reports' figures summed by office over *period* (:class:`_Parts`), with ``reports``
    counted and ``province`` (one of them); only the *limit* highest in figure *top* (above 0), when given:
    those found by that one sum first, then their figures."""
    parts = _Parts(db, period, province=province)
    devices = None
    if top:
        assert top in FIGURES, top
        sql, params = parts.union({"v": top}, province=province)
        devices = [r["k"] for r in db.query(
            f"SELECT u.device_id AS k FROM ({sql}) u GROUP BY u.device_id HAVING SUM(u.v) > 0 "
            "ORDER BY SUM(u.v) DESC, u.device_id LIMIT ?", [*params, limit])]
        if not devices:
            return {}
    sql, params = parts.union({"reports": "readable", **{k: k for k in FIGURES}}, province=province, devices=devices)
    sums = ", ".join(f"SUM(u.{k}) AS {k}" for k in ("reports", *FIGURES))
    rows = db.query(f"SELECT u.device_id AS k, MIN(u.province) AS province, {sums} FROM ({sql}) u "
                    "GROUP BY u.device_id HAVING SUM(u.reports) > 0", params)
    return {r["k"]: {k: (int(v) if k in FIGURES or k == "reports" else v) for k, v in r.items()} for r in rows}


def _known(db, *, province: str | None, device_id: str | None) -> int:
    sql, params = "SELECT COUNT(*) AS n FROM devices WHERE province <> ''", []
    if province:
        sql += " AND province = ?"
        params.append(province)
    if device_id:
        sql += " AND device_id = ?"
        params.append(device_id)
    return int(db.query_one(sql, params)["n"] or 0)


def open_percent(figures: dict) -> float | None:
    scheduled = figures.get("scheduled_minutes") or 0
    if not figures.get("offices_reporting", 1) or not scheduled:
        return None
    return min(100.0, round(100 * (figures["serving_minutes"] + figures["degraded_minutes"]) / scheduled, 1))


def _sum(days: list[dict]) -> dict:
    """The figures of *days* added up; None figures (days not reported) add nothing."""
    reported = [d for d in days if d["offices_reporting"]]
    out = {"offices_reporting": sum(d["offices_reporting"] for d in reported), "days": len(days),
           "days_reported": len(reported)}
    out.update({k: (sum(d[k] for d in reported) if reported else None) for k in FIGURES})
    out["open_percent"] = open_percent(out) if reported else None
    return out


def _days(db, period: Period, *, province, device_id, tally) -> list[dict]:
    refresh(db, period, province=province, device_id=device_id)
    _unreadable(db, period, province=province, device_id=device_id, tally=tally)
    by_day = _by_date(db, period, province=province, device_id=device_id)
    out = []
    for date in period.dates():
        found = by_day.get(date.isoformat())
        day = {"date": date.isoformat(), "offices_reporting": found["reports"] if found else 0,
               **{k: (found[k] if found else None) for k in FIGURES}}
        day["open_percent"] = open_percent(day) if found else None
        out.append(day)
    return out


def _weeks(days: list[dict]) -> list[dict]:
    """The days by Jalali week (Saturday to Friday), each week's figures summed."""
    weeks: list[list[dict]] = []
    for day in days:
        if not weeks or dt.date.fromisoformat(day["date"]).weekday() == 5:  # a Saturday starts a week
            weeks.append([])
        weeks[-1].append(day)
    return [{"start": w[0]["date"], "end": w[-1]["date"], **_sum(w)} for w in weeks]


def trend(db, period: Period, *, province: str | None = None, device_id: str | None = None,
          tally: stored.Tally | None = None, previous: Period | None = None) -> dict:
    """A scope's compliance by day and week over *period*, its totals, and the previous period's totals: of
    *previous* when given (:meth:`Period.month_before`: this month against last), else of the period of the
    same length just before (:meth:`Period.previous`).

    ``{"start", "end", "province", "device_id", "offices_known", "days": [...], "weeks": [...], "totals",
    "previous": {"start", "end", "totals"}, "change": {figure: this − previous or None}, "unreadable"}``.
    """
    tally = tally if tally is not None else stored.Tally()
    days = _days(db, period, province=province, device_id=device_id, tally=tally)
    before = previous or period.previous()
    earlier = _sum(_days(db, before, province=province, device_id=device_id, tally=tally))
    totals = _sum(days)
    change = {k: (None if totals[k] is None or earlier[k] is None else round(totals[k] - earlier[k], 1))
              for k in (*FIGURES, "open_percent")}
    return {"start": period.start.isoformat(), "end": period.end.isoformat(), "province": province,
            "device_id": device_id, "offices_known": _known(db, province=province, device_id=device_id),
            "days": days, "weeks": _weeks(days), "totals": totals,
            "previous": {"start": before.start.isoformat(), "end": before.end.isoformat(), "totals": earlier},
            "change": change, "unreadable": tally.total}


def offices(db, period: Period, *, province: str | None = None, rank_by: str | None = None,
            limit: int | None = None, tally: stored.Tally | None = None) -> list[dict]:
    """One row an office (every known office in scope, reported or not) over *period*: :data:`EXPORT_COLUMNS`.

    An office with no report in the period has its figures None. Ranked by *rank_by* (worst first, then by
    device id) and cut at *limit* when given; else by province and device id.
    """
    if rank_by is not None and rank_by not in RANK_BY:
        raise HistoryRefused(f"cannot rank by {rank_by!r}: one of {', '.join(RANK_BY)}", reason="rank_by")
    tally = tally if tally is not None else stored.Tally()
    sql, params = "SELECT device_id, office_id, office_name, province FROM devices WHERE province <> ''", []
    if province:
        sql += " AND province = ?"
        params.append(province)
    top = rank_by in FIGURES and limit
    if top:  # only the worst few: summed, ordered and cut in SQL, and only their devices' rows read
        refresh(db, period, province=province)
        _unreadable(db, period, province=province, device_id=None, tally=tally)
        grouped = _by_office(db, period, province=province, top=rank_by, limit=limit)
        if not grouped:
            return []
        sql += f" AND device_id IN ({', '.join('?' * len(grouped))})"
        params += list(grouped)
    rows = {r["device_id"]: {"device_id": r["device_id"], "office_id": r["office_id"], "office_name": r["office_name"],
                             "province": r["province"], "start": period.start.isoformat(),
                             "end": period.end.isoformat(), "days": period.days, "days_reported": 0,
                             **{k: None for k in FIGURES}} for r in db.query(sql, params)}
    if not top:
        refresh(db, period, province=province)
        _unreadable(db, period, province=province, device_id=None, tally=tally)
        grouped = _by_office(db, period, province=province)
    for device_id, found in grouped.items():
        row = rows.setdefault(device_id, {"device_id": device_id, "office_id": "", "office_name": "",
                                          "province": found["province"], "start": period.start.isoformat(),
                                          "end": period.end.isoformat(), "days": period.days})
        row["days_reported"] = found["reports"]
        row.update({k: found[k] for k in FIGURES})
    out = list(rows.values())
    for row in out:
        row["days_not_reported"] = period.days - row["days_reported"]
        row["open_percent"] = open_percent({**row, "offices_reporting": row["days_reported"]}) \
            if row["days_reported"] else None
    if rank_by:
        out.sort(key=lambda r: (-(r[rank_by] or 0), r["device_id"]))
        out = [r for r in out if r[rank_by]]
    else:
        from central.status import province_order
        out.sort(key=lambda r: (province_order(r["province"]), r["device_id"]))
    return out[:limit] if limit else out


def _header(header: str) -> list[str]:
    if header not in HEADERS:
        raise HistoryRefused(f"header {header!r}: one of {', '.join(HEADERS)}", reason="header")
    return [EXPORT_HEADERS_FA[k] for k in EXPORT_COLUMNS] if header == "fa" else list(EXPORT_COLUMNS)


def export_values(row: dict) -> dict:
    """*row* (:func:`offices`) with the columns an export adds: the province's name, the period in Jalali."""
    from pishkhan import provinces
    from pishkhan.text import jalali

    out = dict(row)
    out["province_name"] = provinces.name(row["province"]) or ""
    for key in ("start", "end"):
        try:
            out[f"{key}_jalali"] = jalali.to_jalali(dt.date.fromisoformat(row[key])).strftime("%Y/%m/%d")
        except (TypeError, ValueError):
            out[f"{key}_jalali"] = ""
    return out


def to_csv(rows: list[dict], *, header: str = "fa") -> str:
    """*rows* (:func:`offices`) as CSV, columns :data:`EXPORT_COLUMNS`: with *header* ``fa`` a UTF-8 BOM (so a
    spreadsheet reads the Persian) and the Persian names (:data:`EXPORT_HEADERS_FA`); with ``en`` no BOM and
    the column names. A figure not reported is an empty cell; every text cell through
    :func:`central.report.csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_header(header))
    for row in rows:
        row = export_values(row)
        writer.writerow(["" if row[k] is None else csv_cell(row[k]) for k in EXPORT_COLUMNS])
    return ("\ufeff" if header == "fa" else "") + out.getvalue()


def to_xlsx(rows: list[dict], *, title: str = "offices", header: str = "fa") -> bytes:
    """*rows* as an .xlsx workbook (openpyxl, write-only): a header row (:func:`to_csv`'s), frozen, then a row an
    office, the sheet right to left and the columns sized. Text cells are typed as text, never a formula
    (no visible ``'``: a text that a spreadsheet would take for a formula is marked ``quotePrefix``, as Excel
    marks a cell typed with a leading ``'``, so editing it keeps it text); a figure not reported is empty."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    from central.report import FORMULA_START

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.sheet_view.rightToLeft = True
    sheet.freeze_panes = "A2"
    for i, k in enumerate(EXPORT_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = XLSX_WIDTHS.get(k, XLSX_WIDTH)

    def text(value: str):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
        cell.data_type = "s"  # never a formula, whatever it starts with
        if value.startswith(FORMULA_START):
            cell.quotePrefix = True
        return cell

    sheet.append([text(h) for h in _header(header)])
    for row in rows:
        row = export_values(row)
        sheet.append([text(row[k]) if isinstance(row[k], str) else row[k] for k in EXPORT_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
