"""Hostile and broken boards, envelopes, notices and CLI arguments.

Every class of trick is refused at validation with the path and what was
wrong, never a traceback: text that would read differently from what was
signed, text with nothing visible, sizes and numbers out of range, deep
nesting, duplicate and unknown keys. What a terminal prints is escaped.
"""

from __future__ import annotations

import copy
import json
import os
import unicodedata

import pytest

from cli_runner import run
from pishkhan.boards import document as D
from pishkhan.boards.document import load_board_file, parse_board
from pishkhan.boards.installed import current_board, install_board, set_unavailable
from pishkhan.boards.jsonlimits import MAX_DEPTH, MAX_DOCUMENT_BYTES, load_json
from pishkhan.boards.layering import preview
from pishkhan.boards.notices import active_notices, post_notice
from pishkhan.boards.signing import SigningKey, verify
from pishkhan.boards.trust import trust_key
from pishkhan.exc import BoardInvalid, BoardRefused, PishkhanError, SignatureInvalid
from pishkhan.text.persian import format_money
from pishkhan.text.safety import (check_text, json_terminal_safe, quoted, refusal, terminal_safe,
                                  text_problems)

GOOD = {
    "format": "pishkhan.board/1", "issuer": "وزارت ارتباطات", "scope": {"level": "national"},
    "version": 3, "effective_from": "2026-03-21",
    "categories": [
        {"code": "id", "title": "کارت ملی", "title_en": "ID card", "services": [
            {"code": "ID-1", "title": "صدور کارت", "government_fee": 3000000, "office_fee": 1000000,
             "documents": ["شناسنامه"], "notes": "حضور متقاضی الزامی است", "title_en": "Card issue"},
            {"code": "ID-2", "title": "المثنی", "government_fee": 0, "office_fee": 500000}]},
        {"code": "post", "title": "پست", "services": [
            {"code": "PO-1", "title": "کد پستی", "title_en": "Postcode", "government_fee": 0,
             "office_fee": 200000, "notes": ""}]},
    ],
    "notices": ["دفتر پنجشنبه‌ها تا ساعت ۱۲ باز است"],
}

#: Every text field of a board: (path as shown in errors, setter).
FIELDS = {
    "issuer": lambda d, v: d.update(issuer=v),
    "categories[0].title": lambda d, v: d["categories"][0].update(title=v),
    "categories[0].title_en": lambda d, v: d["categories"][0].update(title_en=v),
    "categories[0].services[0].title": lambda d, v: d["categories"][0]["services"][0].update(title=v),
    "categories[0].services[0].title_en": lambda d, v: d["categories"][0]["services"][0].update(title_en=v),
    "categories[0].services[0].documents[0]": lambda d, v: d["categories"][0]["services"][0]["documents"].__setitem__(0, v),
    "categories[0].services[0].notes": lambda d, v: d["categories"][0]["services"][0].update(notes=v),
    "notices[0]": lambda d, v: d["notices"].__setitem__(0, v),
}


def with_field(path: str, value) -> dict:
    doc = copy.deepcopy(GOOD)
    FIELDS[path](doc, value)
    return doc


def errors_of(doc) -> list[str]:
    with pytest.raises(BoardInvalid) as info:
        parse_board(doc)
    return info.value.errors


def test_the_good_board_and_the_sample_pass(sample_doc):
    assert parse_board(copy.deepcopy(GOOD)).service("ID-1").total_fee == 4000000
    parse_board(sample_doc)


# --------------------------------------------------------------------- text

BIDI = {"\u202a": "LEFT-TO-RIGHT EMBEDDING", "\u202b": "RIGHT-TO-LEFT EMBEDDING",
        "\u202c": "POP DIRECTIONAL FORMATTING", "\u202d": "LEFT-TO-RIGHT OVERRIDE",
        "\u202e": "RIGHT-TO-LEFT OVERRIDE", "\u2066": "LEFT-TO-RIGHT ISOLATE",
        "\u2067": "RIGHT-TO-LEFT ISOLATE", "\u2068": "FIRST STRONG ISOLATE",
        "\u2069": "POP DIRECTIONAL ISOLATE"}
MARKS = {"\u200e": "LEFT-TO-RIGHT MARK", "\u200f": "RIGHT-TO-LEFT MARK", "\u061c": "ARABIC LETTER MARK"}
CONTROLS = {"\x00": "NULL", "\x1b": "ESCAPE", "\x07": "BELL", "\x7f": "DELETE", "\t": "CHARACTER TABULATION",
            "\r": "CARRIAGE RETURN", "\n": "LINE FEED", "\x85": "NEXT LINE", "\x9b": "CONTROL CHARACTER",
            "\u2028": "LINE SEPARATOR", "\u2029": "PARAGRAPH SEPARATOR"}
