"""The dashboard's Jinja2 templates and their filters, usable without a web server (the CLI's HTML report).

Every value a template prints may come from a device: each filter takes any
value and shows what it cannot read as «نامعلوم», and every printed text
passes :func:`visible` (bidi and control characters written out, so an
office id ``23-\u202e4321`` cannot be drawn as another office's ``23-1234``).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from central.status import parse_time
from central.web import strings, words
from central.web.words import fa_datetime, fa_time
from pishkhan.text import jalali
from pishkhan.text.persian import group_digits, ltr, to_persian_digits
from pishkhan.text.safety import terminal_safe

#: The longest text a page prints of one value.
MAX_SHOWN = 2000


def visible(value):
    """What a template prints: text with its control, bidi and invisible format characters written
    out (``\u202e``) and cut at :data:`MAX_SHOWN`; rendered markup and non-text as they are."""
    from markupsafe import Markup

    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    if len(value) > MAX_SHOWN:
        value = value[:MAX_SHOWN] + "…"
    return terminal_safe(value, newlines=True)


def fa(value) -> str:
    """A number or text with Persian digits; whole numbers grouped by thousands, a fraction with the Persian
    decimal separator («۹۸٫۲»); None is «نامعلوم»; a yes/no is «بله»/«خیر»."""
    if value is None:
        return strings.UNKNOWN
    if isinstance(value, bool):  # never Python's True/False on a page
        return strings.YES if value else strings.NO
    try:
        if isinstance(value, int):
            return group_digits(value)
        if isinstance(value, float):
            return to_persian_digits(f"{value:,.1f}".replace(",", "\u066c").replace(".", "\u066b")) \
                if value == value else strings.UNKNOWN
    except ValueError:  # more digits than Python writes out
        return strings.UNKNOWN
    if isinstance(value, (dict, list)):
        return strings.UNKNOWN
    return to_persian_digits(value)


def fa_when(text, today: str | None = None) -> str:
    """«۰۸:۳۰» when it was on Tehran date *today* (ISO), else «۹ آذر ۱۴۰۵، ۰۸:۳۰»."""
    moment = parse_time(text)
    if moment and today and jalali.to_tehran(moment).date().isoformat() == today:
        return jalali.format_time(moment)
    return fa_datetime(text)


def _day(value) -> dt.date | None:
    from central.stored import YEARS

    if isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and len(value) <= 32:
        try:
            day = jalali.parse_iso_date(value)
        except (ValueError, TypeError):
            return None
    else:
        return None
    return day if YEARS[0] <= day.year <= YEARS[1] else None


def fa_date(value) -> str:
    day = _day(value)
    return jalali.format_date(day) if day else strings.UNKNOWN


def fa_day(value) -> str:
    """«۷ آذر ۱۴۰۵» (no weekday)."""
    day = _day(value)
    return jalali.format_date(day, weekday=False) if day else strings.UNKNOWN


def scope_name(scope: str) -> str:
    if not isinstance(scope, str) or not scope:
        return strings.UNKNOWN
    level, _, code = scope.partition(":")
    template = strings.SCOPE_NAMES.get(level)
    if level == "province" and code:
        from pishkhan import provinces

        name = provinces.name(code)
        if name:
            return template.format(code=strings.PROVINCE_NAMED.format(
                name=name, code=to_persian_digits(provinces.normalise(code))))
    return template.format(code=to_persian_digits(code)) if template else scope


def province_name(code) -> str:
    """«تهران (۲۳)» for a code of the 31 provinces (written any way), else «استان ۲۳»; «نامعلوم» for none."""
    from pishkhan import provinces

    if not code or not isinstance(code, str):
        return strings.UNKNOWN
    name = provinces.name(code)
    if name is None:
        return strings.PROVINCE_N.format(code=to_persian_digits(code))
    return strings.PROVINCE_NAMED.format(name=name, code=to_persian_digits(provinces.normalise(code)))


@lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("central.web", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=visible)
    env.filters.update(fa=fa, fa_time=fa_time, fa_datetime=fa_datetime, fa_when=fa_when, fa_date=fa_date, fa_day=fa_day, scope=scope_name,
                       province=province_name, ltr=ltr)
    env.globals["s"] = strings
    env.filters.update(reading=words.reading, duration=words.duration, size=words.size, yes_no=words.yes_no,
                       event_detail=words.event_detail, technical=words.technical,
                       technical_detail=words.technical_detail, why=words.why_text)
    from pishkhan.provinces import NAMES
    env.globals["province_names"] = NAMES
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
