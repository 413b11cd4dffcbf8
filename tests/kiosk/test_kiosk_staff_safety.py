"""Staff mode against a careless setup and a hostile stick: the default PIN is shouted about,
a lock-out shows at once, and the USB screen always answers in words."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os

import pytest
from kiosk_harness import pump, seen

from kivy.core.window import Window

from kiosk.pin import PinGuard, set_pin
from kiosk.widgets import DANGER, Btn, overflows, walk
from pishkhan.boards.installed import current_board
from pishkhan.config import parse_config


def usb_cfg(config, mount):
    return parse_config({"device": {"state_dir": config.get("device.state_dir")}, "hours": {"always_open": True},
                         "kiosk": {"usb_mount": str(mount)}})


def open_pad(d):
    d.kiosk.open_pin_pad()
    pump()  # laid out before the first touch


def enter(d, pin="1234"):
    open_pad(d)
    for digit in pin:
        d.tap(f"pin:{digit}")
    d.tap("pin:OK")
    assert d.kiosk.current == "staff", d.find("message").text


def test_the_default_pin_is_shown_on_the_pad_and_shouted_in_the_menu(make_kiosk, open_store, tmp_path):
    d = make_kiosk(open_store)
    open_pad(d)
    note = d.find("pin-note")
    assert "رمز پیش‌فرض" in note.text and "1234" not in note.text and "۱۲۳۴" not in note.text  # not told to all
    seen(d.screenshot(tmp_path / "pad.png"), "رمز پیش‌فرض کارخانه")
    enter(d)
    line = d.find("message")
    assert getattr(line, "warns_default_pin", False) and "۱۲۳۴" in line.text and "pishkhan kiosk set-pin" in line.text
    assert tuple(line._bg[0].rgba) == DANGER  # on red
    seen(d.screenshot(tmp_path / "menu.png"), "هشدار", "رمز پیش‌فرض")
    d.tap("staff_reprint")  # an action's message keeps a short warning under it
    first, *_, last = d.find("message").text.splitlines()
    assert first == "هنوز نوبتی صادر نشده است." and last == "هشدار: رمز پیش‌فرض ۱۲۳۴ هنوز در کار است!"
    d.kiosk.lang = "en"
    d.kiosk.home()
    assert "still the default 1234" in d.find("message").text


def test_with_a_pin_set_nothing_warns(make_kiosk, open_store):
    set_pin(open_store, "4831", actor="test")
    d = make_kiosk(open_store)
    d.kiosk.open_pin_pad()
    assert "pin-note" not in {getattr(w, "name", "") for w in walk(d.kiosk.screen)}
    enter(d, "4831")
    line = d.find("message")
    assert not getattr(line, "warns_default_pin", False) and "هشدار" not in line.text


def test_a_damaged_pin_setting_is_named_on_the_pad(make_kiosk, open_store):
    open_store.set_setting("kiosk.staff_pin_hash", "scrypt$garbage")
    d = make_kiosk(open_store)
    d.kiosk.open_pin_pad()
    assert "خراب" in d.find("pin-note").text


def test_the_pad_says_at_once_that_staff_mode_is_locked(make_kiosk, open_store):
    d = make_kiosk(open_store)
    guard = PinGuard(open_store, config=d.config)
    for _ in range(5):
        guard.attempt("9999")
    d.kiosk.open_pin_pad()
    assert "بسته است" in d.find("message").text  # before any key is pressed


@pytest.fixture
def stick(tmp_path, issuer_key, sample_doc):
    root = tmp_path / "usb"
    root.mkdir()
    v2 = copy.deepcopy(sample_doc)
    v2["version"] = 2
    (root / "new.json").write_text(json.dumps(issuer_key.sign(v2), ensure_ascii=False), encoding="utf-8")
    (root / "swap.json").write_text("{}", encoding="utf-8")
    os.mkfifo(root / "fifo.json")
    os.symlink("/dev/zero", root / "zero.json")
    os.symlink(root / "gone", root / "dangling.json")
    os.symlink("/etc/passwd", root / "passwd.json")
    return root


def test_a_hostile_stick_lists_only_its_boards_and_every_touch_answers(make_kiosk, open_store, config, stick,
                                                                        tmp_path):
    d = make_kiosk(open_store, cfg=usb_cfg(config, stick))
    enter(d)
    d.tap("staff_usb")
    buttons = sorted(w.name for w in walk(d.kiosk.screen) if str(getattr(w, "name", "")).startswith("usb-file:"))
    assert buttons == ["usb-file:new.json", "usb-file:swap.json"]
    assert "۴ مورد" in d.find("usb-skipped").text  # the FIFO and three links
    before = current_board(open_store, "national").verification_code
    (stick / "swap.json").unlink()
    os.mkfifo(stick / "swap.json")  # changed after the list was made: refused, no waiting
    d.tap("usb-file:swap.json")
    message = d.find("message").text
    assert "نصب نشد" in message and "فایل از حافظه USB خوانده نشد" in message and "FIFO" in message
    assert current_board(open_store, "national").verification_code == before
    seen(d.screenshot(tmp_path / "fifo.png"), "تابلو نصب نشد", "تابلوی قبلی باقی ماند")
    d.tap("usb-file:new.json")
    assert "نصب شد" in d.find("message").text and current_board(open_store, "national").board.version == 2


def test_a_missing_stick_and_a_failing_store_still_get_words(make_kiosk, open_store, config, stick, tmp_path):
    d = make_kiosk(open_store, cfg=usb_cfg(config, tmp_path / "not-plugged-in"))
    enter(d)
    d.tap("staff_usb")
    assert "حافظه USB پیدا نشد" in d.find("usb-problem").text
    d.kiosk.close()

    d = make_kiosk(open_store, cfg=usb_cfg(config, stick))
    enter(d)
    d.tap("staff_usb")
    real = d.kiosk.model.store
    from pishkhan.store.database import Store

    closed = Store(tmp_path / "closed.db")
    closed.close()
    d.kiosk.staff_actions.model.store = closed  # the store fails under the import: sqlite3 raises
    try:
        d.tap("usb-file:new.json")
    finally:
        d.kiosk.staff_actions.model.store = real
    assert "خطای پیش‌بینی‌نشده" in d.find("message").text


@pytest.fixture(params=[(1280, 800), (800, 1280)], ids=["landscape", "portrait"])
def window(request):
    before = tuple(Window.size)
    Window.size = request.param
    pump(frames=5)
    yield request.param
    Window.size = before
    pump(frames=5)


def test_the_warnings_and_notes_fit_in_both_orientations(window, make_kiosk, open_store, config, stick):
    d = make_kiosk(open_store, cfg=usb_cfg(config, stick))
    problems = []
    for lang in ("fa", "en"):
        d.kiosk.lang = lang
        for screen in ("pin", "staff", "staff_usb"):
            if screen == "pin":
                d.kiosk.staff_mode = False
                d.kiosk.open_pin_pad()
            else:
                d.kiosk.enter_staff()
                if screen != "staff":
                    d.tap(screen)
            pump(frames=4)
            problems += [(lang, screen, p) for p in overflows(d.kiosk.screen)]
            for w in walk(d.kiosk.screen):
                if isinstance(w, Btn) and w.opacity > 0 and w.width > 0:
                    x0, y0 = w.to_window(w.x, w.y)
                    if x0 < -1 or x0 + w.width > Window.width + 1 or y0 < -1 or y0 + w.height > Window.height + 1:
                        problems.append((lang, screen, w.name, "off screen"))
            if screen == "staff":
                assert "page-next" not in {getattr(w, "name", "") for w in walk(d.kiosk.screen)}, (lang, window)
    assert problems == []
