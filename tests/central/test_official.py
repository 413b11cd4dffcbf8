"""Board currency against the official table, and verification codes resolved to official documents."""

from __future__ import annotations

import json

import dashboard_fleet as F
import pytest

from central.official import CodeRefusal, CodeRefused, board_currency, newest_boards, resolve_code


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


class TestOnlyWhatTheCentreComputes:
    """``/verify`` vouches only for codes the centre computes from official documents."""

    @pytest.fixture
    def built(self, tmp_path):
        from central.db import open_db

        with open_db(str(tmp_path / "fleet.db")) as db:
            yield db, F.build(db)

    @staticmethod
    def report_board(db, device_id, board):
        db.execute("UPDATE devices SET board = ? WHERE device_id = ?", (json.dumps(board), device_id))

    def test_a_code_a_device_made_up_is_unknown(self, built):
        db, data = built
        off = data["official"]
        fake = {"version": "4+2", "verification_code": "FAKE-0000",
                "layers": [off.layer("national", 4), off.layer("province:23", 2)]}
        self.report_board(db, "dev-2301", fake)
        assert not resolve_code(db, "FAKE-0000")["found"]
        client = _client(data)
        page = client.get("/verify/FAKE-0000")
        assert page.status_code == 404 and 'data-verdict="unknown"' in page.text
        assert client.get("/api/verify/fake-0000").json()["found"] is False

    def test_layers_a_device_names_are_only_a_hint(self, built):
        db, data = built
        off = data["official"]
        # the device shows the current board's code but names older layers: the centre finds the layers
        # that make the code (national v4 and province 23 v2), not the ones the device named
        lying = dict(data["current23"], layers=[off.layer("national", 3), off.layer("province:23", 1)])
        self.report_board(db, "dev-2301", lying)
        found = resolve_code(db, data["current23"]["verification_code"])
        assert found["layered"] and [(d["scope_key"], d["version"]) for d in found["documents"]] == \
            [("national", 4), ("province:23", 2)]

    def test_a_layered_code_no_device_reports_is_still_found(self, built):
        db, data = built
        db.execute("DELETE FROM devices")
        found = resolve_code(db, data["old"]["verification_code"])
        assert found["layered"] and found["superseded"]
        assert [(d["scope_key"], d["version"]) for d in found["documents"]] == [("national", 3), ("province:23", 2)]

    def test_a_stored_document_that_does_not_give_its_code_vouches_for_nothing(self, built):
        db, data = built
        off = data["official"]
        envelope = json.loads(json.dumps(off.envelopes[("national", 4)]))
        envelope["payload"]["categories"][0]["services"][0]["government_fee"] = 1  # edited after signing
        db.execute("UPDATE official SET envelope = ? WHERE scope_key = 'national' AND version = 4",
                   (json.dumps(envelope),))
        assert not resolve_code(db, off.codes[("national", 4)])["found"]
        assert not resolve_code(db, data["current23"]["verification_code"])["found"]  # one of its layers
        assert resolve_code(db, off.codes[("national", 3)])["found"]

    def test_a_code_longer_than_any_real_one_is_refused(self, built):
        db, data = built
        with pytest.raises(CodeRefused) as refused:
            resolve_code(db, "AAAA-AAAAA")
        assert refused.value.reason is CodeRefusal.TOO_LONG
        client = _client(data)
        for code in ("AAAA-AAAAA", "A" * 60_000):
            assert client.get(f"/verify/{code}").status_code == 400
            answer = client.get(f"/api/verify/{code}")
            assert answer.status_code == 400 and answer.json()["reason"] == "too_long"
        assert client.get(f"/verify/{data['official'].codes[('national', 4)]}").status_code == 200


def _client(data):
    from starlette.testclient import TestClient

    from central.web.app import create_app

    return TestClient(create_app(data["fleet"], now=lambda: F.NOW))
