"""Malformed boards: every error is reported, each with its exact path and reason."""

from __future__ import annotations

import copy

import pytest

from pishkhan.boards.document import parse_board
from pishkhan.exc import BoardInvalid

GOOD = {
    "format": "pishkhan.board/1", "issuer": "وزارت ارتباطات", "scope": {"level": "national"},
    "version": 3, "effective_from": "2026-03-21",
    "categories": [
        {"code": "id", "title": "کارت ملی", "services": [
            {"code": "ID-1", "title": "صدور کارت", "government_fee": 3000000, "office_fee": 1000000,
             "documents": ["شناسنامه"]},
            {"code": "ID-2", "title": "المثنی", "government_fee": 0, "office_fee": 500000}]},
        {"code": "post", "title": "پست", "services": [
            {"code": "PO-1", "title": "کد پستی", "title_en": "Postcode", "government_fee": 0,
             "office_fee": 200000, "notes": ""}]},
    ],
}


def mutate(fn):
    doc = copy.deepcopy(GOOD)
    fn(doc)
    return doc


def errors_of(doc) -> list[str]:
    with pytest.raises(BoardInvalid) as info:
        parse_board(doc)
    return info.value.errors


def svc(doc, c=0, s=0):
    return doc["categories"][c]["services"][s]


CASES = [
    ("wrong format", lambda d: d.update(format="pishkhan.board/2"),
     ['format: must be "pishkhan.board/1", got "pishkhan.board/2"']),
    ("format missing", lambda d: d.pop("format"), ['format: must be "pishkhan.board/1", got null']),
    ("issuer missing", lambda d: d.pop("issuer"), ["issuer: is required"]),
    ("issuer blank", lambda d: d.update(issuer="  "), ["issuer: must not be empty"]),
    ("scope not object", lambda d: d.update(scope="national"), ['scope: must be an object, got "national"']),
    ("scope bad level", lambda d: d.update(scope={"level": "city"}),
     ['scope.level: must be one of national, province, office, got "city"']),
    ("province without code", lambda d: d.update(scope={"level": "province"}), ["scope.province: is required"]),
    ("version string", lambda d: d.update(version="12"), ['version: must be a positive integer, got "12"']),
    ("version zero", lambda d: d.update(version=0), ["version: must be a positive integer, got 0"]),
    ("version bool", lambda d: d.update(version=True), ["version: must be a positive integer, got true"]),
    ("date jalali", lambda d: d.update(effective_from="1405-01-01"),
     ['effective_from: must be a Gregorian date (2000-2199), got "1405-01-01", which looks like a Jalali date']),
    ("date impossible", lambda d: d.update(effective_from="2026-02-30"),
     ['effective_from: must be a date as YYYY-MM-DD, got "2026-02-30"']),
    ("categories not list", lambda d: d.update(categories={}), ["categories: must be an array, got an object"]),
    ("categories empty", lambda d: d.update(categories=[]), ["categories: must list at least one category"]),
    ("fee with commas", lambda d: svc(d, 1, 0).update(office_fee="12,000"),
     ['categories[1].services[0].office_fee: must be a non-negative integer, got "12,000"']),
    ("fee negative", lambda d: svc(d).update(government_fee=-5),
     ["categories[0].services[0].government_fee: must be a non-negative integer, got -5"]),
    ("fee float", lambda d: svc(d, 0, 1).update(office_fee=1.5),
     ["categories[0].services[1].office_fee: must be a non-negative integer, got 1.5"]),
    ("fee missing", lambda d: svc(d).pop("office_fee"), ["categories[0].services[0].office_fee: is required"]),
    ("empty title", lambda d: svc(d).update(title=""), ["categories[0].services[0].title: must not be empty"]),
    ("title not string", lambda d: svc(d).update(title=5), ["categories[0].services[0].title: must be a string, got 5"]),
    ("duplicate service code", lambda d: svc(d, 1, 0).update(code="ID-1"),
     ['categories[1].services[0].code: duplicate code "ID-1", first used at categories[0].services[0]']),
    ("duplicate category code", lambda d: d["categories"][1].update(code="id"),
     ['categories[1].code: duplicate code "id", first used at categories[0]']),
    ("bad code characters", lambda d: svc(d).update(code="کد ۱"),
     ["categories[0].services[0].code: must be 1-32 ASCII letters, digits, '.', '_' or '-', got \"کد ۱\""]),
    ("documents not list", lambda d: svc(d).update(documents="شناسنامه"),
     ['categories[0].services[0].documents: must be an array of strings, got "شناسنامه"']),
    ("document empty", lambda d: svc(d).update(documents=["شناسنامه", ""]),
     ['categories[0].services[0].documents[1]: must be a non-empty string, got ""']),
    ("service not object", lambda d: d["categories"][0]["services"].append("ID-3"),
     ['categories[0].services[2]: must be an object, got "ID-3"']),
    ("category without services", lambda d: d["categories"][0].pop("services"),
     ["categories[0].services: is required"]),
    ("hide on national", lambda d: d.update(hide=["ID-1"]), ["hide: only an office board may hide services"]),
    ("notes wrong type", lambda d: svc(d).update(notes=["x"]),
     ["categories[0].services[0].notes: must be a string, got an array"]),
]


@pytest.mark.parametrize("name,change,expected", CASES, ids=[c[0] for c in CASES])
def test_malformed_board_is_refused_with_its_message(name, change, expected):
    assert errors_of(mutate(change)) == expected


def test_every_error_is_collected_not_only_the_first():
    def many(d):
        d["version"] = "x"
        svc(d).update(office_fee="12,000", title="")
        svc(d, 1, 0).update(code="ID-2")
    errors = errors_of(mutate(many))
    assert errors == [
        'version: must be a positive integer, got "x"',
        "categories[0].services[0].title: must not be empty",
        'categories[0].services[0].office_fee: must be a non-negative integer, got "12,000"',
        'categories[1].services[0].code: duplicate code "ID-2", first used at categories[0].services[1]',
    ]


def test_not_an_object():
    assert errors_of([1, 2]) == ["(document): must be a JSON object, got an array"]


def test_good_board_parses_with_typed_values():
    board = parse_board(copy.deepcopy(GOOD))
    assert board.version == 3 and board.scope.key == "national"
    assert board.service("ID-1").total_fee == 4000000
    assert board.service("PO-1").title_en == "Postcode"
    assert [c.code for c in board.categories] == ["id", "post"]


def test_sample_board_is_valid_and_realistic(sample_doc):
    board = parse_board(sample_doc)
    services = list(board.services())
    assert len(services) >= 40 and len(board.categories) >= 6
    titles = " ".join(s.title for s in services)
    assert "\u200c" in titles and "(" in titles and any(ch.isascii() and ch.isalpha() for ch in titles)
