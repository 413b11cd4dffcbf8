"""The monitor's housekeeping (its health written, old rows pruned) and how fresh the centre's figures are."""

from __future__ import annotations

import datetime as dt

from central.db import open_db
from central.fleet import Fleet
from central.freshness import freshness
from central.metrics import exposition
from central.monitor_housekeeping import PRESENCE_DAYS, SEEN_DAYS, Housekeeper
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics

T = Topics()
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


def at(seconds: float) -> str:
    return payloads.format_time(NOW + dt.timedelta(seconds=seconds))


def figures(**over):
    return {"connected": True, "received": 12, "refused": 2, "refusals": {"schema": 2}, "pending": 3,
            "lag_seconds": 0.25, "last_message_at": at(-5)} | over


def telemetry(device, seq, t):
    message = payloads.telemetry(device=device, seq=seq, sent_at=at(t), agent={
        "uptime_s": 1, "outbox": {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0, "dropped": {},
                                  "refused": 0}})
    return T.device(device, "telemetry"), payloads.encode(message), at(t)


def test_the_housekeeper_writes_the_monitors_health_and_prunes_what_is_old(fleet_db):
    fleet = Fleet(fleet_db)
    clock = [NOW.timestamp()]
    keeper = Housekeeper(fleet, monitor_id="m-1", figures=figures, clock=lambda: clock[0])
    old = -(SEEN_DAYS + 1) * 86400
    fleet.ingest([telemetry("dev-1", 1, old), telemetry("dev-1", 2, -60)])
    fleet_db.execute("INSERT INTO budgets(device_id, day, events, alerted) VALUES ('dev-1', '2025-01-01', 3, 0)")
    fleet_db.execute("INSERT INTO budgets(device_id, day, events, alerted) VALUES ('dev-1', '2026-11-30', 3, 0)")
    for days in (PRESENCE_DAYS + 1, PRESENCE_DAYS - 1):
        fleet_db.execute("INSERT INTO presence(device_id, state, seq, received_at) VALUES ('dev-1', 'online', 1, ?)",
                         (at(-days * 86400),))
    keeper.tend()  # the first turn beats and prunes
    assert [r["received_at"] for r in fleet_db.query("SELECT received_at FROM presence")] == \
        [at(-(PRESENCE_DAYS - 1) * 86400)]
    assert [r["seq"] for r in fleet_db.query("SELECT seq FROM seen ORDER BY seq")] == [2]
    assert [r["day"] for r in fleet_db.query("SELECT day FROM budgets")] == ["2026-11-30"]
    row = fleet_db.query_one("SELECT * FROM monitors")
    assert (row["monitor_id"], row["heartbeat_at"], row["received"], row["pending"]) == ("m-1", at(0), 12, 3)
    # a later turn beats again; pruning waits its hour
    clock[0] += 30
    fleet.ingest([telemetry("dev-1", 3, old)])
    keeper.tend()
    assert fleet_db.query_one("SELECT heartbeat_at FROM monitors")["heartbeat_at"] == at(30)
    assert len(fleet_db.query("SELECT seq FROM seen")) == 2
    clock[0] += keeper.prune_every
    keeper.tend()
    assert len(fleet_db.query("SELECT seq FROM seen")) == 1


def test_stale_figures_are_said_on_metrics_and_by_freshness(tmp_path):
    fleet_db = open_db(str(tmp_path / "fleet.db"))
    fleet = Fleet(fleet_db)
    from central import registry

    registry.register(fleet_db, device_id="dev-1", province="23", office_id="23-1", office_name="دفتر")
    fleet.ingest([telemetry("dev-1", 1, -60)])
    assert freshness(fleet_db, now=NOW)["reason"] == "no_monitor"
    keeper = Housekeeper(fleet, monitor_id="m-1", figures=figures, clock=lambda: NOW.timestamp())
    keeper.beat()
    fresh = freshness(fleet_db, now=NOW)
    assert (fresh["stale"], fresh["last_message_at"], fresh["last_message_age_seconds"]) == (False, at(-60), 60)
    later = NOW + dt.timedelta(minutes=4)
    assert freshness(fleet_db, now=later)["reason"] == "no_monitor"  # the monitor stopped beating
    Housekeeper(fleet, monitor_id="m-1", figures=figures, clock=lambda: later.timestamp()).beat()
    assert freshness(fleet_db, now=later)["reason"] == "fleet_silent"  # it runs, and nothing comes
    text = exposition(fleet, today=lambda: dt.date(2026, 12, 1), now=lambda: later).decode()
    assert 'pishkhan_last_message_age_seconds{province="23"} 300.0' in text
    assert 'pishkhan_monitor_heartbeat_age_seconds{monitor="m-1"} 0.0' in text
    assert 'pishkhan_monitor_messages_received_total{monitor="m-1"} 12.0' in text
    assert 'pishkhan_monitor_messages_refused_total{monitor="m-1",reason="schema"} 2.0' in text
    assert 'pishkhan_monitor_writer_queue{monitor="m-1"} 3.0' in text
    assert 'pishkhan_monitor_lag_seconds{monitor="m-1"} 0.25' in text
    assert 'pishkhan_monitor_last_message_age_seconds{monitor="m-1"} 245.0' in text
    # a province's scrape has its own province's age and no monitor
    text = exposition(fleet, today=lambda: dt.date(2026, 12, 1), province="23", now=lambda: later).decode()
    assert "pishkhan_last_message_age_seconds" in text and 'monitor="m-1"' not in text