INVISIBLE = {"\ufeff": "ZERO WIDTH NO-BREAK SPACE", "\u200b": "ZERO WIDTH SPACE", "\u2060": "WORD JOINER",
             "\u00ad": "SOFT HYPHEN", "\u0600": "ARABIC NUMBER SIGN", "\u206e": "NATIONAL DIGIT SHAPES",
             "\U000e0041": "TAG LATIN CAPITAL LETTER A", "\ufff9": "INTERLINEAR ANNOTATION ANCHOR",
             "\u180e": "MONGOLIAN VOWEL SEPARATOR"}
NOT_CHARACTERS = {"\ud800": "UNPAIRED SURROGATE", "\udfff": "UNPAIRED SURROGATE", "\ufdd0": "NONCHARACTER",
                  "\uffff": "NONCHARACTER", "\U0010fffe": "NONCHARACTER", "\ue000": "PRIVATE-USE CHARACTER",
                  "\U000f0000": "PRIVATE-USE CHARACTER", "\U0003fffd": "UNASSIGNED CODE POINT"}
REFUSED = BIDI | MARKS | CONTROLS | INVISIBLE | NOT_CHARACTERS


@pytest.mark.parametrize("path", list(FIELDS))
@pytest.mark.parametrize("ch", list(BIDI), ids=[f"U+{ord(c):04X}" for c in BIDI])
def test_bidi_controls_are_refused_in_every_field(path, ch):
    errors = errors_of(with_field(path, f"صدور {ch}0001"))
    assert errors == [f"{path}: U+{ord(ch):04X} {BIDI[ch]} at position 6 is not allowed "
                      "(a bidi control: it makes text read in another order than it is written)"]


def test_the_issue_examples_are_refused():
    # an override drew this notice's fee as 4,250,000 and a title's 0001 as 1000
    assert errors_of(with_field("notices[0]", "هزینه: \u202e000,052,4\u202c ریال")) == [
        "notices[0]: U+202E RIGHT-TO-LEFT OVERRIDE at position 8 is not allowed (a bidi control: it makes "
        "text read in another order than it is written); 1 more such character follows"]
    assert errors_of(with_field("categories[0].services[0].title", "\u202e0001"))[0].startswith(
        "categories[0].services[0].title: U+202E RIGHT-TO-LEFT OVERRIDE at position 1 is not allowed")


@pytest.mark.parametrize("group", [MARKS, CONTROLS, INVISIBLE, NOT_CHARACTERS],
                         ids=["marks", "controls", "invisible", "not-characters"])
@pytest.mark.parametrize("path", ["issuer", "categories[0].services[0].title", "categories[0].services[0].notes",
                                  "categories[0].services[0].documents[0]", "notices[0]"])
def test_marks_controls_invisible_and_noncharacters_are_refused(group, path):
    for ch, name in group.items():
        errors = errors_of(with_field(path, f"گواهی {ch}ویژه"))
        assert errors[0].startswith(f"{path}: U+{ord(ch):04X} {name} at position 7 is not allowed ("), errors


@pytest.mark.parametrize("text", ["", " ", "\u3000 \u00a0", "\u200c", "\u200d\u200c", "\ufeff", "\u200b\u200b",
                                  " \u2060 ", "\u0651\u064e", "\u200c\u064b "],
                         ids=["empty", "space", "ideographic+nbsp", "zwnj", "zwj+zwnj", "bom", "zwsp",
                              "word-joiner", "marks-only", "zwnj+mark"])
@pytest.mark.parametrize("path", ["issuer", "categories[0].title", "categories[0].services[0].title",
                                  "categories[0].services[0].documents[0]", "notices[0]"])
def test_text_with_nothing_visible_is_refused(text, path):
    errors = errors_of(with_field(path, text))
    if path.endswith("]") and not text.strip():  # an item of an array of strings, as before
        assert errors == [f"{path}: must be a non-empty string, got {json.dumps(text, ensure_ascii=False)}"]
    else:
        assert errors[-1] in (f"{path}: must not be empty",
                              f"{path}: has no visible character (only spaces, zero-width characters or marks)"), errors


