"""The enrolment server: :class:`~central.enrolment.service.Enrolment` over HTTPS (Starlette under uvicorn).

Two JSON endpoints, ``POST /v1/enroll`` and ``POST /v1/renew``
(:mod:`pishkhan.enrolment`), and, given a pool folder, the release pool
``GET|HEAD /releases/pool/<sha256>.deb`` (:func:`pool_routes`) and, given a circulars pool folder,
``GET|HEAD /circulars/pool/<sha256>.pdf`` (:func:`circular_routes`). A body is read up to
:data:`~pishkhan.enrolment.MAX_REQUEST_BYTES` and no further (a longer
``Content-Length`` is refused before reading), then parsed by the centre's
strict loader (:func:`central.codec.decode`: one JSON object, no key twice,
bounded depth). A refusal is its status code and ``{"reason", "message_fa",
"message_en"}``; anything unforeseen is a 500 of the same shape, never a
traceback. The database work runs in a worker thread.
"""

from __future__ import annotations

import logging

from central import codec
from central.enrolment.service import Enrolment, EnrolmentRefused
from pishkhan.enrolment import ENROLL_PATH, MAX_REQUEST_BYTES, RENEW_PATH, refusal, status

log = logging.getLogger("pishkhan.central.enrolment")


class _TooLarge(Exception):
    pass


async def _body(request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_REQUEST_BYTES):
        raise _TooLarge()
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_REQUEST_BYTES:
            raise _TooLarge()
    return bytes(data)


def _refused(reason: str, message: str = ""):
    from starlette.responses import JSONResponse

    body = refusal(reason)
    if message:
        body["detail"] = message[:300]
    return JSONResponse(body, status_code=status(reason), headers={"Cache-Control": "no-store"})


def _endpoint(method_name: str):
    async def endpoint(request):
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        service: Enrolment = request.app.state.enrolment
        address = request.client.host if request.client else "unknown"
        try:
            body = codec.decode(await _body(request), max_bytes=MAX_REQUEST_BYTES)
        except (_TooLarge, codec.PayloadRefused) as e:
            reason, message = ("too_large", "") if isinstance(e, _TooLarge) else ("bad_request", str(e))
            reason = await run_in_threadpool(service.refuse_unread, method_name, reason=reason, address=address,
                                             message=message)
            return _refused(reason, message if reason == "bad_request" else "")
        try:
            answer = await run_in_threadpool(getattr(service, method_name), body, address=address)
        except EnrolmentRefused as e:
            log.info("%s from %s refused: %s (%s)", method_name, address, e.reason, e)
            return _refused(e.reason, str(e) if e.reason in ("bad_request", "bad_csr") else "")
        except Exception:  # noqa: BLE001 — the device gets a reason, the log gets the traceback
            log.exception("%s from %s failed", method_name, address)
            return _refused("server_error")
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    return endpoint


