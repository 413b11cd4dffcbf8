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
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from central import stored
from central.errors import HistoryRefused
from central.report import DAY_MINUTES, MINUTE_KEYS, _Minutes, csv_cell

#: The longest period one page, ranking or export covers.
MAX_DAYS = 366
#: What a day of an office adds up (summed over offices and days).
FIGURES = (*MINUTE_KEYS, "late_openings", "late_opening_minutes", "early_closings", "printer_out_minutes",
           "display_off_minutes")
#: What the offices can be ranked by (the worst first).
RANK_BY = ("closed_minutes", "late_openings", "late_opening_minutes", "unknown_minutes", "printer_out_minutes",
           "display_off_minutes", "days_not_reported")
#: The columns of an export, one row an office.
EXPORT_COLUMNS = ("device_id", "office_id", "office_name", "province", "start", "end", "days", "days_reported",
                  "days_not_reported", *FIGURES, "open_percent")


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


def day_figures(report: dict, *, tally: stored.Tally, province: str) -> dict:
    """The :data:`FIGURES` of one office's day report."""
    minutes = _Minutes(tally, province)
    out = {key: minutes(report.get(key)) for key in MINUTE_KEYS}
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


#: Reports read into ``report_figures`` per write.
REFRESH_BATCH = 2000


#: Reports received this long before the newest one read are read again (a write that committed late).
MARGIN = dt.timedelta(minutes=5)


