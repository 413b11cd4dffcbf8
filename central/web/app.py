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
``/devices``                       the devices, filtered by ``province`` and ``state``
                                   (online, offline, late, closed, outdated)
``/device/{id}``                   an office's page; ``/device/{id}/snapshot.png`` its last
                                   proof-of-display snapshot
``/report``                        the daily report (``?date=YYYY-MM-DD``, ``?province=``);
                                   ``/report.csv`` the same as CSV
``/metrics``                       Prometheus text (a logged-in session, or HTTP basic auth)
``/verify/{code}``                 public: the official board behind a verification code
``/login``, ``/logout``            the session
=================================  ==========================================================

Everything but ``/verify``, ``/login`` and the font needs a login; a page
asked for without one redirects to ``/login`` (JSON and metrics answer 401).
A province user sees only their province: the ``province`` parameter is
theirs whatever is asked, another province's device is not found, and
their metrics hold only their province.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from urllib.parse import parse_qs, quote

from central import report as reports
from central import status, verification
from central.official import newest_boards, resolve_code
from central.users import Sessions, Users
from central.web import strings
from central.web.present import readings, timeline, verified_document
from central.web.render import chart, render

COOKIE = "pishkhan_session"


def create_app(fleet, *, config=None, users: Users | None = None, metrics=None, secret: bytes | None = None,
               now=None, secure_cookie: bool = False, metrics_cache_seconds: float = 10.0):
    """The dashboard over *fleet*.

    :param config: the pishkhan configuration (for the currency unit), or None.
    :param users: the users (default: the fleet database's ``users`` table).
    :param metrics: a prometheus-client registry whose samples ``/metrics`` adds (the monitor's counters).
    :param secret: the session-signing secret (default: a random one; sessions then end with the process).
    :param now: a function returning the current aware time (default: the clock).
    :param metrics_cache_seconds: ``/metrics`` is computed from the whole database (about a second for
        10,000 devices); scrapes within this many seconds of the last get the same text.
    """
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
    from starlette.concurrency import run_in_threadpool
    from starlette.routing import Route

    users = users or Users(fleet.db)
    sessions = Sessions(secret or secrets.token_bytes(32))
    clock = now or (lambda: dt.datetime.now(dt.timezone.utc))
    unit = _setting(config, "office.currency_unit", "rial")
    metrics_cache: dict = {}

    def today() -> dt.date:
        from pishkhan.text import jalali
        return jalali.today(clock())

    # -- helpers ------------------------------------------------------------
    def wants_json(request) -> bool:
        return request.url.path.startswith("/api/") or request.query_params.get("format") == "json"

    def current_user(request):
        name = sessions.read(request.cookies.get(COOKIE))
        return users.get(name) if name else None

    def basic_user(request):
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            name, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return users.authenticate(name, password)

    def login_required(handler):
        """*handler(request, user)*, run in the thread pool (it reads the database), for a logged-in user."""
        async def wrapped(request):
            user = await run_in_threadpool(current_user, request)
            if user is None:
                if wants_json(request):
                    return JSONResponse({"error": "login required"}, status_code=401)
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            return await run_in_threadpool(handler, request, user)
        return wrapped

    def province_of(request, user) -> str | None:
        """The province a request may see: the user's own, or what it asks for."""
        if user.province:
            return user.province
        value = request.query_params.get("province", "").strip()
        return value or None

    def page(request, user, name, data, **context):
        if wants_json(request):
            return JSONResponse(data)
        return HTMLResponse(render(name, user=user, data=data, standalone=False,
                                   query=request.url.query, **context))

    def not_found(request, user=None):
        if wants_json(request):
            return JSONResponse({"error": "not found"}, status_code=404)
        return HTMLResponse(render("message.html", user=user, standalone=user is None, nav="",
                                   message=strings.NOT_FOUND, query=""), status_code=404)

    def bad_request(request, user, message: str):
        if wants_json(request):
            return JSONResponse({"error": message}, status_code=400)
        return HTMLResponse(render("message.html", user=user, standalone=False, nav="", message=message, query=""),
                            status_code=400)

    # -- pages ----------------------------------------------------------------
    @login_required
    def fleet_page(request, user):
        province = province_of(request, user)
        state = request.query_params.get("state") or None
        if state and state not in status.STATES:
            return bad_request(request, user, f"state: expected one of {', '.join(status.STATES)}, got {state!r}")
        day = today()
        view = status.fleet_view(fleet, day=day, province=province, state=state)
        data = {"date": view["date"], "province": province, "provinces": view["provinces"], "totals": view["totals"],
                "alerts": status.alerts(fleet, day=day, province=province)}
        if province or state:
            data["devices"] = view["devices"]
        return page(request, user, "fleet.html", data, nav="fleet", states=status.STATES, request_state=state)

    @login_required
    def devices_page(request, user):
        province = province_of(request, user)
        state = request.query_params.get("state") or None
        if state and state not in status.STATES:
            return bad_request(request, user, f"state: expected one of {', '.join(status.STATES)}, got {state!r}")
        view = status.fleet_view(fleet, day=today(), province=province, state=state)
        data = {"date": view["date"], "province": province, "state": state, "devices": view["devices"]}
        return page(request, user, "devices.html", data, nav="devices", states=status.STATES)

    @login_required
    def device_page(request, user):
        device = fleet.device(request.path_params["device_id"])
        if device is None or (user.province and device["province"] != user.province):
            return not_found(request, user)
        day = today()
        compliance = status.today_compliance(fleet.db, device, day)
        snapshot = fleet.db.query_one("SELECT at, sha256, board_version FROM snapshots WHERE device_id = ?",
                                      (device["device_id"],))
        mine = [e for e in status.events_of_day(fleet.db, day, province=device["province"] or None)
                if e["device_id"] == device["device_id"]]
        row = status.device_day(device, events=mine, report=compliance, newest=newest_boards(fleet.db))
        data = {"date": day.isoformat(), "device": device, "today": row, "compliance": compliance,
                "timeline": timeline(compliance), "readings": readings(device.get("telemetry")),
                "events": fleet.events(device=device["device_id"], limit=100), "snapshot": snapshot,
                "verdicts": verification.recent(fleet.db, device["device_id"], today=day)}
        return page(request, user, "device.html", data, nav="devices")

    @login_required
    def snapshot_png(request, user):
        device_id = request.path_params["device_id"]
        row = fleet.db.query_one("SELECT s.png, d.province FROM snapshots s LEFT JOIN devices d "
                                 "ON d.device_id = s.device_id WHERE s.device_id = ?", (device_id,))
        if row is None or (user.province and row["province"] != user.province):
            return Response(status_code=404)
        return Response(bytes(row["png"]), media_type="image/png", headers={"Cache-Control": "no-store"})

    def report_of(request, user):
        text = request.query_params.get("date") or today().isoformat()
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return None, f"date: expected YYYY-MM-DD, got {text!r}"
        return reports.daily_report(fleet.db, day, province=province_of(request, user)), None

    @login_required
    def report_page(request, user):
        report, error = report_of(request, user)
        if error:
            return bad_request(request, user, error)
        return page(request, user, "report.html", report, nav="report", report=report,
                    charts={p["province"]: chart(p) for p in report["provinces"]})

    @login_required
    def report_csv(request, user):
        report, error = report_of(request, user)
        if error:
            return bad_request(request, user, error)
        name = f"pishkhan-report-{report['date']}" + (f"-province-{report['province']}" if report["province"] else "")
        return Response(reports.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})

    async def metrics_page(request):
        return await run_in_threadpool(metrics_text, request)

    def metrics_text(request):
        from central.metrics import exposition

        user = current_user(request) or basic_user(request)
        if user is None:
            return Response("login required\n", status_code=401,
                            headers={"WWW-Authenticate": 'Basic realm="pishkhan"'})
        import time

        cached = metrics_cache.get(user.province)
        if cached and time.monotonic() - cached[0] < metrics_cache_seconds:
            body = cached[1]
        else:
            body = exposition(fleet, today=today, province=user.province, extra=metrics)
            metrics_cache[user.province] = (time.monotonic(), body)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    def verify_page(request):
        code = request.path_params["code"].strip().upper()
        found = resolve_code(fleet.db, code)
        documents = [verified_document(d, unit) for d in found["documents"]]
        data = {"code": code, "found": found["found"], "layered": found["layered"],
                "superseded": found["superseded"], "documents": documents}
        if wants_json(request):
            return JSONResponse(data)
        return HTMLResponse(render("verify.html", data=data, user=None, standalone=True, nav="", query=""),
                            status_code=200 if found["found"] else 404)

    # -- session --------------------------------------------------------------
    async def login_page(request):
        target = _safe_next(request.query_params.get("next", "/"))
        if request.method == "GET":
            return HTMLResponse(render("login.html", user=None, standalone=True, nav="", next=target, failed=False,
                                       query=""))
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        name = (form.get("username") or [""])[0].strip()
        password = (form.get("password") or [""])[0]
        target = _safe_next((form.get("next") or [target])[0])
        user = await run_in_threadpool(users.authenticate, name, password) if name and password else None
        if user is None:
            return HTMLResponse(render("login.html", user=None, standalone=True, nav="", next=target, failed=True,
                                       query=""), status_code=401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, sessions.make(user.username), max_age=sessions.max_age, httponly=True,
                            samesite="lax", secure=secure_cookie)
        return response

    async def logout(request):
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    def font(request):
        from starlette.responses import FileResponse

        from pishkhan.exc import RenderError
        from pishkhan.text.fonts import font_path

        weight = request.path_params["weight"]
        try:
            return FileResponse(font_path(weight), media_type="font/ttf",
                                headers={"Cache-Control": "public, max-age=86400"})
        except (RenderError, ValueError):
            return Response(status_code=404)

    routes = [
        Route("/", fleet_page), Route("/api/fleet", fleet_page),
        Route("/devices", devices_page), Route("/api/devices", devices_page),
        Route("/device/{device_id}", device_page), Route("/api/device/{device_id}", device_page),
        Route("/device/{device_id}/snapshot.png", snapshot_png),
        Route("/report", report_page), Route("/api/report", report_page), Route("/report.csv", report_csv),
        Route("/metrics", metrics_page),
        Route("/verify/{code}", verify_page), Route("/api/verify/{code}", verify_page),
        Route("/login", login_page, methods=["GET", "POST"]), Route("/logout", logout, methods=["GET", "POST"]),
        Route("/font/Vazirmatn-{weight}.ttf", font),
    ]
    app = Starlette(routes=routes)
    app.state.fleet = fleet
    app.state.users = users
    return app


def _setting(config, key, default):
    if config is None:
        return default
    try:
        return config.get(key)
    except Exception:
        return default


def _safe_next(target: str) -> str:
    """Only a path on this site (no ``//host`` or scheme): an open redirect is refused."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def serve(app, host: str = "127.0.0.1", port: int = 8080, **options):
    """Run *app* under uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=options.pop("log_level", "info"), **options)