def test_notes_may_be_empty_but_not_invisible():
    parse_board(with_field("categories[0].services[0].notes", ""))
    assert errors_of(with_field("categories[0].services[0].notes", "\u200c")) == [
        "categories[0].services[0].notes: has no visible character (only spaces, zero-width characters or marks)"]


@pytest.mark.parametrize("text", [
    "ثبت\u200cنام و صدور کارت", "گواهی\u200dها", "کد ۱۲۳۴ و ٤٥٦ و 789", "«تمدید» گذرنامه، روادید؛ مهر",
    "۱۲٬۵۰۰٬۰۰۰ ریال", "Smart ID (PIN) 10%", "صدور\u00a0کارت", "مُهر شُدّه", "☃ 漢字 ✓", "Ünïcödé ﷼"])
def test_persian_and_ordinary_text_stays_allowed(text):
    for path in FIELDS:
        parse_board(with_field(path, text))
    assert check_text(text, "t", max_len=100) == []


def test_stacked_combining_marks_are_refused():
    assert errors_of(with_field("issuer", "صد" + "\u0651" * 5 + "ور")) == [
        "issuer: has 5 combining marks in a row at position 3; at most 4 are allowed"]
    assert errors_of(with_field("issuer", "Zalgo" + "\u0301\u0302\u0303\u0304\u0305\u0306" + "!"))[0] == \
        "issuer: has 6 combining marks in a row at position 6; at most 4 are allowed"
    parse_board(with_field("issuer", "شَدّة" + "\u0651\u064e\u0670"))


def test_line_feed_only_where_a_field_allows_lines():
    assert check_text("سطر یک\nسطر دو", "schedule.note", max_len=50, lines=True) == []
    assert check_text("سطر یک\nسطر دو", "schedule.note", max_len=50) == [
        "schedule.note: U+000A LINE FEED at position 7 is not allowed (a control character; this field is one line)"]
    assert check_text("a\r\nb", "x", max_len=50, lines=True)[0].startswith("x: U+000D CARRIAGE RETURN")


def test_only_zwnj_and_zwj_of_the_format_characters_are_allowed():
    allowed = [chr(cp) for cp in range(0x110000)
               if unicodedata.category(chr(cp)) == "Cf" and refusal(chr(cp)) is None]
    assert allowed == ["\u200c", "\u200d"]


def test_every_refused_character_is_named_with_its_position():
    for ch, name in REFUSED.items():
        problems = text_problems(f"ab{ch}", max_len=10)
        assert problems and problems[0].startswith(f"U+{ord(ch):04X} {name} at position 3 is not allowed"), problems


def test_a_notice_posted_by_staff_is_checked(store):
    for bad in ("هزینه: \u202e000,052,4\u202c ریال", "برق \x1b[2J قطع است", "\u200c\u200c", "\ufeff"):
        with pytest.raises(PishkhanError, match="notice"):
            post_notice(store, bad, actor="test")
    with pytest.raises(PishkhanError, match="at most 280 characters"):
        post_notice(store, "ا" * 281, actor="test")
    assert active_notices(store) == []
    # line breaks and tabs typed by staff are white space: the notice is one line
    notice = post_notice(store, "برق\tساختمان\nقطع است", actor="test")
    assert notice.text == "برق ساختمان قطع است"
    post_notice(store, "ثبت\u200cنام تا ساعت ۱۲", actor="test")
    assert [n.text for n in active_notices(store)] == ["برق ساختمان قطع است", "ثبت\u200cنام تا ساعت ۱۲"]


def test_an_unavailable_reason_shown_to_customers_is_checked(store):
    for bad in ("قطع \u202eسامانه", "\x00", "\u200b", "د" * 121):
        with pytest.raises(PishkhanError, match="reason"):
            set_unavailable(store, "ID-1", bad, actor="test")
    set_unavailable(store, "ID-1", "سامانه\u200cی ثبت قطع است", actor="test")


# --------------------------------------------------------------------- amounts

@pytest.mark.parametrize("value", ["4250000", "۴۲۵۰۰۰۰", 4250000.0, True, None, b"1"])
def test_an_amount_is_formatted_only_from_a_number(value):
    with pytest.raises(TypeError, match="whole number of rials"):
        format_money(value)


