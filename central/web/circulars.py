"""The Circulars page (``/circulars``): per circular, per province, the offices in scope, how many received it,
how many acknowledged it, and — after N days (``?days=``, default 3) — the offices that have not, each a link to
its page (central/circulars/view.py, docs/circulars.md). A province user sees their province only.
"""

from __future__ import annotations

from starlette.authentication import requires

from central.circulars.view import circulars_view, days_option
from central.web.site import LOGGED_IN, page, province_of, site_of, twin

WORDS = {"title": "بخشنامه‌ها", "none": "هنوز بخشنامه‌ای منتشر نشده است.", "number": "شماره",
         "issued_on": "تاریخ صدور", "effective_on": "تاریخ اجرا", "published_at": "انتشار",
         "issuer": "صادرکننده", "urgent": "فوری", "superseded_by": "جایگزین شده با", "supersedes": "جایگزین",
         "province": "استان", "in_scope": "دفترها", "received": "دریافت", "acknowledged": "دیده‌شده",
         "overdue": "دیده‌نشده پس از {days} روز", "late": "دفترهایی که پس از {days} روز ندیده‌اند",
         "more": "و {n} دفتر دیگر", "not_received": "دریافت نشده", "received_at": "دریافت",
         "days": "روز", "show": "نمایش", "page": "صفحهٔ {page} از {pages} — {total} بخشنامه",
         "previous": "قبلی", "next": "بعدی", "all_in": "همهٔ دفترها دیده‌اند", "not_yet": "هنوز {days} روز نگذشته",
         "size": "پیوست"}


def _jalali(text: str) -> str:
    """«۱۶ آذر ۱۴۰۵» of the Jalali ``YYYY-MM-DD`` *text*; the text itself (Persian digits) when it is not one."""
    import jdatetime

    from central.web.render import fa
    from pishkhan.text import jalali

    try:
        year, month, day = (int(x) for x in str(text).split("-"))
        return jalali.format_date(jdatetime.date(year, month, day).togregorian(), weekday=False)
    except (ValueError, TypeError):
        return fa(str(text)[:20])


@requires(LOGGED_IN, status_code=401)
def circulars_page(request):
    site = site_of(request)
    q = request.query_params
    try:
        number = int(q.get("page", "1"))
    except ValueError:
        number = 1
    data = circulars_view(site.fleet.db, now=site.clock(), province=province_of(request),
                          days=days_option(q.get("days", "")), page=number)
    for c in data["circulars"]:
        c["issued_on_fa"], c["effective_on_fa"] = _jalali(c["issued_on"]), _jalali(c["effective_on"])
    return page(request, "circulars.html", data, nav="circulars", w=WORDS)


routes = [*twin("/circulars", circulars_page, api="/api/circulars", name="circulars")]
