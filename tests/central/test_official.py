"""Board currency against the official table, and verification codes resolved to official documents."""

from __future__ import annotations

import dashboard_fleet as F
import pytest

from central.official import board_currency, newest_boards, resolve_code


@pytest.fixture(scope="module")
def official():
    return F.Official()


def device(board, *, province="23", office="23-1234"):
    return {"device_id": "d", "province": province, "office_id": office, "board": board}


def newest(official):
    return {scope: {"version": v, "verification_code": official.codes[(scope, v)]}
            for (scope, v) in (("national", 4), ("province:23", 2), ("province:11", 1))}


class TestBoardCurrency:
    def test_every_layer_the_newest_is_current(self, official):
        got = board_currency(device(official.board(("national", 4), ("province:23", 2))), newest(official))
        assert got["state"] == "current" and [l["state"] for l in got["layers"]] == ["current", "current"]
        assert got["missing"] == []

    def test_an_older_national_layer_is_outdated_and_names_the_layer(self, official):
        got = board_currency(device(official.board(("national", 3), ("province:23", 2))), newest(official))
        assert got["state"] == "outdated"
        assert got["layers"][0] | {} == {"scope": "national", "version": 3, "official_version": 4,
                                         "verification_code": official.codes[("national", 3)],
                                         "official_code": official.codes[("national", 4)], "state": "outdated",
                                         "official_effective_from": None}
        assert got["layers"][1]["state"] == "current"

    def test_a_province_board_the_device_does_not_show_is_missing(self, official):
        got = board_currency(device(official.board(("national", 4))), newest(official))
        assert got["state"] == "outdated"
        assert got["missing"] == [{"scope": "province:23", "official_version": 2,
                                   "official_code": official.codes[("province:23", 2)], "state": "missing",
                                   "official_effective_from": None}]
        # another province's board is not missing for a device of province 23
        assert [m["scope"] for m in got["missing"]] == ["province:23"]

    def test_the_same_version_with_another_code_is_not_the_official_board(self, official):
        board = official.board(("national", 4), ("province:23", 2))
        board["layers"][0]["verification_code"] = "AAAA-AAAA"
        assert board_currency(device(board), newest(official))["layers"][0]["state"] == "outdated"

    def test_nothing_to_compare_is_unknown(self, official):
        assert board_currency(device(None), newest(official))["state"] == "unknown"
        assert board_currency(device(official.board(("national", 4))), {})["state"] == "unknown"
        office_only = {"version": "1", "verification_code": "X", "layers": [
            {"scope": "office:23-1234", "version": 1, "verification_code": "X"}]}
        got = board_currency(device(office_only), {})
        assert got["state"] == "unknown" and got["layers"][0]["state"] == "unknown"

    def test_a_newer_layer_than_the_table_knows_is_not_current(self, official):
        board = official.board(("national", 4))
        board["layers"][0]["version"] = 5
        assert board_currency(device(board, province=""), newest(official))["state"] == "outdated"


class TestResolveCode:
    def test_codes_on_both_databases(self, fleet_db):
        data = F.build(fleet_db)
        off = data["official"]
        assert {k: v["version"] for k, v in newest_boards(fleet_db).items()} == \
            {"national": 4, "province:23": 2, "province:11": 1}
        known = resolve_code(fleet_db, off.codes[("national", 4)])
        assert known["found"] and not known["layered"] and not known["superseded"]
        assert known["documents"][0]["envelope"]["payload"]["version"] == 4
        old = resolve_code(fleet_db, off.codes[("national", 3)])
        assert old["found"] and old["superseded"] and old["documents"][0]["newest_version"] == 4
        layered = resolve_code(fleet_db, data["current23"]["verification_code"])
        assert layered["layered"] and [d["scope_key"] for d in layered["documents"]] == ["national", "province:23"]
        assert not layered["superseded"]
        stale = resolve_code(fleet_db, data["old"]["verification_code"])
        assert stale["layered"] and stale["superseded"]
        assert not resolve_code(fleet_db, "ZZZZ-2222")["found"]
        assert not resolve_code(fleet_db, "%")["found"]  # a LIKE wildcard matches nothing by itself
