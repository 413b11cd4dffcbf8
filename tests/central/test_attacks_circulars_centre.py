"""Attacks on the centre's circular receipts by one office's device credentials: numbers never published, a
flood past the per-device bound, and a hostile ``by``."""

from __future__ import annotations

import datetime as dt

from central import registry
from central.circulars.view import circulars_view
from central.fleet import Fleet
from pishkhan.protocol import payloads

NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.timezone.utc)


def test_receipts_of_numbers_never_published_are_bounded_and_never_shown(fleet_db, monkeypatch):
    monkeypatch.setattr("central.circulars.ingest.MAX_PER_DEVICE", 3)
    registry.register(fleet_db, device_id="t-0", office_id="T0", province="23", office_name="دفتر")
    fleet, at = Fleet(fleet_db), payloads.format_time(NOW.timestamp())
    reasons = {}
    for seq, (event, detail) in enumerate(
            [("circular_acknowledged", {"number": f"1499/{n}", "by": "<script>alert(1)</script>"}) for n in range(5)]
            + [("circular_acknowledged", {"number": "1499/0", "by": "a\r\nSet-Cookie: x"}),
               ("circular_received", {"number": "1499/0", "scope": "province:11"})], 1):
        detail = {"scope": "national", "sha256": "a" * 64, "at": at} | detail
        message = payloads.event(device="t-0", seq=seq, sent_at=NOW.timestamp(), event=event, detail=detail)
        counts = fleet.ingest([(fleet.topics.device("t-0", "event"), payloads.encode(message), at)])
        for reason, n in ({"accepted": counts.accepted} | counts.reasons).items():
            reasons[reason] = reasons.get(reason, 0) + n
    assert reasons == {"accepted": 3, "over_budget": 2, "unsafe_text": 1, "wrong_device": 1}
    assert fleet_db.query_one("SELECT COUNT(*) AS n FROM circular_offices")["n"] == 3
    assert circulars_view(fleet_db, now=NOW)["circulars"] == []  # only published circulars are listed
