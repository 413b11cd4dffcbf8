"""The fleet monitor at scale: a local Mosquitto, N simulated offices, a real `pishkhan central monitor` process.

Prints figures, never asserts. Targets: ingest ≥ 5,000
messages/s on one core, monitor memory (PSS) < 200 MB, a SIGKILLed device
shown offline within 1.5 × keepalive. Steps:

1. Mosquitto on a free port (passwords for every device and the centre, the
   real ACL, the fd limit raised first), the monitor as a subprocess pinned
   to one CPU, on a SQLite file (or ``--db postgresql://…``).
2. N simulated offices connect; time until the database knows every device
   online. Steady traffic for ``--seconds`` (telemetry every
   ``--telemetry-seconds`` simulated seconds at ``--speed``); the rate the
   database grew, and the monitor's PSS.
3. Ingest alone: ``--feed`` pre-built telemetry messages published through
   the broker by one client as fast as it can; the monitor's rate from the
   first to the last written. And ``Fleet.ingest`` in-process, without MQTT.
4. Offline: a simulated device's socket dropped (as a SIGKILL does), a
   silent device (network gone: the broker waits 1.5 × keepalive), and a
   real ``pishkhan agent`` process SIGKILLed; time until the database says
   offline.
5. The broker restarted (clean stop, persistence on): time until every
   device is online again with a birth newer than the restart.

    .venv/bin/python bench/fleet.py [--devices 10000] [--seconds 20] [--feed 50000] [--keepalive 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "agent"))

from central.db import open_db  # noqa: E402
from central.simulate import Behaviour, SimulatedFleet, raise_fd_limit  # noqa: E402
from central.trust import TrustList  # noqa: E402
from mqtt_broker import MosquittoBroker  # noqa: E402
from pishkhan.boards.signing import SigningKey  # noqa: E402
from pishkhan.protocol import payloads  # noqa: E402


def pss_kb(pid: int) -> int:
    """PSS of *pid* and its descendants, from /proc/PID/smaps_rollup."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of *pid* so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(predicate, timeout, step=0.02):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=20.0, help="steady traffic phase, wall seconds")
    ap.add_argument("--speed", type=float, default=60.0)
    ap.add_argument("--telemetry-seconds", type=float, default=60.0, help="simulated seconds between telemetry")
    ap.add_argument("--feed", type=int, default=50000, help="pre-built messages for the ingest-alone figure")
    ap.add_argument("--keepalive", type=int, default=20)
    ap.add_argument("--db", default=None, help="fleet database URL (default: a SQLite file)")
    ap.add_argument("--cpu", type=int, default=0, help="the CPU the monitor is pinned to")
    ap.add_argument("--protocol", choices=("3.1.1", "5"), default="3.1.1", help="the monitor's MQTT version")
    args = ap.parse_args()

    limit = raise_fd_limit(args.devices + 512)  # Mosquitto inherits it
    work = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    print(f"devices {args.devices}, monitor on MQTT {args.protocol}, fd limit {limit}, keepalive {args.keepalive} s, "
          f"cpus {os.cpu_count()}, "
          f"work dir {work}")
    broker = MosquittoBroker(work / "broker", devices=("dev-0001",))
    ids = [f"sim-{i:05d}" for i in range(1, args.devices + 1)]
    password = broker.add_users(ids)
    broker.start()
    db_url = args.db or str(work / "fleet.db")
    db = open_db(db_url)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PISHKHAN_LOG_LEVEL="WARNING")
    log = open(work / "monitor.log", "ab")
    monitor_cpu = args.cpu % os.cpu_count()
    others = set(range(os.cpu_count())) - {monitor_cpu}
    if others:  # the broker, the feeder and the simulated fleet keep off the monitor's core
        os.sched_setaffinity(0, others)
        os.sched_setaffinity(broker.proc.pid, others)

    trust = work / "centre-trust.pem"  # the bench publishes no document; the monitor needs a trust list
    trust.write_text(TrustList.entry(SigningKey.generate().public, "national"), encoding="ascii")

    def start_monitor():
        """`pishkhan central monitor` pinned to its core, with a session at the broker (a fixed client id)."""
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "central", "monitor", "--trust", str(trust),
                                 "--broker",
                                 f"mqtt://{broker.host}:{broker.port}", "--db", db_url, "--username", "centre",
                                 "--password-file", str(broker.password_file("centre")), "--protocol", args.protocol,
                                 "--client-id", "bench-monitor"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        os.sched_setaffinity(proc.pid, {monitor_cpu})
        return proc

    monitor = start_monitor()
    time.sleep(2.0)
    fleet = None

    def count(sql, params=()):
        return int(db.query_one(sql, params)["n"])  # PostgreSQL sums to Decimal

    def ingested():
        return count("SELECT COALESCE(SUM(received + duplicates), 0) AS n FROM devices")

    try:
        # -- 1b. ingest alone: pre-built messages through the broker ----------------------------
        feeder = broker.client("centre", connect=False)
        feeder.max_inflight_messages_set(2000)
        feeder.connect(broker.host, broker.port, 60)
        feeder.loop_start()
        agent = {"uptime_s": 1, "outbox": {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0,
                                           "dropped": {}, "refused": 0}}
        feed_ids = [f"feed-{i:05d}" for i in range(1, 1001)]
        now = time.time()

        def prebuilt(seq0):
            return [(f"pishkhan/v1/dev/{feed_ids[i % len(feed_ids)]}/telemetry",
                     payloads.encode(payloads.telemetry(device=feed_ids[i % len(feed_ids)], seq=seq0 + i,
                                                        sent_at=now, agent=agent, readings={"office": {"open": True, "waiting": {"A": i % 7}, "served_today": i % 50}, "peripherals": {"printer": {"state": "ok", "reason": "", "at": payloads.format_time(now)}}})))
                    for i in range(args.feed)]

        def publish_all(msgs):
            """Publish *msgs* at QoS 1; seconds until the broker acknowledged the last one."""
            start = time.monotonic()
            infos = [feeder.publish(topic, payload, qos=1) for topic, payload in msgs]
            infos[-1].wait_for_publish(600)
            return time.monotonic() - start

        def backlog(label, seq0):
            """The monitor stopped, *feed* messages queued for its session, the monitor started: its rate."""
            nonlocal monitor
            monitor.terminate()
            monitor.wait(60)
            msgs = prebuilt(seq0)
            acked = publish_all(msgs)
            base = ingested()
            monitor = start_monitor()
            wait_for(lambda: ingested() > base, 120, 0.01)
            t0, cpu0, n0 = time.monotonic(), cpu_seconds(monitor.pid), ingested()
            finished = wait_for(lambda: ingested() - base >= args.feed, 600, 0.05)
            took, cpu_used, written = time.monotonic() - t0, cpu_seconds(monitor.pid) - cpu0, ingested() - n0
            print(f"ingest, backlog ({label}): {args.feed} messages queued at the broker for the stopped monitor "
                  f"(acknowledged in {acked:.1f} s); restarted, it wrote {written} more after its first in "
                  f"{took:.1f} s = {written / took:.0f} msg/s on its one core, using {cpu_used:.1f} CPU s = "
                  f"{written / max(cpu_used, 1e-9):.0f} msg per CPU second"
                  f"{'' if finished is not None else ' [NOT FINISHED]'}")
            print(f"memory: monitor PSS {pss_kb(monitor.pid) / 1024:.1f} MB after the backlog")
            return msgs

        def feed(label, seq0):
            """*feed* messages published while the monitor runs: bounded by this one publishing client too."""
            msgs = prebuilt(seq0)
            base = ingested()
            start, cpu0 = time.monotonic(), cpu_seconds(monitor.pid)
            sent = publish_all(msgs)
            finished = wait_for(lambda: ingested() - base >= args.feed, 600, 0.05)
            total = time.monotonic() - start
            cpu_used = cpu_seconds(monitor.pid) - cpu0
            written = ingested() - base
            print(f"ingest, live ({label}): {args.feed} messages from one publishing client (the broker acknowledged "
                  f"them in {sent:.1f} s = {args.feed / sent:.0f} msg/s offered); the monitor wrote {written} in "
                  f"{total:.1f} s = {written / total:.0f} msg/s, using {cpu_used:.1f} CPU s = "
                  f"{written / max(cpu_used, 1e-9):.0f} msg per CPU second; load average {os.getloadavg()[0]:.1f} on "
                  f"{os.cpu_count()} cores{'' if finished is not None else ' [NOT FINISHED]'}")
            print(f"memory: monitor PSS {pss_kb(monitor.pid) / 1024:.1f} MB after the feed")
            return msgs

        msgs = backlog("no fleet yet", 1)
        feed("quiet broker, no fleet yet", 10_000_000)
        from central.fleet import Fleet as FleetState
        side = open_db(str(work / "direct.db"))
        state = FleetState(side)
        batches = [[(t, p, payloads.format_time(now)) for t, p in msgs[i:i + 1000]] for i in range(0, len(msgs), 1000)]
        start = time.thread_time()
        for batch in batches:
            state.ingest(batch)
        cpu = time.thread_time() - start
        print(f"ingest in-process (Fleet.ingest, SQLite, batches of 1000, no MQTT): {args.feed / cpu:.0f} msg per CPU "
              f"second of this thread")
        side.close()


        # -- 2. connect and steady traffic ------------------------------------------------
        fleet = SimulatedFleet(args.devices, host=broker.host, port=broker.device_port, passwords=password, speed=args.speed,
                      keepalive=args.keepalive,
                      behaviour=Behaviour(telemetry_seconds=args.telemetry_seconds, outages_per_day=0))
        t0 = time.monotonic()
        fleet.start()
        connected = wait_for(lambda: fleet.connected() >= args.devices, 300, 0.2)
        known = wait_for(lambda: count("SELECT COUNT(*) AS n FROM devices WHERE online = 1") >= args.devices,
                         300, 0.2)
        known_total = time.monotonic() - t0
        print(f"connect: {fleet.connected()} of {args.devices} connected in "
              f"{connected if connected is None else round(connected, 1)} s; all known online in the database "
              f"{round(known_total, 1) if known is not None else 'NOT within 300 s'} s after start")
        base, start, cpu0 = ingested(), time.monotonic(), cpu_seconds(monitor.pid)
        published0 = fleet.published
        time.sleep(args.seconds)
        done, took = ingested() - base, time.monotonic() - start
        print(f"steady: the monitor used {cpu_seconds(monitor.pid) - cpu0:.1f} CPU s in {took:.1f} s")
        offered = (fleet.published - published0) / took
        print(f"steady: offered {offered:.0f} msg/s (telemetry every {args.telemetry_seconds:g} simulated s "
              f"at speed {args.speed:g}, events); monitor wrote {done / took:.0f} msg/s over {took:.1f} s")
        print(f"memory: monitor PSS {pss_kb(monitor.pid) / 1024:.1f} MB with {args.devices} devices known; "
              f"simulator (this process, {args.devices} paho clients) PSS {pss_kb(os.getpid()) / 1024:.1f} MB")

        # -- 3. ingest alone, with the live fleet on top -----------------------------------------
        feed("with the live fleet's traffic on top", 20_000_000)
        feeder.disconnect()

        # -- 4. offline, at the real pace -------------------------------------------------------------
        # 10,000 offices at one telemetry a minute (167 msg/s); first let the monitor work off its backlog.
        fleet.set_speed(1.0)
        start = time.monotonic()
        pace = args.devices / args.telemetry_seconds
        last = [ingested(), time.monotonic()]

        def caught_up():  # written over the last 5 s no faster than twice the real pace: no backlog left
            now_n, now_t = ingested(), time.monotonic()
            if now_t - last[1] < 5:
                return False
            rate = (now_n - last[0]) / (now_t - last[1])
            last[:] = [now_n, now_t]
            return rate < 2 * pace + 50
        caught = wait_for(caught_up, 600, 0.5)
        print(f"backlog: the monitor was writing at the real pace again "
              f"{'%.1f s' % caught if caught is not None else 'NOT within 600 s'} after the fleet slowed to "
              f"real time ({args.devices / args.telemetry_seconds:.0f} telemetry/s)")
        def online_sim():
            row = db.query_one("SELECT device_id FROM devices WHERE online = 1 AND device_id LIKE ? "
                               "ORDER BY last_seen DESC LIMIT 1", ("sim-%",))
            return row["device_id"]

        def offline_after(device, action, timeout, simulated=True):
            start = time.monotonic()
            action()
            took = wait_for(lambda: count("SELECT COUNT(*) AS n FROM devices WHERE device_id = ? AND online = 0",
                                          (device,)) == 1, timeout)
            if took is None:
                return "NOT within %.0f s" % timeout
            if not simulated:
                return f"{took:.2f} s"
            cut = fleet.device(device).cut_at
            return (f"{start + took - cut:.2f} s after the simulator cut it "
                    f"({took:.2f} s after the bench asked: the simulator's threads were {cut - start:.2f} s late)")

        ka = args.keepalive
        one = online_sim()
        print(f"offline, simulated device's socket dropped (as by SIGKILL): "
              f"{offline_after(one, lambda: fleet.drop(one, down_seconds=3600), 3 * ka)} "
              f"(target ≤ {1.5 * ka:g} s)")
        two = online_sim()
        print(f"offline, simulated device silent with its socket open (network gone): "
              f"{offline_after(two, lambda: fleet.hang(two, 3600), 3 * ka)} "
              f"(the broker waits 1.5 × keepalive = {1.5 * ka:g} s)")
        from agent_helpers import AgentProcess, write_config
        config = write_config(work / "agent.toml", {
            "device": {"id": "dev-0001", "state_dir": str(work / "agent-state")}, "hours": {"always_open": True},
            "mqtt": broker.agent_settings("dev-0001", keepalive=ka, telemetry_seconds=3600)})
        agent_proc = AgentProcess(config, env={"PISHKHAN_LOG_LEVEL": "WARNING"})
        try:
            up = wait_for(lambda: count("SELECT COUNT(*) AS n FROM devices WHERE device_id = 'dev-0001' "
                                        "AND online = 1") == 1, 60)
            if up is None:
                print("offline, real agent: the agent never came online")
            else:
                print(f"offline, real `pishkhan agent` process SIGKILLed: "
                      f"{offline_after('dev-0001', agent_proc.kill, 3 * ka, simulated=False)} (target ≤ {1.5 * ka:g} s)")
        finally:
            agent_proc.close()

        # -- 5. broker restart ----------------------------------------------------------------
        expected = count("SELECT COUNT(*) AS n FROM devices WHERE online = 1 AND device_id LIKE ?", ("sim-%",))
        since = payloads.format_time(time.time())
        start = time.monotonic()
        broker.restart()
        back = wait_for(lambda: count("SELECT COUNT(*) AS n FROM devices WHERE online = 1 AND status_since > ? "
                                      "AND device_id LIKE ?", (since, "sim-%")) >= expected, 300, 0.2)
        print(f"broker restart: all {expected} online devices known again (a birth after the restart in the "
              f"database) {'%.1f s' % back if back is not None else 'NOT within 300 s'} after the restart began")
        print(f"memory: monitor PSS {pss_kb(monitor.pid) / 1024:.1f} MB at the end")
        print(f"simulator: {fleet.stats()}")
    finally:
        if fleet is not None:
            fleet.stop(clean=False)
        monitor.terminate()
        try:
            monitor.wait(30)
        except subprocess.TimeoutExpired:
            monitor.kill()
        log.close()
        db.close()
        broker.close()


if __name__ == "__main__":
    main()
