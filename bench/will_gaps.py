"""The centre's loss against the truth, with a real agent killed at random instants (the heavy version of
tests/agent/test_will_accounting.py).

    .venv/bin/python bench/will_gaps.py [--rounds 40] [--seed N]

Each round starts a real ``pishkhan agent`` and SIGKILLs it after a random delay (0 to 3 s: while it starts,
reserves its will, connects, drains), with the broker, chosen at random, up, down, hanging (accepting
connections and never answering), restarted half-way, or SIGKILLed half-way (a crash: it sends no Last Will,
and what it acknowledged since its last save is lost — a true loss the centre must count). The outbox starts full of events to drain and of
telemetry it coalesces (the centre refuses events past 100 a day, ``over_budget``, after counting them received). At the end the broker is up, the agent drains and stops cleanly, and the script prints
the messages made, received after dedupe, duplicates, the announced wills never sent, the telemetry dropped, the
centre's loss and the true loss; it exits 1 when they differ. The seed is printed so a run can be replayed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "agent"))

from agent_helpers import AgentProcess, outbox_path, wait_until, write_config  # noqa: E402
from mqtt_broker import MosquittoBroker  # noqa: E402
from test_will_accounting import DEVICE, PAD, STARTED, TOPICS, Stall, outbox_rows  # noqa: E402

from central.db import open_db  # noqa: E402
from central.fleet import Fleet  # noqa: E402
from central.monitor import Monitor  # noqa: E402
from central.trust import TrustList  # noqa: E402
from edge_agent.outbox import Outbox  # noqa: E402
from edge_agent.publish import Publisher  # noqa: E402
from pishkhan.boards.signing import SigningKey  # noqa: E402

#: The events fit; the stale telemetry beside them does not, and is coalesced (dropped, counted).
OUTBOX_BYTES = 500_000
FIGURES = {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0, "dropped": {}, "refused": 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2 ** 32)
    rng = random.Random(seed)
    print(f"seed {seed}, {args.rounds} rounds", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="will-gaps-"))
    broker = MosquittoBroker(tmp / "broker")
    broker.start()
    config = write_config(tmp / "agent.toml", {
        "device": {"id": DEVICE, "state_dir": str(tmp / "state")}, "hours": {"always_open": True},
        "mqtt": broker.agent_settings(DEVICE, keepalive=5, telemetry_seconds=1, inflight_window=10,
                                      outbox_max_bytes=OUTBOX_BYTES)})
    path = outbox_path(config)
    with Outbox(path, max_bytes=OUTBOX_BYTES) as box:
        publisher = Publisher(box, TOPICS, DEVICE)
        for i in range(args.events):
            publisher.event("bench.drain", detail={"i": i})
            if i % 10 == 0:
                publisher.telemetry(agent={"uptime_s": i, "outbox": FIGURES}, readings=PAD)
    db = open_db(str(tmp / "fleet.db"))
    monitor = Monitor(db, host=broker.host, port=broker.port, username="centre", password=broker.passwords["centre"],
                      client_id="centre-bench", batch_ms=20,
                      trust=TrustList.of((SigningKey.generate().public, "national")))
    faults: dict[str, int] = {}
    started = time.monotonic()
    with monitor:
        for _ in range(args.rounds):
            state = rng.choice(("up", "up", "down", "hang", "restart", "crash"))
            faults[state] = faults.get(state, 0) + 1
            stall = None
            if state in ("down", "hang"):
                broker.stop()
                if state == "hang":
                    stall = Stall(broker.host, broker.device_port)
            else:
                broker.start()
            agent = AgentProcess(config, log=tmp / "agent.log")
            delay = rng.uniform(0, 3.0)
            if state == "restart":
                time.sleep(delay / 2)
                broker.restart()
                time.sleep(delay / 2)
            elif state == "crash":  # SIGKILL: no will sent, and what it held since its last save is gone
                time.sleep(delay / 2)
                broker.proc.kill()
                broker.stop()
                time.sleep(delay / 2)
                broker.start()
            else:
                time.sleep(delay)
            agent.close()
            if stall:
                stall.close()
        broker.start()
        fleet = Fleet(db)
        for _ in range(5):
            agent = AgentProcess(config, log=tmp / "agent.log")
            wait_until(lambda: not outbox_rows(path, "SELECT 1 FROM messages LIMIT 1"), 300)
            time.sleep(1.5)
            wait_until(lambda: not outbox_rows(path, "SELECT 1 FROM messages LIMIT 1"), 10)
            agent.terminate()
            agent.close()
            if not outbox_rows(path, "SELECT 1 FROM messages LIMIT 1"):
                break
        made = outbox_rows(path, "SELECT next_seq - 1 FROM state")[0][0]
        wait_until(lambda: (fleet.device(DEVICE) or {}).get("highest_seq") == made, 60)
        monitor.drain(30)
    d = Fleet(db).device(DEVICE)
    received = {r["seq"] for r in db.query("SELECT seq FROM seen WHERE device_id = ?", (DEVICE,))}
    unsent = {r["seq"] for r in db.query("SELECT seq FROM wills WHERE device_id = ?", (DEVICE,))}
    dropped = outbox_rows(path, "SELECT COALESCE(SUM(count), 0) FROM dropped WHERE stream = 'telemetry'")[0][0]
    other = outbox_rows(path, "SELECT COALESCE(SUM(count), 0) FROM dropped WHERE stream <> 'telemetry'")[0][0]
    missing = set(range(1, made + 1)) - received - unsent
    true_loss = len(missing) - dropped
    starts = (tmp / "agent.log").read_text(errors="replace").count(STARTED)
    broker.stop()
    print(f"faults {faults}, agent starts {starts}, {time.monotonic() - started:.0f} s")
    print(f"made {made}, received {len(received)} (after dedupe), duplicates {d['duplicates']}, "
          f"announced wills not sent {len(unsent)}, telemetry dropped {dropped} (centre: {d['telemetry_dropped']}), "
          f"other streams dropped {other}")
    print(f"centre's loss {d['gaps']}, true loss {true_loss} (made, never received, not an announced will nor "
          f"dropped telemetry), wills left in the outbox {outbox_rows(path, 'SELECT COUNT(*) FROM wills')[0][0]}, "
          f"messages left {outbox_rows(path, 'SELECT COUNT(*) FROM messages')[0][0]}")
    refused = Fleet(db).refusals(device=DEVICE)
    if refused:
        print(f"refused by the centre: {refused[0]['by_reason']} (last: {refused[0]['last_message']})")
    ok = d["gaps"] == true_loss and d["telemetry_dropped"] == dropped
    print("OK" if ok else f"MISMATCH (replay with --seed {seed}); missing {sorted(missing)[:20]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
