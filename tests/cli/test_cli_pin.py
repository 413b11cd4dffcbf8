"""`pishkhan kiosk set-pin`, `pishkhan kiosk unlock` and what `pishkhan config check` says of the PIN."""

from __future__ import annotations

import os
import re

import pytest
from cli_runner import run

from kiosk.pin import COMPONENT, PinGuard
from pishkhan.config import load_config
from pishkhan.staff_pin import hash_pin
from pishkhan.store.database import Store


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ, PISHKHAN_STATE_DIR=str(tmp_path / "state"))
    e.pop("PISHKHAN_CONFIG", None)
    return e


def store_of(env):
    return Store(os.path.join(env["PISHKHAN_STATE_DIR"], "pishkhan.db"))


@pytest.mark.parametrize("pin, words", [
    ("1234", "1234 is the default PIN"), ("0000", "one digit repeated"), ("2345", "run upwards"),
    ("6543", "run downwards"), ("1212", "repeats"), ("4⁸31", "SUPERSCRIPT EIGHT"), ("48a1", "LATIN SMALL LETTER A"),
    ("12", "4 to 8 digits"), ("483172956", "4 to 8 digits"),
])
def test_set_pin_refuses_with_the_reason_and_changes_nothing(env, pin, words):
    proc = run("kiosk", "set-pin", "--pin", pin, env=env, ok=False)
    assert proc.returncode == 1 and words in proc.stderr and "nothing was changed" in proc.stderr
    assert not os.path.exists(os.path.join(env["PISHKHAN_STATE_DIR"], "pishkhan.db"))  # not even a store made


def test_set_pin_takes_persian_digits_as_the_keypad_types_them(env):
    run("kiosk", "set-pin", "--pin", "۴۸۳۱", env=env)
    with store_of(env) as store:
        guard = PinGuard(store, config=load_config())
        assert guard.attempt("4831").result == "ok"
        assert store.audit_entries(action="staff.pin_set")[0]["actor"].startswith("cli")


def test_config_check_warns_while_the_default_pin_is_in_use(env):
    proc = run("config", "check", env=env)
    assert "WARNING: the staff PIN is the default 1234" in proc.stderr and "ok:" in proc.stdout
    assert not os.path.exists(os.path.join(env["PISHKHAN_STATE_DIR"], "pishkhan.db"))  # check creates no store
    run("kiosk", "set-pin", "--pin", "2468", env=env)
    proc = run("config", "check", env=env)
    assert "WARNING" not in proc.stderr and "ok:" in proc.stdout


def test_config_check_refuses_a_garbage_pin_hash_and_takes_a_real_one(env, tmp_path):
    conf = tmp_path / "c.toml"
    run("config", "init", "--out", conf, env=env)
    text = conf.read_text(encoding="utf-8")
    assert 'staff_pin_hash = ""' in text
    for garbage, words in (("1234", "must look like scrypt$N$r$p$SALT$HASH"),
                           ("scrypt$16384$8$1$AAAA$BBBB", "the salt must be 16 to 64 bytes"),
                           ("scrypt$99$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==", "N must be")):
        conf.write_text(text.replace('staff_pin_hash = ""', f'staff_pin_hash = "{garbage}"'), encoding="utf-8")
        proc = run("--config", conf, "config", "check", env=env, ok=False)
        assert "kiosk.staff_pin_hash: " + words in proc.stderr and "ok:" not in proc.stdout
    conf.write_text(text.replace('staff_pin_hash = ""', f'staff_pin_hash = "{hash_pin("4831")}"'), encoding="utf-8")
    proc = run("--config", conf, "config", "check", env=env)
    assert "ok:" in proc.stdout and "WARNING" not in proc.stderr


def test_unlock_ends_a_lock_out_on_the_device_and_is_audited(env):
    with store_of(env) as store:
        guard = PinGuard(store, config=load_config())
        for _ in range(5):
            guard.attempt("9999")
        assert guard.locked_for() > 0
    out = run("kiosk", "unlock", env=env).stdout
    assert re.search(r"staff mode unlocked \(\d+ s of lock-out were left\)", out)
    with store_of(env) as store:
        guard = PinGuard(store, config=load_config())
        assert guard.locked_for() == 0 and guard.attempt("1234").result == "ok"
        assert store.last_state(COMPONENT)["state"] == "unlocked"
        entry = store.audit_entries(action="staff.pin_unlock")[0]
        assert entry["actor"].startswith("cli") and entry["detail"]["was_locked"] is True
    assert "was not locked" in run("kiosk", "unlock", env=env).stdout
    assert "usage: pishkhan kiosk unlock" in run("kiosk", "unlock", "--help", env=env).stdout
