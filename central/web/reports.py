"""The daily report by province (``/report``) and the same as CSV (``/report.csv``)."""

from __future__ import annotations

import datetime as dt

from starlette.authentication import requires
from starlette.responses import Response
from starlette.routing import Route

from central import registry
from central import report as reports
from central.web.render import chart
from central.web.site import LOGGED_IN, bad_request, page, province_of, site_of, twin


def _report(request):
    """(the report, None), or (None, the refusal of a bad date or province)."""
    site = site_of(request)
    text = request.query_params.get("date") or site.today().isoformat()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None, bad_request(request, f"date: expected YYYY-MM-DD, got {text!r}")
    province = province_of(request)
    try:  # it names the CSV file too: a province code by the registry's rule, or nothing
        registry.check(province=province)
    except registry.RegistryRefused as e:
        return None, bad_request(request, f"province: {e}")
    return reports.daily_report(site.fleet.db, day, province=province), None


@requires(LOGGED_IN, status_code=401)
def report_page(request):
    report, refused = _report(request)
    if refused:
        return refused
    return page(request, "report.html", report, nav="report", report=report,
                charts={p["province"]: chart(p) for p in report["provinces"]})


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
