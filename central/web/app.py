"""The centre's web dashboard: the fleet by province, an office's page, the daily report, metrics,
and the public board-verification page.

:func:`create_app` makes the Starlette application over a
:class:`~central.fleet.Fleet`; :func:`serve` runs it under uvicorn (the
monitor serves it in its own process, ``pishkhan central dashboard`` on an
existing fleet database).

Routes (every page also answers ``?format=json``, and ``/api/…`` is the
same page as JSON):

=================================  ==========================================================
``/``                              the fleet: counts by province (``?province=``, ``?state=``)
                                   and the alerts, newest first
``/devices``                       one page of the devices: ``q`` searched, filtered by ``province``,
                                   ``status``, ``board``, ``version``, ``state``, ``sort``-ed,
                                   ``page`` and ``size`` (central/device_list.py)
``/device/{id}``                   an office's page; ``/device/{id}/snapshot.png`` its last
                                   proof-of-display snapshot; ``/device/{id}/action`` (POST) a
                                   national user's remote action (central/remote.py)
``/report``                        the daily report (``?date=YYYY-MM-DD``, ``?province=``);
                                   ``/report.csv`` the same as CSV
``/history``, ``/ranking``          a period's days, weeks and trend; offices ranked
                                   (``/history.csv``, ``/history.xlsx``: office rows)
``/device/{id}/health``            an office's health history (``?start=``, ``?end=``)
``/health``                        the devices beyond a health threshold now (``province``, ``kind``, ``page``)
``/device/{id}/day``               an office's past day as a timeline (``?date=``; central/web/office_history.py)
``/releases``                      versions by province, each rollout's progress, rollbacks, halts
``/circulars``                     per circular and province: offices in scope, received, acknowledged, and
                                   the ones not acknowledged after ``days`` (central/circulars/view.py)
``/alerts``                        the alerts (``kind``, ``province``, ``state``, ``page``); POST
                                   ``/alerts/{id}/ack`` acknowledges one (central/alerts.py)
``/metrics``                       Prometheus text (a logged-in session, or HTTP basic auth)
``/verify/{code}``                 public: the official board behind a verification code
``/login``, ``/logout`` (POST)     the session
=================================  ==========================================================

Each resource is a module of module-level endpoints and its ``routes``
(:data:`RESOURCES`: ``fleet``, ``offices``, ``reports``, ``metrics``,
``verify``, ``auth``, ``assets``); what they share is ``site.py``, what they
read of the database is the fleet's, the status's, the report's and
``central/queries.py``.

Everything but ``/verify``, ``/login`` and the font needs a login
(Starlette's ``AuthenticationMiddleware`` with ``auth.SessionBackend``, and
``@requires``); a page asked for without one redirects to ``/login`` (JSON
and metrics answer 401). A province user sees only their province: the
``province`` parameter is theirs whatever is asked, another province's device
is not found, and their metrics hold only their province.

The doors (docs/dashboard.md): passwords are rate-limited per address and per
user (``central/doors.py``), logout ends every session of the user, every
POST carries a CSRF token (``csrf.py``), every answer the security headers
(``headers.py``).
"""

from __future__ import annotations

import datetime as dt
import secrets as _secrets

from central.web import strings
from central.web.headers import proxy_options

#: The resource modules under central/web/, each with its ``routes``.
RESOURCES = ("fleet", "offices", "reports", "history", "releases", "metrics", "verify", "auth", "assets",
             "alerts", "remote", "office_history", "circulars")


def create_app(fleet, *, config=None, users=None, metrics=None, secret: bytes | None = None,
               now=None, secure_cookie: bool = False, metrics_cache_seconds: float = 10.0, doors=None,
               commander=None):
    """The dashboard over *fleet*.

    :param config: the pishkhan configuration (for the currency unit), or None.
    :param users: the users (default: the fleet database's ``users`` table).
    :param metrics: a prometheus-client registry whose samples ``/metrics`` adds (the monitor's counters).
    :param secret: the session- and CSRF-signing secret (default: a random one; sessions then end with the
        process).
    :param now: a function returning the current aware time (default: the clock).
    :param secure_cookie: cookies are ``Secure`` (``--cookie-secure``); they are anyway on a request that came
        over HTTPS (directly or through a proxy uvicorn trusts).
    :param metrics_cache_seconds: ``/metrics`` is computed from the whole database (slow on a large fleet:
        docs/performance.md); scrapes within this many seconds of the last get the same text.
    :param doors: the login and basic-auth lock-outs (default: :class:`central.doors.Doors` on the fleet
        database, with *now*).
    :param commander: what sends the office page's remote actions (:class:`central.remote.BrokerCommander`),
        or None (they are refused, ``not_configured``, and audited).
    """
    from importlib import import_module

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.authentication import AuthenticationMiddleware

    from central.doors import Doors
    from central.users import Sessions, Users
    from central.web import auth
    from central.web.csrf import CSRFMiddleware
    from central.web.headers import SecurityHeadersMiddleware
    from central.web.site import Site

    clock = now or (lambda: dt.datetime.now(dt.timezone.utc))
    secret = secret or _secrets.token_bytes(32)
    site = Site(fleet=fleet, users=users or Users(fleet.db), sessions=Sessions(secret),
                doors=doors or Doors(fleet.db, clock=clock), clock=clock, secret=secret,
                unit="rial" if config is None else config.office.currency_unit, metrics=metrics,
                secure_cookie=secure_cookie, metrics_cache_seconds=metrics_cache_seconds)
    routes = [route for name in RESOURCES for route in import_module(f"central.web.{name}").routes]
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(CSRFMiddleware, secret=secret, refuse=_csrf_refused, secure=auth.secure),
        Middleware(AuthenticationMiddleware, backend=auth.SessionBackend(site), on_error=auth.locked_out),
    ]
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={401: auth.unauthorised, Exception: _server_error})
    app.state.site = site
    app.state.fleet = fleet
    app.state.users = site.users
    app.state.commander = commander
    return app


def _csrf_refused(scope, reason: str):
    """403 for a form without the right token (*reason*: ``no_cookie``, ``bad_token``, ``too_large``)."""
    from starlette.responses import JSONResponse, PlainTextResponse

    if scope["path"].startswith("/api/"):
        return JSONResponse({"error": "csrf", "reason": reason}, status_code=403)
    return PlainTextResponse(f"{strings.CSRF_REFUSED}\n(csrf: {reason})\n", status_code=403)


async def _server_error(request, exc):
    """A bare 500 that still carries the security headers (it is answered outside the middleware)."""
    from starlette.responses import PlainTextResponse

    from central.web.headers import HEADERS

    return PlainTextResponse("internal error\n", status_code=500, headers=HEADERS)


def serve(app, host: str = "127.0.0.1", port: int = 8080, *, trusted_proxy: str = "", **options):
    """Run *app* under uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=options.pop("log_level", "info"),
                **proxy_options(trusted_proxy), **options)

