"""The complaint channel (طرح تکریم ارباب رجوع) in the signed board: bounded, checked, optional."""

from __future__ import annotations

import copy

import pytest

from pishkhan.boards.document import Complaints, parse_board
from pishkhan.boards.installed import effective_for_config, install_board
from pishkhan.boards.trust import trust_key
from pishkhan.exc import BoardInvalid
from pishkhan.text import jalali

CHANNEL = {"phone": "۰۲۱-۱۱۱۲", "short_code": "30001111", "url": "https://tekrim.example.ir/shekayat?o=1"}


def with_complaints(doc, value, *, level="national"):
    doc = copy.deepcopy(doc)
    doc["complaints"] = value
    if level == "province":
        doc["scope"] = {"level": "province", "province": "23"}
    if level == "office":
        doc["scope"] = {"level": "office", "office": "23-1234"}
    return doc


def refused(doc) -> list[str]:
    with pytest.raises(BoardInvalid) as info:
        parse_board(doc)
    assert info.value.reason == "invalid"
    return info.value.errors


def test_channel_is_read_with_latin_digits_and_old_boards_stay_valid(sample_doc):
    assert parse_board(sample_doc).complaints is None  # a board from before: valid, no channel
    board = parse_board(with_complaints(sample_doc, CHANNEL))
    assert board.complaints == Complaints(phone="021-1112", short_code="30001111", url=CHANNEL["url"])
    only = parse_board(with_complaints(sample_doc, {"short_code": "124"}, level="province"))
    assert only.complaints.to_json() == {"short_code": "124"}


@pytest.mark.parametrize("value, path", [
    ({"phone": "12"}, "complaints.phone"),
    ({"phone": "021 1112\n"}, "complaints.phone"),
    ({"phone": "09" + "1" * 30}, "complaints.phone"),
    ({"short_code": "12"}, "complaints.short_code"),
    ({"short_code": "300012345"}, "complaints.short_code"),
    ({"short_code": 3000}, "complaints.short_code"),
    ({"url": "http://tekrim.example.ir"}, "complaints.url"),
    ({"url": "https://user@evil.example"}, "complaints.url"),
    ({"url": "https://tekrim.example.ir/a b"}, "complaints.url"),
    ({"url": "https://tekrim.example.ir/#x"}, "complaints.url"),
    ({"url": "https://tekrim.example.ir/" + "a" * 200}, "complaints.url"),
    ({"url": "https://تکریم.ایران"}, "complaints.url"),
    ({}, "complaints"),
    ({"phone": "1112", "email": "a@b"}, "complaints.email"),
    ("021-1112", "complaints"),
])
def test_bad_channel_is_refused_with_its_path(sample_doc, value, path):
    errors = refused(with_complaints(sample_doc, value))
    assert any(e.startswith(path + ":") for e in errors), errors


def test_an_office_board_may_not_name_the_channel(sample_doc):
    doc = with_complaints({"format": "pishkhan.board/1", "issuer": "دفتر", "version": 1,
                           "effective_from": "2026-03-21", "categories": [], "notices": ["سلام"]},
                          {"phone": "1112"}, level="office")
    assert any(e.startswith("complaints:") and "national or province" in e for e in refused(doc))


def test_province_channel_wins_over_national_in_the_effective_board(store, issuer_key, sample_doc, config,
                                                                     make_config):
    cfg = make_config(office={"province": "23", "office_id": "23-1234"})
    trust_key(store, issuer_key.public, label="test", actor="test")
    install_board(store, issuer_key.sign(with_complaints(sample_doc, {"phone": "1111"})), source="cli", actor="t")
    day = jalali.today(store.now())
    assert effective_for_config(store, cfg, day).complaints.phone == "1111"
    province = {"format": "pishkhan.board/1", "issuer": "استان", "scope": {"level": "province", "province": "23"},
                "version": 1, "effective_from": "2026-03-21", "categories": sample_doc["categories"][:1],
                "complaints": {"short_code": "30002323"}}
    install_board(store, issuer_key.sign(province), source="cli", actor="t")
    effective = effective_for_config(store, cfg, day)
    assert effective.complaints == Complaints(short_code="30002323")
    assert effective.to_json()["complaints"] == {"short_code": "30002323"}