def test_amounts_on_the_board_pages_come_from_the_fees_not_the_text(render_config):
    """Digits in titles and notices never become an amount; each amount cell is the fee."""
    from pishkhan.render.board_layout import layout_pages

    doc = copy.deepcopy(GOOD)
    doc["categories"][0]["services"][0]["title"] = "صدور کارت ۹۹۹٬۹۹۹ ریال 123"
    doc["notices"] = ["هزینه: ۴٬۲۵۰٬۰۰۰ ریال"]
    board = preview(doc)
    pages = layout_pages(board, config=render_config, size=(1920, 1080))
    seen = {b.role: b.lines for p in pages for b in p.texts("amount:")}
    for s in board.services():
        for name, fee in (("government", s.government_fee), ("office", s.office_fee), ("total", s.total_fee)):
            assert seen[f"amount:{name}:{s.code}"] == (format_money(fee, with_unit=False),)


@pytest.fixture
def render_config(tmp_path):
    from pishkhan.config import parse_config

    return parse_config({"device": {"state_dir": str(tmp_path / "state")}})


# --------------------------------------------------------------------- terminal

def test_terminal_safe_escapes_what_a_terminal_acts_on():
    assert terminal_safe("a\x1b[31mb\u202ec\x00\nd\ud800") == "a\\x1b[31mb\\u202ec\\x00\nd\\ud800"
    assert terminal_safe("x\ny", newlines=False) == "x\\ny"
    assert terminal_safe("ثبت\u200cنام «۱۲»") == "ثبت\u200cنام «۱۲»"
    assert quoted("\u202e" + "ا" * 100) .endswith('…" (101 characters)')
    assert "\u202e" not in quoted("\u202e")


def test_terminal_safe_covers_every_control_and_format_character():
    for cp in list(range(0x110000)):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Zl", "Zp") or (cat == "Cf" and ch not in "\u200c\u200d"):
            assert terminal_safe(ch) != ch or ch == "\n", f"U+{cp:04X} is not escaped"


def test_json_for_the_terminal_is_the_same_json():
    data = {"title": "\u202e0001\x1b[2J\u2066", "tag": "\U000e0041", "lone": "\udc00", "ok": "ثبت\u200cنام"}
    text = json_terminal_safe(json.dumps(data, ensure_ascii=False, indent=2))
    assert json.loads(text) == data
    assert all(terminal_safe(ch) == ch for ch in text)


@pytest.fixture
def cli_env(tmp_path):
    env = dict(os.environ, PISHKHAN_STATE_DIR=str(tmp_path / "state"))
    env.pop("PISHKHAN_CONFIG", None)
    return env


def test_board_show_and_validate_print_control_characters_escaped(tmp_path, cli_env, sample_doc):
    keys = tmp_path / "keys"
    run("keys", "new", "--out", keys, env=cli_env)
    run("keys", "trust", keys / "issuer.pub", env=cli_env)
    signed = tmp_path / "signed.json"
    (tmp_path / "board.json").write_text(json.dumps(sample_doc, ensure_ascii=False), encoding="utf-8")
    run("board", "sign", tmp_path / "board.json", "--key", keys / "issuer.key", "--out", signed, env=cli_env)
    run("board", "install", signed, env=cli_env)
    # a reason written into the store by an older release, past today's checks
    from pishkhan.store.database import Store

    with Store(tmp_path / "state" / "pishkhan.db") as st:
        st.set_setting("unavailable_services", {"ID-01": "قطع\x1b[2J\u202e۱۰۰۰"})
    for args in (("board", "show"), ("board", "show", "--json")):
        out = run(*args, env=cli_env).stdout
        assert "\x1b" not in out and "\u202e" not in out, args
        assert ("\\x1b[2J\\u202e" if "--json" not in args else "\\u001b[2J\\u202e") in out, out[-400:]
    shown = json.loads(run("board", "show", "--json", env=cli_env).stdout)
    assert any(s["unavailable"] == "قطع\x1b[2J\u202e۱۰۰۰" for c in shown["categories"] for s in c["services"])
    # validate names an unknown key holding an escape, and a file name holding one, escaped
    doc = copy.deepcopy(sample_doc)
    doc["categories"][0]["services"][0]["x\x1b[31m"] = 1
    bad = tmp_path / "bad\x1b[0m.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    proc = run("board", "validate", bad, env=cli_env, ok=False)
    assert "\x1b" not in proc.stdout + proc.stderr
    assert 'unknown key "x\\u001b[31m"' in proc.stdout and "bad\\x1b[0m.json" in proc.stdout


# --------------------------------------------------------------------- sizes

