"""The daily report by province (``/report``) and the same as CSV (``/report.csv``).

The day is picked in the Jalali calendar (``?date=1405/09/16``, any digits, ``/`` or ``-``); a
Gregorian ``YYYY-MM-DD`` (the CSV's and the API's own form) is read too.
"""

from __future__ import annotations

import datetime as dt

from starlette.authentication import requires
from starlette.responses import Response
from starlette.routing import Route

from central import registry, stored
from central import report as reports
from central.web import strings
from central.web.render import chart
from central.web.site import LOGGED_IN, bad_request, page, province_of, site_of, twin
from pishkhan.text import jalali
from pishkhan.text.persian import to_latin_digits

#: A year below this is a Jalali year (1405), at or above it a Gregorian one (2026).
GREGORIAN_FROM = 1700


def parse_day(text: str) -> dt.date | None:
    """The Gregorian date of *text*: a Jalali ``YYYY/MM/DD`` (or ``YYYY-MM-DD``) in any digits, or a
    Gregorian ``YYYY-MM-DD``; None when it is neither, not a real day, or outside :data:`central.stored.YEARS`."""
    parts = to_latin_digits(text).strip().replace("/", "-").split("-")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and 0 < len(p) <= 4 for p in parts):
        return None
    year, month, day = (int(p) for p in parts)
    try:
        found = dt.date(year, month, day) if year >= GREGORIAN_FROM else jalali.from_jalali(year, month, day)
    except (ValueError, OverflowError):
        return None
    return found if stored.YEARS[0] <= found.year <= stored.YEARS[1] else None


def jalali_text(day: dt.date) -> str:
    """*day* as the picker shows it: «۱۴۰۵/۰۹/۱۶»."""
    return jalali.format_numeric(day)


def _report(request):
    """(the report, None), or (None, the refusal of a bad date or province)."""
    site = site_of(request)
    text = request.query_params.get("date") or site.today().isoformat()
    day = parse_day(text) if len(text) <= 40 else None
    if day is None:
        return None, bad_request(request, strings.BAD_DATE.format(text=text[:40]))
    province = province_of(request)
    try:  # it names the CSV file too: a province code by the registry's rule, or nothing
        registry.check(province=province)
    except registry.RegistryRefused as e:
        return None, bad_request(request, f"{strings.BAD_PROVINCE.format(text=province[:40])} ({e})")
    return reports.daily_report(site.fleet.db, day, province=province), None


@requires(LOGGED_IN, status_code=401)
def report_page(request):
    report, refused = _report(request)
    if refused:
        return refused
    day = dt.date.fromisoformat(report["date"])
    return page(request, "report.html", report, nav="report", report=report,
                charts={p["province"]: chart(p) for p in report["provinces"] if p["offices_reporting"]},
                picked=jalali_text(day), previous=(day - dt.timedelta(days=1)).isoformat(),
                following=(day + dt.timedelta(days=1)).isoformat(), today=site_of(request).today().isoformat())


@requires(LOGGED_IN, status_code=401)
def report_csv(request):
    report, refused = _report(request)
    if refused:
        return refused
    name = f"pishkhan-report-{report['date']}" + (f"-province-{report['province']}" if report["province"] else "")
    return Response(reports.to_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


routes = [
    *twin("/report", report_page, api="/api/report", name="report"),
    Route("/report.csv", report_csv, name="report.csv"),
]
