"""The staff PIN: keypad digits only, no trivial PINs, a checked hash format, and a lock-out
that stays short, is forgotten after a quiet period, and is written down as facts."""

from __future__ import annotations

import datetime as dt

import pytest

from kiosk.pin import COMPONENT, FIRST_LOCK, MAX_LOCK, MAX_TRIES, QUIET, SETTING_GUARD, PinGuard, set_pin
from pishkhan.exc import ConfigError, PinRefused
from pishkhan.staff_pin import (DEFAULT_PIN_WARNING, check_configured_pin, check_new_pin, check_pin, hash_pin,
                                hash_problem, normalise_pin, pin_in_force, trivial_reason)
from pishkhan.store.database import Store, iso


@pytest.mark.parametrize("typed, keypad", [("۴۸۳۱", "4831"), ("٤٨٣١", "4831"), ("4۸3١", "4831"),
                                           ("۰۹۷۲۶۵", "097265"), ("49172638", "49172638")])
def test_persian_and_arabic_indic_digits_become_keypad_digits(typed, keypad):
    assert normalise_pin(typed) == keypad
    assert check_new_pin(typed) == keypad


@pytest.mark.parametrize("typed, words", [
    ("4⁸31", "U+2078 SUPERSCRIPT EIGHT"), ("²⁴⁶⁸", "SUPERSCRIPT TWO"), ("４８３１", "FULLWIDTH DIGIT FOUR"),
    ("48a1", "LATIN SMALL LETTER A"), ("48 31", "SPACE"), (" 4831", "SPACE"), ("4831\n", "U+000A"),
    ("߄߈߃߁", "NKO DIGIT"), ("४८३१", "DEVANAGARI DIGIT"), ("483", "4 to 8 digits, got 3"),
    ("", "4 to 8 digits, got 0"), ("483172956", "4 to 8 digits, got 9"),
])
def test_anything_the_keypad_cannot_type_is_refused_and_named(typed, words):
    with pytest.raises(PinRefused) as e:
        check_new_pin(typed)
    assert words in str(e.value)


@pytest.mark.parametrize("pin, words", [
    ("1234", "default"), ("0000", "one digit repeated"), ("99999999", "one digit repeated"),
    ("4567", "upwards"), ("0123456", "upwards"), ("8901", "upwards"), ("4321", "downwards"),
    ("98765", "downwards"), ("2109", "downwards"), ("1212", "repeats '12'"), ("123123", "repeats '123'"),
    ("73737373", "repeats '73'"), ("2580", "most common"), ("۱۲۳۴", "default"), ("٠٠٠٠", "repeated"),
])
def test_trivial_pins_are_refused_with_the_reason(pin, words):
    with pytest.raises(PinRefused, match="too easy to guess") as e:
        check_new_pin(pin)
    assert words in str(e.value)


@pytest.mark.parametrize("pin", ["4831", "2468", "1357", "49172638", "90210", "1243"])
def test_pins_without_a_pattern_are_accepted(pin):
    assert trivial_reason(pin) is None and check_new_pin(pin) == pin


def test_set_pin_refuses_and_keeps_the_old_pin(store, config):
    set_pin(store, "۴۸۳۱", actor="test")  # stored as what the keypad types
    before = store.get_setting("kiosk.staff_pin_hash")
    for bad in ("1111", "4⁸31", "12"):
        with pytest.raises(PinRefused):
            set_pin(store, bad, actor="test")
    assert store.get_setting("kiosk.staff_pin_hash") == before
    guard = PinGuard(store, config=config)
    assert guard.attempt("4831").result == "ok" and not guard.default_in_use
    assert [e["action"] for e in store.audit_entries(action="staff.pin_set")] == ["staff.pin_set"]


