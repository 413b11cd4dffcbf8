"""Dashboard users: scrypt hashes, the users table, signed sessions, and `pishkhan central users`."""

from __future__ import annotations

import io

import pytest

from central.users import Sessions, User, UserError, Users, check_password, hash_password


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
    cookie = s.make(User("ops23", "23", 4), now=1000)
    assert s.read(cookie, now=1030) == ("ops23", 4)
    assert s.read(cookie, now=1061) is None  # expired
    name, generation, expires, mac = cookie.split("|")
    assert s.read(f"admin|{generation}|{expires}|{mac}", now=1030) is None  # another name, same signature
    assert s.read(f"{name}|{generation}|{int(expires) + 9999}|{mac}", now=1030) is None  # a longer life
    assert s.read(f"{name}|5|{expires}|{mac}", now=1030) is None  # another generation
    assert Sessions(b"x" * 32).read(cookie, now=1030) is None  # another secret
    assert s.read("garbage", now=1030) is None and s.read(None) is None


def test_a_session_lives_only_in_its_users_generation(fleet_db):
    """Logout (revoke), a new password and removal each end every session of that user; others keep theirs."""
    users = Users(fleet_db)
    users.add("ops23", "tehran-pass", province="23")
    users.add("admin", "centre-pass")
    first, second = users.authenticate("ops23", "tehran-pass"), users.authenticate("ops23", "tehran-pass")
    admin = users.authenticate("admin", "centre-pass")
    assert first.generation == second.generation == 0
    assert users.session_user("ops23", 0) == first and users.session_user("ops23", 1) is None
    assert users.revoke("ops23") == 1  # logout in one browser
    assert users.session_user("ops23", first.generation) is None and users.session_user("ops23", 1).province == "23"
    users.add("ops23", "new-tehran-pass", province="23", replace=True)  # a new password
    assert users.session_user("ops23", 1) is None and users.get("ops23").generation == 2
    assert users.session_user("admin", admin.generation) == admin  # another user's session is untouched
    assert users.remove("ops23")
    assert users.session_user("ops23", 2) is None
    users.add("ops23", "tehran-pass", province="23")  # the same name again: no old cookie comes back
    assert users.get("ops23").generation == 3 and users.session_user("ops23", 2) is None
    with pytest.raises(UserError, match="exists already"):
        users.add("admin", "another-pass")
    assert users.session_user("admin", 0) == admin  # a refused add changes nothing


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
