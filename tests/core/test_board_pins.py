"""Rules of trust and layering pinned exactly: what a scoped key may sign,
what an office board can never change, and the exact bytes that are signed.

Each test here was checked against a bug planted in the code it guards
(a scope checked by level only, an office layer that overwrites documents,
notes or a category title, a canonical form without sorted keys): each
plant makes it fail.
"""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from pishkhan.boards.installed import effective_board, history, install_board
from pishkhan.boards.layering import Layer, layer_boards
from pishkhan.boards.document import parse_board
from pishkhan.boards.signing import PublicKey, SigningKey, canonical, fingerprint, verification_code, verify
from pishkhan.boards.trust import scope_allows, trust_key
from pishkhan.exc import BoardRefused

TODAY = dt.date(2026, 11, 28)


def board(level="national", version=1, **scope):
    return {"format": "pishkhan.board/1", "issuer": f"issuer {level}", "scope": {"level": level, **scope},
            "version": version, "effective_from": "2026-03-21",
            "categories": [{"code": "id", "title": "کارت ملی", "services": [
                {"code": "ID-1", "title": "صدور کارت", "government_fee": 3000000, "office_fee": 1000000,
                 "documents": ["اصل شناسنامه"], "notes": "حضور متقاضی الزامی است"},
                {"code": "ID-2", "title": "المثنی", "government_fee": 100, "office_fee": 200}]}]}


# --------------------------------------------------------------------------- key scope

def _scoped(store, scope):
    key = SigningKey.generate()
    trust_key(store, key.public, scope=scope, actor="test")
    return key


@pytest.mark.parametrize("key_scope, doc", [
    ("province:23", board("province", province="11")),     # same level, another province
    ("province:23", board("province", province="2")),      # a prefix of the key's province
    ("province:23", board("province", province="230")),    # the key's province as a prefix
    ("province:23", board("office", office="23-1")),       # an office inside the province
    ("province:23", board()),                              # the national board
    ("office:23-1", board("office", office="23-2")),       # another office
    ("office:23-1", board("province", province="23")),
    ("national", board("province", province="23")),        # national keys sign national boards only
    ("command", board()),                                  # a command key never signs a board
])
def test_a_scoped_key_signs_only_its_own_scope(store, key_scope, doc):
    key = _scoped(store, key_scope)
    scope_key = parse_board(doc).scope.key
    with pytest.raises(BoardRefused, match=f"may sign only {key_scope} boards, but this board is for {scope_key}"):
        install_board(store, key.sign(doc), source="usb", actor="staff")   # no province/office given
    assert history(store) == []
    assert store.audit_entries(action="board.refused")[0]["detail"]["reason"].startswith(f"key {key.public.fingerprint}")
    assert scope_allows(key_scope, scope_key) is False


def test_a_province_key_cannot_sign_for_another_province_even_on_a_device_there(store):
    """The office in province 11 must not take province 23's key as an issuer for 11."""
    key = _scoped(store, "province:23")
    with pytest.raises(BoardRefused, match="may sign only province:23 boards, but this board is for province:11"):
        install_board(store, key.sign(board("province", province="11")), source="usb", actor="staff",
                      province="11")
    assert history(store) == []


@pytest.mark.parametrize("key_scope, doc", [
    ("province:23", board("province", province="23")),
    ("office:23-1", board("office", office="23-1")),
    ("national", board()),
    ("any", board("province", province="11")),
])
def test_a_scoped_key_signs_its_own_scope(store, key_scope, doc):
    key = _scoped(store, key_scope)
    installed = install_board(store, key.sign(doc), source="usb", actor="staff")
    assert installed.key_fingerprint == key.public.fingerprint
    assert [h.board.scope.key for h in history(store)] == [parse_board(doc).scope.key]


# --------------------------------------------------------------------------- office layer

def _layers(*docs):
    return layer_boards([Layer(parse_board(d), f"CODE-{i}") for i, d in enumerate(docs)])


def test_an_office_board_cannot_change_documents_notes_or_a_category_title():
    national = board()
    office = board("office", office="23-1")
    office["categories"][0]["title"] = "عنوان دفتر"
    office["categories"][0]["title_en"] = "Office title"
    first = office["categories"][0]["services"][0]
    first["documents"] = ["هیچ مدرکی لازم نیست"]
    first["notes"] = "بدون حضور متقاضی"
    first["title_en"] = "Office's own English title"
    second = office["categories"][0]["services"][1]
    second["documents"] = ["مدرک ساختگی"]       # the national one has none
    second["notes"] = "یادداشت دفتر"
    eff = _layers(national, office)

    category = eff.category("id")
    assert (category.title, category.title_en, category.source) == ("کارت ملی", "", "national v1")
    s1, s2 = eff.service("ID-1"), eff.service("ID-2")
    assert s1.documents == ("اصل شناسنامه",) and s1.notes == "حضور متقاضی الزامی است" and s1.title_en == ""
    assert s2.documents == () and s2.notes == ""
    for s in (s1, s2):
        assert {f: s.sources[f] for f in ("title", "documents", "notes", "title_en")} == dict.fromkeys(
            ("title", "documents", "notes", "title_en"), "national v1")
        assert s.official
    assert "office:23-1 v1: service ID-1 may not change documents" in eff.conflicts
    assert "office:23-1 v1: service ID-1 may not change notes" in eff.conflicts
    assert "office:23-1 v1: service ID-2 may not change documents" in eff.conflicts
    assert "office:23-1 v1: service ID-2 may not change notes" in eff.conflicts
    # and the effective board as the wall and the kiosk get it says the same
    as_json = eff.to_json()["categories"][0]
    assert as_json["title"] == "کارت ملی"
    assert as_json["services"][0]["documents"] == ["اصل شناسنامه"]