def test_a_pin_longer_than_eight_set_earlier_still_opens(store, config):
    # set-pin once took 4-12 digits; such a hash must not lock staff out now
    old = hash_pin("4831")
    long_hash = __import__("hashlib").scrypt(b"483172956012", salt=b"s" * 16, n=2 ** 14, r=8, p=1,
                                             maxmem=64 * 2 ** 20, dklen=32)
    import base64

    stored = f"scrypt$16384$8$1${base64.b64encode(b's' * 16).decode()}${base64.b64encode(long_hash).decode()}"
    assert hash_problem(stored) is None and hash_problem(old) is None
    assert check_pin("483172956012", stored) and not check_pin("48317295601", stored)


@pytest.mark.parametrize("hashed, words", [
    ("garbage", "must look like scrypt$N$r$p$SALT$HASH"),
    ("bcrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==", "must look like"),
    ("scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==", "must look like"),
    ("scrypt$16385$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==", "power of two"),
    ("scrypt$1048576$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==", "more than 64 MiB"),
    ("scrypt$2$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==", "N must be a whole number from 1024"),
    ("scrypt$16384$x$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==", "r must be a whole number"),
    ("scrypt$16384$8$-1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==", "p must be a whole number"),
    ("scrypt$16384$8$1$not base64!$aGFzaGhhc2hoYXNoaGFzaA==", "the salt must be base64"),
    ("scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaA", "the hash must be base64"),
    ("scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==", "the salt must be 16 to 64 bytes, got 4"),
    ("scrypt$١٦٣٨٤$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==", "N must be a whole number"),
    (12345, "must be text"),
])
def test_a_malformed_hash_is_named_and_never_matches(hashed, words):
    assert words in hash_problem(hashed)
    assert check_pin("4831", hashed) is False


def test_config_check_refuses_a_garbage_configured_hash_and_warns_of_the_default(make_config, store):
    with pytest.raises(ConfigError, match="kiosk.staff_pin_hash: must look like"):
        check_configured_pin(make_config(kiosk={"staff_pin_hash": "1234"}))
    assert check_configured_pin(make_config()) == [DEFAULT_PIN_WARNING]
    assert check_configured_pin(make_config(), store=store) == [DEFAULT_PIN_WARNING]
    good = make_config(kiosk={"staff_pin_hash": hash_pin("4831")})
    assert check_configured_pin(good, store=store) == []
    assert pin_in_force(store, good)[1] == "config"
    set_pin(store, "2468", actor="test")
    assert check_configured_pin(make_config(), store=store) == []
    store.set_setting("kiosk.staff_pin_hash", "scrypt$broken")
    [warning] = check_configured_pin(make_config(), store=store)
    assert "damaged" in warning and "set-pin" in warning


# -- lock-out ------------------------------------------------------------------------------------

@pytest.fixture
def timed(tmp_path, config):
    now = [dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.timezone.utc)]
    with Store(tmp_path / "pin.db", clock=lambda: now[0]) as store:
        yield store, PinGuard(store, config=config), now


def wrong(guard, n=MAX_TRIES):
    for _ in range(n):
        result = guard.attempt("9999")
    return result


def test_the_lock_out_doubles_but_never_passes_fifteen_minutes(timed):
    store, guard, now = timed
    seen = []
    for _ in range(8):
        result = wrong(guard)
        assert result.result == "locked"
        seen.append(result.locked_seconds)
        now[0] += dt.timedelta(seconds=result.locked_seconds + 1)
    assert seen == [60, 120, 240, 480, 900, 900, 900, 900]
    assert MAX_LOCK == 15 * 60 and max(seen) == MAX_LOCK
    assert guard.attempt("1234").result == "ok"


def test_the_right_pin_is_refused_while_locked(timed):
    store, guard, now = timed
    wrong(guard)
    now[0] += dt.timedelta(seconds=FIRST_LOCK - 1)
    assert guard.attempt("1234").result == "locked"
    now[0] += dt.timedelta(seconds=2)
    assert guard.attempt("1234").result == "ok"