def create_app(service: Enrolment, *, pool=None, circulars=None):
    """The Starlette app serving *service*, the release pool folder *pool* and the circulars' pool folder
    *circulars* when given."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    routes = [Route(ENROLL_PATH, _endpoint("enroll"), methods=["POST"]),
              Route(RENEW_PATH, _endpoint("renew"), methods=["POST"])]
    routes += pool_routes(pool) if pool is not None else []
    routes += circular_routes(circulars) if circulars is not None else []
    app = Starlette(routes=routes)
    app.router.redirect_slashes = False  # one name per resource: ``<sha256>.deb/`` is not found, not redirected
    app.state.enrolment = service
    return app


# -- the release pool ----------------------------------------------------------------------
#: Where the pool is served: ``/releases/pool/<sha256>.deb`` (central.releases.pool).
POOL_PATH = "/releases/pool/"


def pool_routes(folder) -> list:
    """The route serving the release pool *folder*: GET and HEAD of ``<64 lowercase hex>.deb``, nothing else.

    The name is matched whole against :data:`central.releases.pool.POOL_NAME` before any file is looked at,
    so no other name, no ``..``, no encoded slash, no index and no hidden file is reachable; a name that
    matches but is not in the pool is a 404. The bytes are sent as they are in the file (``FileResponse``,
    with ``Content-Length`` and ranges), ``Cache-Control: immutable``: a name never changes its bytes.
    """
    from central.releases.pool import POOL_NAME

    return _content_routes(folder, prefix=POOL_PATH, name=POOL_NAME,
                           media_type="application/vnd.debian.binary-package")


#: Where the circulars' attachments are served: ``/circulars/pool/<sha256>.pdf`` (central.circulars.pool).
CIRCULARS_PATH = "/circulars/pool/"
#: The request paths whose answer is a pool file (a download may take minutes).
DOWNLOAD_PATHS = (POOL_PATH, CIRCULARS_PATH)


def circular_routes(folder) -> list:
    """The route serving the circulars' pool *folder*: GET and HEAD of ``<64 lowercase hex>.pdf``, nothing
    else (as :func:`pool_routes`, with :data:`central.circulars.pool.POOL_NAME`)."""
    from central.circulars.pool import MEDIA_TYPE, POOL_NAME

    return _content_routes(folder, prefix=CIRCULARS_PATH, name=POOL_NAME, media_type=MEDIA_TYPE)


def _content_routes(folder, *, prefix: str, name, media_type: str) -> list:
    """GET and HEAD of the files of the content-addressed *folder* whose whole name matches *name*, at *prefix*."""
    from pathlib import Path

    from starlette.responses import FileResponse, PlainTextResponse
    from starlette.routing import Route

    root = Path(folder)

    async def content(request):
        wanted = request.path_params["name"]
        if not name.fullmatch(wanted):
            return PlainTextResponse("not found", status_code=404, headers={"Cache-Control": "no-store"})
        path = root / wanted
        if not path.is_file():
            return PlainTextResponse("not found", status_code=404, headers={"Cache-Control": "no-store"})
        return FileResponse(path, media_type=media_type,
                            headers={"Cache-Control": "public, max-age=31536000, immutable"})

    return [Route(prefix + "{name:str}", content, methods=["GET", "HEAD"])]


def pool_app(folder):
    """A Starlette app serving only the release pool *folder* (``pishkhan central release serve``)."""
    from starlette.applications import Starlette

    app = Starlette(routes=pool_routes(folder))
    app.router.redirect_slashes = False
    return app


#: Longest a connection stays open: a device's one request takes well under a second, even over GPRS.
CONNECTION_SECONDS = 30.0
#: Longest a connection whose whole request is for a pool package stays open: 55 MB over an office line takes
#: minutes (the device gives up after an hour itself).
DOWNLOAD_SECONDS = 2 * 3600.0
#: Connections one client address may hold open at once (not behind a trusted proxy).
CONNECTIONS_PER_ADDRESS = 4


def _guarded_protocol(*, per_address: bool):
    """uvicorn's HTTP/1.1 protocol with a deadline per connection and, when *per_address*, a cap per address.

    uvicorn sets no timeout before a request is whole (an idle TLS connection, half a header, half a body
    stay open for good) and counts every open connection against ``limit_concurrency``: 64 idle connections
    from one address made it answer every device 503."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11(H11Protocol):
        def connection_made(self, transport):
            super().connection_made(transport)
            self._deadline = self.loop.call_later(CONNECTION_SECONDS, self._expire)
            host = self.client[0] if self.client else None
            if per_address and host is not None and sum(
                    1 for other in list(self.connections)
                    if getattr(other, "client", None) and other.client[0] == host) > CONNECTIONS_PER_ADDRESS:
                log.info("closing a connection from %s: more than %d open", host, CONNECTIONS_PER_ADDRESS)
                transport.abort()

        def handle_events(self):
            super().handle_events()
            scope = getattr(self, "scope", None)
            if (not getattr(self, "_downloading", False) and isinstance(scope, dict)
                    and str(scope.get("path", "")).startswith(DOWNLOAD_PATHS)):
                # The request is whole and asks for a package: its body may take minutes, not CONNECTION_SECONDS.
                self._downloading = True
                self._deadline.cancel()
                self._deadline = self.loop.call_later(DOWNLOAD_SECONDS, self._expire)

        def connection_lost(self, exc):
            self._deadline.cancel()
            super().connection_lost(exc)

        def _expire(self):
            if not self.transport.is_closing():
                log.info("closing a connection from %s: open over %.0f s", self.client,
                         DOWNLOAD_SECONDS if getattr(self, "_downloading", False) else CONNECTION_SECONDS)
                self.transport.abort()

    return GuardedH11


def uvicorn_config(app, *, host: str, port: int, tls_cert, tls_key, log_level: str = "info",
                   trusted_proxies: str = ""):
    """uvicorn's configuration for *app* over HTTPS only (TLS 1.2 or newer).

    The client's address (the per-address limit's key, the audit log's) is the
    connection's own: ``X-Forwarded-For`` and ``Forwarded`` are ignored unless
    *trusted_proxies* names the proxies (comma-separated addresses) whose
    headers are believed — uvicorn otherwise believes any from 127.0.0.1, so a
    local TCP forwarder would let every client pick its own address."""
    import ssl

    import uvicorn

    from central.web.headers import proxy_options

    proxy = proxy_options(trusted_proxies)
    return uvicorn.Config(app, host=host, port=port, ssl_certfile=str(tls_cert), ssl_keyfile=str(tls_key),
                          ssl_version=ssl.PROTOCOL_TLS_SERVER, log_level=log_level, access_log=False, **proxy,
                          http=_guarded_protocol(per_address=not trusted_proxies),
                          limit_concurrency=64, timeout_keep_alive=5, timeout_graceful_shutdown=5,
                          server_header=False, lifespan="off")