def test_a_province_board_may_change_them(store):
    """The positive control: an official province layer does change the same fields."""
    province = board("province", province="23")
    province["categories"][0]["title"] = "کارت ملی (استان)"
    province["categories"][0]["services"][0]["documents"] = ["اصل شناسنامه", "کارت قبلی"]
    province["categories"][0]["services"][0]["notes"] = "نوبت‌دهی استانی"
    eff = _layers(board(), province)
    assert (eff.category("id").title, eff.category("id").source) == ("کارت ملی (استان)", "province:23 v1")
    s = eff.service("ID-1")
    assert s.documents == ("اصل شناسنامه", "کارت قبلی") and s.notes == "نوبت‌دهی استانی"
    assert s.sources["documents"] == s.sources["notes"] == "province:23 v1"
    assert eff.conflicts == []


def test_an_installed_office_board_leaves_the_official_text_on_the_effective_board(store):
    key = _scoped(store, "any")
    install_board(store, key.sign(board()), source="cli", actor="test")
    office = board("office", office="23-1")
    office["categories"][0]["title"] = "عنوان دفتر"
    office["categories"][0]["services"][0]["notes"] = "بدون حضور متقاضی"
    install_board(store, key.sign(office), source="usb", actor="staff", office="23-1")
    eff = effective_board(store, province="23", office="23-1", on=TODAY)
    assert eff.version_label == "1+1"
    assert eff.category("id").title == "کارت ملی"
    assert eff.service("ID-1").notes == "حضور متقاضی الزامی است"


# --------------------------------------------------------------------------- the exact signed bytes

#: A fixed Ed25519 private key (RFC 8032 seeds are 32 bytes): 00 01 02 ... 1f.
SEED = bytes(range(32))
PUBLIC_RAW = bytes.fromhex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8")
#: Keys deliberately out of order, Persian text and a ZWNJ, nested objects.
PAYLOAD = {"version": 3, "scope": {"level": "province", "province": "23"}, "format": "pishkhan.board/1",
           "issuer": "استانداری", "effective_from": "2026-03-21",
           "categories": [{"title": "کارت ملی", "code": "id", "services": [
               {"office_fee": 1250000, "title": "صدور کارت\u200cهوشمند", "government_fee": 3000000,
                "code": "ID-01"}]}]}
#: The canonical form: keys sorted at every level, no white space, UTF-8 (not \\u escapes).
CANONICAL = ('{"categories":[{"code":"id","services":[{"code":"ID-01","government_fee":3000000,'
             '"office_fee":1250000,"title":"صدور کارت\u200cهوشمند"}],"title":"کارت ملی"}],'
             '"effective_from":"2026-03-21","format":"pishkhan.board/1","issuer":"استانداری",'
             '"scope":{"level":"province","province":"23"},"version":3}').encode("utf-8")
SIGNATURE = "tHt0IATcTyJUc38HZKFTWr+9bBJa1+uUd0qg+X57KUrLTVTiCzk1TPXxWHBta056e3KlcxdpoCHAJKpm4RhMAg=="
FINGERPRINT = "56475aa75463474c"
CODE = "PBFN-U5YS"


def _fixed_key() -> SigningKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return SigningKey(Ed25519PrivateKey.from_private_bytes(SEED))


def test_the_canonical_form_is_exactly_these_bytes():
    assert canonical(PAYLOAD) == CANONICAL
    assert canonical(dict(reversed(list(PAYLOAD.items())))) == CANONICAL   # insertion order never matters


def test_a_fixed_key_and_payload_give_exactly_this_signature_and_code():
    key = _fixed_key()
    envelope = key.sign(PAYLOAD)
    assert envelope == {"format": "pishkhan.signed/1", "payload": PAYLOAD,
                        "signature": {"alg": "ed25519", "key": FINGERPRINT, "value": SIGNATURE}}
    assert key.public.fingerprint == FINGERPRINT
    assert verification_code(envelope) == CODE
    payload, by = verify(envelope, [key.public])
    assert payload == PAYLOAD and by.fingerprint == FINGERPRINT


def test_the_vector_checks_out_without_pishkhan_code():
    """The literals agree with each other by plain cryptography and hashlib alone."""
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    public = Ed25519PublicKey.from_public_bytes(PUBLIC_RAW)
    public.verify(base64.b64decode(SIGNATURE), CANONICAL)       # raises if they disagree
    assert hashlib.sha256(PUBLIC_RAW).hexdigest()[:16] == FINGERPRINT == fingerprint(public)
    digest = hashlib.sha256(CANONICAL + SIGNATURE.encode()).digest()
    code = base64.b32encode(digest).decode()[:8]
    assert f"{code[:4]}-{code[4:]}" == CODE


def test_a_document_signed_elsewhere_with_the_vector_verifies_here(store):
    """An envelope made by another tool (the centre's) from these exact bytes installs."""
    key = _fixed_key()
    trust_key(store, PublicKey(key.key.public_key()), scope="province:23", actor="test")
    envelope = {"format": "pishkhan.signed/1", "payload": PAYLOAD,
                "signature": {"alg": "ed25519", "key": FINGERPRINT, "value": SIGNATURE}}
    installed = install_board(store, envelope, source="centre", actor="agent")
    assert installed.verification_code == CODE
