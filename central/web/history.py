"""A scope's compliance over a period (``/history``), the offices ranked (``/ranking``) and the office
rows as CSV and xlsx (``/history.csv``, ``/history.xlsx``): :mod:`central.history` on the dashboard.

A period is ``?start=`` and ``?end=`` in the Jalali calendar (any digits; Gregorian ``YYYY-MM-DD`` too:
:func:`central.web.reports.parse_day`), the last 30 days to today by default; ``?province=`` the
scope (a province user: theirs), ``?device=`` one office, ``?by=`` the ranking's figure, ``?against=month``
the history against the same days of the month before (:data:`AGAINST`), ``?header=en`` an export's English
column names (:data:`central.history.HEADERS`).
"""

from __future__ import annotations

import datetime as dt

from starlette.authentication import requires
from starlette.responses import Response
from starlette.routing import Route

from central import history, queries, registry
from central.web import strings
from central.web.reports import jalali_text, parse_day
from central.web.site import LOGGED_IN, bad_request, not_found, page, province_of, site_of, twin

#: The days a period covers when none is asked for.
DEFAULT_DAYS = 30
#: The offices a ranking shows.
RANKED = 50
#: What ``/history`` compares a period with (``?against=``): the period of the same length just before it
#: (``period``, the default), or the same days of the Jalali month before (``month``).
AGAINST = ("period", "month")


