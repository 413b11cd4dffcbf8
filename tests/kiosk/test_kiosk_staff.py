"""Staff mode: hidden entry, PIN lock-out, and every action, audited."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import pytest
from kiosk_harness import seen

from kiosk.pin import FIRST_LOCK, PinGuard, check_pin, hash_pin, set_pin
from kiosk.widgets import walk
from pishkhan.boards.installed import current_board, unavailable_services
from pishkhan.config import parse_config
from pishkhan.boards.notices import active_notices
from pishkhan.text.persian import to_persian_digits
from pishkhan.queue.core import Queue
from pishkhan.store.database import Store
from pishkhan.render.typeset import check_glyphs


def actions(store, prefix="staff."):
    return [e["action"] for e in reversed(store.audit_entries(limit=500)) if e["action"].startswith(prefix)]


def open_pin_pad(d):
    d.kiosk.long_press_seconds = 0.3
    d.touch_at(15, d.kiosk.height - 15, hold=0.5)  # long press, top-left corner
    assert d.kiosk.current == "pin"


def enter_pin(d, pin):
    for digit in pin:
        d.tap(f"pin:{digit}")
    d.tap("pin:OK")


def enter_staff(d):
    open_pin_pad(d)
    enter_pin(d, "1234")
    assert d.kiosk.current == "staff" and d.kiosk.staff_mode


def test_a_short_corner_touch_does_not_open_staff_mode(make_kiosk, open_store):
    d = make_kiosk(open_store)
    d.kiosk.long_press_seconds = 0.5
    d.touch_at(15, d.kiosk.height - 15)
    assert d.kiosk.current != "pin"


def test_five_wrong_pins_lock_staff_mode(make_kiosk, open_store, tmp_path):
    d = make_kiosk(open_store)
    open_pin_pad(d)
    seen(d.screenshot(tmp_path / "pin.png"), "رمز کارمند را وارد کنید")
    d.tap("pin:1")
    d.tap("pin:2")
    dots = d.find("pin-dots").text
    assert dots.count("•") == 2 and "1" not in dots and "۱" not in dots
    check_glyphs(dots, "Regular")  # the staff member sees each digit land, never the digit
    d.tap("pin:C")
    d.tap("pin:C")
    assert d.find("pin-dots").text.strip() == ""
    for attempt in range(1, 6):
        enter_pin(d, "0000")
        assert d.kiosk.current == "pin" and not d.kiosk.staff_mode
        if attempt < 5:
            assert "نادرست" in d.find("message").text
    assert "بسته است" in d.find("message").text
    seen(d.screenshot(tmp_path / "locked.png"), "ورود کارمند تا")
    enter_pin(d, "1234")  # the right PIN is refused while locked
    assert d.kiosk.current == "pin" and not d.kiosk.staff_mode
    assert actions(open_store) == ["staff.pin_wrong"] * 4 + ["staff.locked", "staff.pin_refused_locked"]
    audit = json.dumps(open_store.audit_entries(limit=50), ensure_ascii=False)
    times = r"\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)?"  # a time's microseconds may hold 0000 by chance
    assert "0000" not in re.sub(times, "", audit)


def test_lock_out_grows_and_persists(tmp_path, config):
    now = [dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.timezone.utc)]
    with Store(tmp_path / "pin.db", clock=lambda: now[0]) as store:
        guard = PinGuard(store, config=config)
        for _ in range(5):
            result = guard.attempt("9999")
        assert result.result == "locked" and result.locked_seconds == FIRST_LOCK
        now[0] += dt.timedelta(seconds=FIRST_LOCK + 1)
        for _ in range(5):
            result = guard.attempt("9999")
        assert result.locked_seconds == 2 * FIRST_LOCK
    with Store(tmp_path / "pin.db", clock=lambda: now[0]) as store:  # a restart keeps the lock
        guard = PinGuard(store, config=config)
        assert guard.attempt("1234").result == "locked"
        now[0] += dt.timedelta(seconds=2 * FIRST_LOCK + 1)
        assert guard.attempt("1234").result == "ok"
        assert guard.state() == {"failures": 0, "lockouts": 0, "locked_until": None}


def test_pin_is_stored_as_a_scrypt_hash(store, config):  # 4831: 4321 is now refused as a run downwards
    hashed = hash_pin("4831")
    assert hashed.startswith("scrypt$16384$8$1$") and "4831" not in hashed
    assert check_pin("4831", hashed) and not check_pin("4832", hashed)
    set_pin(store, "4831", actor="test")
    guard = PinGuard(store, config=config)
    assert guard.attempt("1234").result == "wrong"
    assert guard.attempt("4831").result == "ok"
    assert "4831" not in json.dumps([dict(r) for r in store.query("SELECT * FROM settings")])
    with pytest.raises(Exception):
        hash_pin("12")


def test_staff_mark_a_service_unavailable_and_post_a_notice(make_kiosk, open_store, tmp_path):
    d = make_kiosk(open_store)
    enter_staff(d)
    seen(d.screenshot(tmp_path / "menu.png"), "حالت کارمند", "اطلاعیه‌ها", "نصب تابلو از حافظه", "اطلاعات دستگاه")
    d.tap("staff_services")
    d.tap("unavailable:ID-01")
    assert d.kiosk.current == "staff_text"
    assert "«ثبت‌نام و صدور اولیه کارت هوشمند ملی»" in d.find("message").text  # which service, whole
    d.tap("preset:0")
    assert d.kiosk.current == "staff_services"
    assert unavailable_services(open_store) == {"ID-01": "سامانه قطع است"}
    d.tap("home")
    d.tap("staff_notices")
    d.tap("new-notice")
    for ch in ["ب", "ر", "ق", "key:space", "ق", "ط", "ع", "key:space", "ا", "س", "ت"]:
        d.tap(ch if ch.startswith("key:") else f"key:{ch}")
    assert d.find("entry").text == "برق قطع است"
    d.tap("submit")
    assert [n.text for n in active_notices(open_store)] == ["برق قطع است"]
    d.tap("home")
    d.tap("staff_exit")
    assert d.kiosk.current == "attract" and not d.kiosk.staff_mode
    assert "برق قطع است" in d.find("notices").text
    d.tap("start")
    assert "سامانه قطع است" in d.find("service:ID-01").children[0].text
    d.tap("service:ID-01")
    assert d.find("unavailable") is not None
    names = {getattr(w, "name", "") for w in walk(d.kiosk.screen)}
    assert "unavailable" in names and "take-ticket" not in names and "priority-ticket" not in names, names
    seen(d.screenshot(tmp_path / "unavailable.png"), "سامانه قطع است")
    assert actions(open_store) == ["staff.enter", "staff.service_unavailable", "staff.notice_post", "staff.leave"]


def test_importing_a_bad_board_leaves_the_old_one(make_kiosk, open_store, config, issuer_key, sample_doc, tmp_path):
    usb = tmp_path / "usb"
    (usb / "boards").mkdir(parents=True)
    v2 = copy.deepcopy(sample_doc)
    v2["version"] = 2
    good = issuer_key.sign(v2)
    bad = copy.deepcopy(good)
    bad["payload"]["categories"][0]["services"][0]["government_fee"] += 1  # altered after signing
    (usb / "bad.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    (usb / "old.json").write_text(json.dumps(issuer_key.sign(sample_doc), ensure_ascii=False), encoding="utf-8")
    (usb / "boards" / "new.json").write_text(json.dumps(good, ensure_ascii=False), encoding="utf-8")
    cfg = parse_config({"device": {"state_dir": config.get("device.state_dir")}, "hours": {"always_open": True},
                        "kiosk": {"usb_mount": str(usb)}})
    before = current_board(open_store, "national")
    d = make_kiosk(open_store, cfg=cfg)
    enter_staff(d)
    d.tap("staff_usb")
    for name in ("bad.json", "old.json"):
        d.tap(f"usb-file:{name}")
        assert "نصب نشد" in d.find("message").text
        after = current_board(open_store, "national")
        assert (after.board.version, after.verification_code) == (1, before.verification_code)
        assert d.kiosk.model.board.version_label == "1"
    seen(d.screenshot(tmp_path / "refused.png"), "تابلو نصب نشد", "تابلوی قبلی باقی ماند")
    d.tap("usb-file:new.json")
    assert "نصب شد" in d.find("message").text
    assert current_board(open_store, "national").board.version == 2
    assert d.kiosk.model.board.version_label == "2"
    assert actions(open_store, "board.") == ["board.install", "board.refused", "board.refused", "board.install"]
    imports = [e["detail"]["ok"] for e in reversed(open_store.audit_entries(action="staff.board_import"))]
    assert imports == [False, False, True]


def test_staff_counters_queue_reprint_info_and_timeout(make_kiosk, open_store, config, tmp_path):
    now = [5000.0]
    d = make_kiosk(open_store, monotonic=lambda: now[0])
    q = Queue(open_store, config)
    first, second, third = (q.issue("ID-01") for _ in range(3))
    enter_staff(d)

    d.tap("staff_counters")
    d.tap("counter:1")
    assert 1 not in q.open_counters()
    d.tap("counter:1")
    assert 1 in q.open_counters()
    d.tap("back")

    d.tap("staff_queue")
    d.tap(f"transfer:{first.id}:C")
    assert q.ticket(first.id).state == "transferred"
    d.tap(f"cancel:{second.id}")
    assert q.ticket(second.id).state == "cancelled"
    called = q.call_next(1)
    d.tap("recall:1")
    assert q.ticket(called.id).recalls == 1
    d.tap("end-of-day")
    assert q.waiting() > 0  # asks for confirmation first, on the button itself
    assert d.find("end-of-day").text == "بله، روز کاری تمام شود"
    d.tap("end-of-day")
    assert q.waiting() == 0
    d.tap("back")

    jobs = len(d.printer.jobs)
    d.tap("staff_reprint")
    assert len(d.printer.jobs) == jobs + 1 and "دوباره چاپ شد" in d.find("message").text

    d.tap("staff_info")
    board = d.kiosk.model.board
    texts = " ".join(w.text for w in d.kiosk.screen.walk() if str(getattr(w, "name", "")).startswith("info:"))
    assert "dev-0001" in texts and board.verification_code in texts and "نامشخص" in texts
    assert f"نسخه {to_persian_digits(board.version_label)}،" in texts  # Persian digits in Persian text
    seen(d.screenshot(tmp_path / "info.png"), "اطلاعات دستگاه", "شناسه دستگاه", "تابلو")

    now[0] += config.get("kiosk.staff_timeout") + 1
    d.kiosk.tick()
    assert d.kiosk.current == "attract" and not d.kiosk.staff_mode
    assert actions(open_store) == ["staff.enter", "staff.counter_close", "staff.counter_open", "staff.transfer",
                                   "staff.cancel", "staff.recall", "staff.end_of_day", "staff.reprint",
                                   "staff.device_info", "staff.leave"]
    assert open_store.audit_entries(action="staff.leave")[0]["detail"]["reason"] == "timeout"
