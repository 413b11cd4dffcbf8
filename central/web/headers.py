"""The headers every answer of the dashboard carries, whatever answered (a page, a 404, a 405, a refusal).

- ``Content-Security-Policy``: scripts only from this site, and none inline
  (the pages need no script); styles from this site and the pages' own
  ``<style>`` and ``style=""`` (the timeline's widths); images and fonts from
  this site; forms post only here; no framing (``frame-ancestors 'none'``).
- ``X-Frame-Options: DENY`` for browsers without ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``
  (a verification code or a filter in the address never leaves the site),
  ``Cross-Origin-Opener-Policy: same-origin``.
- ``Cache-Control: no-store`` unless the answer set its own (a page of the
  fleet is not kept in a shared cache or the browser's history).
- ``Strict-Transport-Security`` when the request came over HTTPS (directly,
  or through a proxy uvicorn trusts: docs/dashboard.md).
"""

from __future__ import annotations

CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}
HSTS = "max-age=31536000"


def add_headers(headers: list, *, https: bool) -> list:
    """*headers* (ASGI: pairs of bytes) with every header above that is not there already."""
    present = {k.lower() for k, _ in headers}
    wanted = dict(HEADERS, **({"strict-transport-security": HSTS} if https else {}))
    return [*headers, *[(k.encode(), v.encode()) for k, v in wanted.items() if k.encode() not in present]]


class SecurityHeadersMiddleware:
    """Adds :data:`HEADERS` to every HTTP answer."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": add_headers(list(message.get("headers", [])), https=https)}
            await send(message)
        await self.app(scope, receive, send_with_headers)


def proxy_options(trusted_proxy: str = "") -> dict:
    """uvicorn's settings for forwarded headers: ``X-Forwarded-For``/``-Proto`` believed only from
    *trusted_proxy* (comma-separated addresses).

    uvicorn believes them from 127.0.0.1 by default, so anything forwarding on
    the same host would let each request pick the address a per-address limit
    counts (the dashboard's login lock-out, the enrolment server's attempts).
    """
    if trusted_proxy:
        return {"proxy_headers": True, "forwarded_allow_ips": trusted_proxy}
    return {"proxy_headers": False}
