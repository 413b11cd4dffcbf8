"""Who is asking: the session cookie (or, for ``/metrics``, HTTP basic auth), the login form and logout.

:class:`SessionBackend` is Starlette's ``AuthenticationMiddleware`` backend:
a valid session cookie of the user's current session generation
(:mod:`central.users`) makes ``request.user`` that user with the scope
``authenticated``; on ``/metrics`` a basic-auth header is tried too, through
the doors (:mod:`central.doors`: rate-limited per address and per user).
Endpoints needing a login carry ``@requires("authenticated", status_code=401)``,
and :func:`unauthorised` answers the 401: a page redirects to the login form,
JSON answers 401, ``/metrics`` 401 with ``WWW-Authenticate: Basic``.

``/login`` (GET the form, POST it; the CSRF token is checked by
:mod:`central.web.csrf` before) and ``/logout`` (POST only: it ends every
session of the user, in every browser).
"""

from __future__ import annotations

import base64
import binascii
import math
from urllib.parse import parse_qs, quote

from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from central.web.site import LOGGED_IN, html, site_of, wants_json

COOKIE = "pishkhan_session"


class Locked(AuthenticationError):
    """Basic auth refused unchecked: the address or the user is locked for *seconds*."""

    def __init__(self, seconds: float):
        super().__init__("locked")
        self.seconds = seconds


class SessionBackend(AuthenticationBackend):
    """The user of a valid session cookie; on ``/metrics``, of a right basic-auth header."""

    def __init__(self, site):
        self.site = site

    async def authenticate(self, conn):
        user = await run_in_threadpool(self._user, conn)
        return (AuthCredentials([LOGGED_IN]), user) if user is not None else None

    def _user(self, conn):
        session = self.site.sessions.read(conn.cookies.get(COOKIE))
        if session is not None:
            user = self.site.users.session_user(*session)
            if user is not None:
                return user
        if conn.url.path == "/metrics" and conn.headers.get("authorization", "").lower().startswith("basic "):
            return self._basic(conn)
        return None

    def _basic(self, conn):
        try:
            text = base64.b64decode(conn.headers["authorization"][6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError, binascii.Error):
            return None
        name, _, password = text.partition(":")
        if not name or not password:
            return None
        attempt = self.site.doors.attempt(door="metrics", address=address_of(conn), username=name,
                                          check=lambda: self.site.users.authenticate(name, password))
        if attempt.result == "locked":
            raise Locked(attempt.locked_seconds)
        return attempt.user


def address_of(conn) -> str:
    """The client's address (the proxy's client when uvicorn trusts the proxy: docs/dashboard.md)."""
    return conn.client.host if conn.client else "unknown"


def secure(request_or_scope) -> bool:
    """Whether cookies get ``Secure``: told so (``--cookie-secure``), or the request came over HTTPS."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    return bool(scope["app"].state.site.secure_cookie) or scope.get("scheme") == "https"


def locked_out(conn, exc: Exception) -> Response:
    """``AuthenticationMiddleware``'s answer to a locked basic-auth attempt: 429 and when to retry."""
    seconds = getattr(exc, "seconds", 60.0)
    return PlainTextResponse("too many wrong passwords: try again later\n", status_code=429,
                             headers={"Retry-After": str(math.ceil(seconds))})


async def unauthorised(request, exc) -> Response:
    """The answer to a request that needs a login and has none."""
    if request.url.path == "/metrics":
        return PlainTextResponse("login required\n", status_code=401,
                                 headers={"WWW-Authenticate": 'Basic realm="pishkhan"'})
    if wants_json(request):
        return JSONResponse({"error": "login required"}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


async def login(request):
    target = safe_next(request.query_params.get("next", "/"))
    if request.method == "GET":
        return _form(request, target)
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=32)
    name = (form.get("username") or [""])[0].strip()
    password = (form.get("password") or [""])[0]
    target = safe_next((form.get("next") or [target])[0])
    if not name or not password:
        return _form(request, target, failed=True, status_code=401)
    site = site_of(request)
    attempt = await run_in_threadpool(site.doors.attempt, door="login", address=address_of(request), username=name,
                                      check=lambda: site.users.authenticate(name, password))
    if attempt.result == "locked":
        minutes = max(1, math.ceil(attempt.locked_seconds / 60))
        return _form(request, target, locked=minutes, status_code=429,
                     headers={"Retry-After": str(math.ceil(attempt.locked_seconds))})
    if attempt.result != "ok":
        return _form(request, target, failed=True, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, site.sessions.make(attempt.user), max_age=site.sessions.max_age, httponly=True,
                        samesite="lax", secure=secure(request))
    return response


async def logout(request):
    """End every session of the user (all their browsers), and forget this one's cookie."""
    if request.user.is_authenticated:
        await run_in_threadpool(site_of(request).users.revoke, request.user.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="lax", secure=secure(request))
    return response


def _form(request, target: str, *, failed: bool = False, locked: int = 0, status_code: int = 200, headers=None):
    return html(request, "login.html", user=None, standalone=True, next=target, failed=failed, locked=locked,
                status_code=status_code, headers=headers)


def safe_next(target: str) -> str:
    """Only a path on this site (no ``//host`` or scheme): an open redirect is refused."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


routes = [
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
]
