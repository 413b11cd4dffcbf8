"""Remote actions from an office's page (``POST /device/{id}/action``, ``/api/device/{id}/action``):
a national user's ``ping``, ``snapshot`` or ``resend_report``, sent and audited by :mod:`central.remote`.

The form carries the page's CSRF token (the middleware refuses it otherwise); a province user is answered
403 (``not_national``) and is never shown the buttons. The page answers by going back to the office page's
action list (303); JSON answers the audit row.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.authentication import requires
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from central import remote
from central.web.site import LOGGED_IN, site_of, wants_json

_STATUS = {"not_national": 403, "unknown_action": 400, "unknown_device": 404, "not_configured": 503}


@requires(LOGGED_IN, status_code=401)
async def action(request):
    site = site_of(request)
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=8)
    device_id = request.path_params["device_id"]
    try:
        row = await run_in_threadpool(
            remote.ask, site.fleet.db, request.app.state.commander, device_id=device_id,
            action=(form.get("action") or [""])[0], user=request.user, day=site.today(), now=site.clock())
    except remote.ActionRefused as e:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": e.reason, "message": str(e)}, status_code=_STATUS[e.reason])
        if e.reason in ("not_national", "unknown_device"):
            return JSONResponse({"error": e.reason}, status_code=_STATUS[e.reason])
        return RedirectResponse(f"/device/{device_id}?refused={e.reason}#actions", status_code=303)
    if request.url.path.startswith("/api/") or wants_json(request):
        return JSONResponse(row)
    return RedirectResponse(f"/device/{device_id}#actions", status_code=303)


routes = [
    Route("/device/{device_id}/action", action, methods=["POST"], name="action"),
    Route("/api/device/{device_id}/action", action, methods=["POST"], name="api.action"),
]
