"""The centre's gap accounting (docs/mqtt.md, "Gaps and duplicates"): a missing ``seq`` is a loss unless it is
an announced Last Will the broker never sent or telemetry the device's outbox said it dropped."""

from __future__ import annotations

from test_fleet import at, birth, msg, outbox

from central.fleet import Fleet
from central.status import lost_messages
from pishkhan.protocol import payloads


def tele(seq, t, dropped=None, epoch=None):
    message = payloads.telemetry(device="dev-g", seq=seq, sent_at=at(t),
                                 agent={"uptime_s": t, "outbox": outbox() | {"dropped": dropped or {}}})
    return (*msg("telemetry", "dev-g", payloads.in_epoch(message, epoch) if epoch else message), at(t))


def status(message, t):
    return (*msg("status", "dev-g", message), at(t))


def will(seq, t, reason="lost"):
    return payloads.offline(device="dev-g", seq=seq, sent_at=at(t), reason=reason, boot_id="b1")


def counts(fleet):
    d = fleet.device("dev-g")
    return d["gaps"], d["unsent_wills"], d["telemetry_dropped"]


def test_announced_wills_and_dropped_telemetry_are_not_losses(fleet_db):
    fleet = Fleet(fleet_db)
    # A birth announces will 1; its connection lives: the hole is by design.
    fleet.ingest([status(birth("dev-g", 2, 10, will_seq=1), 10), tele(3, 20)])
    assert counts(fleet) == (0, 1, 0)
    # The broker restarts without sending will 1; the next connection's birth announces 4.
    fleet.ingest([status(birth("dev-g", 5, 30, will_seq=4), 30)])
    assert counts(fleet) == (0, 2, 0)
    # Its will comes: now received, no longer excused; still nothing lost.
    fleet.ingest([status(will(4, 29), 40)])
    assert counts(fleet) == (0, 1, 0)
    # Telemetry 6-8 dropped by the outbox (coalesced), as telemetry 9 says: not lost. Event 10 never came: lost.
    fleet.ingest([tele(9, 50, {"telemetry.coalesced": 3, "event.full": 0})])
    assert counts(fleet) == (0, 1, 3)
    fleet.ingest([status(birth("dev-g", 12, 60, will_seq=11), 60)])
    assert counts(fleet) == (1, 2, 3)
    # A birth announcing a will already received excuses nothing twice; a smaller drop count lowers nothing.
    fleet.ingest([status(will(11, 59), 70), status(birth("dev-g", 13, 71, will_seq=11), 71),
                  tele(14, 72, {"telemetry.coalesced": 1})])
    assert counts(fleet) == (1, 1, 3)  # the count is cumulative in the outbox: its largest is kept
    d = fleet.device("dev-g")
    assert lost_messages(d) == 1 and d["highest_seq"] - d["received"] - 1 - 3 == 1
    # A new outbox epoch: what the old one lost is kept, its announced wills are forgotten.
    fleet.ingest([(*msg("status", "dev-g", payloads.in_epoch(birth("dev-g", 2, 80, will_seq=1), "e2e2e2e2e2e2")),
                   at(80))])
    assert counts(fleet) == (1, 1, 0) and fleet.device("dev-g")["lost_before"] == 1
