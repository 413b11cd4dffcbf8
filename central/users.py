"""Dashboard users: scrypt-hashed passwords in the fleet database, and signed session cookies.

A password is stored as ``scrypt$N$r$p$SALT$HASH`` (salt and hash in
base64; N=2^14, r=8, p=1, a 16-byte random salt, a 32-byte key), and
checked in constant time. A user with a ``province`` sees only that province
everywhere; a user without one (central ops) sees the whole fleet.

A session is a cookie ``USERNAME|EXPIRES|HMAC`` signed with HMAC-SHA256 under
the dashboard's secret; it names the user, whose province is read from the
database on every request, so removing or re-scoping a user takes effect at
once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from pishkhan.exc import PishkhanError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}", re.ASCII)
PROVINCE = re.compile(r"[0-9]{1,3}", re.ASCII)
MIN_PASSWORD = 8


class UserError(PishkhanError):
    """A user could not be added or a password is not acceptable."""


@dataclass(frozen=True)
class User:
    username: str
    province: str | None  # None: the whole fleet

    @property
    def national(self) -> bool:
        return self.province is None


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
            return c.rowcount
        if not self.db.write(add):
            raise UserError(f"user {username!r} exists already (use --replace to set a new password)")
        return User(username, province)

    def get(self, username: str) -> User | None:
        row = self.db.query_one("SELECT username, province FROM users WHERE username = ?", (username,))
        return User(row["username"], row["province"] or None) if row else None

    def authenticate(self, username: str, password: str) -> User | None:
        row = self.db.query_one("SELECT username, password_hash, province FROM users WHERE username = ?", (username,))
        if row is None:
            check_password(password, hash_password("not a user"))  # same work either way
            return None
        return User(row["username"], row["province"] or None) if check_password(password, row["password_hash"]) \
            else None

    def remove(self, username: str) -> bool:
        return bool(self.db.write(lambda c: c.execute("DELETE FROM users WHERE username = ?", (username,)).rowcount))

    def list(self) -> list[User]:
        return [User(r["username"], r["province"] or None)
                for r in self.db.query("SELECT username, province FROM users ORDER BY username")]


class Sessions:
    """Signed session cookies: ``USERNAME|EXPIRES|HMAC``."""

    def __init__(self, secret: bytes, *, max_age: int = 12 * 3600):
        if len(secret) < 16:
            raise UserError("the session secret must be at least 16 bytes")
        self.secret = secret
        self.max_age = max_age

    def _mac(self, text: str) -> str:
        return hmac.new(self.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def make(self, username: str, *, now: float | None = None) -> str:
        text = f"{username}|{int((now or time.time()) + self.max_age)}"
        return f"{text}|{self._mac(text)}"

    def read(self, cookie: str | None, *, now: float | None = None) -> str | None:
        """The user name in a valid, unexpired cookie, else None."""
        if not cookie or cookie.count("|") != 2:
            return None
        name, expires, mac = cookie.split("|")
        if not hmac.compare_digest(mac, self._mac(f"{name}|{expires}")):
            return None
        try:
            if int(expires) < (now or time.time()):
                return None
        except ValueError:
            return None
        return name
