"""Values as an analyst reads them: Persian words and units, never Python's ``True``, ``{}`` or a byte count.

Each function takes whatever a device stored (any type) and gives Persian
text; what it cannot read is «نامعلوم». The raw value an engineer needs is
never lost: :func:`technical` writes a detail as ``key=value`` text (JSON
values, so ``true`` and ``{}`` as a protocol reader expects), and the pages
show it only behind a «جزئیات فنی» toggle.
"""

from __future__ import annotations

import json

from central.status import parse_time
from central.web import strings
from pishkhan.text import jalali
from pishkhan.text.persian import group_digits, to_persian_digits


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


def _safe(fn):
    """*fn*, «نامعلوم» where a number is too large to write (a device may send 10**5000)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kw):
        try:
            return fn(*args, **kw)
        except (ValueError, OverflowError):
            return strings.UNKNOWN
    return wrapper


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return value


@_safe
def decimal(value: float, places: int = 1) -> str:
    """«۱٫۵»: a number with Persian digits and decimal separator, no trailing «٫۰»."""
    text = f"{value:,.{places}f}".rstrip("0").rstrip(".") if places else f"{value:,.0f}"
    return to_persian_digits(text.replace(",", "\u066c").replace(".", "\u066b"))


@_safe
def duration(seconds) -> str:
    """«۳ روز و ۴ ساعت», «۱ ساعت و ۵ دقیقه», «۴۰ ثانیه» (the two largest units)."""
    seconds = _number(seconds)
    if seconds is None or seconds < 0:
        return strings.UNKNOWN
    left = int(seconds)
    parts = []
    for size, unit in ((86400, strings.UNIT_DAY), (3600, strings.UNIT_HOUR), (60, strings.UNIT_MINUTE),
                       (1, strings.UNIT_SECOND)):
        if left >= size or (size == 1 and not parts):
            n, left = divmod(left, size)
            parts.append(f"{group_digits(n)} {unit}")
        if len(parts) == 2:
            break
    return " و ".join(p for p in parts if not p.startswith("۰ ") or len(parts) == 1)


@_safe
def size(n_bytes) -> str:
    """«۱٫۲ گیگابایت», «۳۵۰ مگابایت», «۲ کیلوبایت», «۱۲ بایت»."""
    n = _number(n_bytes)
    if n is None or n < 0:
        return strings.UNKNOWN
    for unit_size, unit in ((1024 ** 4, strings.UNIT_TB), (1024 ** 3, strings.UNIT_GB), (1024 ** 2, strings.UNIT_MB),
                            (1024, strings.UNIT_KB)):
        if n >= unit_size:
            return f"{decimal(n / unit_size, 1)} {unit}"
    return f"{group_digits(int(n))} {strings.UNIT_BYTE}"


def yes_no(value) -> str:
    return strings.YES if value is True else strings.NO if value is False else strings.UNKNOWN


def _flags(value: dict) -> str:
    """The ``throttled`` reading: the flags that are set, in Persian (or «هیچ‌کدام»)."""
    on = [strings.THROTTLE_FLAGS.get(k, k) for k, v in value.items() if v is True]
    return "، ".join(on) if on else strings.NONE_OF_THEM


@_safe
def reading(value, key: str = "") -> str:
    """A health reading as the office page shows it, by its key's unit (``_s``, ``_bytes``, ``_kb``)."""
    if value is None:
        return strings.UNKNOWN
    if isinstance(value, bool):
        return yes_no(value)
    name = key.rsplit(".", 1)[-1]
    if isinstance(value, dict):
        if name == "throttled":
            return _flags(value)
        if "state" in value and isinstance(value.get("state"), str):  # a peripheral's last fact
            return strings.PERIPHERAL_STATES.get(value["state"], strings.UNKNOWN)
        return strings.NONE if not value else strings.SEE_DETAILS
    if isinstance(value, list):
        return strings.NONE if not value else strings.SEE_DETAILS
    number = _number(value)
    if number is not None:
        if name.endswith("_s"):
            return duration(number)
        if name.endswith("_bytes") or name == "bytes":
            return size(number)
        if name.endswith("_kb"):
            return size(number * 1024)
        if name.endswith("_c"):
            return f"{decimal(number, 1)} {strings.UNIT_CELSIUS}"
        if name.endswith("_dbm"):
            return f"{decimal(number, 0)} {strings.UNIT_DBM}"
        return group_digits(number) if isinstance(number, int) else decimal(number, 2)
    if isinstance(value, str):
        moment = parse_time(value) if len(value) >= 16 and value[:4].isdigit() else None
        if moment:

            return fa_datetime(value)
        return value  # a name or an address (eth0, 192.168.1.20): as sent
    return strings.UNKNOWN


def technical(value) -> str:
    """A stored value as an engineer reads it: JSON text (``true``, ``{}``), cut at 300 characters."""
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 300 else text[:300] + "…"


def _flat_detail(detail) -> dict:
    """An event's detail; the judge's whole event (the agent sends it as the detail) with its own detail merged."""
    if not isinstance(detail, dict):
        return {}
    inner = detail.get("detail")
    if isinstance(inner, dict) and "kind" in detail:
        return {k: v for k, v in detail.items() if k != "detail"} | inner
    return detail


def event_detail(detail, kind: str = "") -> list[str]:
    """What an analyst reads of an event's detail, in Persian: its minutes, its span, why, its reason."""
    from pishkhan.exc import REASONS


    d = _flat_detail(detail)
    out = []
    start, end = parse_time(d.get("start")), parse_time(d.get("end"))
    if start and end:
        out.append(strings.SPAN.format(start=fa_time(d["start"]), end=fa_time(d["end"])))
    minutes = d.get("minutes")
    if _number(minutes) is not None and not isinstance(minutes, float):
        out.append(strings.MINUTES.format(n=group_digits(minutes)))
    if isinstance(d.get("opened_at"), str) and parse_time(d["opened_at"]):
        out.append(strings.OPENED_AT.format(time=fa_time(d["opened_at"])))
    if isinstance(d.get("kind"), str) and d["kind"] in strings.DOCUMENT_KINDS:
        out.append(strings.DOCUMENT_KINDS[d["kind"]])
    reason = d.get("reason")
    if isinstance(reason, str):
        if kind == "offline" and reason in strings.OFFLINE_REASONS:
            out.append(strings.OFFLINE_REASONS[reason])
        elif reason in REASONS:
            out.append(REASONS[reason][0])
    why = why_text(d.get("why"))
    if why:
        out.append(why)
    return out


def technical_detail(detail) -> list[tuple[str, str]]:
    """Every field of an event's detail as (key, JSON text), for the engineers' toggle."""
    d = detail if isinstance(detail, dict) else {}
    return [(str(k)[:60], technical(v)) for k, v in list(d.items())[:40]]


def why_text(why) -> str:
    """The judge's reason for a minute's state (``kiosk not_accepting (paused)``, ``printer error; display off``)
    in Persian; «» when there is none, and a general word for a reason it does not know."""
    if not isinstance(why, str) or not why.strip():
        return ""
    out = []
    for part in why.split(";"):
        part = part.strip()
        if part in strings.WHY:
            out.append(strings.WHY[part])
            continue
        subject = part.split(" ", 1)[0]
        out.append(strings.WHY_SUBJECT.get(subject, strings.WHY_OTHER))
    return "؛ ".join(dict.fromkeys(out))
