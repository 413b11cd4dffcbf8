"""Signatures: only trusted keys verify, and any changed byte breaks them."""

from __future__ import annotations

import base64
import json

import pytest

from pishkhan.exc import SignatureInvalid
from pishkhan.boards.signing import SigningKey, canonical, verification_code, verify


def test_signed_board_verifies_with_its_key(issuer_key, sample_doc):
    envelope = issuer_key.sign(sample_doc)
    payload, key = verify(envelope, [issuer_key.public])
    assert payload == sample_doc and key.fingerprint == issuer_key.public.fingerprint
    assert len(issuer_key.public.fingerprint) == 16


def test_other_key_is_not_trusted(issuer_key, sample_doc):
    other = SigningKey.generate()
    with pytest.raises(SignatureInvalid, match="is not a trusted issuer key"):
        verify(other.sign(sample_doc), [issuer_key.public])


def test_forged_fingerprint_does_not_help(issuer_key, sample_doc):
    forged = SigningKey.generate().sign(sample_doc)
    forged["signature"]["key"] = issuer_key.public.fingerprint
    with pytest.raises(SignatureInvalid, match="does not match"):
        verify(forged, [issuer_key.public])


def test_changing_any_single_byte_of_the_signed_content_breaks_it(issuer_key, sample_doc):
    envelope = issuer_key.sign(sample_doc)
    signed = canonical(envelope["payload"])
    # Flip one character at many positions across the whole signed text.
    text = signed.decode("utf-8")
    positions = range(0, len(text), max(1, len(text) // 300))
    checked = 0
    for i in positions:
        ch = text[i]
        replacement = "1" if ch != "1" else "2"
        tampered_text = text[:i] + replacement + text[i + 1:]
        try:
            tampered = json.loads(tampered_text)
        except json.JSONDecodeError:
            continue  # not a document any more: refused earlier than the signature
        if canonical(tampered) == signed:
            continue
        with pytest.raises(SignatureInvalid):
            verify({**envelope, "payload": tampered}, [issuer_key.public])
        checked += 1
    assert checked > 100


def test_fee_changed_by_one_rial_is_detected(issuer_key, sample_doc):
    envelope = issuer_key.sign(sample_doc)
    envelope["payload"]["categories"][0]["services"][0]["office_fee"] += 1
    with pytest.raises(SignatureInvalid):
        verify(envelope, [issuer_key.public])


def test_damaged_signature_value(issuer_key, sample_doc):
    envelope = issuer_key.sign(sample_doc)
    raw = bytearray(base64.b64decode(envelope["signature"]["value"]))
    raw[0] ^= 1
    envelope["signature"]["value"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SignatureInvalid):
        verify(envelope, [issuer_key.public])


def test_unsigned_board_is_not_an_envelope(issuer_key, sample_doc):
    with pytest.raises(SignatureInvalid, match="not a signed document"):
        verify(sample_doc, [issuer_key.public])


def test_verification_code_is_short_and_follows_the_content(issuer_key, sample_doc):
    a = issuer_key.sign(sample_doc)
    code = verification_code(a)
    assert len(code) == 9 and code[4] == "-"
    assert verification_code(issuer_key.sign(sample_doc)) == code  # Ed25519 is deterministic
    sample_doc["version"] += 1
    assert verification_code(issuer_key.sign(sample_doc)) != code


def test_keys_round_trip_through_files(tmp_path, sample_doc):
    from pishkhan.boards.signing import PublicKey
    key = SigningKey.generate()
    private, public = key.save(tmp_path, "prov23")
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    loaded = SigningKey.load(private)
    verify(loaded.sign(sample_doc), [PublicKey.load(public)])
