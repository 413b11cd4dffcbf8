"""The public verification page: the official board behind a verification code (no login)."""

from __future__ import annotations

from starlette.responses import JSONResponse

from central.official import CodeRefused, resolve_code
from central.web import strings
from central.web.present import verified_document
from central.web.site import html, site_of, twin, wants_json


def verify_page(request):
    site = site_of(request)
    code = request.path_params["code"].strip().upper()
    try:
        found = resolve_code(site.fleet.db, code)
    except CodeRefused as refused:
        if wants_json(request):
            return JSONResponse({"error": str(refused), "reason": refused.reason.value}, status_code=400)
        return html(request, "message.html", user=None, standalone=True, message=strings.VERIFY_REFUSED,
                    status_code=400)
    documents = [verified_document(d, site.unit) for d in found["documents"]]
    data = {"code": code, "found": found["found"], "layered": found["layered"],
            "superseded": found["superseded"], "documents": documents}
    if wants_json(request):
        return JSONResponse(data)
    return html(request, "verify.html", data=data, user=None, standalone=True,
                status_code=200 if found["found"] else 404)


routes = twin("/verify/{code}", verify_page, api="/api/verify/{code}", name="verify")
