"""The daily compliance report by province, from the reports the offices sent.

Each device sends its day's report (:func:`pishkhan.compliance.judge.day_report`)
on the ``report`` stream; the centre keeps the latest per device and date.
:func:`daily_report` sums them per province: scheduled, serving, degraded,
closed and unknown minutes, late openings (offices with a ``late_opening``
event that day, and their minutes), early closings, offices reporting and
offices known. The dashboard's report page, its CSV and JSON, and
``pishkhan central report`` all come from this one function.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

MINUTE_KEYS = ("scheduled_minutes", "serving_minutes", "degraded_minutes", "closed_minutes", "unknown_minutes")
COLUMNS = ("province", "offices_known", "offices_reporting", *MINUTE_KEYS, "late_openings", "late_opening_minutes",
           "early_closings")


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def daily_report(db, day: dt.date, *, province: str | None = None) -> dict:
    """``{"date", "province", "provinces": [...], "totals", "offices": [...]}`` for Tehran *day*."""
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
        try:
            report = json.loads(row["report"])
        except ValueError:
            continue
        if not isinstance(report, dict):
            continue
        code = row["province"] or row["device_province"] or str(report.get("province") or "")
        p = sums.setdefault(code, _empty(code))
        p["offices_reporting"] += 1
        for key in MINUTE_KEYS:
            p[key] += _int(report.get(key))
        events = [e for e in report.get("events") or [] if isinstance(e, dict)]
        late = [e for e in events if e.get("kind") == "late_opening"]
        early = [e for e in events if e.get("kind") == "early_closing"]
        late_minutes = _int(report.get("late_opening_minutes")) or sum(_int(e.get("minutes")) for e in late)
        if late or late_minutes:
            p["late_openings"] += 1
            p["late_opening_minutes"] += late_minutes
        p["early_closings"] += bool(early)
        offices.append({"device_id": row["device_id"], "office_id": row["office_id"] or report.get("office") or "",
                        "office_name": row["office_name"] or "", "province": code,
                        **{k: _int(report.get(k)) for k in MINUTE_KEYS},
                        "late_opening": bool(late or late_minutes), "late_opening_minutes": late_minutes,
                        "early_closing": bool(early), "complete": bool(report.get("complete"))})
    for code, n in known.items():
        sums.setdefault(code, _empty(code))["offices_known"] = n
    provinces = [sums[c] for c in sorted(sums, key=lambda c: (0, int(c), c) if c.isdigit() else (1, 0, c))]
    totals = {k: sum(p[k] for p in provinces) for k in COLUMNS if k != "province"}
    return {"date": day.isoformat(), "province": province, "provinces": provinces, "totals": totals,
            "offices": offices}


def _empty(code: str) -> dict:
    return {"province": code, **{k: 0 for k in COLUMNS if k != "province"}}


def to_csv(report: dict) -> str:
    """The report as CSV: a header, a row per province, then a total row (province ``all``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["date", *COLUMNS])
    for p in report["provinces"]:
        writer.writerow([report["date"], *(p[k] for k in COLUMNS)])
    writer.writerow([report["date"], "all", *(report["totals"][k] for k in COLUMNS[1:])])
    return out.getvalue()


def to_json(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2)
