"""What every endpoint of the dashboard shares: the :class:`Site` it serves, and how a page answers.

A page answers as HTML, or as JSON when asked for ``?format=json`` or at its
``/api/…`` twin (:func:`twin` makes both routes of one endpoint). Endpoints
are module-level functions of the request; ``site_of(request)`` is the
dashboard they serve, ``request.user`` the logged-in :class:`~central.users.User`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from central.web import strings
from central.web.csrf import LazyToken
from central.web.render import render

#: Every endpoint that needs a login: Starlette's ``@requires`` with this scope; 401 is answered by
#: :func:`central.web.auth.unauthorised` (a page: to the login form; JSON and metrics: 401).
LOGGED_IN = "authenticated"


@dataclass
class Site:
    """The dashboard's parts: the fleet, its users and sessions, the doors, the clock, the settings."""

    fleet: object
    users: object
    sessions: object
    doors: object
    clock: object
    secret: bytes
    unit: str = "rial"
    metrics: object = None
    secure_cookie: bool = False
    metrics_cache_seconds: float = 10.0
    metrics_cache: dict = field(default_factory=dict)

    def today(self) -> dt.date:
        from pishkhan.text import jalali
        return jalali.today(self.clock())


def site_of(request) -> Site:
    return request.app.state.site


def twin(path: str, endpoint, *, api: str, name: str) -> list[Route]:
    """The page at *path* and the same endpoint as JSON at *api* (``/api/…``)."""
    assert api.startswith("/api/"), api
    return [Route(path, endpoint, name=name), Route(api, endpoint, name=f"api.{name}")]


def wants_json(request) -> bool:
    return request.url.path.startswith("/api/") or request.query_params.get("format") == "json"


def province_of(request) -> str | None:
    """The province a request may see: the user's own, or what it asks for — typed any way
    (``۰۶``, ``6``, ``06``: :func:`pishkhan.provinces.normalise`), as the fleet stores that province."""
    if request.user.province:
        return request.user.province
    value = request.query_params.get("province", "").strip()
    if not value:
        return None
    from central import queries
    from pishkhan import provinces

    return provinces.resolve(value, queries.province_codes(site_of(request).fleet.db))


def html(request, name: str, *, status_code: int = 200, headers=None, **context) -> HTMLResponse:
    """Template *name* with the request's CSRF token (for the logout and login forms)."""
    context.setdefault("query", "")
    context.setdefault("nav", "")
    context.setdefault("scope", _scope_query(request))
    return HTMLResponse(render(name, csrf_token=LazyToken(request), **context), status_code=status_code,
                        headers=headers)


def _scope_query(request) -> str:
    """``province=…`` when the page was asked for one province: the navigation keeps it (``''`` otherwise)."""
    from urllib.parse import urlencode

    value = request.query_params.get("province", "").strip()
    return urlencode({"province": value[:40]}) if value else ""


def page(request, name: str, data: dict, **context):
    """*data* as JSON, or the page *name* drawn from it."""
    if wants_json(request):
        return JSONResponse(data)
    return html(request, name, user=request.user, data=data, standalone=False, query=request.url.query, **context)


def not_found(request):
    if wants_json(request):
        return JSONResponse({"error": "not found"}, status_code=404)
    user = request.user if request.user.is_authenticated else None
    return html(request, "message.html", user=user, standalone=user is None, message=strings.NOT_FOUND,
                status_code=404)


def bad_request(request, message: str):
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=400)
    return html(request, "message.html", user=request.user, standalone=False, message=message, status_code=400)
