"""The dashboard's doors, against a real uvicorn over HTTP: password lock-outs per address and per user,
sessions that end, CSRF on every POST, Secure cookies, and the security headers on every answer."""

from __future__ import annotations

import datetime as dt
import io
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dashboard_fleet as F
import pytest
from dashboard_client import Client, serving
from services import free_port, wait_for_port

from central.db import open_db
from central.doors import Doors
from central.fleet import Fleet
from central.users import Users
from central.web.app import create_app
from central.web.headers import CSP
from pishkhan.lockout import FIRST_LOCK, MAX_LOCK, QUIET, Lockout

PASSWORDS = {"admin": "centre-pass-1", "ops23": "tehran-pass-2"}
SECURITY_HEADERS = {"content-security-policy": CSP, "x-frame-options": "DENY", "x-content-type-options": "nosniff",
                    "referrer-policy": "same-origin"}


class Clock:
    """The dashboard's clock, moved by the test."""

    def __init__(self):
        self.now = F.NOW

    def __call__(self):
        return self.now

    def advance(self, seconds: float):
        self.now += dt.timedelta(seconds=seconds)


class CountingUsers(Users):
    """The users table, counting the passwords checked."""

    checked = 0

    def authenticate(self, username, password):
        self.checked += 1
        return super().authenticate(username, password)


@pytest.fixture
def door(tmp_path):
    """An empty fleet's dashboard with two users, its clock and its database."""
    path = tmp_path / "fleet.db"
    db = open_db(str(path))
    users = CountingUsers(db)
    for name, password in PASSWORDS.items():
        users.add(name, password, province="23" if name == "ops23" else None)
    clock = Clock()
    with serving(create_app(Fleet(db), now=clock, users=users)) as url:
        yield {"url": url, "clock": clock, "db": db, "path": path, "users": users}
    db.close()


def facts(db, reason=None):
    rows = db.query("SELECT at, door, address, username, reason FROM door_failures ORDER BY id")
    return [r for r in rows if reason is None or r["reason"] == reason]


# -- passwords: per address and per user ----------------------------------------------------------------------
def test_forty_wrong_passwords_at_once_get_five_tries(door):
    """40 wrong passwords as fast as 8 connections can send them: 5 are tried (the fifth begins a lock-out),
    the rest refused unchecked."""
    client = Client(door["url"])
    client.get("/login")

    def wrong(i):
        return client.post("/login", {"username": "admin", "password": f"guess-{i:04d}"})[0]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(wrong, range(40)))
    assert statuses.count(401) == 4 and statuses.count(429) == 36, statuses
    assert door["users"].checked == 5  # counted before checked: concurrent guesses do not slip in
    assert len(facts(door["db"], "wrong_password")) == 5 and len(facts(door["db"], "locked")) == 1
    fact = facts(door["db"], "locked")[0]
    assert fact["door"] == "login" and fact["address"] == "127.0.0.1" and fact["username"] == "admin"
    # while locked, the right password is refused too — and says for how long
    status, headers, body = client.login("admin", PASSWORDS["admin"])
    assert status == 429 and int(headers["Retry-After"]) == FIRST_LOCK and b'id="login-locked"' in body
    door["clock"].advance(FIRST_LOCK + 1)
    assert client.login("admin", PASSWORDS["admin"])[0] == 303


def test_a_user_guessed_from_many_addresses_is_locked_but_not_where_they_log_in(door):
    """The per-user lock holds every address but one where the user logged in before."""
    home = Client(door["url"], address="10.0.0.1")
    assert home.login("ops23", PASSWORDS["ops23"])[0] == 303  # the real user, at their usual address
    for i in range(5):  # one wrong password from each of five addresses: no address is locked, the user is
        status = Client(door["url"], address=f"10.9.0.{i}").login("ops23", "not-the-password")[0]
        assert status == (429 if i == 4 else 401)
    assert Client(door["url"], address="10.9.0.99").login("ops23", PASSWORDS["ops23"])[0] == 429
    assert Client(door["url"], address="10.0.0.1").login("ops23", PASSWORDS["ops23"])[0] == 303
    assert {f["address"] for f in facts(door["db"], "wrong_password")} == {f"10.9.0.{i}" for i in range(5)}
    # another user is not held by ops23's lock, and the lock ends by itself
    assert Client(door["url"], address="10.9.0.99").login("admin", PASSWORDS["admin"])[0] == 303
    door["clock"].advance(FIRST_LOCK + 1)
    assert Client(door["url"], address="10.9.0.98").login("ops23", PASSWORDS["ops23"])[0] == 303


