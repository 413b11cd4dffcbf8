"""Installing boards: trust, versions, effective dates (Tehran), layering, history."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from pishkhan.boards.installed import (board_day, board_signature, current_board, effective_board, history,
                                      install_board, pending_boards, set_unavailable)
from pishkhan.exc import BoardInvalid, BoardRefused, SignatureInvalid
from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key

TODAY = dt.date(2026, 11, 28)


def board(level="national", version=1, effective="2026-03-21", **scope):
    return {"format": "pishkhan.board/1", "issuer": f"issuer {level}", "scope": {"level": level, **scope},
            "version": version, "effective_from": effective,
            "categories": [{"code": "id", "title": "کارت ملی", "services": [
                {"code": "ID-1", "title": "صدور کارت", "government_fee": 3000000, "office_fee": 1000000},
                {"code": "ID-2", "title": "المثنی", "government_fee": 100, "office_fee": 200}]}]}


@pytest.fixture
def key(store):
    k = SigningKey.generate()
    trust_key(store, k.public, actor="test")
    return k


def install(store, key, doc, **kw):
    return install_board(store, key.sign(doc), source="cli", actor="test", **kw)


def test_no_trusted_key_means_nothing_installs(store, sample_doc):
    with pytest.raises(SignatureInvalid, match="no issuer key is trusted"):
        install_board(store, SigningKey.generate().sign(sample_doc), source="usb", actor="staff")


def test_install_then_older_or_equal_version_is_refused(store, key):
    install(store, key, board(version=5))
    for v in (5, 4):
        with pytest.raises(BoardRefused, match=f"version {v} for national is not newer than the installed version 5"):
            install(store, key, board(version=v))
    assert current_board(store, "national", TODAY).board.version == 5
    refusals = store.audit_entries(action="board.refused")
    assert len(refusals) == 2


def test_invalid_signed_board_is_refused_and_old_stays(store, key):
    install(store, key, board(version=1))
    bad = board(version=2)
    bad["categories"][0]["services"][0]["office_fee"] = "12,000"
    with pytest.raises(BoardInvalid):
        install(store, key, bad)
    assert current_board(store, "national", TODAY).board.version == 1


def test_future_board_waits_for_its_date_in_tehran_time(store, key):
    install(store, key, board(version=1))
    install(store, key, board(version=2, effective="2026-12-01"))
    assert current_board(store, "national", TODAY).board.version == 1
    assert [p.board.version for p in pending_boards(store, TODAY)] == [2]
    assert current_board(store, "national", dt.date(2026, 12, 1)).board.version == 2


def test_tehran_date_decides_not_utc():
    from pishkhan.text import jalali
    # 21:00 UTC on 30 Nov is already 1 Dec in Tehran (UTC+3:30).
    moment = dt.datetime(2026, 11, 30, 21, 0, tzinfo=dt.timezone.utc)
    assert jalali.today(moment) == dt.date(2026, 12, 1)


def test_key_scope_limits_what_it_may_sign(store):
    province_key = SigningKey.generate()
    trust_key(store, province_key.public, scope="province:23", actor="test")
    with pytest.raises(BoardRefused, match="may sign only province:23 boards"):
        install(store, province_key, board())
    install(store, province_key, board("province", 1, province="23"))


def test_board_for_another_province_or_office_is_refused(store, key):
    with pytest.raises(BoardRefused, match="province 11, this office is in province 23"):
        install(store, key, board("province", province="11"), province="23")
    with pytest.raises(BoardRefused, match="office X-9, this office is 23-1"):
        install(store, key, board("office", office="X-9"), office="23-1")


def test_layering_province_sets_fees_office_hides_and_adds(store, key):
    install(store, key, board(version=7))
    prov = board("province", 2, province="23")
    prov["categories"][0]["services"] = [
        {"code": "ID-1", "title": "صدور کارت", "government_fee": 3000000, "office_fee": 1200000}]
    prov["categories"].append({"code": "local", "title": "خدمات استانی", "services": [
        {"code": "LOC-1", "title": "عوارض شهرداری", "government_fee": 0, "office_fee": 150000}]})
    install(store, key, prov)
    office = board("office", 1, office="23-1")
    office["categories"] = [{"code": "extra", "title": "خدمات دفتر", "services": [
        {"code": "OFF-1", "title": "کپی مدارک", "government_fee": 0, "office_fee": 20000}]}]
    office["hide"] = ["ID-2"]
    office["notices"] = ["دفتر روز پنجشنبه تا ساعت ۱۲ باز است"]
    install(store, key, office)

    eff = effective_board(store, province="23", office="23-1", on=TODAY)
    assert eff.version_label == "7+2+1"
    s = eff.service("ID-1")
    assert s.office_fee == 1200000 and s.sources["office_fee"] == "province:23 v2"
    assert s.sources["government_fee"] == "national v7"
    assert eff.service("ID-2") is None and eff.hidden == ["ID-2"]
    assert eff.service("LOC-1").sources["title"] == "province:23 v2"
    assert not eff.service("OFF-1").official
    assert eff.notices == ["دفتر روز پنجشنبه تا ساعت ۱۲ باز است"]
    assert len({eff.verification_code, *[l.verification_code for l in eff.layers]}) == 4


def test_office_can_never_change_an_official_amount_or_title(store, key):
    install(store, key, board(version=1))
    office = board("office", 1, office="23-1")
    office["categories"][0]["services"][0]["office_fee"] = 9
    office["categories"][0]["services"][1]["title"] = "عنوان دیگر"
    install(store, key, office)
    eff = effective_board(store, province="23", office="23-1", on=TODAY)
    assert eff.service("ID-1").office_fee == 1000000
    assert eff.service("ID-2").title == "المثنی"
    assert any("ID-1 may not change official office_fee" in c for c in eff.conflicts)
    assert any("ID-2 may not change official title" in c for c in eff.conflicts)


def test_unavailable_mark_is_an_audited_overlay(store, key):
    install(store, key, board(version=1))
    set_unavailable(store, "ID-1", "سامانه قطع است", actor="staff")
    eff = effective_board(store, province=None, office=None, on=TODAY)
    assert eff.service("ID-1").unavailable == "سامانه قطع است"
    set_unavailable(store, "ID-1", None, actor="staff")
    assert effective_board(store, province=None, office=None, on=TODAY).service("ID-1").unavailable is None
    assert [e["action"] for e in store.audit_entries()][:2] == ["service.available", "service.unavailable"]


def test_full_history_is_kept(store, key):
    for v in (1, 2, 3):
        install(store, key, board(version=v))
    assert [h.board.version for h in history(store, "national")] == [1, 2, 3]
    assert effective_board(store, province=None, office=None, on=TODAY).base.board.version == 3


def test_no_board_means_no_effective_board(store):
    assert effective_board(store, province="23", office="x", on=TODAY) is None


def test_the_board_signature_changes_with_what_decides_the_board_and_only_then(store, key):
    empty = board_signature(store, TODAY)
    assert board_signature(store, TODAY) == empty
    install(store, key, board(version=1))
    installed = board_signature(store, TODAY)
    assert installed != empty
    store.audit("staff", "unrelated")  # other writes leave it alone
    store.set_setting("other", 1)
    assert board_signature(store, TODAY) == installed
    set_unavailable(store, "ID-1", "قطع", actor="staff")
    marked = board_signature(store, TODAY)
    assert marked != installed
    set_unavailable(store, "ID-1", None, actor="staff")
    assert board_signature(store, TODAY) not in (marked, empty)
    assert board_signature(store, TODAY + dt.timedelta(days=1)) != board_signature(store, TODAY)
    install(store, key, board(version=2, effective="2099-01-01"))  # even one not yet in effect
    assert board_signature(store, TODAY) != installed


def test_the_board_day_is_never_before_the_newest_install(tmp_path, key, store):
    from pishkhan.store.database import Store

    install(store, key, board(version=1))  # installed now (store's clock: the real one)
    behind = Store(store.path, clock=lambda: dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    with behind:
        installed_on = board_day(store)
        assert board_day(behind) == installed_on  # a Pi whose clock is not set yet shows that day's board
        assert board_signature(behind) == board_signature(store, dt.date(2020, 1, 1))  # by default: the clock's day
