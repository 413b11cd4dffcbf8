"""The dashboard's Jinja2 templates and their filters, usable without a web server (the CLI's HTML report)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from central.status import parse_time
from central.web import strings
from pishkhan.text import jalali
from pishkhan.text.persian import group_digits, ltr, to_persian_digits


def fa(value) -> str:
    """A number or text with Persian digits; whole numbers grouped by thousands; None is «نامعلوم»."""
    if value is None:
        return strings.UNKNOWN
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return group_digits(value)
    if isinstance(value, float):
        return to_persian_digits(f"{value:,.1f}".replace(",", "\u066c"))
    return to_persian_digits(value)


def fa_time(text) -> str:
    """«۰۸:۳۰» in Tehran time, from a stored ISO time."""
    moment = parse_time(text)
    return jalali.format_time(moment) if moment else strings.UNKNOWN


def fa_datetime(text) -> str:
    """«۱۰ آذر ۱۴۰۵، ۰۸:۳۰» in Tehran time."""
    moment = parse_time(text)
    if not moment:
        return strings.UNKNOWN
    local = jalali.to_tehran(moment)
    return f"{jalali.format_date(local.date(), weekday=False)}، {jalali.format_time(local)}"


def fa_when(text, today: str | None = None) -> str:
    """«۰۸:۳۰» when it was on Tehran date *today* (ISO), else «۹ آذر ۱۴۰۵، ۰۸:۳۰»."""
    moment = parse_time(text)
    if moment and today and jalali.to_tehran(moment).date().isoformat() == today:
        return jalali.format_time(moment)
    return fa_datetime(text)


def fa_date(value) -> str:
    day = value if isinstance(value, dt.date) else jalali.parse_iso_date(str(value))
    return jalali.format_date(day)


def fa_day(value) -> str:
    """«۷ آذر ۱۴۰۵» (no weekday)."""
    day = value if isinstance(value, dt.date) else jalali.parse_iso_date(str(value))
    return jalali.format_date(day, weekday=False)


def scope_name(scope: str) -> str:
    level, _, code = str(scope).partition(":")
    template = strings.SCOPE_NAMES.get(level)
    return template.format(code=to_persian_digits(code)) if template else ltr(scope)


def province_name(code) -> str:
    return strings.PROVINCE_N.format(code=to_persian_digits(code)) if code else strings.UNKNOWN


@lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("central.web", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fa=fa, fa_time=fa_time, fa_datetime=fa_datetime, fa_when=fa_when, fa_date=fa_date, fa_day=fa_day, scope=scope_name,
                       province=province_name, ltr=ltr)
    env.globals["s"] = strings
    return env


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)


def chart(province: dict, *, width: int = 200, row: int = 30) -> dict:
    """The bars of a province's report chart: each state's minutes as a share of the scheduled minutes."""
    scheduled = max(1, province["scheduled_minutes"])
    bars = []
    for i, key in enumerate(("serving", "degraded", "closed", "unknown")):
        minutes = province[f"{key}_minutes"]
        bars.append({"state": key, "label": strings.COMPLIANCE_STATES[key], "minutes": minutes,
                     "length": round(min(1.0, minutes / scheduled) * width), "y": 8 + i * row,
                     "percent": round(100 * minutes / scheduled) if province["scheduled_minutes"] else 0})
    return {"bars": bars, "height": 8 + 4 * row + 4, "width": width}


def report_html(report: dict, *, standalone: bool = True, user=None) -> str:
    """The daily report page (standalone: no navigation, for the CLI's ``--format html``)."""
    return render("report.html", report=report, charts={p["province"]: chart(p) for p in report["provinces"]},
                  standalone=standalone, user=user, nav="report", query="")