def test_an_address_guessing_many_users_is_locked(door):
    guesser = Client(door["url"], address="10.7.7.7")
    for i in range(5):
        assert guesser.login(f"user{i}", "not-the-password")[0] == (429 if i == 4 else 401)
    assert guesser.login("admin", PASSWORDS["admin"])[0] == 429  # the address is locked, whoever it names
    assert Client(door["url"], address="10.7.7.8").login("admin", PASSWORDS["admin"])[0] == 303


def test_without_a_trusted_proxy_a_forged_forwarded_for_does_not_escape_the_lock(tmp_path):
    """As `central dashboard` serves by default: X-Forwarded-For is nobody's word, even from loopback."""
    db = open_db(str(tmp_path / "fleet.db"))
    users = Users(db)
    users.add("admin", PASSWORDS["admin"])
    with serving(create_app(Fleet(db), now=Clock(), users=users), trusted_proxy="") as url:
        codes = [Client(url, address=f"10.9.9.{i}").login(f"user{i}", "not-the-password")[0] for i in range(6)]
    assert codes == [401, 401, 401, 401, 429, 429]
    db.close()


def test_metrics_basic_auth_shares_the_lock(door):
    scraper = Client(door["url"], address="10.5.5.5")
    assert scraper.get("/metrics", auth=f"admin:{PASSWORDS['admin']}")[0] == 200
    attacker = Client(door["url"], address="10.6.6.6")
    for _ in range(4):
        assert attacker.get("/metrics", auth="admin:wrong-password")[0] == 401
    assert attacker.login("admin", "wrong-again")[0] == 429  # the fifth, at the other door, locks both
    status, headers, _ = attacker.get("/metrics", auth=f"admin:{PASSWORDS['admin']}")
    assert status == 429 and int(headers["Retry-After"]) == FIRST_LOCK
    assert {f["door"] for f in facts(door["db"], "wrong_password")} == {"metrics", "login"}
    # the scraper's address, where admin succeeded, still gets in
    assert scraper.get("/metrics", auth=f"admin:{PASSWORDS['admin']}")[0] == 200


def test_lock_outs_double_up_to_fifteen_minutes_and_a_quiet_half_hour_forgets(fleet_db):
    now = [F.NOW]
    doors = Doors(fleet_db, clock=lambda: now[0])
    lock = []
    for _ in range(7):
        for _ in range(5):
            attempt = doors.attempt(door="login", address="10.1.1.1", username="admin", check=lambda: None)
        assert attempt.result == "locked"
        lock.append(attempt.locked_seconds)
        assert doors.attempt(door="login", address="10.1.1.1", username="admin", check=lambda: 1).result == "locked"
        now[0] += dt.timedelta(seconds=attempt.locked_seconds)
    assert lock == [60, 120, 240, 480, 900, 900, 900]
    now[0] += dt.timedelta(seconds=QUIET)
    for _ in range(5):
        attempt = doors.attempt(door="login", address="10.1.1.1", username="admin", check=lambda: None)
    assert attempt.locked_seconds == FIRST_LOCK  # counted from the start again
    now[0] += dt.timedelta(seconds=FIRST_LOCK)
    assert doors.attempt(door="login", address="10.1.1.1", username="admin", check=lambda: "admin").result == "ok"
    assert doors.locked_for(address="10.1.1.1", username="admin") == 0
    assert len(doors.failures()) == 8 * 5 + 8  # every wrong password and every lock-out, as facts


def test_a_lock_set_too_long_counts_as_fifteen_minutes(fleet_db):
    from central.doors import _write
    from pishkhan.lockout import Count

    far = F.NOW + dt.timedelta(days=365)  # a clock that was set forward when the lock was written
    fleet_db.write(lambda c: _write(c, "user:admin", Count(0, 3, far, F.NOW)))
    doors = Doors(fleet_db, clock=lambda: F.NOW)
    assert doors.locked_for(address="10.1.1.1", username="admin") == MAX_LOCK
    assert Lockout().locked_for(Count(locked_until=far), F.NOW) == MAX_LOCK


# -- sessions -------------------------------------------------------------------------------------------------
def two_sessions(door, user="ops23") -> list[Client]:
    browsers = [Client(door["url"]), Client(door["url"])]
    for b in browsers:
        assert b.login(user, PASSWORDS[user])[0] == 303
        assert b.get("/api/fleet")[0] == 200
    return browsers


def test_logout_ends_every_session_of_the_user(door):
    a, b = two_sessions(door)
    admin = two_sessions(door, "admin")[0]
    assert a.post("/logout")[0] == 303
    assert a.get("/api/fleet")[0] == 401 and b.get("/api/fleet")[0] == 401
    assert admin.get("/api/fleet")[0] == 200  # another user's session goes on
    assert a.login("ops23", PASSWORDS["ops23"])[0] == 303 and a.get("/api/fleet")[0] == 200


