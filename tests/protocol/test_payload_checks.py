"""The checks the shared payloads module makes beside the schemas: the device's and the centre's same rules."""

from __future__ import annotations

import pytest

from pishkhan.exc import ProtocolError
from pishkhan.protocol import payloads
from pishkhan.text.safety import refused_character

COMMON = {"device": "dev-1", "seq": 7, "sent_at": "2026-12-01T08:30:00.000Z"}


def refusal(message) -> str:
    with pytest.raises(ProtocolError) as e:
        payloads.validate(message)
    assert e.value.reason in payloads.REFUSALS
    return e.value.reason


def test_every_refusal_has_a_reason_code():
    assert ProtocolError("x").reason == "malformed"
    with pytest.raises(ProtocolError) as e:
        payloads.schema_id("nonsense")
    assert e.value.reason == "malformed"


@pytest.mark.parametrize("text", [b'{"a": 1, "a": 2}', b'{"a": {"b": 1, "b": 1}}', b'{"a": [{"c": 1, "c": 2}]}'])
def test_decode_refuses_a_key_twice_in_one_object(text):
    with pytest.raises(ProtocolError) as e:
        payloads.decode(text)
    assert e.value.reason == "duplicate_key" and '"' in str(e.value)


def test_decode_names_what_is_not_json():
    for text in (b"{", b"[]", b"\xff"):
        with pytest.raises(ProtocolError) as e:
            payloads.decode(text)
        assert e.value.reason == "not_json"


@pytest.mark.parametrize("message", [
    payloads.event(**COMMON, event="printer_out", detail={"why": "out\u202e"}),
    payloads.event(**COMMON, event="printer_out", detail={"why": "\x1b[2J"}),
    payloads.event(**COMMON, event="printer_out", detail={"\u200fkey": 1}),
    payloads.report(**COMMON, date="2026-12-01", report={"office": "23-\u202e4321"}),
])
def test_control_and_bidi_characters_are_refused_in_any_string_or_key(message):
    assert refusal(message) == "unsafe_text"


def test_the_check_on_raw_text_agrees_with_the_walk():
    message = payloads.event(**COMMON, event="printer_out", detail={"why": "دفتر\u200cها\nدوم"})
    for raw in (payloads.encode(message), payloads.encode(message).decode()):
        assert payloads.unsafe_text(message, raw=raw) is None
    bad = payloads.event(**COMMON, event="printer_out", detail={"why": "a\u2066b"})
    assert "U+2066" in payloads.unsafe_text(bad, raw=payloads.encode(bad))
    assert "U+2066" in payloads.unsafe_text(bad)


@pytest.mark.parametrize("report, ok", [
    ({"scheduled_minutes": 420, "judged_minutes": 420, "serving_minutes": 400, "closed_minutes": 20,
      "late_opening_minutes": 20, "violation_minutes": 20}, True),
    ({"serving_minutes": 400}, True),
    ({"scheduled_minutes": 420, "judged_minutes": 420, "serving_minutes": 421}, False),
    ({"scheduled_minutes": 0, "serving_minutes": 1}, False),
    ({"judged_minutes": 10, "serving_minutes": 5}, False),
    ({"scheduled_minutes": 60, "late_opening_minutes": 40, "early_closing_minutes": 40}, False),
])
def test_report_minutes_add_up_and_stay_within_the_schedule(report, ok):
    message = payloads.report(**COMMON, date="2026-12-01", report=report)
    if ok:
        payloads.validate(message)
    else:
        assert refusal(message) == "minutes"


@pytest.mark.parametrize("message", [
    payloads.report(**COMMON, date="2026-12-01", report={"events": 3}),
    payloads.report(**COMMON, date="2026-12-01", report={"timeline": [{"state": "open", "start": "x", "end": "y"}]}),
    payloads.reported(**COMMON, applied={"board": {"layers": "x"}}),
    payloads.telemetry(**COMMON, agent={"uptime_s": 1, "outbox": {"depth": 0, "bytes": 0, "oldest_age_s": None,
                                                                  "in_flight": 0, "dropped": {}, "refused": 0}},
                       readings={"device": {f"k{i}": 1 for i in range(65)}}),
])
def test_types_and_bounds_are_the_schemas(message):
    assert refusal(message) == "schema"


def test_refused_character_is_the_office_sides_rule():
    assert refused_character("دفتر پیشخوان\u200cها 23-1234") is None
    assert "U+202E" in refused_character("23-\u202e4321")
    assert "position 4" in refused_character("23-\u202e4321")
    assert refused_character("a\nb", lines=True) is None and refused_character("a\nb") is not None
    assert "U+0000" in refused_character("a\x00")