class _Asked:
    """What a request asks for: the period, the province and the office, or the refusal to answer."""

    def __init__(self, request):
        self.request, self.refused = request, None
        site = site_of(request)
        today = site.today()
        days = {}
        for key, default in (("end", today), ("start", None)):
            text = request.query_params.get(key, "")
            if not text:
                days[key] = default
                continue
            days[key] = parse_day(text) if len(text) <= 40 else None
            if days[key] is None:
                self.refused = bad_request(request, strings.BAD_DATE.format(text=text[:40]))
                return
        start = days["start"] or days["end"] - dt.timedelta(days=DEFAULT_DAYS - 1)
        try:
            self.period = history.Period(start, days["end"])
        except history.HistoryRefused as e:
            self.refused = bad_request(request, f"{strings.BAD_PERIOD[e.reason]} ({e.reason})")
            return
        self.province = province_of(request)
        try:
            registry.check(province=self.province)
        except registry.RegistryRefused as e:
            self.refused = bad_request(request, f"{strings.BAD_PROVINCE.format(text=self.province[:40])} ({e})")
            return
        self.device = None
        device_id = request.query_params.get("device", "")
        if device_id:
            row = queries.device_row(site.fleet.db, device_id[:200])
            if row is None or (request.user.province and row["province"] != request.user.province):
                self.refused = not_found(request)
                return
            self.device = row

    def link(self, **change) -> str:
        """This request's query with *change* (the period in Gregorian ISO, as the CSV names it)."""
        from urllib.parse import urlencode

        query = {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
        if self.province and not self.request.user.province:
            query["province"] = self.province
        query.update({k: v for k, v in change.items() if v is not None})
        return urlencode(query)


def months(today: dt.date) -> dict[str, tuple[dt.date, dt.date, str | None]]:
    """The one-click periods: the Jalali month of *today* so far (``this``), the whole month before it
    (``last``), and this month to yesterday against the same days of the month before (``versus``:
    :func:`central.history.month_so_far`, ``against=month``); each (start, end, ``against``)."""
    from pishkhan.text import jalali

    now = jalali.to_jalali(today)
    first = jalali.from_jalali(now.year, now.month, 1)
    before = jalali.to_jalali(first - dt.timedelta(days=1))
    versus, _ = history.month_so_far(today)
    return {"this": (first, today, None),
            "last": (jalali.from_jalali(before.year, before.month, 1), first - dt.timedelta(days=1), None),
            "versus": (versus.start, versus.end, "month")}


def chart(days: list[dict], *, previous: float | None, height: int = 160, bar: int = 14) -> dict:
    """The trend chart's bars: a day's open share as a bar, a day with no report as a grey mark."""
    bars = []
    for i, day in enumerate(days):
        share = day["open_percent"]
        length = 0 if share is None else round(min(100.0, share) / 100 * height)
        bars.append({"date": day["date"], "x": 40 + i * (bar + 2), "length": length, "y": 10 + height - length,
                     "percent": share, "reported": day["offices_reporting"] > 0})
    line = None if previous is None else round(10 + height - min(100.0, previous) / 100 * height)
    return {"bars": bars, "width": 40 + len(days) * (bar + 2) + 10, "height": height + 40, "bar": bar,
            "base": 10 + height, "previous_y": line}


@requires(LOGGED_IN, status_code=401)
def history_page(request):
    asked = _Asked(request)
    if asked.refused:
        return asked.refused
    db = site_of(request).fleet.db
    device_id = asked.device["device_id"] if asked.device else None
    # a province user's office: only what it reported while in their province (a device moved keeps its past)
    province = request.user.province or (None if device_id else asked.province)
    against = request.query_params.get("against", "period")
    if against not in AGAINST:
        return bad_request(request, strings.BAD_AGAINST)
    data = history.trend(db, asked.period, province=province, device_id=device_id,
                         previous=asked.period.month_before() if against == "month" else None)
    today = site_of(request).today()
    data["against"] = against
    data["includes_today"] = asked.period.start <= today <= asked.period.end
    data["ends_yesterday"] = asked.period.end == today - dt.timedelta(days=1)
    data["office"] = None if not asked.device else {k: asked.device[k] for k in ("device_id", "office_id",
                                                                                 "office_name", "province")}
    return page(request, "history.html", data, nav="history", h=data, asked=asked,
                chart=chart(data["days"], previous=data["previous"]["totals"]["open_percent"]),
                start=jalali_text(asked.period.start), end=jalali_text(asked.period.end),
                months={k: asked.link(start=a.isoformat(), end=b.isoformat(), device=device_id, against=which)
                        for k, (a, b, which) in months(today).items()})


@requires(LOGGED_IN, status_code=401)
def ranking_page(request):
    asked = _Asked(request)
    if asked.refused:
        return asked.refused
    by = request.query_params.get("by", "closed_minutes")
    try:
        rows = history.offices(site_of(request).fleet.db, asked.period, province=asked.province, rank_by=by,
                               limit=RANKED)
    except history.HistoryRefused as e:
        return bad_request(request, f"{strings.BAD_PERIOD[e.reason]} ({e.reason})")
    data = {"start": asked.period.start.isoformat(), "end": asked.period.end.isoformat(),
            "province": asked.province, "by": by, "offices": rows}
    return page(request, "ranking.html", data, nav="ranking", r=data, asked=asked,
                start=jalali_text(asked.period.start), end=jalali_text(asked.period.end))


def _export(request, kind: str):
    asked = _Asked(request)
    if asked.refused:
        return asked.refused
    header = request.query_params.get("header", "fa")
    if header not in history.HEADERS:
        return bad_request(request, f"{strings.BAD_PERIOD['header']} (header)")
    rows = history.offices(site_of(request).fleet.db, asked.period, province=asked.province)
    name = f"pishkhan-offices-{asked.period.start}-{asked.period.end}" + \
        (f"-province-{asked.province}" if asked.province else "")
    if kind == "csv":
        body, media = history.to_csv(rows, header=header), "text/csv; charset=utf-8"
    else:
        body = history.to_xlsx(rows, header=header)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}.{kind}"'})


@requires(LOGGED_IN, status_code=401)
def export_csv(request):
    return _export(request, "csv")


@requires(LOGGED_IN, status_code=401)
def export_xlsx(request):
    return _export(request, "xlsx")


routes = [
    *twin("/history", history_page, api="/api/history", name="history"),
    *twin("/ranking", ranking_page, api="/api/ranking", name="ranking"),
    Route("/history.csv", export_csv, name="history.csv"),
    Route("/history.xlsx", export_xlsx, name="history.xlsx"),
]