def test_a_new_password_ends_every_session_of_the_user(door, monkeypatch, capsys):
    from cli.main import main

    a, b = two_sessions(door)
    admin = two_sessions(door, "admin")[0]
    monkeypatch.setattr("sys.stdin", io.StringIO("a-new-tehran-pass\n"))
    assert main(["central", "users", "add", "ops23", "--province", "23", "--replace", "--db", str(door["path"])]) == 0
    assert a.get("/api/fleet")[0] == 401 and b.get("/api/fleet")[0] == 401
    assert admin.get("/api/fleet")[0] == 200
    assert a.login("ops23", "a-new-tehran-pass")[0] == 303 and a.get("/api/fleet")[0] == 200


def test_removing_a_user_ends_every_session_and_adding_them_again_does_not_revive_one(door, monkeypatch, capsys):
    from cli.main import main

    a, b = two_sessions(door)
    old = a.cookie("pishkhan_session")
    assert main(["central", "users", "remove", "ops23", "--db", str(door["path"])]) == 0
    assert a.get("/api/fleet")[0] == 401 and b.get("/api/fleet")[0] == 401
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORDS["ops23"] + "\n"))
    assert main(["central", "users", "add", "ops23", "--province", "23", "--db", str(door["path"])]) == 0
    assert a.get("/api/fleet", headers={"Cookie": f"pishkhan_session={old}"})[0] == 401


def test_logout_is_a_post(door):
    a, _ = two_sessions(door)
    assert a.get("/logout")[0] == 405
    assert a.get("/api/fleet")[0] == 200


# -- CSRF -----------------------------------------------------------------------------------------------------
def test_the_login_form_needs_its_token(door):
    forger = Client(door["url"])
    status, headers, _ = forger.post("/login", {"username": "admin", "password": PASSWORDS["admin"]}, token=False)
    assert status == 403 and "pishkhan_session" not in (headers.get("Set-Cookie") or "")
    victim, other = Client(door["url"]), Client(door["url"])
    victim.get("/login")
    other.get("/login")  # a token of another browser's cookie does not do
    assert victim.post("/login", {"username": "admin", "password": PASSWORDS["admin"], "csrf_token": other.token})[0] == 403
    assert victim.post("/login", {"username": "admin", "password": PASSWORDS["admin"]})[0] == 303
    # the header works as the field does (for a script of the site's own)
    api = Client(door["url"])
    api.get("/login")
    assert api.request("POST", "/login", data={"username": "admin", "password": PASSWORDS["admin"]},
                       headers={"X-CSRF-Token": api.token})[0] == 303
    assert not facts(door["db"])  # a refused form never reached the password check


def test_every_post_route_refuses_a_form_without_its_token(door):
    app = create_app(Fleet(door["db"]))
    posts = [r.path for r in app.routes if "POST" in (getattr(r, "methods", None) or ())]
    assert "/login" in posts and "/logout" in posts
    a, _ = two_sessions(door)
    for path in posts:
        assert a.post(path, {}, token=False)[0] == 403, path
        assert a.post(path, {"csrf_token": "0" * 64})[0] == 403, path
    assert a.get("/api/fleet")[0] == 200  # logout without its token did nothing


# -- cookies --------------------------------------------------------------------------------------------------
def set_cookies(headers) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in headers.get_all("Set-Cookie") or []}


def test_cookies_are_secure_when_told_or_over_https(tmp_path):
    db = open_db(str(tmp_path / "fleet.db"))
    Users(db).add("admin", PASSWORDS["admin"])
    with serving(create_app(Fleet(db))) as url:
        plain = Client(url)
        cookies = set_cookies(plain.get("/login")[1])
        assert "Secure" not in cookies["pishkhan_csrf"] and "HttpOnly" in cookies["pishkhan_csrf"]
        session = set_cookies(plain.login("admin", PASSWORDS["admin"])[1])["pishkhan_session"]
        assert "Secure" not in session and "HttpOnly" in session and "SameSite=lax" in session
        # behind a TLS proxy uvicorn trusts (127.0.0.1 by default): Secure, and HSTS
        proxied = Client(url)
        status, headers, _ = proxied.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "Secure" in set_cookies(headers)["pishkhan_csrf"] and headers["Strict-Transport-Security"]
        seed = proxied.cookie("pishkhan_csrf")  # a Secure cookie: the jar keeps it off plain HTTP, the proxy would not
        status, headers, _ = proxied.request("POST", "/login", headers={"X-Forwarded-Proto": "https",
                                                                        "Cookie": f"pishkhan_csrf={seed}"},
                                             data={"username": "admin", "password": PASSWORDS["admin"],
                                                   "csrf_token": proxied.token})
        assert status == 303 and "Secure" in set_cookies(headers)["pishkhan_session"]
    with serving(create_app(Fleet(db), secure_cookie=True)) as url:
        assert "Secure" in set_cookies(Client(url).get("/login")[1])["pishkhan_csrf"]
    db.close()


