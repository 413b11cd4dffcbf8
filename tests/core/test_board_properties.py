"""Property-based tests of the board validator and the strict JSON loader.

Whatever JSON-ish value or bytes come in, the answer is a valid :class:`Board`
(or a parsed value) or a :exc:`BoardInvalid` / :exc:`PishkhanError` — never
another exception — within a bounded time (hypothesis ``deadline``). An
accepted board holds only text that passes the text rules and numbers in
their documented ranges.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pishkhan.boards import document as D
from pishkhan.boards.document import Board, parse_board
from pishkhan.boards.jsonlimits import MAX_DEPTH, load_json
from pishkhan.boards.signing import SigningKey, canonical, verify
from pishkhan.exc import BoardInvalid, PishkhanError, SignatureInvalid
from pishkhan.text.safety import check_text, terminal_safe, text_problems

# Bounded time per example, not a wall-clock assert: a slow path fails the deadline.
FAST = settings(deadline=dt.timedelta(milliseconds=1500), max_examples=200, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BIG = settings(deadline=dt.timedelta(seconds=5), max_examples=25, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

GOOD = {
    "format": "pishkhan.board/1", "issuer": "وزارت ارتباطات", "scope": {"level": "national"},
    "version": 3, "effective_from": "2026-03-21",
    "categories": [
        {"code": "id", "title": "کارت ملی", "title_en": "ID card", "services": [
            {"code": "ID-1", "title": "صدور کارت", "government_fee": 3000000, "office_fee": 1000000,
             "documents": ["شناسنامه", "عکس"], "notes": "حضور متقاضی", "title_en": "Card"},
            {"code": "ID-2", "title": "المثنی", "government_fee": 0, "office_fee": 500000}]},
        {"code": "post", "title": "پست", "services": [
            {"code": "PO-1", "title": "کد پستی", "government_fee": 0, "office_fee": 200000, "notes": ""}]},
    ],
    "notices": ["دفتر پنجشنبه‌ها تا ساعت ۱۲ باز است"],
}

# Characters a hostile or careless issuer might use, beside every other code point.
TRICKY = list("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\u200c\u200d"
              "\ufeff\u2060\u00ad\u0600\u206e\x00\x1b\n\r\t\x7f\x85\u2028\u2029\ufdd0\uffff\ue000 \u00a0"
              "\u0651\u064e\u0301۰۱۲٤٥0123456789,٬،-.ابپتثجکگیيك«»()") + ["\ud800", "\udfff", "\U000e0041"]
CHARS = st.one_of(st.sampled_from(TRICKY), st.characters(codec=None, exclude_categories=()),
                  st.characters(categories=["Cs"]))
TEXT = st.text(CHARS, max_size=40)
# Ordinary text with one character of any kind put somewhere in it: the rules
# must decide on that one character alone.
ORDINARY = st.text(st.sampled_from(list("ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهی ۰۱۲۳۴۵۶۷۸۹abcXYZ019 ،.")), min_size=1,
                   max_size=20)
ONE_ODD = st.builds(lambda text, ch, at: text[:at % (len(text) + 1)] + ch + text[at % (len(text) + 1):],
                    ORDINARY, CHARS, st.integers(0, 40))
FIELD_TEXT = st.one_of(TEXT, ONE_ODD, ORDINARY)
KNOWN_KEYS = sorted(set(D.BOARD_KEYS) | {"level", "province", "office"} | set(D.CATEGORY_KEYS)
                    | set(D.SERVICE_KEYS) | {"goverment_fee", "payload", "signature", "alg", "key", "value"})
KEYS = st.one_of(st.sampled_from(KNOWN_KEYS), TEXT)
NUMBERS = st.one_of(
    st.integers(), st.sampled_from([0, 1, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 63 - 1, 2 ** 63, -(2 ** 63) - 1,
                                    D.MAX_FEE, D.MAX_FEE + 1, 10 ** 30, 10 ** 200, -(10 ** 200)]),  # 5,000 digits: test_board_hostile
    st.floats(allow_nan=True, allow_infinity=True))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
JSONISH = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                        st.dictionaries(KEYS, inner, max_size=5)),
                       max_leaves=25)


def _refused_or_board(doc):
    """parse_board(doc): the Board, or None when refused with BoardInvalid; anything else fails."""
    try:
        board = parse_board(doc)
    except BoardInvalid as e:
        assert e.errors and all(isinstance(m, str) and ": " in m for m in e.errors)
        assert all(terminal_safe(m) == m for m in e.errors), "an error message carries raw control characters"
        return None
    assert isinstance(board, Board)
    return board


def _assert_safe(board: Board):
    """An accepted board: every text passes the rules, every number is in range."""
    texts = [(board.issuer, D.MAX_ISSUER, False)] + [(n, D.MAX_NOTICE, False) for n in board.notices]
    assert 1 <= board.version <= D.MAX_VERSION
    assert len(board.categories) <= D.MAX_CATEGORIES and sum(1 for _ in board.services()) <= D.MAX_SERVICES
    for cat in board.categories:
        texts += [(cat.title, D.MAX_CATEGORY_TITLE, False), (cat.title_en, D.MAX_CATEGORY_TITLE, True)]
        for s in cat.services:
            for fee in (s.government_fee, s.office_fee):
                assert type(fee) is int and 0 <= fee <= D.MAX_FEE
            texts += [(s.title, D.MAX_TITLE, False), (s.title_en, D.MAX_TITLE, True), (s.notes, D.MAX_NOTES, True)]
            texts += [(d, D.MAX_DOCUMENT, False) for d in s.documents]
            assert len(s.documents) <= D.MAX_DOCUMENTS
    for text, limit, may_be_empty in texts:
        assert text_problems(text, max_len=limit, allow_empty=may_be_empty) == [], text
        # and, independently of the checker, by the Unicode categories themselves
        assert len(text) <= limit
        if text or not may_be_empty:
            assert any(unicodedata.category(c)[0] in "LNPS" for c in text), text
        for c in text:
            cat = unicodedata.category(c)
            assert cat not in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp"), (text, hex(ord(c)))
            assert cat != "Cf" or c in "\u200c\u200d", (text, hex(ord(c)))


def _paths(node, parts=()):
    """Every (container, key) in a document, to change one place of it."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield node, k
            yield from _paths(v, parts + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield node, i
            yield from _paths(v, parts + (i,))


@FAST
@given(JSONISH)
def test_any_json_value_is_a_board_or_invalid(value):
    board = _refused_or_board(value)
    if board is not None:
        _assert_safe(board)


@FAST
@given(st.data())
def test_a_board_changed_anywhere_is_a_board_or_invalid(data):
    doc = copy.deepcopy(GOOD)
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        places = list(_paths(doc))
        container, key = data.draw(st.sampled_from(places), label="where")
        action = data.draw(st.sampled_from(["replace", "delete", "add-key", "text"]), label="action")
        if action == "replace":
            container[key] = data.draw(JSONISH, label="value")
        elif action == "text":
            container[key] = data.draw(FIELD_TEXT, label="text")
        elif action == "delete":
            container.pop(key) if isinstance(container, dict) else container.pop(key)
        elif isinstance(container, dict):
            container[data.draw(KEYS, label="key")] = data.draw(JSONISH, label="value")
    board = _refused_or_board(doc)
    if board is not None:
        _assert_safe(board)
        # what was accepted signs, and reads back through the strict loader as the same board
        assert parse_board(load_json(canonical(board.raw))) == board


FIELDS = {
    "issuer": (lambda d, v: d.update(issuer=v), D.MAX_ISSUER, False),
    "categories[0].title": (lambda d, v: d["categories"][0].update(title=v), D.MAX_CATEGORY_TITLE, False),
    "categories[0].services[0].title": (lambda d, v: d["categories"][0]["services"][0].update(title=v),
                                        D.MAX_TITLE, False),
    "categories[0].services[0].title_en": (lambda d, v: d["categories"][0]["services"][0].update(title_en=v),
                                           D.MAX_TITLE, False),
    "categories[0].services[0].notes": (lambda d, v: d["categories"][0]["services"][0].update(notes=v),
                                        D.MAX_NOTES, True),
    "categories[0].services[0].documents[1]": (
        lambda d, v: d["categories"][0]["services"][0]["documents"].__setitem__(1, v), D.MAX_DOCUMENT, False),
    "notices[0]": (lambda d, v: d["notices"].__setitem__(0, v), D.MAX_NOTICE, False),
}


@FAST
@given(st.sampled_from(sorted(FIELDS)), FIELD_TEXT)
def test_a_text_field_is_accepted_exactly_when_its_text_passes_the_rules(path, text):
    setter, limit, may_be_empty = FIELDS[path]
    doc = copy.deepcopy(GOOD)
    setter(doc, text)
    board = _refused_or_board(doc)
    problems = check_text(text, path, max_len=limit, allow_empty=may_be_empty)
    assert (board is not None) == (not problems), (text, problems)
    if board is not None:
        _assert_safe(board)
    if problems:
        try:
            parse_board(doc)
        except BoardInvalid as e:
            # the refusal names this field (array items say "must be a non-empty string" for blank text)
            assert any(m.startswith(f"{path}: ") for m in e.errors), e.errors


@BIG
@given(st.sampled_from(sorted(FIELDS)), st.sampled_from(TRICKY + ["ب", "a", "\u200c"]),
       st.integers(0, 2_000_000))
@example("categories[0].services[0].title", "ب", 2_000_000)
@example("notices[0]", "\u202e", 2_000_000)
@example("categories[0].services[0].notes", "\u0651", 1_000_000)
@example("issuer", "\ud800", 1_000_000)
def test_a_huge_text_field_is_judged_in_bounded_time(path, ch, n):
    setter, limit, _ = FIELDS[path]
    doc = copy.deepcopy(GOOD)
    setter(doc, "ب" + ch * n)
    board = _refused_or_board(doc)
    if n + 1 > limit:
        assert board is None


@BIG
@given(st.integers(0, 3000), st.integers(1, 600))
@example(3000, 1)
@example(500, 5)
@example(501, 600)
@example(3000, 600)
def test_many_services_and_categories_are_judged_in_bounded_time(services, per_category):
    doc = copy.deepcopy(GOOD)
    doc["categories"] = [{"code": f"c{c}", "title": "گروه", "services": [
        {"code": f"S{c}-{i}", "title": "خدمت", "government_fee": i, "office_fee": 0}
        for i in range(min(per_category, services - c * per_category))]}
        for c in range(max(1, -(-services // per_category)))]
    board = _refused_or_board(doc)
    fits = services <= D.MAX_SERVICES and len(doc["categories"]) <= D.MAX_CATEGORIES
    assert (board is not None) == fits


@FAST
@given(st.binary(max_size=300))
def test_any_bytes_are_parsed_or_refused(data):
    try:
        value = load_json(data)
    except BoardInvalid as e:
        assert len(e.errors) == 1 and e.errors[0].startswith("(document): ")
        return
    _refused_or_board(value)


def _depth(v) -> int:
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


def _plain(v) -> bool:
    """True when *v* is within what the strict loader reads back unchanged."""
    if isinstance(v, float):
        return v == v and abs(v) != float("inf")
    if isinstance(v, bool) or v is None:
        return True
    if isinstance(v, int):
        return -(2 ** 63) <= v < 2 ** 63
    if isinstance(v, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in v)
    if isinstance(v, list):
        return all(_plain(x) for x in v)
    return all(_plain(k) and _plain(x) for k, x in v.items())


@FAST
@given(JSONISH)
def test_json_text_is_read_back_exactly_or_refused(value):
    try:
        text = json.dumps(value, ensure_ascii=False)
    except ValueError:  # an int too long for str(); nothing could send it
        return
    try:
        back = load_json(text.encode("utf-8", "surrogatepass"))
    except BoardInvalid:
        assert not _plain(value) or _depth(value) > MAX_DEPTH
        return
    assert _plain(value) and back == value


@FAST
@given(st.text(st.sampled_from('{}[]":,0123456789.eE-+ \\u"ab\ud800tfnrul'), max_size=200))
def test_json_like_text_is_parsed_or_refused(text):
    try:
        load_json(text)
    except BoardInvalid:
        pass


_KEY = SigningKey.generate()
_SIGNED = _KEY.sign(copy.deepcopy(GOOD))


@FAST
@given(st.data())
def test_any_envelope_verifies_or_is_refused_with_a_clear_error(data):
    envelope = copy.deepcopy(_SIGNED)
    places = list(_paths(envelope))
    for _ in range(data.draw(st.integers(0, 2), label="changes")):
        container, key = data.draw(st.sampled_from(places), label="where")
        container[key] = data.draw(JSONISH, label="value")
        places = list(_paths(envelope))
    try:
        changed = json.dumps(envelope, sort_keys=True) != json.dumps(_SIGNED, sort_keys=True)
    except (ValueError, TypeError, RecursionError):
        changed = True
    try:
        payload, key = verify(envelope, [_KEY.public])
    except SignatureInvalid as e:
        assert changed and terminal_safe(str(e)) == str(e)
        return
    except PishkhanError as e:  # pragma: no cover - verify raises only SignatureInvalid
        raise AssertionError(f"unexpected {type(e).__name__}: {e}")
    assert payload == _SIGNED["payload"]
