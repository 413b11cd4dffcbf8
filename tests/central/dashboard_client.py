"""A small HTTP client for the dashboard over a real socket: its own cookies, the login form's CSRF token,
redirects not followed (so a test sees the 303 and its Set-Cookie); and :func:`serving`, an app under a
real uvicorn on a free loopback port."""

from __future__ import annotations

import base64
import contextlib
import re
import threading
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from urllib.parse import urlencode

from services import free_port, wait_for_port

TOKEN = re.compile(r'name="csrf_token" value="(\w*)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


class Client:
    """One browser: a cookie jar, and the CSRF token of the last page that had a form."""

    def __init__(self, url: str, *, address: str | None = None):
        self.url = url
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.token = ""
        self.address = address  # sent as X-Forwarded-For (believed when serving(trusted_proxy=…))

    def request(self, method: str, path: str, *, data: dict | None = None, headers=None, auth: str | None = None):
        """(status, headers, body) of *method* *path*; *data* is sent as a form."""
        body = urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.url + path, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        if auth:
            request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
        if self.address:
            request.add_header("X-Forwarded-For", self.address)
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with self.opener.open(request, timeout=30) as r:
                status, answer_headers, content = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, answer_headers, content = e.code, e.headers, e.read()
        found = TOKEN.search(content.decode("utf-8", "replace")) if b"csrf_token" in content else None
        if found:
            self.token = found[1]
        return status, answer_headers, content

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)

    def post(self, path: str, data: dict | None = None, *, token: bool = True, **kw):
        """POST *data*, with the CSRF token of the last form unless *token* is False."""
        data = dict(data or {})
        if token:
            data.setdefault("csrf_token", self.token)
        return self.request("POST", path, data=data, **kw)

    def login(self, user: str, password: str):
        """Open the login form, post it; (status, headers, body) of the post."""
        self.get("/login")
        return self.post("/login", {"username": user, "password": password, "next": "/"})

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


@contextlib.contextmanager
def serving(app, *, trusted_proxy: str = "127.0.0.1"):
    """*app* served by uvicorn on a free loopback port while the block runs, as `central dashboard
    --trusted-proxy` serves it (central.web.headers.proxy_options); yields its URL. The tests play the proxy
    on loopback: :class:`Client` ``address=`` is sent as X-Forwarded-For; ``trusted_proxy=""`` serves as
    the dashboard does by default, believing no such header."""
    import uvicorn

    from central.web.headers import proxy_options

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           **proxy_options(trusted_proxy)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


#: Dashboard users the site tests log in as: a national user and two provinces' (name: password, province).
PASSWORDS = {"admin": "centre-pass-1", "ops23": "tehran-pass-2", "ops11": "tabriz-pass-3"}
PROVINCES = {"admin": None, "ops23": "23", "ops11": "11"}


@contextlib.contextmanager
def logged_in(db, app):
    """*app* served with :data:`PASSWORDS`' users added to *db*, each logged in; yields (url, {name: Client})."""
    from central.users import Users

    users = Users(db)
    for name, password in PASSWORDS.items():
        users.add(name, password, province=PROVINCES[name])
    with serving(app) as url:
        clients = {}
        for name, password in PASSWORDS.items():
            clients[name] = Client(url)
            assert clients[name].login(name, password)[0] == 303
        yield url, clients