def test_a_quiet_half_hour_forgets_wrong_pins_and_lock_outs(timed):
    store, guard, now = timed
    assert wrong(guard, MAX_TRIES - 1).result == "wrong"
    now[0] += dt.timedelta(seconds=QUIET)
    assert wrong(guard, MAX_TRIES - 1).result == "wrong"  # the count started again
    now[0] += dt.timedelta(seconds=QUIET - 1)
    assert guard.attempt("9999").result == "locked"  # ...and within the quiet period it adds up
    for _ in range(3):  # three lock-outs in a row: 2, 4, 8 minutes
        now[0] += dt.timedelta(seconds=guard.locked_for() + 1)
        last = wrong(guard)
    assert last.locked_seconds == 8 * FIRST_LOCK
    now[0] += dt.timedelta(seconds=last.locked_seconds + QUIET)
    assert wrong(guard).locked_seconds == FIRST_LOCK  # quiet long enough: back to the first lock-out


def test_each_lock_out_is_a_fact_in_the_state_log_and_the_audit_log(timed):
    store, guard, now = timed
    wrong(guard)
    [locked] = store.state_history(COMPONENT)
    until = now[0] + dt.timedelta(seconds=FIRST_LOCK)
    assert (locked["state"], locked["reason"]) == ("locked", "wrong_pins")
    assert locked["detail"] == {"until": iso(until), "seconds": FIRST_LOCK, "lockouts": 1}
    assert store.audit_entries(action="staff.locked")[0]["detail"]["until"] == iso(until)
    now[0] += dt.timedelta(seconds=FIRST_LOCK + 5)
    assert guard.locked_for() == 0
    assert [(s["state"], s["reason"]) for s in store.state_history(COMPONENT)] == [("locked", "wrong_pins"),
                                                                                  ("unlocked", "expired")]
    assert store.audit_entries(action="staff.pin_unlocked")[0]["detail"]["reason"] == "expired"
    assert guard.locked_for() == 0 and len(store.state_history(COMPONENT)) == 2  # noted once


def test_unlock_ends_a_lock_out_and_is_audited(timed):
    store, guard, now = timed
    wrong(guard)
    cleared = guard.unlock(actor="cli:root")
    assert cleared == {"was_locked": True, "seconds_left": FIRST_LOCK, "failures": 0, "lockouts": 1}
    assert guard.attempt("1234").result == "ok"
    assert [(s["state"], s["reason"]) for s in store.state_history(COMPONENT)] == [("locked", "wrong_pins"),
                                                                                  ("unlocked", "unlock")]
    entry = store.audit_entries(action="staff.pin_unlock")[0]
    assert entry["actor"] == "cli:root" and entry["detail"]["was_locked"] is True
    guard.attempt("9999")
    assert guard.unlock(actor="cli:root") == {"was_locked": False, "seconds_left": 0, "failures": 1,
                                              "lockouts": 0}
    assert guard.state() == {"failures": 0, "lockouts": 0, "locked_until": None}


@pytest.mark.parametrize("longer", [dt.timedelta(hours=24), dt.timedelta(seconds=MAX_LOCK + 60)])
def test_a_longer_lock_left_by_an_older_version_is_cut_to_the_cap(timed, longer):
    store, guard, now = timed
    store.set_setting(SETTING_GUARD, {"failures": 0, "lockouts": 11, "locked_until": iso(now[0] + longer)})
    assert guard.locked_for() == MAX_LOCK
    assert store.last_state(COMPONENT)["reason"] == "capped"
    now[0] += dt.timedelta(seconds=MAX_LOCK + 1)
    assert guard.attempt("1234").result == "ok"


@pytest.mark.parametrize("garbage", [["x"], "locked", {"failures": "many", "lockouts": None,
                                                         "locked_until": "tomorrow", "last_wrong": 5}])
def test_a_damaged_guard_setting_does_not_break_the_pin_pad(timed, garbage):
    store, guard, now = timed
    store.set_setting(SETTING_GUARD, garbage)
    assert guard.locked_for() == 0
    assert guard.attempt("9999").result == "wrong"
    assert guard.attempt("1234").result == "ok"
