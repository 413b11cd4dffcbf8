"""The alerts page (``/alerts``): the alerts the rules opened (:mod:`central.alerts`), newest first, filtered by
``kind``, ``province`` and ``state`` (``unresolved``: open or acknowledged; the default), paged (``page``); a
grouped alert with its first offices (each a link to its page) and "and N more"; each alert's webhook delivery
(sent, tried again at …, given up). ``/alerts/{id}``: one alert, all its offices (paged: ``page``) and each
notification's tries. ``POST /alerts/{id}/ack``: the logged-in user acknowledges an open alert (who and when
are kept).

A province user sees and acknowledges only their province's alerts.
"""

from __future__ import annotations

from starlette.authentication import requires
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from central import alert_notify
from central.alerts import KINDS, SEVERITIES, STATES, AlertRefused, Alerting
from central.web.site import LOGGED_IN, bad_request, not_found, page, province_of, site_of, twin, wants_json

#: Kinds, states and severities in Persian (English beside them on the page).
KIND_WORDS = {"offline": "خاموش یا قطع در ساعت کار", "late_opening": "دیر باز شده",
              "closed_during_hours": "بسته در ساعت کار", "printer_out": "چاپگر از کار افتاده",
              "board_outdated": "تابلوی کهنه (بیش از یک روز)", "under_voltage": "ولتاژ کم",
              "disk_low": "دیسک تقریباً پر", "clock_unsynchronised": "ساعت همگام نیست",
              "circular_unacknowledged": "بخشنامهٔ دیده‌نشده (پس از چند روز)"}
STATE_WORDS = {"open": "باز", "acknowledged": "دیده‌شده", "resolved": "برطرف‌شده", "unresolved": "برطرف‌نشده"}
SEVERITY_WORDS = {"critical": "بحرانی", "warning": "هشدار", "info": "اطلاع"}
WORDS = {"title": "هشدارها", "kind": "نوع", "state": "وضعیت", "severity": "اهمیت", "province": "استان",
         "office": "دفتر", "since": "از", "opened": "باز شده", "acknowledged_by": "دیده شده به دست",
         "resolved": "برطرف شده", "ack": "دیدم", "all": "همه", "filter": "نمایش", "none": "هشداری نیست.",
         "devices": "{n} دستگاه با هم", "page": "صفحهٔ {page} از {pages} — {total} هشدار",
         "previous": "قبلی", "next": "بعدی", "more": "و {n} دفتر دیگر", "members": "{n} دفتر",
         "affected": "{n} هنوز درگیر", "cleared": "برطرف شده", "details": "جزئیات",
         "alert": "هشدار {id}", "offices": "دفترها", "notifications": "پیام‌های فرستاده",
         "event": "رویداد", "attempts": "تلاش", "last_try": "آخرین تلاش", "members_page": "صفحهٔ {page} از {pages}"}
#: A notification's delivery, as the page says it (English beside it where an engineer reads it).
DELIVERY_WORDS = {"sent": "پیام فرستاده شد", "retrying": "ارسال نشد؛ تلاش دوباره در {time}",
                  "gave_up": "ارسال نشد؛ دیگر تلاش نمی‌شود"}
GAVE_UP_WORDS = {"rejected": "گیرنده نپذیرفت", "attempts_exhausted": "پس از {n} تلاش"}
EVENT_WORDS = {"opened": "باز شدن", "resolved": "برطرف شدن"}


@requires(LOGGED_IN, status_code=401)
def alerts_page(request):
    q = request.query_params
    state = q.get("state", "unresolved") or None
    try:
        number = int(q.get("page", "1"))
    except ValueError:
        return bad_request(request, "page")
    try:
        data = Alerting(site_of(request).fleet.db).page(kind=q.get("kind") or None, province=province_of(request),
                                                        state=state, page=number)
    except AlertRefused as e:
        return bad_request(request, f"{e.reason}: {e}")
    sent = alert_notify.deliveries(site_of(request).fleet.db, [r["id"] for r in data["rows"]])
    for row in data["rows"]:
        row["delivery"] = alert_notify.state_of(sent.get(row["id"], []))
    data |= {"kind": q.get("kind", ""), "state": state or "", "province": province_of(request) or ""}
    return page(request, "alerts.html", data, nav="alerts", kinds=KINDS, states=(*STATES, "unresolved"),
                severities=SEVERITIES, **_words())


def _words() -> dict:
    return {"w": WORDS, "kind_words": KIND_WORDS, "state_words": STATE_WORDS, "severity_words": SEVERITY_WORDS,
            "delivery_words": DELIVERY_WORDS, "gave_up_words": GAVE_UP_WORDS, "event_words": EVENT_WORDS}


@requires(LOGGED_IN, status_code=401)
def alert_page(request):
    db = site_of(request).fleet.db
    alerting = Alerting(db)
    try:
        alert_id = int(request.path_params["alert_id"])
        number = int(request.query_params.get("page", "1"))
    except ValueError:
        return not_found(request)
    alert = alerting.alert(alert_id) if 0 < alert_id < 2 ** 62 else None
    if alert is None or (request.user.province and alert["province"] != request.user.province):
        return not_found(request)
    del alert["members"]
    notifications = alert_notify.deliveries(db, [alert_id]).get(alert_id, [])
    data = {"alert": alert | {"delivery": alert_notify.state_of(notifications)},
            "members": alerting.members(alert_id, page=number), "notifications": notifications}
    return page(request, "alert.html", data, nav="alerts", **_words())


@requires(LOGGED_IN, status_code=401)
def acknowledge(request):
    site = site_of(request)
    alerting = Alerting(site.fleet.db)
    try:
        alert_id = int(request.path_params["alert_id"])
    except ValueError:
        return not_found(request)
    alert = alerting.alert(alert_id) if 0 < alert_id < 2 ** 62 else None  # past a BIGINT: none (not an error)
    if alert is None or (request.user.province and alert["province"] != request.user.province):
        return not_found(request)
    try:
        alert = alerting.acknowledge(alert_id, by=request.user.username, now=site.clock())
    except AlertRefused as e:
        if wants_json(request):
            return JSONResponse({"error": str(e), "reason": e.reason}, status_code=409)
        return bad_request(request, f"{e.reason}: {e}")
    if wants_json(request):
        return JSONResponse({k: v for k, v in alert.items() if k != "members"})
    return RedirectResponse("/alerts", status_code=303)


routes = [*twin("/alerts", alerts_page, api="/api/alerts", name="alerts"),
          *twin("/alerts/{alert_id}", alert_page, api="/api/alerts/{alert_id}", name="alert"),
          Route("/alerts/{alert_id}/ack", acknowledge, methods=["POST"], name="alerts.ack"),
          Route("/api/alerts/{alert_id}/ack", acknowledge, methods=["POST"], name="api.alerts.ack")]