def refresh(db, period: Period, *, province: str | None = None, device_id: str | None = None) -> int:
    """Read into ``report_figures`` the reports in *period* and scope not read yet, and every report received
    since the last refresh (each report's JSON is read once, and again when the office sends it again); how many
    were read.

    A date is read whole once (of the scope's province, or of every province: ``report_figures_read``); after
    that only the reports received since the newest one seen (``report_figures_mark``, less :data:`MARGIN`)
    are read, whatever their date. One office's scope reads that office's reports not read yet.
    """
    if device_id:
        where, params = _scope(period, province=province, device_id=device_id, alias="r")
        return _read(db, where, params)
    read = 0
    newest = db.query_one("SELECT MAX(received_at) AS m FROM reports")["m"]
    mark = db.query_one("SELECT value FROM report_figures_mark WHERE name = 'received'")
    if newest and (mark is None or newest > mark["value"]):
        if mark is not None:
            read += _read(db, "r.received_at > ?", [_before(mark["value"])], stale_only=False)
        db.write(lambda c: c.execute("INSERT INTO report_figures_mark(name, value) VALUES ('received', ?) "
                                     "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (newest,)))
    filled = {(r["date"], r["province"]) for r in db.query(
        "SELECT date, province FROM report_figures_read WHERE date >= ? AND date <= ?",
        (period.start.isoformat(), period.end.isoformat()))}
    todo = [d.isoformat() for d in period.dates()
            if (d.isoformat(), "*") not in filled and (d.isoformat(), province) not in filled]
    for i in range(0, len(todo), 31):
        dates = todo[i:i + 31]
        where = f"r.date IN ({', '.join('?' * len(dates))}) AND r.province <> ''"
        params = list(dates)
        if province:
            where += " AND r.province = ?"
            params.append(province)
        read += _read(db, where, params)
        db.write(lambda c, dates=dates: c.executemany(
            "INSERT INTO report_figures_read(date, province) VALUES (?, ?) ON CONFLICT (date, province) DO NOTHING",
            [(d, province or "*") for d in dates]))
    return read


def _before(stamp: str) -> str:
    try:
        return (dt.datetime.fromisoformat(stamp) - MARGIN).isoformat()
    except ValueError:
        return stamp


def _read(db, where: str, params: list, *, stale_only: bool = True) -> int:
    """Read the reports matching *where* (on ``reports r``) into ``report_figures``: those not read yet or
    changed since (all of them, unless *stale_only*)."""
    sql = ("SELECT r.device_id, r.date, r.province, r.report, r.received_at FROM reports r "
           "LEFT JOIN report_figures f ON f.device_id = r.device_id AND f.date = r.date "
           f"WHERE {where}")
    if stale_only:
        sql += " AND (f.device_id IS NULL OR f.received_at <> r.received_at OR f.province <> r.province)"
    stale = db.query(sql, params)
    columns = ("device_id", "date", "province", "received_at", "readable", "unreadable", *FIGURES)
    sql = (f"INSERT INTO report_figures({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
           "ON CONFLICT (device_id, date) DO UPDATE SET " +
           ", ".join(f"{c} = excluded.{c}" for c in columns[2:]))
    for i in range(0, len(stale), REFRESH_BATCH):
        rows = []
        for row in stale[i:i + REFRESH_BATCH]:
            tally = stored.Tally()
            report = stored.loads(row["report"], tally=tally, table="reports", province=row["province"])
            figures = day_figures(report, tally=tally, province=row["province"]) if report is not None else {}
            rows.append((row["device_id"], row["date"], row["province"], row["received_at"], int(report is not None),
                         tally.total, *(figures.get(k, 0) for k in FIGURES)))
        db.write(lambda c, rows=rows: c.executemany(sql, rows))
    return len(stale)


def _unreadable(db, period: Period, *, province, device_id, tally: stored.Tally):
    where, params = _scope(period, province=province, device_id=device_id, alias="f")
    for r in db.query(f"SELECT f.province, SUM(f.unreadable) AS n FROM report_figures f WHERE {where} "
                      "AND f.unreadable > 0 GROUP BY f.province", params):
        tally.add("reports", province=r["province"], n=int(r["n"]))


_SUMS = ", ".join(f"SUM(f.{k}) AS {k}" for k in FIGURES)


def _grouped(db, period: Period, *, by: str, province, device_id, top: str | None = None,
             limit: int | None = None) -> dict[str, dict]:
    """The readable reports' figures summed by *by* (``date`` or ``device_id``), with ``reports`` counted and
    ``province`` (one of them); only the *limit* highest in figure *top* (above 0), when given."""
    where, params = _scope(period, province=province, device_id=device_id, alias="f")
    sql = (f"SELECT f.{by} AS k, MIN(f.province) AS province, COUNT(*) AS reports, {_SUMS} "
           f"FROM report_figures f WHERE {where} AND f.readable = 1 GROUP BY f.{by}")
    if top:
        assert top in FIGURES, top
        sql += f" HAVING SUM(f.{top}) > 0 ORDER BY SUM(f.{top}) DESC, f.{by} LIMIT ?"
        params.append(limit)
    rows = db.query(sql, params)
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
    return round(100 * (figures["serving_minutes"] + figures["degraded_minutes"]) / scheduled, 1)


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
    by_day = _grouped(db, period, by="date", province=province, device_id=device_id)
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
          tally: stored.Tally | None = None) -> dict:
    """A scope's compliance by day and week over *period*, its totals, and the previous period's totals.

    ``{"start", "end", "province", "device_id", "offices_known", "days": [...], "weeks": [...], "totals",
    "previous": {"start", "end", "totals"}, "change": {figure: this − previous or None}, "unreadable"}``.
    """
    tally = tally if tally is not None else stored.Tally()
    days = _days(db, period, province=province, device_id=device_id, tally=tally)
    before = period.previous()
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
        grouped = _grouped(db, period, by="device_id", province=province, device_id=None, top=rank_by, limit=limit)
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
        grouped = _grouped(db, period, by="device_id", province=province, device_id=None)
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


def to_csv(rows: list[dict]) -> str:
    """*rows* (:func:`offices`) as CSV with a header of :data:`EXPORT_COLUMNS`; a figure not reported is an
    empty cell; every text cell through :func:`central.report.csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow(["" if row[k] is None else csv_cell(row[k]) for k in EXPORT_COLUMNS])
    return out.getvalue()


def to_xlsx(rows: list[dict], *, title: str = "offices") -> bytes:
    """*rows* as an .xlsx workbook (openpyxl, write-only): a header row, then a row an office; text cells are
    written as text (a leading ``=`` is not a formula), a figure not reported is an empty cell."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(list(EXPORT_COLUMNS))
    for row in rows:
        cells = []
        for k in EXPORT_COLUMNS:
            value = row[k]
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", csv_cell(value)))
                cell.data_type = "s"  # never a formula, whatever it starts with
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
