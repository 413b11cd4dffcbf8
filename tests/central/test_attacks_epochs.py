"""Attacks on the centre's sequence accounting (central/fleet.py: epochs, ``seen``, ``wills``, dropped telemetry) by
one office's device holding its own credentials, on SQLite and PostgreSQL.

The device may lie about itself (its own counters are its own word), but what it makes the centre store is bounded,
and nothing it sends moves another device's counters.
"""

from __future__ import annotations

from test_fleet import at, birth, msg, outbox

from central import registry
from central import fleet as fleet_module
from central.fleet import Fleet

MAX_NEW_EPOCHS, MAX_WILLS = 6, 30
from pishkhan.protocol import payloads


def tele(device, seq, t, *, epoch=None, dropped=None):
    message = payloads.telemetry(device=device, seq=seq, sent_at=at(t),
                                 agent={"uptime_s": t, "outbox": outbox() | {"dropped": dropped or {}}})
    return (*msg("telemetry", device, payloads.in_epoch(message, epoch) if epoch else message), at(t))


def rows(db, table, device):
    return int(db.query_one(f"SELECT COUNT(*) AS n FROM {table} WHERE device_id = ?", (device,))["n"])


def test_one_devices_credential_cannot_flood_the_centre(fleet_db, monkeypatch):
    """Each attack with its own devices, on one database (a database a test costs a second on PostgreSQL)."""
    monkeypatch.setattr(fleet_module, "MAX_NEW_EPOCHS", MAX_NEW_EPOCHS)  # the real bounds, smaller: cheaper
    monkeypatch.setattr(fleet_module, "MAX_WILLS", MAX_WILLS)
    for attack in (inventing_epochs, announcing_wills, claiming_it_dropped_2_to_the_63, skipping_numbers,
                   making_the_centre_write_an_alert_a_message):
        attack(fleet_db)



def inventing_epochs(fleet_db):
    """A new epoch a message: at most MAX_NEW_EPOCHS rows a day in ``epochs``, and the batch's other device is
    untouched."""
    for device in ("dev-x", "dev-ok"):
        registry.register(fleet_db, device_id=device, office_id=f"23-{device[-2:]}", province="23", office_name="دفتر")
    fleet = Fleet(fleet_db)
    flood = [tele("dev-x", 1, 10 + i, epoch=f"flood{i:06d}") for i in range(MAX_NEW_EPOCHS * 5)]
    counts = fleet.ingest(flood + [tele("dev-ok", 1, 20)])
    counts.add(fleet.ingest([tele("dev-x", 1, 500 + i, epoch=f"later{i:06d}") for i in range(MAX_NEW_EPOCHS)]))
    assert rows(fleet_db, "epochs", "dev-x") <= MAX_NEW_EPOCHS
    assert counts.reasons.get("over_budget", 0) >= MAX_NEW_EPOCHS * 5 - MAX_NEW_EPOCHS
    assert fleet.device("dev-ok")["received"] == 1  # the other device in the batch is untouched
    # one over_budget alert a day, not one a message
    assert rows(fleet_db, "events", "dev-x") == 1
    # a message of an epoch the centre already met still counts
    assert fleet.ingest([tele("dev-x", 2, 900, epoch="flood000000")]).accepted == 1


def announcing_wills(fleet_db):
    """A birth a message, each announcing a will never sent: at most MAX_WILLS waited for."""
    registry.register(fleet_db, device_id="dev-w", office_id="23-0001", province="23", office_name="دفتر")
    fleet = Fleet(fleet_db)
    n = MAX_WILLS + 20
    # each birth announces the number just before its own as its will, never sent: a hole by design, in wills
    fleet.ingest([(*msg("status", "dev-w", birth("dev-w", 2 * i + 2, i, will_seq=2 * i + 1)), at(i)) for i in range(n)])
    assert rows(fleet_db, "wills", "dev-w") <= MAX_WILLS
    assert fleet.device("dev-w")["unsent_wills"] <= MAX_WILLS
    assert fleet.device("dev-w")["gaps"] == n - MAX_WILLS  # the births' holes past the bound count as lost


