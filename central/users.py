"""Dashboard users: scrypt-hashed passwords in the fleet database, and signed session cookies.

A password is stored as ``scrypt$N$r$p$SALT$HASH`` (salt and hash in
base64; N=2^14, r=8, p=1, a 16-byte random salt, a 32-byte key), and
checked in constant time. A user with a ``province`` sees only that province
everywhere; a user without one (central ops) sees the whole fleet.

A session is a cookie ``USERNAME|GENERATION|EXPIRES|HMAC`` signed with
HMAC-SHA256 under the dashboard's secret; it names the user, whose province is
read from the database on every request, so re-scoping a user takes effect at
once. ``GENERATION`` is the user's session generation (table
``user_sessions``) when the session began: logging out, a new password
(``users add --replace``) and ``users remove`` raise it, which ends every
session of that user, in every browser, at once. The generation of a removed
user is kept, so a user added again under the same name cannot bring an old
cookie back to life.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

from central.errors import UserError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}", re.ASCII)
PROVINCE = re.compile(r"[0-9]{1,3}", re.ASCII)
MIN_PASSWORD = 8


@dataclass(frozen=True)
class User:
    """A dashboard user (Starlette's ``request.user`` once logged in)."""

    username: str
    province: str | None  # None: the whole fleet
    generation: int = 0  # the session generation (see the module's docstring)

    @property
    def national(self) -> bool:
        return self.province is None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.username


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(key)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


class Users:
    """The ``users`` table of a fleet database."""

    def __init__(self, db):
        self.db = db

    def add(self, username: str, password: str, *, province: str | None = None, replace: bool = False) -> User:
        if not NAME.fullmatch(username or ""):
            raise UserError(f"user name: expected 1-64 ASCII letters, digits, '.', '_', '@' or '-', got {username!r}")
        if province is not None and not PROVINCE.fullmatch(province):
            raise UserError(f"--province: expected the province code, 1-3 digits, got {province!r}")
        if len(password) < MIN_PASSWORD:
            raise UserError(f"password: at least {MIN_PASSWORD} characters, got {len(password)}")
        hashed = hash_password(password)
        if replace:
            sql = ("INSERT INTO users(username, password_hash, province) VALUES (?, ?, ?) ON CONFLICT (username) "
                   "DO UPDATE SET password_hash = excluded.password_hash, province = excluded.province")
        else:
            sql = "INSERT INTO users(username, password_hash, province) VALUES (?, ?, ?) ON CONFLICT (username) DO NOTHING"

        def add(c):
            c.execute(sql, (username, hashed, province))
            if c.rowcount and replace:
                _revoke(c, username)  # a new password ends the sessions made with the old one
            return c.rowcount
        if not self.db.write(add):
            raise UserError(f"user {username!r} exists already (use --replace to set a new password)")
        return self.get(username) or User(username, province)

    def get(self, username: str) -> User | None:
        rows = self.db.query(_SELECT_USER, (username,))
        return _user(rows[0]) if rows else None

    def session_user(self, username: str, generation: int) -> User | None:
        """The user a session names, if it is still of the user's current generation."""
        user = self.get(username)
        return user if user is not None and user.generation == generation else None

    def authenticate(self, username: str, password: str) -> User | None:
        row = self.db.query_one("SELECT password_hash FROM users WHERE username = ?", (username,))
        if row is None:
            check_password(password, _not_a_user())  # same work either way
            return None
        return self.get(username) if check_password(password, row["password_hash"]) else None

    def revoke(self, username: str) -> int:
        """End every session of *username* (logout); returns the new generation."""
        return self.db.write(lambda c: _revoke(c, username))

    def remove(self, username: str) -> bool:
        def remove(c):
            removed = c.execute("DELETE FROM users WHERE username = ?", (username,)).rowcount
            if removed:
                _revoke(c, username)
            return removed
        return bool(self.db.write(remove))

    def list(self) -> list[User]:
        return [User(r["username"], r["province"] or None)
                for r in self.db.query("SELECT username, province FROM users ORDER BY username")]


_SELECT_USER = ("SELECT u.username, u.province, COALESCE(g.generation, 0) AS generation FROM users u "
                "LEFT JOIN user_sessions g ON g.username = u.username WHERE u.username = ?")


@lru_cache(maxsize=1)
def _not_a_user() -> str:
    return hash_password("not a user")


def _user(row) -> User:
    return User(row["username"], row["province"] or None, int(row["generation"]))


def _revoke(c, username: str) -> int:
    c.execute("INSERT INTO user_sessions(username, generation) VALUES (?, 1) ON CONFLICT (username) "
              "DO UPDATE SET generation = user_sessions.generation + 1", (username,))
    c.execute("SELECT generation FROM user_sessions WHERE username = ?", (username,))
    return int(c.fetchone()[0])


class Sessions:
    """Signed session cookies: ``USERNAME|GENERATION|EXPIRES|HMAC``."""

    def __init__(self, secret: bytes, *, max_age: int = 12 * 3600):
        if len(secret) < 16:
            raise UserError("the session secret must be at least 16 bytes")
        self.secret = secret
        self.max_age = max_age

    def _mac(self, text: str) -> str:
        return hmac.new(self.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def make(self, user: User, *, now: float | None = None) -> str:
        text = f"{user.username}|{int(user.generation)}|{int((now or time.time()) + self.max_age)}"
        return f"{text}|{self._mac(text)}"

    def read(self, cookie: str | None, *, now: float | None = None) -> tuple[str, int] | None:
        """The user name and session generation in a valid, unexpired cookie, else None."""
        if not cookie or cookie.count("|") != 3:
            return None
        name, generation, expires, mac = cookie.split("|")
        if not hmac.compare_digest(mac, self._mac(f"{name}|{generation}|{expires}")):
            return None
        try:
            if int(expires) < (now or time.time()):
                return None
            return name, int(generation)
        except ValueError:
            return None