LIMITS = [("issuer", D.MAX_ISSUER), ("categories[0].title", D.MAX_CATEGORY_TITLE),
          ("categories[0].title_en", D.MAX_CATEGORY_TITLE), ("categories[0].services[0].title", D.MAX_TITLE),
          ("categories[0].services[0].title_en", D.MAX_TITLE),
          ("categories[0].services[0].documents[0]", D.MAX_DOCUMENT),
          ("categories[0].services[0].notes", D.MAX_NOTES), ("notices[0]", D.MAX_NOTICE)]


@pytest.mark.parametrize("path,limit", LIMITS, ids=[p for p, _ in LIMITS])
def test_each_text_field_has_a_length_limit_named_when_passed(path, limit):
    parse_board(with_field(path, "ب" * limit))
    assert errors_of(with_field(path, "ب" * (limit + 1))) == [
        f"{path}: is {limit + 1:,} characters long; at most {limit:,} are allowed"]
    # a megabyte title without spaces is refused as quickly, and the message stays short
    errors = errors_of(with_field(path, "ب" * 1_000_000))
    assert errors == [f"{path}: is 1,000,000 characters long; at most {limit:,} are allowed"]


def test_limits_are_sane_for_a_real_board(sample_doc):
    assert D.MAX_SERVICES >= 500 and D.MAX_CATEGORIES >= 50 and D.MAX_TITLE >= 150
    assert 10 ** 12 <= D.MAX_FEE <= 2 ** 53 // 2 and D.MAX_VERSION == 2 ** 31 - 1


