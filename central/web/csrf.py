"""Cross-site request forgery: no POST (nor any other unsafe method) is obeyed without the page's token.

Every visitor gets a random *seed* in the cookie :data:`COOKIE` (HttpOnly,
SameSite=Lax) with the first page that has a form (the login form, before any
login); a page without one (the public verification page) sets no cookie. A form's token
(:func:`token_of`, the hidden field :data:`FIELD`, or the header
:data:`HEADER`) is the HMAC of that seed under the dashboard's secret, so it
is bound to this browser's cookie: another site can make a browser send the
cookie but cannot read the page to learn the token. The middleware checks
every request whose method is not GET, HEAD or OPTIONS — the login form
included — and answers 403 before the endpoint sees it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

COOKIE = "pishkhan_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
#: Why a request was refused: no seed cookie yet, a token that does not match it, a body too large to read.
REASONS = ("no_cookie", "bad_token", "too_large")
#: A form larger than this is refused (the dashboard's forms are a few hundred bytes).
MAX_BODY = 64 * 1024
_SEED = re.compile(r"[A-Za-z0-9_-]{43}")


def token(secret: bytes, seed: str) -> str:
    return hmac.new(secret, f"csrf|{seed}".encode(), hashlib.sha256).hexdigest()


def token_of(request) -> str:
    """The token a form on this request's page must carry ('' outside the middleware).

    A new visitor's seed cookie is sent only with an answer that asked for the token (a page with a form),
    so the public verification page and the font set no cookie.
    """
    state = request.scope.get("state", {})
    seed = state.get("csrf_seed")
    if not seed:
        return ""
    state["csrf_wanted"] = True
    return token(request.app.state.site.secret, seed)


class LazyToken:
    """:func:`token_of` when a template draws it (``{{ csrf_token }}``), not before."""

    def __init__(self, request):
        self.request = request

    def __str__(self) -> str:
        return token_of(self.request)

    __html__ = __str__


class CSRFMiddleware:
    """Gives each browser a seed cookie; refuses an unsafe request whose token does not match it.

    :param refuse: ``refuse(scope, reason)`` → the ASGI response for a refused request (403).
    :param secure: a function of the scope: whether the cookie is ``Secure``.
    """

    def __init__(self, app, *, secret: bytes, refuse, secure):
        self.app = app
        self.secret = secret
        self.refuse = refuse
        self.secure = secure

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        seed = _cookie(scope, COOKIE)
        fresh = None
        if not seed or not _SEED.fullmatch(seed):
            seed = fresh = secrets.token_urlsafe(32)
        state = scope.setdefault("state", {})
        state["csrf_seed"] = seed
        if scope["method"] not in SAFE:
            body, too_big = await _body(receive)
            reason = ("no_cookie" if fresh else "too_large" if too_big
                      else None if hmac.compare_digest(_given(scope, body), token(self.secret, seed)) else "bad_token")
            if reason:
                return await self.refuse(scope, reason)(scope, receive, send)
            receive = _replay(body, receive)

        async def send_with_cookie(message):
            if fresh and state.get("csrf_wanted") and message["type"] == "http.response.start":
                cookie = f"{COOKIE}={fresh}; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure(scope) else "")
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)
        await self.app(scope, receive, send_with_cookie)


def _cookie(scope, name: str) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            jar = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                continue
            if name in jar:
                return jar[name].value
    return None


def _given(scope, body: bytes) -> str:
    """The token the request carries: the header, else the form field."""
    for key, value in scope.get("headers", ()):
        if key == HEADER.encode():
            return value.decode("latin-1")
    try:
        form = parse_qs(body.decode("utf-8"), max_num_fields=32)
    except (UnicodeDecodeError, ValueError):
        return ""
    return (form.get(FIELD) or [""])[0]


async def _body(receive) -> tuple[bytes, bool]:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", True
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), False


def _replay(body: bytes, receive):
    """*receive* that gives the body read already, then whatever comes next (a disconnect)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay
