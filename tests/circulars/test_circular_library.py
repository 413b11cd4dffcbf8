"""Circulars indexes: every refusal of the parser, the install path's refusals, the library and acknowledgement."""

from __future__ import annotations

import datetime as dt

import pytest
from circular_helpers import entry, index

from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.circulars.document import parse_circulars
from pishkhan.circulars.installed import install_circulars
from pishkhan.circulars.library import Library
from pishkhan.exc import CircularRefused, Refused
from pishkhan.store.database import Store

PROVINCE = {"level": "province", "province": "23"}
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def keys():
    return {name: SigningKey.generate() for name in ("national", "province", "other", "stranger")}


@pytest.fixture
def cstore(tmp_path, keys):
    with Store(tmp_path / "pishkhan.db", clock=lambda: NOW) as store:
        trust_key(store, keys["national"].public, scope="national", actor="test")
        trust_key(store, keys["province"].public, scope="province:23", actor="test")
        trust_key(store, keys["other"].public, scope="province:07", actor="test")
        yield store


def install(store, envelope):
    return install_circulars(store, envelope, source="centre", actor="test", province="23", office="OFF-1")


def refusal(store, envelope) -> str:
    with pytest.raises(Refused) as refused:
        install(store, envelope)
    return refused.value.reason


def parse_reason(payload) -> tuple[str, str]:
    with pytest.raises(CircularRefused) as refused:
        parse_circulars(payload)
    return refused.value.reason, str(refused.value)


# -- the parser -------------------------------------------------------------------------------
@pytest.mark.parametrize("payload, reason, says", [
    ([], "malformed", "JSON object"),
    (index() | {"channel": "x"}, "malformed", "unknown key"),
    (index(format="pishkhan.board/1"), "invalid", "format"),
    (index(issuer="x" * 121), "invalid", "issuer"),
    (index(version=0), "invalid", "version"),
    (index(scope={"level": "office", "office": "OFF-1"}), "invalid", "scope"),
    (index(scope={"level": "province", "province": "23", "office": "x"}), "invalid", "scope.office"),
    (index(issued_at="2026-12-07 10:00"), "invalid", "issued_at"),
    (index(circulars=[entry()] * 501), "invalid", "at most 500"),
    (index(circulars=[entry(), entry("۱۴۰۵/۱۲۳")]), "invalid", "listed twice"),
    (index(circulars=[entry("1405 123")]), "invalid", "number"),
    (index(circulars=[entry("x" * 41)]), "invalid", "number"),
    (index(circulars=[entry(kind="memo")]), "invalid", "kind"),
    (index(circulars=[entry(title="a\u202eb")]), "invalid", "title"),
    (index(circulars=[entry(title="")]), "invalid", "title"),
    (index(circulars=[entry(summary="x" * 2001)]), "invalid", "summary"),
    (index(circulars=[entry(urgent="yes")]), "invalid", "urgent"),
    (index(circulars=[entry(issued_on="2026-12-07")]), "invalid", "Jalali"),
    (index(circulars=[entry(issued_on="1405-12-31")]), "invalid", "Jalali"),  # 1405 is not a leap year
    (index(circulars=[entry(effective_on="1405-09-15")]), "invalid", "before issued_on"),
    (index(circulars=[entry(supersedes=["1405/123"])]), "invalid", "itself"),
    (index(circulars=[entry(supersedes=[str(i) for i in range(21)])]), "invalid", "at most 20"),
    (index(circulars=[entry(attachment={"sha256": "AB" * 32, "size": 1, "media_type": "application/pdf",
                                        "path": "circulars/pool/" + "AB" * 32 + ".pdf"})]), "invalid", "sha256"),
    (index(circulars=[entry(attachment=entry()["attachment"] | {"size": 20 * 1024 ** 2 + 1})]), "invalid", "size"),
    (index(circulars=[entry(attachment=entry()["attachment"] | {"media_type": "text/html"})]), "invalid",
     "media_type"),
    (index(circulars=[entry(attachment=entry()["attachment"] | {"path": "../../etc/passwd"})]), "invalid", "path"),
    (index(circulars=[entry(attachment=entry()["attachment"] | {"url": "http://x"})]), "invalid", "unknown key"),
])
def test_each_refusal_of_the_parser(payload, reason, says):
    got, message = parse_reason(payload)
    assert (got, says in message) == (reason, True), message


def test_a_valid_index_parses_with_numbers_made_latin():
    doc = parse_circulars(index(circulars=[entry("۱۴۰۵/۱۲۴", supersedes=["۱۴۰۴/۸۸"], issued_on="1403-12-30",
                                                 effective_on="1403-12-30")]))  # 1403 is a leap year
    assert (doc.scope.key, doc.circulars[0].number, doc.circulars[0].supersedes) == \
        ("national", "1405/124", ("1404/88",))


