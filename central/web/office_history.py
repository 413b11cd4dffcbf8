"""An office's health history (``/device/{id}/health``), an office's past day (``/device/{id}/day``) and the devices
beyond a health threshold now (``/health``): :mod:`central.health_history` and :mod:`central.timeline` on the
dashboard.

``/device/{id}/health?start=&end=``: the period in the Jalali calendar (any digits;
:func:`central.web.reports.parse_day`), the last 7 days to today by default, at most
:data:`central.health_history.MAX_PERIOD_DAYS`.
``/device/{id}/day?date=``: one Tehran day (today by default). ``/health?province=&kind=&page=``: paged.
A province user sees only their province: another province's office is not found, and ``/health`` lists theirs.
"""

from __future__ import annotations

import datetime as dt

from starlette.authentication import requires

from central import health_history, queries, registry, timeline
from central.web import office_strings, strings
from central.web.words import decimal
from central.web.reports import jalali_text, parse_day
from central.web.site import LOGGED_IN, bad_request, not_found, page, province_of, site_of, twin

#: The days a health history covers when none is asked for.
DEFAULT_DAYS = 7


def _device(request):
    """The device row asked for, or None when there is none or it is another province's."""
    row = queries.device_row(site_of(request).fleet.db, request.path_params["device_id"][:200])
    if row is None or (request.user.province and row["province"] != request.user.province):
        return None
    return row


def _office(row: dict) -> dict:
    return {k: row[k] for k in ("device_id", "office_id", "office_name", "province")}


def _day(request, key: str, default: dt.date):
    """(the Jalali day asked for as *key*, None) or (None, the refusal)."""
    text = request.query_params.get(key, "")
    if not text:
        return default, None
    day = parse_day(text) if len(text) <= 40 else None
    if day is None:
        return None, bad_request(request, strings.BAD_DATE.format(text=text[:40]))
    return day, None


# -- charts -----------------------------------------------------------------------------------------------------
def spark(buckets: list[dict], key: str, *, low: float, high: float, limit: float | None, kind: str,
          width: int = 600, height: int = 110) -> dict:
    """A sparkline of *key* over *buckets*: ``points`` (SVG polyline), ``marks`` (buckets beyond the *kind*
    threshold, as circles), the threshold's ``limit_y``; a bucket without the value leaves a gap."""
    n = max(1, len(buckets))
    step = width / n
    span = (high - low) or 1.0

    def y(v):
        return round(4 + (height - 8) * (1 - (min(high, max(low, v)) - low) / span), 1)

    lines, current, marks = [], [], []
    for i, b in enumerate(buckets):
        v = b.get(key)
        x = round(step * (i + 0.5), 1)
        if v is None:
            if current:
                lines.append(" ".join(current))
            current = []
            continue
        current.append(f"{x},{y(v)}")
        if kind in b["beyond"]:
            marks.append({"x": x, "y": y(v), "value": v, "start": b["start"]})
    if current:
        lines.append(" ".join(current))
    return {"lines": lines, "marks": marks, "width": width, "height": height,
            "limit_y": None if limit is None else y(limit), "empty": not lines}


def charts(h: dict) -> dict:
    t = h["thresholds"]
    temps = [b["temp_max"] for b in h["buckets"] if b["temp_max"] is not None]
    return {  # the temperature's scale: its readings and the threshold, with a margin
        "temperature": spark(h["buckets"], "temp_max", low=min([t["temperature_c"], *temps]) - 5,
                             high=max([t["temperature_c"], *temps]) + 5, limit=t["temperature_c"], kind="temperature"),
        "disk": spark(h["buckets"], "disk_free_percent_min", low=0, high=100, limit=t["disk_free_percent"],
                      kind="disk"),
        "memory": spark(h["buckets"], "mem_available_percent_min", low=0, high=100,
                        limit=t["memory_available_percent"], kind="memory"),
        "under_voltage": [{"x": round(600 / max(1, len(h["buckets"])) * i, 1), "w": round(600 / max(1, len(
            h["buckets"])), 1), "on": b["under_voltage"] > 0, "start": b["start"], "n": b["under_voltage"]}
            for i, b in enumerate(h["buckets"])],
    }


# -- the pages --------------------------------------------------------------------------------------------------
@requires(LOGGED_IN, status_code=401)
def office_health(request):
    row = _device(request)
    if row is None:
        return not_found(request)
    site = site_of(request)
    end, refused = _day(request, "end", site.today())
    if refused:
        return refused
    start, refused = _day(request, "start", end - dt.timedelta(days=DEFAULT_DAYS - 1))
    if refused:
        return refused
    if start > end:
        return bad_request(request, f"{strings.BAD_PERIOD['reversed']} (reversed)")
    if (end - start).days + 1 > health_history.MAX_PERIOD_DAYS:
        return bad_request(request, office_strings.RANGE_TOO_LONG.format(days=health_history.MAX_PERIOD_DAYS))
    from central import stored

    tally = stored.Tally()
    h = health_history.history(site.fleet.db, row["device_id"], start=start, end=end, tally=tally,
                               province=row["province"])
    h["office"] = _office(row)
    h["unreadable"] = tally.total
    return page(request, "office_health.html", h, nav="devices", h=h, w=office_strings, chart=charts(h),
                start=jalali_text(start), end=jalali_text(end), kinds=health_history.KINDS, dec=decimal)


@requires(LOGGED_IN, status_code=401)
def office_day(request):
    row = _device(request)
    if row is None:
        return not_found(request)
    site = site_of(request)
    day, refused = _day(request, "date", site.today())
    if refused:
        return refused
    data = timeline.office_day(site.fleet.db, row["device_id"], day, now=site.clock(),
                               province=request.user.province or None)
    data["office"] = _office(row)
    data = timeline.as_json(data)
    return page(request, "office_day.html", data, nav="devices", t=data, w=office_strings,
                picked=jalali_text(day), previous=(day - dt.timedelta(days=1)).isoformat(),
                following=(day + dt.timedelta(days=1)).isoformat())


@requires(LOGGED_IN, status_code=401)
def fleet_health(request):
    site = site_of(request)
    province = province_of(request)
    try:
        registry.check(province=province)
    except registry.RegistryRefused as e:
        return bad_request(request, f"{strings.BAD_PROVINCE.format(text=province[:40])} ({e})")
    kind = request.query_params.get("kind", "") or None
    if kind is not None and kind not in health_history.KINDS:
        return bad_request(request, office_strings.BAD_KIND.format(text=kind[:40]))
    try:
        number = int(request.query_params.get("page", "1")[:6])
    except ValueError:
        number = 1
    from central import stored

    tally = stored.Tally()
    data = health_history.beyond(site.fleet.db, now=site.clock(), province=province, kind=kind, page=number,
                                 tally=tally)
    data["unreadable"] = tally.total
    return page(request, "fleet_health.html", data, nav="health", d=data, w=office_strings,
                kinds=health_history.KINDS, dec=decimal)


routes = [
    *twin("/device/{device_id}/health", office_health, api="/api/device/{device_id}/health", name="office_health"),
    *twin("/device/{device_id}/day", office_day, api="/api/device/{device_id}/day", name="office_day"),
    *twin("/health", fleet_health, api="/api/health", name="fleet_health"),
]