def test_the_bounds_leave_a_real_device_room():
    assert fleet_module.MAX_NEW_EPOCHS >= 10 and fleet_module.MAX_WILLS >= 500


def claiming_it_dropped_2_to_the_63(fleet_db):
    """Its own holes hidden (its word on itself), no other device's, and no counter past a BIGINT."""
    for device in ("dev-d", "dev-e"):
        registry.register(fleet_db, device_id=device, office_id=f"24-{device[-1]}000", province="24",
                          office_name="دفتر")
    fleet = Fleet(fleet_db)
    huge = {f"telemetry.k{i}": 2 ** 63 - 1 for i in range(4)}  # their sum passes any bigint
    fleet.ingest([tele("dev-e", 1, 1), tele("dev-e", 5, 2),  # dev-e lost 3
                  tele("dev-d", 1, 1), tele("dev-d", 2 ** 63 - 1, 2, dropped=huge)])
    d, e = fleet.device("dev-d"), fleet.device("dev-e")
    assert d["telemetry_dropped"] == 2 ** 63 - 1 and d["gaps"] == 0
    assert e["gaps"] == 3 and e["telemetry_dropped"] == 0
    import datetime as dt

    from central.metrics import FleetCollector

    scraped = {m.name: m for m in FleetCollector(fleet, today=lambda: dt.date(2026, 12, 1)).collect()}
    gaps = {s.labels["province"]: s.value for s in scraped["pishkhan_sequence_gaps"].samples}
    assert gaps["24"] == 3  # dev-e's, on both servers


def skipping_numbers(fleet_db):
    """A hole of one a message once its lost messages are at the bound: each a seq jump, not each an alert."""
    registry.register(fleet_db, device_id="dev-j", office_id="23-0009", province="23", office_name="دفتر")
    fleet = Fleet(fleet_db)
    # a hole just under the bound, then holes of one: each passes the bound on lost messages, each a "jump"
    seqs = [1, fleet_module.SEQ_JUMP, *(fleet_module.SEQ_JUMP + 2 * i for i in range(1, 110))]
    fleet.ingest([tele("dev-j", s, i) for i, s in enumerate(seqs)])
    fleet.ingest([tele("dev-j", seqs[-1] + 2 * i, 400 + i) for i in range(1, 20)])
    jumps = rows(fleet_db, "events", "dev-j")
    assert 1 <= jumps <= fleet_module.EVENTS_PER_DAY + 1, jumps  # bounded as the device's own events are
    assert fleet.device("dev-j")["received"] == len(seqs) + 19  # every message still counted


def making_the_centre_write_an_alert_a_message(fleet_db):
    """Results nobody asked for, offline statuses, births claiming another office and reported refusals each
    become a row of ``events`` at the centre: they count against the device's events of the day."""
    registry.register(fleet_db, device_id="dev-a", office_id="23-0010", province="23", office_name="دفتر")
    fleet = Fleet(fleet_db)
    n, batch = 40, []  # 40 × (a result, a birth, an offline, 32 refusals): 1,400 rows without the budget
    for i in range(n):
        base = 4 * i + 1
        batch.append((*msg("result", "dev-a", payloads.result(device="dev-a", seq=base, sent_at=at(base),
                                                              correlation_id=f"c{i}", command="ping", ok=True)),
                      at(base)))
        batch.append((*msg("status", "dev-a", birth("dev-a", base + 1, base + 1, will_seq=base + 2,
                                                     province="11")), at(base + 1)))
        batch.append((*msg("status", "dev-a", payloads.offline(device="dev-a", seq=base + 2, sent_at=at(base + 2),
                                                               reason="stopped", boot_id="b1")), at(base + 2)))
        batch.append((*msg("reported", "dev-a", payloads.reported(
            device="dev-a", seq=base + 3, sent_at=at(base + 3), applied={},
            refused=[{"kind": "board", "reason": "signature"}] * 32)), at(base + 3)))
    fleet.ingest(batch)
    stored = rows(fleet_db, "events", "dev-a")
    assert stored <= fleet_module.EVENTS_PER_DAY + 1, stored  # + the over_budget alert
    assert fleet.device("dev-a")["received"] == 4 * n  # every message still counted