# -- the install path -------------------------------------------------------------------------
def test_install_refusals_leave_the_library_intact(cstore, keys, tmp_path):
    n, p, o = keys["national"], keys["province"], keys["other"]
    install(cstore, n.sign(index(1)))
    lib = Library(cstore, tmp_path / "circulars")
    before = lib.entries()
    assert refusal(cstore, o.sign(index(1, scope={"level": "province", "province": "07"}))) == "wrong_scope"
    assert refusal(cstore, p.sign(index(1))) == "wrong_scope"  # a province key, a national index
    assert refusal(cstore, n.sign(index(1))) == "replayed"
    assert refusal(cstore, n.sign(index(1, issuer="دیگر"))) == "older"
    assert refusal(cstore, n.sign(index(10_002))) == "too_far"
    assert refusal(cstore, keys["stranger"].sign(index(2))) == "untrusted_key"
    forged = n.sign(index(2))
    forged["payload"]["circulars"][0]["title"] = "عنوان دیگر"
    assert refusal(cstore, forged) == "forged"
    assert refusal(cstore, n.sign(index(2, circulars=[entry(kind="memo")]))) == "invalid"
    assert lib.entries() == before
    assert [e["detail"]["code"] for e in cstore.audit_entries(action="circulars.refused", limit=8)][::-1] == \
        ["wrong_scope", "wrong_scope", "replayed", "older", "too_far", "untrusted_key", "forged", "invalid"]
    # the province key signs its own province's index
    install(cstore, p.sign(index(1, scope=PROVINCE, circulars=[entry("23/1")])))
    assert {(e.scope_key, e.number) for e in lib.entries()} == {("national", "1405/123"), ("province:23", "23/1")}


def test_entries_are_kept_superseded_marked_and_changed_files_refused(cstore, keys, tmp_path):
    n = keys["national"]
    lib = Library(cstore, tmp_path / "circulars")
    install(cstore, n.sign(index(1, circulars=[entry("1404/88", issued_on="1404-02-01", effective_on="1404-02-01",
                                                     kind="instruction")])))
    install(cstore, n.sign(index(2, circulars=[
        entry("1405/123", supersedes=["1404/88"], urgent=True),
        entry("1404/88", data=b"another file", issued_on="1404-02-01", effective_on="1404-02-01")])))
    got = {e.number: e for e in lib.entries()}
    assert list(got) == ["1405/123", "1404/88"]  # newest issued first; the dropped-then-changed one kept
    old = got["1404/88"]
    assert (old.superseded_by, old.kind, old.sha256 != got["1405/123"].sha256) == ("1405/123", "instruction", False)
    assert got["1405/123"].urgent and got["1405/123"].fetched_at is None
    assert [e.number for e in lib.entries(kind="instruction")] == ["1404/88"]
    refused = cstore.audit_entries(action="circular.refused")
    assert [(r["subject"], r["detail"]["code"]) for r in refused] == [("national/1404/88", "invalid")]
    assert [r["subject"] for r in cstore.audit_entries(action="circular.superseded")] == ["national/1404/88"]
    # an index that leaves everything out deletes nothing
    install(cstore, n.sign(index(3, circulars=[])))
    assert len(lib.entries()) == 2
    assert lib.unread_count() == 1  # the superseded one is not counted
    assert [r["subject"] for r in cstore.audit_entries(action="circular.received")] == \
        ["national/1405/123", "national/1404/88"]


def test_acknowledge_is_idempotent_audited_and_bounded(cstore, keys, tmp_path):
    install(cstore, keys["national"].sign(index(1)))
    lib = Library(cstore, tmp_path / "circulars")
    assert lib.unread_count() == 1
    first = lib.acknowledge("national", "1405/123", who="مریم احمدی", now=NOW)
    again = lib.acknowledge("national", "1405/123", who="staff", now=NOW + dt.timedelta(hours=1))
    assert (first.acknowledged_by, first.acknowledged_at) == ("مریم احمدی", "2026-12-07T12:00:00.000000Z")
    assert again == first
    assert lib.unread_count() == 0
    facts = cstore.audit_entries(action="circular.acknowledged")
    assert [(f["actor"], f["subject"], f["detail"]["at"]) for f in facts] == \
        [("مریم احمدی", "national/1405/123", "2026-12-07T12:00:00.000000Z")]
    for who in ("x" * 61, "", "a\u202eb"):
        with pytest.raises(CircularRefused) as refused:
            lib.acknowledge("national", "1405/123", who=who, now=NOW)
        assert refused.value.reason == "invalid"
    with pytest.raises(CircularRefused):
        lib.acknowledge("national", "1405/999", who="staff", now=NOW)
    assert lib.entry("national", "1405/999") is None and lib.file(first) is None
    (tmp_path / "circulars").mkdir()
    assert lib.tariff_history() == []


def test_tariff_history_lists_the_boards(board_store, tmp_path):
    lib = Library(board_store, tmp_path / "circulars")
    history = lib.tariff_history()
    assert history and history[0]["scope"] == "national" and history[0]["version"] >= 1


def test_past_the_count_bound_new_circulars_are_refused_and_the_index_stays(cstore, keys, tmp_path, monkeypatch):
    from pishkhan.circulars import installed

    monkeypatch.setattr(installed, "MAX_CIRCULARS", 2)
    install(cstore, keys["national"].sign(index(1, circulars=[entry("1"), entry("2"), entry("3")])))
    assert sorted(e.number for e in Library(cstore, tmp_path).entries()) == ["1", "2"]
    refused = cstore.audit_entries(action="circular.refused")
    assert [(r["subject"], r["detail"]["code"]) for r in refused] == [("national/3", "too_large")]
    assert cstore.audit_entries(action="circulars.install")[0]["detail"]["refused_entries"] == 1
