"""Each office's health history: kept from real telemetry on ingest (one sample a slot), bounded, pruned by the
monitor's housekeeping, read by hour or day with its threshold crossings, and the devices beyond a threshold
now — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from central import health_history, registry
from central.fleet import Fleet
from central.monitor_housekeeping import Housekeeper
from pishkhan.hardware.health import decode_throttled
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics

T = Topics()
T0 = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.timezone.utc)  # Tehran 08:30, 1405/09/10
OUTBOX = {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0, "dropped": {}, "refused": 0}


def at(minutes: float) -> str:
    return payloads.format_time(T0 + dt.timedelta(minutes=minutes))


class Sender:
    """One registered device sending telemetry through the fleet's ingest."""

    def __init__(self, fleet, device, province="23"):
        self.fleet, self.device, self.seq = fleet, device, 0
        registry.register(fleet.db, device_id=device, office_id=f"{province}-{abs(hash(device)) % 9000 + 1000}",
                          province=province, office_name=f"دفتر {device}")

    def send(self, minutes: float, full: bool = False, **readings):
        self.seq += 1
        message = payloads.telemetry(device=self.device, seq=self.seq, sent_at=at(minutes),
                                     agent={"uptime_s": 60, "outbox": OUTBOX}, readings={"device": readings},
                                     full=full or None)
        counts = self.fleet.ingest([(T.device(self.device, "telemetry"), payloads.encode(message),
                                     at(minutes + 0.1))])
        assert counts.accepted == 1, counts


HEALTHY = dict(cpu_temp_c=55.0, throttled=decode_throttled(0), disk_free_bytes=8 * 10 ** 9,
               disk_total_bytes=16 * 10 ** 9, mem_total_kb=4_000_000, mem_available_kb=2_000_000)


def test_one_sample_a_slot_bounded_values_and_the_latest_always(fleet_db):
    fleet = Fleet(fleet_db)
    pi = Sender(fleet, "pi-1")
    pi.send(0, full=True, **HEALTHY)
    pi.send(3, cpu_temp_c=81.5)                     # same 10-minute slot: history keeps the first, now the latest
    pi.send(12, throttled=decode_throttled(0x50005))  # under-voltage now, merged over the kept readings
    samples = fleet_db.query("SELECT * FROM health_samples ORDER BY slot")
    assert [s["slot"] for s in samples] == ["2026-12-01T05:00:00Z", "2026-12-01T05:10:00Z"]
    assert samples[0]["cpu_temp_c"] == 55.0 and samples[1]["cpu_temp_c"] == 81.5  # merged: temperature kept
    assert samples[1]["under_voltage"] == 1 and samples[1]["disk_free_bytes"] == 8 * 10 ** 9
    now = fleet_db.query_one("SELECT * FROM health_now WHERE device_id = 'pi-1'")
    assert now["at"] == "2026-12-01T05:12:00Z" and now["under_voltage"] == 1
    pi.send(14, load_1m=0.5)  # nothing of its health changed in the slot: the latest stays as it was
    assert fleet_db.query_one("SELECT at FROM health_now WHERE device_id = 'pi-1'")["at"] == "2026-12-01T05:12:00Z"
    pi.send(25, load_1m=0.6)  # a new slot: the same readings are the device's now, and a sample of the slot
    assert fleet_db.query_one("SELECT at FROM health_now WHERE device_id = 'pi-1'")["at"] == "2026-12-01T05:25:00Z"
    assert len(fleet_db.query("SELECT slot FROM health_samples WHERE device_id = 'pi-1'")) == 3
    pi.send(27, full=True, cpu_temp_c=81.5)  # the same slot, every other reading gone: they are gone now too
    now = fleet_db.query_one("SELECT * FROM health_now WHERE device_id = 'pi-1'")
    assert (now["at"], now["cpu_temp_c"], now["under_voltage"], now["disk_free_bytes"]) == \
        ("2026-12-01T05:27:00Z", 81.5, None, None)
    # what a device sends is checked as from anyone: out of bounds, the wrong type, free above total -> absent
    bad = Sender(fleet, "pi-bad")
    bad.send(0, full=True, cpu_temp_c=10 ** 6, throttled={"under_voltage": "yes"}, disk_free_bytes=20,
             disk_total_bytes=10, mem_total_kb=-5, mem_available_kb=10 ** 30)
    row = fleet_db.query_one("SELECT * FROM health_samples WHERE device_id = 'pi-bad'")
    assert [row[k] for k in health_history._COLUMNS] == [None, None, None, 10, None, None]  # only the total reads
    bad.send(12, full=True, cpu_temp_c=-20.04, mem_total_kb=100, mem_available_kb=101)
    row = fleet_db.query_one("SELECT * FROM health_samples WHERE device_id = 'pi-bad' AND slot > '2026-12-01T05:05'")
    assert row["cpu_temp_c"] == -20.0 and row["disk_free_bytes"] is None and row["disk_total_bytes"] is None
    assert row["mem_total_kb"] == 100 and row["mem_available_kb"] is None and row["under_voltage"] is None
    bad.send(22, full=True, cpu_temp_c=float(2 ** 70), throttled={"raw": "0x0"})
    assert fleet_db.query("SELECT * FROM health_samples WHERE device_id = 'pi-bad' AND slot > '2026-12-01T05:15'") \
        == []  # nothing readable: no sample