def _board_with_services(n: int, per_category: int = 100) -> dict:
    doc = copy.deepcopy(GOOD)
    doc["categories"] = [{"code": f"c{c}", "title": f"گروه {c}", "services": [
        {"code": f"S{c}-{i}", "title": f"خدمت {i}", "government_fee": i, "office_fee": 1}
        for i in range(min(per_category, n - c * per_category))]} for c in range((n + per_category - 1) // per_category)]
    return doc


def test_services_per_board_are_limited():
    assert sum(1 for _ in parse_board(_board_with_services(D.MAX_SERVICES)).services()) == D.MAX_SERVICES
    errors = errors_of(_board_with_services(D.MAX_SERVICES + 1))
    assert errors == ["categories[5].services: takes the board past 500 services, the most a board may have"]
    errors = errors_of(_board_with_services(D.MAX_SERVICES + 1, per_category=600))
    assert errors == ["categories[0].services: has 501 items; at most 500 are allowed"]
    errors = errors_of(_board_with_services(20_000, per_category=100))
    assert len(errors) <= D.MAX_ERRORS + 1 and errors[0].startswith("categories: has 200 items; at most 100")


def test_categories_documents_notices_and_hide_are_limited():
    doc = copy.deepcopy(GOOD)
    doc["categories"] = [{"code": f"c{i}", "title": "گروه", "services": []} for i in range(101)]
    assert errors_of(doc) == ["categories: has 101 items; at most 100 are allowed"]
    doc = with_field("issuer", "وزارت")
    doc["categories"][0]["services"][0]["documents"] = ["مدرک"] * 11
    assert errors_of(doc) == ["categories[0].services[0].documents: has 11 items; at most 10 are allowed"]
    doc = copy.deepcopy(GOOD)
    doc["notices"] = ["اطلاعیه"] * 11
    assert errors_of(doc) == ["notices: has 11 items; at most 10 are allowed"]
    doc = copy.deepcopy(GOOD)
    doc["scope"] = {"level": "office", "office": "23-1"}
    doc["hide"] = ["ID-1"] * 501
    assert errors_of(doc) == ["hide: has 501 items; at most 500 are allowed"]
    doc["hide"] = ["ID 1", 5, "\u202eID"]
    assert [e.split(":")[0] for e in errors_of(doc)] == ["hide[0]", "hide[1]", "hide[2]"]


def test_many_errors_are_counted_not_all_listed():
    doc = _board_with_services(400)
    for c in doc["categories"]:
        for s in c["services"]:
            s["title"] = "\x00"
    errors = errors_of(doc)
    assert len(errors) == D.MAX_ERRORS + 1 and errors[-1] == "(document): 700 more error(s) not listed"


# --------------------------------------------------------------------- numbers

@pytest.mark.parametrize("field", ["government_fee", "office_fee"])
def test_fees_have_a_range(field):
    svc = lambda v: with_field("issuer", "وزارت") | {"categories": [
        {"code": "id", "title": "کارت", "services": [{"code": "A", "title": "خدمت", "government_fee": 0,
                                                       "office_fee": 0, field: v}]}]}
    assert parse_board(svc(D.MAX_FEE)).service("A").total_fee == D.MAX_FEE
    where = f"categories[0].services[0].{field}"
    assert errors_of(svc(D.MAX_FEE + 1)) == [f"{where}: must be at most 10,000,000,000,000 rials, got 10000000000001"]
    assert errors_of(svc(2 ** 63)) == [f"{where}: must be at most 10,000,000,000,000 rials, got 9223372036854775808"]
    assert errors_of(svc(10 ** 5000)) == [
        f"{where}: must be at most 10,000,000,000,000 rials, got a number with more than 20 digits"]
    assert errors_of(svc(-(10 ** 5000))) == [f"{where}: must be a non-negative integer, got a number with more than 20 digits"]
    for v in (float("nan"), float("inf"), 1e20, "1e3", [1], {"rials": 1}):
        assert errors_of(svc(v))[0].startswith(f"{where}: must be a non-negative integer, got"), v


def test_a_fee_of_5000_digits_in_a_file_is_refused_not_a_traceback(tmp_path):
    text = json.dumps(GOOD).replace('"government_fee": 3000000', '"government_fee": ' + "9" * 5000)
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(BoardInvalid, match="has 5,000 digits; at most 19 are allowed"):
        load_board_file(path)


@pytest.mark.parametrize("version,ok", [(1, True), (2 ** 31 - 1, True), (2 ** 31, False), (2 ** 63 - 1, False),
                                        (2 ** 63, False), (2 ** 64 + 5, False), (10 ** 5000, False),
                                        (0, False), (-1, False)],
                         ids=["1", "2^31-1", "2^31", "2^63-1", "2^63", "2^64+5", "10^5000", "0", "-1"])
def test_version_has_a_range(version, ok):
    doc = copy.deepcopy(GOOD) | {"version": version}
    if ok:
        assert parse_board(doc).version == version
    else:
        assert errors_of(doc)[0].startswith("version: must be ")


@pytest.fixture
def key(store):
    k = SigningKey.generate()
    trust_key(store, k.public, actor="test")
    return k


def test_a_high_version_cannot_lock_a_scope(store, key):
    install = lambda v: install_board(store, key.sign(copy.deepcopy(GOOD) | {"version": v}), source="cli",
                                      actor="test")
    for v in (2 ** 31 - 1, D.MAX_VERSION_STEP + 1):
        with pytest.raises(BoardRefused, match="at most 10,000 versions up"):
            install(v)
    install(D.MAX_VERSION_STEP)
    with pytest.raises(BoardRefused, match="is 10,001 above the installed version 10000"):
        install(2 * D.MAX_VERSION_STEP + 1)
    install(2 * D.MAX_VERSION_STEP)  # a later board still installs
    assert current_board(store, "national").board.version == 2 * D.MAX_VERSION_STEP
    with pytest.raises(BoardInvalid, match="version: must be at most 2,147,483,647"):
        install(2 ** 63 - 1)
    assert len(store.audit_entries(action="board.refused")) == 4


def test_queue_cli_refuses_ids_out_of_range_without_a_traceback(cli_env):
    for args in (("queue", "cancel", str(2 ** 63)), ("queue", "reprint", "9" * 30),
                 ("queue", "transfer", str(2 ** 64), "--lane", "A"), ("queue", "recall", "--counter", str(2 ** 63)),
                 ("queue", "next", "--counter", "-3"), ("counter", "open", "0"), ("queue", "cancel", "x\x1b")):
        proc = run(*args, env=cli_env, ok=False)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (args, proc.stderr)
        assert "must be a whole number from 1 to 9223372036854775807" in proc.stderr and "\x1b" not in proc.stderr
    proc = run("queue", "cancel", str(2 ** 63 - 1), env=cli_env, ok=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


# --------------------------------------------------------------------- parsers

@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000,
                                  "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
                                  '{"format":"pishkhan.signed/1","payload":' + "[" * 2000 + "]" * 2000 + "}"],
                         ids=["arrays", "objects", "just-past-limit", "deep-payload"])
def test_deep_nesting_is_refused(text):
    with pytest.raises(BoardInvalid, match=f"nested deeper than {MAX_DEPTH} levels"):
        load_json(text)


def test_nesting_to_the_limit_is_read():
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


def test_deeply_nested_dicts_given_directly_are_refused_cleanly(key):
    deep = []
    for _ in range(5000):
        deep = [deep]
    doc = copy.deepcopy(GOOD) | {"issuer": deep}
    assert errors_of(doc) == ["issuer: must be a string, got an array"]
    with pytest.raises(SignatureInvalid, match="canonical form"):
        verify({"format": "pishkhan.signed/1", "payload": {"x": deep},
                "signature": {"alg": "ed25519", "key": key.public.fingerprint, "value": ""}}, [key.public])


def test_size_is_limited_before_reading_it_all(tmp_path):
    big = tmp_path / "big.json"
    with big.open("w") as f:
        f.write('{"a": "' + "x" * (MAX_DOCUMENT_BYTES + 10) + '"}')
    with pytest.raises(BoardInvalid, match="is larger than 4,194,304 bytes"):
        load_board_file(big)
    with pytest.raises(BoardInvalid, match="is larger than"):
        load_json(b" " * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(BoardInvalid, match="is larger than 100 bytes"):
        load_json("ب" * 60, max_bytes=100)


def test_only_regular_files_are_read(tmp_path):
    with pytest.raises(BoardInvalid, match="is not a regular file"):
        load_board_file(tmp_path)
    with pytest.raises(BoardInvalid, match="is not a regular file"):
        load_board_file("/dev/zero")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(BoardInvalid, match="is not a regular file"):
        load_board_file(fifo)  # would block for ever if opened
    with pytest.raises(BoardInvalid, match="does not exist"):
        load_board_file(tmp_path / "missing.json")


@pytest.mark.parametrize("text,message", [
    ('{"a": 1, "a": 2}', 'the key "a" appears twice'),
    ('{"categories": [{"code": "x", "code": "y"}]}', 'the key "code" appears twice'),
    ('{"format": "pishkhan.signed/1", "payload": {"version": 1}, "payload": {"version": 2}}',
     'the key "payload" appears twice'),
    ('{"\\u0061": 1, "a": 2}', 'the key "a" appears twice'),
    ("[NaN]", "NaN is not a JSON number"), ('{"fee": Infinity}', "Infinity is not a JSON number"),
    ("[-Infinity]", "-Infinity is not a JSON number"), ("[1e400]", "the number 1e400 is too large"),
    ("[" + "1" * 20 + "]", "has 20 digits; at most 19"), ("[-9223372036854775809]", "outside the 64-bit range"),
    ('["\\ud800"]', "[0]: holds an unpaired surrogate"), ('{"\\udfff": 1}', "a key holds an unpaired surrogate"),
    ("{'a': 1}", "is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    ("", "is not valid JSON"), ('{"a": 1} x', "is not valid JSON: Extra data"),
])
def test_the_strict_loader_refuses(text, message):
    with pytest.raises(BoardInvalid) as info:
        load_json(text)
    assert message in info.value.errors[0] and info.value.errors[0].startswith("(document): ")


def test_the_strict_loader_reads_ordinary_json():
    assert load_json('\ufeff{"a": [1, -2, 3.5, true, null, "ثبت\\u200cنام"]}') == {
        "a": [1, -2, 3.5, True, None, "ثبت\u200cنام"]}
    assert load_json(b'{"n": 9223372036854775807}') == {"n": 2 ** 63 - 1}
    with pytest.raises(BoardInvalid, match=r"is not UTF-8 text \(invalid start byte at byte 6\)"):
        load_json(b'{"a": \xff}')
    with pytest.raises(ValueError, match=r"\(file\): mqtt:office/1 is refused: the key"):
        load_json('{"a":1,"a":1}', source="mqtt:office/1", error=lambda errors: ValueError(errors))


def test_two_payloads_in_a_signed_file_are_refused(tmp_path, key, store):
    signed = key.sign(copy.deepcopy(GOOD))
    fake = copy.deepcopy(GOOD)
    fake["categories"][0]["services"][0]["government_fee"] = 1
    text = json.dumps(signed, ensure_ascii=False)
    text = text[:-1] + ', "payload": ' + json.dumps(fake, ensure_ascii=False) + "}"
    assert json.loads(text)["payload"]["categories"][0]["services"][0]["government_fee"] == 1  # last one wins
    path = tmp_path / "two.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BoardInvalid, match='the key "payload" appears twice'):
        load_board_file(path)


UNKNOWN = [
    (lambda d: d["categories"][0]["services"][0].update(goverment_fee=5),
     'categories[0].services[0].goverment_fee: unknown key "goverment_fee"; did you mean "government_fee"?'),
    (lambda d: d["categories"][0]["services"][0].update(document=["x"]),
     'categories[0].services[0].document: unknown key "document"; did you mean "documents"?'),
    (lambda d: d["categories"][0].update(servces=[]),
     'categories[0].servces: unknown key "servces"; did you mean "services"?'),
    (lambda d: d.update(efective_from="2026-01-01"),
     'efective_from: unknown key "efective_from"; did you mean "effective_from"?'),
    (lambda d: d.update(notice=["x"]), 'notice: unknown key "notice"; did you mean "notices"?'),
    (lambda d: d.update(zzz=1), 'zzz: unknown key "zzz"; known keys: format, issuer, scope, version, '
                                'effective_from, categories, hide, notices, complaints'),
    (lambda d: d["scope"].update(levl="x"), 'scope.levl: unknown key "levl"; did you mean "level"?'),
    (lambda d: d["scope"].update(province="23"), "scope.province: is not used by a national board"),
    (lambda d: d.update(scope={"level": "office", "office": "1", "province": "23"}),
     "scope.province: is not used by a office board"),
]


@pytest.mark.parametrize("change,message", UNKNOWN, ids=[m.split(":")[0] for _, m in UNKNOWN])
def test_unknown_keys_are_refused_with_a_hint(change, message):
    doc = copy.deepcopy(GOOD)
    change(doc)
    assert errors_of(doc) == [message]


@pytest.mark.parametrize("code", ["ID-1\n", "ID-1\r", "ID\x001", "ID-1 ", "\u202eID", "ID-١", "x" * 33],
                         ids=["newline", "cr", "nul", "space", "rlo", "arabic-digit", "too-long"])
def test_codes_are_exactly_ascii_codes(code):
    doc = copy.deepcopy(GOOD)
    doc["categories"][0]["services"][0]["code"] = code
    assert errors_of(doc) == [f"categories[0].services[0].code: must be 1-32 ASCII letters, digits, '.', '_' "
                              f"or '-', got {quoted(code)}"]


def test_key_scopes_are_codes(store):
    from pishkhan.exc import KeyFileError

    key = SigningKey.generate().public
    for scope in ("province:23\n", "province:\x1b[2J", "office:", "province:تهران", "city:1"):
        with pytest.raises(KeyFileError, match="key scope must be") as info:
            trust_key(store, key, scope=scope, actor="test")
        assert "\x1b" not in str(info.value)
    trust_key(store, key, scope="office:23-1234", actor="test")


def test_scope_ids_are_codes():
    for bad in ("23 ", "تهران", "\u202e23", "", 23):
        doc = copy.deepcopy(GOOD) | {"scope": {"level": "province", "province": bad}}
        assert errors_of(doc)[0].startswith("scope.province: must "), bad


def test_envelope_keys_and_payload_are_checked(key):
    signed = key.sign(copy.deepcopy(GOOD))
    for change, message in (
            (lambda e: e.update(payload2={}), 'unknown key "payload2"; did you mean "payload"?'),
            (lambda e: e["signature"].update(kye="x"), 'signature: unknown key "kye"; did you mean "key"?'),
            (lambda e: e.update(payload=[1]), "payload: must be an object, got an array"),
            (lambda e: e.pop("payload"), "payload: must be an object, got null"),
            (lambda e: e["signature"].update(value="A" * 10_000), "signature does not match"),
            (lambda e: e["signature"].update(value=5), "signature does not match"),
            (lambda e: e["signature"].update(key=["x"]), "signature.key: an array is not a trusted issuer key"),
            (lambda e: e["signature"].update(key="\x1b[2J"), 'signature.key: "\\u001b[2J" is not a trusted'),
            (lambda e: e["payload"].update(issuer=float("nan")), "canonical form"),
            (lambda e: e["payload"].update(issuer="\ud800"), "canonical form"),
            (lambda e: e["payload"].update(issuer={1, 2}), "canonical form")):
        envelope = copy.deepcopy(signed)
        change(envelope)
        with pytest.raises(SignatureInvalid) as info:
            verify(envelope, [key.public])
        assert message in str(info.value), (message, str(info.value))


def test_a_signed_preview_with_a_bad_payload_is_invalid_not_a_crash(key):
    signed = key.sign(copy.deepcopy(GOOD))
    signed["payload"]["issuer"] = "\ud800"
    with pytest.raises(BoardInvalid, match="issuer: U\\+D800 UNPAIRED SURROGATE"):
        preview(signed)
    signed["signature"] = "broken"
    signed["payload"]["issuer"] = "وزارت"
    assert preview(signed).layers[0].key_fingerprint == ""
