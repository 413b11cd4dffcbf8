"""Dashboard users: scrypt hashes, the users table, signed sessions, and `pishkhan central users`."""

from __future__ import annotations

import io

import pytest

from central.users import Sessions, UserError, Users, check_password, hash_password


def test_hashes_are_salted_scrypt_and_checked():
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a.startswith("scrypt$16384$8$1$") and a != b  # a new salt each time
    assert check_password("correct horse", a) and check_password("correct horse", b)
    assert not check_password("correct horsE", a)
    assert not check_password("correct horse", "md5$abc") and not check_password("x", "garbage")


def test_users_table(fleet_db):
    users = Users(fleet_db)
    users.add("ops23", "tehran-pass", province="23")
    users.add("admin", "centre-pass")
    assert "tehran-pass" not in str(fleet_db.query("SELECT * FROM users"))
    assert users.authenticate("ops23", "tehran-pass").province == "23"
    assert users.authenticate("admin", "centre-pass").national
    assert users.authenticate("ops23", "wrong-pass") is None and users.authenticate("nobody", "tehran-pass") is None
    with pytest.raises(UserError, match="exists already"):
        users.add("ops23", "another-pass")
    users.add("ops23", "another-pass", province="11", replace=True)
    assert users.authenticate("ops23", "another-pass").province == "11"
    with pytest.raises(UserError, match="at least 8"):
        users.add("short", "1234567")
    with pytest.raises(UserError, match="province code"):
        users.add("p", "long-enough", province="Tehran")
    with pytest.raises(UserError, match="user name"):
        users.add("bad name", "long-enough")
    assert [u.username for u in users.list()] == ["admin", "ops23"]
    assert users.remove("admin") and not users.remove("admin")


def test_sessions_are_signed_and_expire():
    s = Sessions(b"k" * 32, max_age=60)
    cookie = s.make("ops23", now=1000)
    assert s.read(cookie, now=1030) == "ops23"
    assert s.read(cookie, now=1061) is None  # expired
    name, expires, mac = cookie.split("|")
    assert s.read(f"admin|{expires}|{mac}", now=1030) is None  # another name, same signature
    assert s.read(f"{name}|{int(expires) + 9999}|{mac}", now=1030) is None  # a longer life
    assert Sessions(b"x" * 32).read(cookie, now=1030) is None  # another secret
    assert s.read("garbage", now=1030) is None and s.read(None) is None


def test_users_command_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    from central.db import open_db
    from cli.main import main

    db = str(tmp_path / "fleet.db")
    monkeypatch.setattr("sys.stdin", io.StringIO("tehran-pass\n"))
    assert main(["central", "users", "add", "ops23", "--province", "23", "--db", db]) == 0
    assert "province 23" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["central", "users", "add", "other", "--db", db]) == 1
    assert "at least 8" in capsys.readouterr().err
    assert main(["central", "users", "list", "--db", db]) == 0
    assert capsys.readouterr().out == "ops23\t23\n"
    with open_db(db) as fleet_db:
        assert Users(fleet_db).authenticate("ops23", "tehran-pass").province == "23"