def test_history_by_hour_and_day_with_crossings_and_prune(fleet_db):
    fleet = Fleet(fleet_db)
    pi = Sender(fleet, "pi-1")
    pi.send(0, full=True, **HEALTHY)
    pi.send(10, cpu_temp_c=83.0)                       # 08:40 Tehran
    pi.send(70, cpu_temp_c=60.0, disk_free_bytes=400 * 10 ** 6)  # 09:40: under 500 MB
    pi.send(24 * 60 + 5, mem_available_kb=100_000, disk_free_bytes=9 * 10 ** 9)  # next day: memory at 2.5 %
    day = dt.date(2026, 12, 1)
    h = health_history.history(fleet_db, "pi-1", start=day, end=day)
    assert h["by"] == "hour" and [b["start"][11:16] for b in h["buckets"]] == ["08:00", "09:00"]
    first, second = h["buckets"]
    assert (first["samples"], first["temp_min"], first["temp_max"], first["beyond"]) == (2, 55.0, 83.0,
                                                                                           ["temperature"])
    assert second["beyond"] == ["disk"] and second["disk_free_min"] == 400 * 10 ** 6
    assert h["crossings"] == {"temperature": 1, "under_voltage": 0, "disk": 1, "memory": 0}
    week = health_history.history(fleet_db, "pi-1", start=day - dt.timedelta(days=6), end=day + dt.timedelta(days=1))
    assert week["by"] == "day" and [b["samples"] for b in week["buckets"]] == [3, 1]
    assert week["buckets"][1]["beyond"] == ["memory"] and week["buckets"][1]["mem_available_percent_min"] == 2.5
    # the monitor's hourly housekeeping forgets samples older than 90 days
    clock = (T0 + dt.timedelta(days=90, hours=2)).timestamp()
    keeper = Housekeeper(fleet, monitor_id="m1", figures=lambda: {}, clock=lambda: clock)
    assert keeper.prune()["health_samples"] == 3
    assert [r["slot"] for r in fleet_db.query("SELECT slot FROM health_samples")] == ["2026-12-02T05:00:00Z"]


def test_devices_beyond_a_threshold_now_by_kind_province_and_page(fleet_db):
    fleet = Fleet(fleet_db)
    cases = {"hot": dict(cpu_temp_c=80.0), "volt": dict(throttled=decode_throttled(1)),
             "disk": dict(disk_free_bytes=10 ** 9, disk_total_bytes=20 * 10 ** 9),  # 5 %
             "mem": dict(mem_available_kb=300_000, mem_total_kb=4_000_000), "fine": {}}
    for i, (name, change) in enumerate(cases.items()):
        Sender(fleet, f"pi-{name}", province="23" if i % 2 == 0 else "11").send(0, full=True, **(HEALTHY | change))
    Sender(fleet, "pi-old").send(-2 * 24 * 60, full=True, **(HEALTHY | {"cpu_temp_c": 95.0}))  # not heard for days
    fleet_db.execute("INSERT INTO devices(device_id, province) VALUES ('pi-forged', '23')")
    fleet_db.execute("INSERT INTO health_now(device_id, slot, at, cpu_temp_c, disk_free_bytes, disk_total_bytes) "
                     "VALUES ('pi-forged', 'x', '2026-12-01T05:00:00Z', 1e300, -5, 10)")  # hand-written, unreadable
    now = T0 + dt.timedelta(minutes=5)
    listed = health_history.beyond(fleet_db, now=now)
    assert listed["total"] == 4 and {d["device_id"] for d in listed["devices"]} == {"pi-hot", "pi-volt", "pi-disk",
                                                                                    "pi-mem"}
    assert {d["device_id"]: d["beyond"] for d in listed["devices"]}["pi-disk"] == ["disk"]
    assert [d["device_id"] for d in health_history.beyond(fleet_db, now=now, kind="memory")["devices"]] == ["pi-mem"]
    assert {d["device_id"] for d in health_history.beyond(fleet_db, now=now, province="23")["devices"]} == \
        {"pi-hot", "pi-disk"}
    paged = [health_history.beyond(fleet_db, now=now, size=3, page=p) for p in (1, 2, 9)]
    assert [len(p["devices"]) for p in paged] == [3, 1, 1] and paged[2]["page"] == 2 and paged[0]["pages"] == 2
    stricter = health_history.Thresholds(temperature_c=50.0)
    assert health_history.beyond(fleet_db, now=now, kind="temperature", limits=stricter)["total"] == 5
