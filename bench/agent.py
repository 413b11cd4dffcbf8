"""Figures for the edge agent; prints them, never fails on them.

1. Outbox drain rate to a local Mosquitto at QoS 1 (target >= 2,000 msg/s):
   N events in the outbox, drained by the real Drainer + Session, timed
   from the first hand-off to the last PUBACK; checked at a subscriber.
2. Outbox disk size after 7 days offline at the default telemetry interval
   (target < 50 MB): a full telemetry reading every 60 s plus events, the
   file's size on disk. Then telemetry bytes per day at the default settings
   (target < 1 MB): a simulated office day through the agent's real
   telemetry and compliance parts, changes only between hourly full sets.
3. Outbox placement: a kiosk-like write's latency into the store while an
   outbox drains in the store file vs in its own file; bytes written per
   enqueue (FULL) and per ack batch (NORMAL), the SD-card wear.
4. Idle agent with the broker up: RSS and CPU over --idle-seconds (the target
   is 5 minutes; the default here is shorter, say so when you quote it).
5. Loss and duplication over --kills SIGKILLs of a real `pishkhan agent`
   during drain and --restarts broker restarts (the targets are 200 and 20),
   with a producer enqueuing all the while: lost (target 0) and duplicated
   at the subscriber before dedupe.

    .venv/bin/python bench/agent.py [--drain 20000] [--idle-seconds 60] [--kills 20] [--restarts 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from edge_agent.drain import Drainer  # noqa: E402
from edge_agent.outbox import Outbox  # noqa: E402
from edge_agent.publish import Publisher  # noqa: E402
from edge_agent.session import MqttSettings, Session  # noqa: E402
from mqtt_broker import MosquittoBroker  # noqa: E402
from pishkhan.config import parse_config  # noqa: E402
from pishkhan.protocol.topics import Topics  # noqa: E402

TOPICS = Topics()
DEVICE = "dev-0001"


def config_for(broker, state: Path, **mqtt):
    return parse_config({"device": {"id": DEVICE, "state_dir": str(state)},
                         "hours": {"always_open": True}, "mqtt": broker.agent_settings(DEVICE, **mqtt)})


def write_toml(path: Path, broker, state: Path, **mqtt) -> Path:
    lines = ["[device]", f'id = "{DEVICE}"', f'state_dir = "{state}"', "", "[hours]", "always_open = true", "",
             "[mqtt]"]
    for key, value in broker.agent_settings(DEVICE, **mqtt).items():
        lines.append(f"{key} = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def full_telemetry_reading() -> dict:
    """A plausible full telemetry reading (every group), not a delta: the worst case for size."""
    return {
        "device": {"uptime_s": 86400, "services": {"kiosk": 86000, "display": 86100, "panel": 86390, "agent": 86395},
                   "cpu_temp_c": 58.4, "throttled": {"under_voltage": False, "throttled": False,
                                                     "under_voltage_since_boot": True, "raw": "0x50000"},
                   "load": [0.42, 0.38, 0.35], "memory": {"total_kb": 1948000, "available_kb": 1203000},
                   "disk": {"free_bytes": 21_400_000_000, "written_bytes": 5_123_456_789, "fs_errors": 0},
                   "network": {"interface": "eth0", "address": "192.168.10.23", "wifi_signal_dbm": None}},
        "peripherals": {"printer": "ok", "display": {"state": "on", "board": "12+3", "verification_code": "K7QM-2XHD"},
                        "audio": "ok"},
        "office": {"waiting": {"A": 4, "B": 1, "C": 7}, "counters_open": [1, 2, 3], "issued_today": 184,
                   "served_today": 171},
        "clock": {"synchronized": True, "source": "ntp"},
    }


# -- 1. drain rate --------------------------------------------------------------------
def bench_drain(broker, tmp: Path, count: int, window: int) -> dict:
    state = tmp / f"drain-{window}"
    cfg = config_for(broker, state, inflight_window=window)
    outbox = Outbox.for_config(cfg)
    publisher = Publisher(outbox, TOPICS, DEVICE)
    for i in range(count):
        publisher.event("bench.drain", detail={"i": i})
    capture = broker.capture(filters=[TOPICS.event(DEVICE)])
    holder = {}
    session = Session(MqttSettings.from_config(cfg), on_published=lambda mid, code: holder["d"].on_published(mid, code),
                      on_connected=lambda: holder["d"].on_connected())
    drainer = Drainer(outbox, session, window=window)
    holder["d"] = drainer
    session.start()
    deadline = time.monotonic() + 10
    while not session.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.perf_counter()
    drainer.start()
    while outbox.depth() and time.perf_counter() - started < 300:
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    capture.wait(lambda c: len(c.messages) >= count, 30)
    seen = {json.loads(p)["seq"] for _, p, _, _ in capture.messages}
    drainer.stop()
    session.stop()
    capture.stop()
    outbox.close()
    return {"messages": count, "window": window, "seconds": elapsed, "rate": count / elapsed,
            "at_subscriber": len(seen)}


# -- 2. seven days offline ---------------------------------------------------------------
def bench_week_offline(tmp: Path, events_per_day: int = 50) -> dict:
    clock = {"t": 1_800_000_000.0}
    path = tmp / "week" / "outbox.db"
    outbox = Outbox(path, clock=lambda: clock["t"], boot_clock=lambda: clock["t"] - 1_799_000_000.0, boot="b")
    publisher = Publisher(outbox, TOPICS, DEVICE)
    reading = full_telemetry_reading()
    agent = {"uptime_s": 0.0, "outbox": {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0,
                                          "dropped": {}, "refused": 0}}
    minutes = 7 * 24 * 60
    event_every = max(1, minutes // (7 * events_per_day))
    for minute in range(minutes):
        clock["t"] += 60
        agent["uptime_s"] += 60
        agent["outbox"]["depth"] = minute
        publisher.telemetry(agent=agent, readings=reading)
        if minute % event_every == 0:
            publisher.event("printer.out", detail={"minutes": 12, "counter": 2})
    stats = outbox.stats()
    outbox.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    outbox.close()
    size = sum(p.stat().st_size for p in path.parent.iterdir())
    one = len(json.dumps({"agent": agent, "readings": reading}))
    return {"telemetry_messages": minutes, "events": stats["depth"] - minutes, "payload_bytes": stats["bytes"],
            "file_bytes": size, "telemetry_bytes_each": one, "dropped": stats["dropped"]}


# -- 2b. telemetry bytes per day ------------------------------------------------------------
def bench_telemetry_day(tmp: Path, seed: int = 1) -> dict:
    """A simulated office day at the default 60 s through the agent's real parts and payload builder.

    A real store on a FakeClock, the sample board, the default hours
    (07:30-14:30): counters open at 07:30 and close at 14:30, a ticket every
    two to four minutes in hours and one called every three, the printer out
    once; the health readings move as a Pi's do (temperature and load
    wandering, memory breathing, storage written, Wi-Fi signal jitter). Every
    minute the compliance part ticks and a telemetry message is built exactly
    as the agent does (changes only, full hourly) and measured as payload and
    as payload + topic.
    """
    import datetime as dt

    from edge_agent import compliance as compliance_part
    from edge_agent import telemetry as telemetry_part
    from edge_agent.agent import Agent
    from pishkhan.boards.installed import install_board
    from pishkhan.boards.signing import SigningKey
    from pishkhan.boards.trust import trust_key
    from pishkhan.exc import QueueError
    from pishkhan.hardware.clock import FakeClock
    from pishkhan.hardware.health import FakeHealth, decode_throttled
    from pishkhan.protocol import payloads
    from pishkhan.queue.core import Queue
    from pishkhan.store.database import Store
    from pishkhan.text.jalali import TEHRAN
    from importlib import resources

    rng = random.Random(seed)
    day = dt.date(2026, 11, 28)
    clock = FakeClock(dt.datetime.combine(day, dt.time(0, 0), TEHRAN), synced=True)
    cfg = parse_config({"device": {"id": DEVICE, "state_dir": str(tmp / "teleday")},
                        "hardware": {"health": "fake", "clock": "trusted"}, "mqtt": {"enabled": False}})
    store = Store(cfg.store_path, clock=clock.now, boot=clock)
    key = SigningKey.generate()
    trust_key(store, key.public, label="bench", actor="bench")
    board = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
    install_board(store, key.sign(board), source="cli", actor="bench")
    health = FakeHealth(uptime_s=3 * 86400.0, cpu_temp_c=52.0, throttled=decode_throttled(0), load_1m=0.3,
                        mem_total_kb=1_900_000, mem_available_kb=1_200_000, disk_free_bytes=20_000_000_000,
                        disk_total_bytes=31_000_000_000, storage_written_bytes=9_000_000_000, fs_errors=0,
                        net_iface="wlan0", net_addr="192.168.1.23", wifi_signal_dbm=-62.0)
    agent = Agent(cfg, store=store)
    telemetry_part.register(agent.context, health=health, services=lambda: {"kiosk": health.readings["uptime_s"] - 40,
                                                                   "display": health.readings["uptime_s"] - 35,
                                                                   "panel": health.readings["uptime_s"] - 30})
    mono = {"t": 0.0}
    agent.telemetry_changes = telemetry_part.Changes(clock=lambda: mono["t"])
    part = compliance_part.register(agent.context)
    queue = Queue(store, cfg)
    codes = ["ID-01", "VEH-01", "POST-01"]
    topic = len(TOPICS.device(DEVICE, "telemetry").encode())
    sizes, full_sizes, fulls, ticks, reads = [], [], 0, [], []
    store.record_state("printer", "ok")
    store.record_state("kiosk", "not_accepting", "closed")
    for minute in range(24 * 60):
        now = clock.now()
        hhmm = now.hour * 60 + now.minute
        if hhmm == 7 * 60 + 30:
            for n in (1, 2, 3):
                queue.open_counter(n, actor="bench")
            store.record_state("kiosk", "accepting")
        if hhmm == 14 * 60 + 30:
            for n in (1, 2, 3):
                queue.close_counter(n, actor="bench")
            store.record_state("kiosk", "not_accepting", "closed")
        if 7 * 60 + 30 <= hhmm < 14 * 60 + 30:
            if rng.random() < 1 / 3:
                try:
                    queue.issue(rng.choice(codes))
                except QueueError:
                    pass
            if minute % 3 == 0:
                for n in (1, 2, 3):
                    queue.finish(n)
                    queue.call_next(n)
        if hhmm == 10 * 60:
            store.record_state("printer", "paper_out", "paper out")
        if hhmm == 10 * 60 + 25:
            store.record_state("printer", "ok")
        r = health.readings
        busy = 7 * 60 <= hhmm < 15 * 60
        r["uptime_s"] += 60
        r["cpu_temp_c"] = round(min(70.0, max(40.0, r["cpu_temp_c"] + rng.gauss(0.25 if busy else -0.25, 0.4))), 1)
        r["load_1m"] = round(max(0.0, (0.6 if busy else 0.2) + rng.gauss(0, 0.15)), 2)
        r["mem_available_kb"] = int(1_200_000 + rng.gauss(0, 12_000))
        r["storage_written_bytes"] += int((600_000 if busy else 80_000) * (1 + rng.random()))
        r["disk_free_bytes"] -= int(300_000 * rng.random())
        r["wifi_signal_dbm"] = round(-62.0 + rng.gauss(0, 1.5), 0)
        started = time.perf_counter()
        part.tick()
        ticks.append(time.perf_counter() - started)
        started = time.perf_counter()
        readings = {name: fn() for name, fn in agent.telemetry_parts.items()}
        figures = {"uptime_s": round(minute * 60.0, 1),
                   "outbox": {"depth": rng.choice((0, 0, 0, 1)), "bytes": 0, "oldest_age_s": None, "in_flight": 1,
                              "dropped": {}, "refused": 0}}
        sent, full = agent.telemetry_changes.filter(readings, figures)
        reads.append(time.perf_counter() - started)
        message = payloads.telemetry(device=DEVICE, seq=100_000 + minute, sent_at=clock.now(), agent=figures,
                                     readings=sent, full=full)
        sizes.append(len(payloads.encode(message)))
        full_sizes.append(len(payloads.encode(payloads.telemetry(device=DEVICE, seq=100_000 + minute,
                                                                 sent_at=clock.now(), agent=figures,
                                                                 readings=readings, full=True))))
        fulls += full
        clock.advance(minutes=1)
        mono["t"] += 60
    agent.outbox.close()
    store.close()
    return {"messages": len(sizes), "full_messages": fulls, "payload_bytes": sum(sizes),
            "wire_bytes": sum(sizes) + len(sizes) * (topic + 2 + 2 + 5),  # topic, its length, packet id, header
            "mean_bytes": sum(sizes) / len(sizes), "max_bytes": max(sizes),
            "all_full_bytes": sum(full_sizes), "tick_ms": statistics.mean(ticks) * 1e3,
            "tick_max_ms": max(ticks) * 1e3, "readings_ms": statistics.mean(reads) * 1e3}


# -- 3. placement: store file or its own -------------------------------------------------
DRAINER = """
import sys, time, json
sys.path.insert(0, sys.argv[2])
from edge_agent.outbox import Outbox
box = Outbox(sys.argv[1])
print("go", flush=True)
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    for _ in range(20):
        box.enqueue("telemetry", "t/telemetry", lambda s, a: json.dumps({"seq": s, "pad": "x" * 600}).encode())
    box.ack([m.id for m in box.pending(20)])
