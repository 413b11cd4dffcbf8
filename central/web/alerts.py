"""The alerts page (``/alerts``): the alerts the rules opened (:mod:`central.alerts`), newest first, filtered by
``kind``, ``province`` and ``state`` (``unresolved``: open or acknowledged; the default), paged (``page``); and
``POST /alerts/{id}/ack``: the logged-in user acknowledges an open alert (who and when are kept).

A province user sees and acknowledges only their province's alerts.
"""

from __future__ import annotations

from starlette.authentication import requires
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from central.alerts import KINDS, SEVERITIES, STATES, AlertRefused, Alerting
from central.web.site import LOGGED_IN, bad_request, not_found, page, province_of, site_of, twin, wants_json

#: Kinds, states and severities in Persian (English beside them on the page).
KIND_WORDS = {"offline": "خاموش یا قطع در ساعت کار", "late_opening": "دیر باز شده",
              "closed_during_hours": "بسته در ساعت کار", "printer_out": "چاپگر از کار افتاده",
              "board_outdated": "تابلوی کهنه (بیش از یک روز)", "under_voltage": "ولتاژ کم",
              "disk_low": "دیسک تقریباً پر", "clock_unsynchronised": "ساعت همگام نیست"}
STATE_WORDS = {"open": "باز", "acknowledged": "دیده‌شده", "resolved": "برطرف‌شده", "unresolved": "برطرف‌نشده"}
SEVERITY_WORDS = {"critical": "بحرانی", "warning": "هشدار", "info": "اطلاع"}
WORDS = {"title": "هشدارها", "kind": "نوع", "state": "وضعیت", "severity": "اهمیت", "province": "استان",
         "office": "دفتر", "since": "از", "opened": "باز شده", "acknowledged_by": "دیده شده به دست",
         "resolved": "برطرف شده", "ack": "دیدم", "all": "همه", "filter": "نمایش", "none": "هشداری نیست.",
         "devices": "{n} دستگاه با هم", "page": "صفحهٔ {page} از {pages} — {total} هشدار",
         "previous": "قبلی", "next": "بعدی"}


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
    data |= {"kind": q.get("kind", ""), "state": state or "", "province": province_of(request) or ""}
    return page(request, "alerts.html", data, nav="alerts", kinds=KINDS, states=(*STATES, "unresolved"),
                severities=SEVERITIES, w=WORDS, kind_words=KIND_WORDS, state_words=STATE_WORDS,
                severity_words=SEVERITY_WORDS)


@requires(LOGGED_IN, status_code=401)
def acknowledge(request):
    site = site_of(request)
    alerting = Alerting(site.fleet.db)
    try:
        alert_id = int(request.path_params["alert_id"])
    except ValueError:
        return not_found(request)
    alert = alerting.alert(alert_id)
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
          Route("/alerts/{alert_id}/ack", acknowledge, methods=["POST"], name="alerts.ack"),
          Route("/api/alerts/{alert_id}/ack", acknowledge, methods=["POST"], name="api.alerts.ack")]