def test_the_command_takes_cookie_secure(tmp_path):
    import os
    import subprocess
    import sys

    path = tmp_path / "fleet.db"
    open_db(str(path)).close()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "central", "dashboard", "--db", str(path),
                             "--listen", f"127.0.0.1:{port}", "--cookie-secure"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        wait_for_port(port, timeout=30)
        assert "Secure" in set_cookies(Client(f"http://127.0.0.1:{port}").get("/login")[1])["pishkhan_csrf"]
    finally:
        proc.terminate()
        proc.wait(timeout=15)


# -- headers on every answer ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    db = open_db(str(tmp_path_factory.mktemp("doors") / "fleet.db"))
    data = F.build(db)
    Users(db).add("admin", PASSWORDS["admin"])
    app = create_app(data["fleet"], now=lambda: F.NOW)
    with serving(app) as url:
        yield {"url": url, "app": app, **data}
    db.close()


def example_paths(app, site) -> list[str]:
    """Every route of the app, its parameters filled with a real value."""
    values = {"device_id": "dev-2301", "code": site["official"].codes[("national", 4)], "weight": "Regular",
              "alert_id": "1"}
    paths = []
    for route in app.routes:
        paths.append(re.sub(r"\{(\w+)\}", lambda m: values[m[1]], route.path))
    return paths


def test_every_route_answers_with_the_security_headers(site):
    paths = example_paths(site["app"], site)
    assert len(paths) >= 15 and "/metrics" in paths and "/logout" in paths
    anonymous, admin = Client(site["url"]), Client(site["url"])
    assert admin.login("admin", PASSWORDS["admin"])[0] == 303
    answers = []
    for client in (anonymous, admin):
        for path in [*paths, "/no-such-page", "/api/device/nobody"]:
            status, headers, body = client.get(path)
            answers.append((path, status))
            for name, value in SECURITY_HEADERS.items():
                assert headers[name] == value, (path, status, name)
            if (headers["Content-Type"] or "").startswith("text/html"):
                assert not re.search(rb"<script(?![^>]*\bsrc=)", body), path  # no inline script
    answers.append(("/login POST without token", anonymous.post("/login", {}, token=False)[0]))
    statuses = {status for _, status in answers}
    assert {200, 303, 401, 404, 405} <= statuses, answers
    for path, (status, headers, _) in {"csrf": anonymous.post("/login", {}, token=False),
                                       "metrics": anonymous.get("/metrics")}.items():
        assert headers["X-Frame-Options"] == "DENY" and headers["Content-Security-Policy"] == CSP, path


def test_the_policy_allows_no_inline_script_and_no_framing():
    assert "script-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
    script = next(d for d in CSP.split(";") if d.strip().startswith("script-src"))
    assert "unsafe-inline" not in script and "unsafe-eval" not in script
    templates = Path(__file__).resolve().parents[2] / "central" / "web" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name  # no inline event handlers


def test_an_internal_error_still_carries_the_headers(tmp_path, monkeypatch):
    """A 500 is answered outside the middleware; it carries the headers all the same."""
    from central.web import offices

    def broken(*args, **kwargs):
        raise RuntimeError("planted")

    monkeypatch.setattr(offices, "office_page", broken)
    db = open_db(str(tmp_path / "fleet.db"))
    Users(db).add("admin", PASSWORDS["admin"])
    with serving(create_app(Fleet(db))) as url:
        client = Client(url)
        assert client.login("admin", PASSWORDS["admin"])[0] == 303
        status, headers, body = client.get("/api/device/dev-2301")
        assert status == 500 and b"planted" not in body
        for name, value in SECURITY_HEADERS.items():
            assert headers[name] == value, name
    db.close()


def test_the_public_page_and_the_font_set_no_cookie(site):
    """A phone that scans a board's code gets the page and nothing to keep; the login form gets its seed."""
    visitor = Client(site["url"])
    for path in (f"/verify/{site['official'].codes[('national', 4)]}", "/verify/ZZZZ-2222", "/font/Vazirmatn-Regular.ttf"):
        status, headers, _ = visitor.get(path)
        assert status in (200, 404) and not headers.get_all("Set-Cookie"), path
    assert "pishkhan_csrf" in set_cookies(visitor.get("/login")[1])