"""


def bench_placement(tmp: Path, seconds: float = 6.0) -> dict:
    from pishkhan.store.database import Store

    results = {}
    for where in ("store file", "own file"):
        folder = tmp / f"placement-{where.replace(' ', '-')}"
        store = Store(folder / "pishkhan.db")
        target = folder / "pishkhan.db" if where == "store file" else folder / "outbox.db"
        proc = subprocess.Popen([sys.executable, "-c", DRAINER, str(target), str(ROOT), str(seconds)],
                                stdout=subprocess.PIPE)
        proc.stdout.readline()
        waits = []
        end = time.monotonic() + seconds - 1
        i = 0
        while time.monotonic() < end:
            t0 = time.perf_counter()
            store.record_state("kiosk", "accepting" if i % 2 else "paused", reason=f"bench {i}")
            waits.append((time.perf_counter() - t0) * 1000)
            i += 1
            time.sleep(0.01)
        proc.wait()
        proc.stdout.close()
        store.close()
        waits.sort()
        results[where] = {"writes": len(waits), "p50_ms": statistics.median(waits),
                          "p99_ms": waits[int(len(waits) * 0.99) - 1], "max_ms": waits[-1]}
    # bytes written (SD-card wear) per message: enqueue with FULL, acks with NORMAL
    box = Outbox(tmp / "wear" / "outbox.db")

    def written() -> int:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
        return 0
    box.enqueue("telemetry", "t", lambda s, a: b"x")  # create the file first
    w0 = written()
    for _ in range(500):
        box.enqueue("telemetry", "t/telemetry", lambda s, a: json.dumps(full_telemetry_reading()).encode())
    w1 = written()
    ids = [m.id for m in box.pending(1000)]
    for i in range(0, len(ids), 20):
        box.ack(ids[i:i + 20])
    w2 = written()
    box.close()
    results["bytes_written_per_enqueue"] = (w1 - w0) / 500
    results["bytes_written_per_ack_batch_of_20"] = (w2 - w1) / (len(ids) / 20)
    return results


# -- 4. idle agent ----------------------------------------------------------------------
def proc_figures(pid: int) -> tuple[float, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return cpu, rss


def agent_process(config: Path, log: Path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PISHKHAN_LOG_LEVEL="WARNING")
    return subprocess.Popen([sys.executable, "-m", "cli.main", "agent", "--config", str(config)],
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def bench_idle(broker, tmp: Path, seconds: float) -> dict:
    state = tmp / "idle"
    config = write_toml(tmp / "idle.toml", broker, state)  # default telemetry interval (60 s)
    capture = broker.capture(filters=[TOPICS.status(DEVICE), TOPICS.telemetry(DEVICE)])
    proc = agent_process(config, tmp / "idle.log")
    capture.wait(lambda c: c.messages, 20)
    time.sleep(5)  # start-up over
    cpu0, _ = proc_figures(proc.pid)
    t0 = time.monotonic()
    peak = 0
    while time.monotonic() - t0 < seconds:
        time.sleep(1)
        peak = max(peak, proc_figures(proc.pid)[1])
    cpu1, rss = proc_figures(proc.pid)
    elapsed = time.monotonic() - t0
    proc.send_signal(signal.SIGTERM)
    proc.wait(20)
    telemetry = [p for t, p, _, _ in capture.messages if t.endswith("/telemetry")]
    capture.stop()
    return {"seconds": elapsed, "rss_kb": rss, "peak_rss_kb": peak, "cpu_percent": 100 * (cpu1 - cpu0) / elapsed,
            "telemetry_messages": len(telemetry),
            "telemetry_bytes_each": statistics.mean(len(p) for p in telemetry) if telemetry else None}


# -- 5. SIGKILLs and broker restarts during drain ------------------------------------------------
def bench_kills(broker, tmp: Path, kills: int, restarts: int, prefill: int, rng: random.Random) -> dict:
    state = tmp / "kills"
    config = write_toml(tmp / "kills.toml", broker, state, telemetry_seconds=3600)
    path = state / "outbox.db"
    publisher = Publisher(Outbox(path), TOPICS, DEVICE)
    made = [publisher.event("bench.kill", detail={"i": i}) for i in range(prefill)]
    capture = broker.capture(filters=[TOPICS.event(DEVICE)])
    stop = threading.Event()

    def produce():  # events keep coming while the agent is killed and the broker restarts
        own = Publisher(Outbox(path), TOPICS, DEVICE)
        while not stop.is_set():
            made.append(own.event("bench.kill", detail={"live": True}))
            time.sleep(0.02)
    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    restart_after = set(rng.sample(range(kills), min(restarts, kills)))
    done_restarts = 0
    log = tmp / "kills.log"
    for round_ in range(kills):
        proc = agent_process(config, log)
        time.sleep(rng.uniform(0.6, 1.6))  # start-up takes ~0.4 s, then it drains
        if round_ in restart_after:
            broker.restart()  # a broker restart while the agent drains
            done_restarts += 1
            time.sleep(rng.uniform(0.3, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    stop.set()
    producer.join()
    proc = agent_process(config, log)
    box = Outbox(path)
    deadline = time.monotonic() + 120
    while box.depth() and time.monotonic() < deadline:
        time.sleep(0.1)
    wanted = set(made)
    capture.wait(lambda c: {json.loads(p)["seq"] for _, p, _, _ in list(c.messages)} >= wanted, 30)
    proc.send_signal(signal.SIGTERM)
    proc.wait(20)
    received = [json.loads(p)["seq"] for _, p, _, _ in capture.messages]
    capture.stop()
    unique = set(received)
    order, seen = [], set()
    for s in received:
        if s not in seen:
            seen.add(s)
            order.append(s)
    return {"kills": kills, "broker_restarts": done_restarts, "made": len(made), "received": len(received),
            "lost": len(wanted - unique), "duplicated": len(received) - len(unique),
            "in_order": order == sorted(order), "left_in_outbox": box.depth()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--drain", type=int, default=20000, help="messages for the drain-rate figure")
    ap.add_argument("--idle-seconds", type=float, default=60.0, help="idle window (the target is 300)")
    ap.add_argument("--kills", type=int, default=20, help="SIGKILLs during drain (the target is 200)")
    ap.add_argument("--restarts", type=int, default=5, help="broker restarts during drain (the target is 20)")
    ap.add_argument("--prefill", type=int, default=20000, help="events in the outbox before the kills")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip", nargs="*", default=[], choices=["drain", "week", "telemetry", "placement", "idle", "kills"])
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="pishkhan-bench-agent-"))
    broker = MosquittoBroker(tmp / "broker")
    broker.start()
    try:
        if "drain" not in args.skip:
            for window in (20, 100):
                r = bench_drain(broker, tmp, args.drain, window)
                print(f"drain: {r['messages']} messages, window {r['window']}: {r['seconds']:.2f} s = "
                      f"{r['rate']:.0f} msg/s (target >= 2000); {r['at_subscriber']} distinct at the subscriber")
        if "week" not in args.skip:
            r = bench_week_offline(tmp)
            print(f"7 days offline: {r['telemetry_messages']} telemetry ({r['telemetry_bytes_each']} B of body each) "
                  f"+ {r['events']} events: {r['payload_bytes'] / 1e6:.1f} MB of messages, "
                  f"{r['file_bytes'] / 1e6:.1f} MB on disk (target < 50 MB); dropped {r['dropped'] or 'none'}")
        if "telemetry" not in args.skip:
            r = bench_telemetry_day(tmp, args.seed)
            print(f"telemetry per day at 60 s: {r['messages']} messages ({r['full_messages']} full), "
                  f"{r['payload_bytes'] / 1e6:.2f} MB of payload, {r['wire_bytes'] / 1e6:.2f} MB with topic and "
                  f"MQTT header (target < 1 MB); mean {r['mean_bytes']:.0f} B, largest {r['max_bytes']} B; "
                  f"every message full would be {r['all_full_bytes'] / 1e6:.2f} MB; compliance minute "
                  f"(beat + judge + events) mean {r['tick_ms']:.0f} ms, max {r['tick_max_ms']:.0f} ms; "
                  f"reading the groups {r['readings_ms']:.0f} ms")
        if "placement" not in args.skip:
            r = bench_placement(tmp)
            for where in ("store file", "own file"):
                f = r[where]
                print(f"placement: kiosk state write while an outbox drains in the {where}: "
                      f"p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms, max {f['max_ms']:.1f} ms ({f['writes']} writes)")
            print(f"wear: {r['bytes_written_per_enqueue']:.0f} B written per enqueue (synchronous FULL), "
                  f"{r['bytes_written_per_ack_batch_of_20']:.0f} B per ack batch of 20 (NORMAL)")
        if "idle" not in args.skip:
            r = bench_idle(broker, tmp, args.idle_seconds)
            print(f"idle agent over {r['seconds']:.0f} s (issue asks 300 s), broker up: RSS {r['rss_kb'] / 1024:.1f} MB "
                  f"(peak {r['peak_rss_kb'] / 1024:.1f}; target < 35), CPU {r['cpu_percent']:.2f} % (target < 0.5); "
                  f"{r['telemetry_messages']} telemetry of {r['telemetry_bytes_each']} B")
        if "kills" not in args.skip:
            r = bench_kills(broker, tmp, args.kills, args.restarts, args.prefill, random.Random(args.seed))
            print(f"kills: {r['kills']} SIGKILLs during drain, {r['broker_restarts']} broker restarts, "
                  f"{r['made']} events made: lost {r['lost']} (target 0), duplicated at the subscriber "
                  f"{r['duplicated']} of {r['received']} received, first arrivals in order: {r['in_order']}, "
                  f"left in outbox {r['left_in_outbox']}")
    finally:
        broker.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
