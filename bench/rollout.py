"""A phased rollout of a bad release to a simulated national fleet: how long until it halts, how many touched.

Prints figures, never asserts. Target: the rollout halts itself having touched
no more devices than the canaries (5 % of the fleet).

In one process, on a simulated clock (no broker: the devices' update events
go through the monitor's own ingest, :meth:`central.fleet.Fleet.ingest`, with
every check on, into a real fleet database):

1. ``--devices`` offices in the registry (31 provinces), a national key, a
   real .deb (built with ``dpkg-deb``) whose version is the bad release.
2. ``pishkhan central release publish`` as a function
   (:meth:`central.releases.rollouts.Rollouts.start`): the package pooled, the
   document signed and checked (:class:`~central.releases.rollouts.MemoryPublisher`:
   :func:`central.publish.prepare`, as for the broker), ``--canary`` percent.
3. Each simulated device (:class:`central.simulate.ReleaseActor`) acts on the
   retained document: canaries start within ``--spread`` minutes, install,
   fail their health gate and roll back (``--fail-share`` of them).
4. The controller (``release advance``) runs every ``--advance-minutes``, as its
   timer would. The clock steps a simulated minute at a time until the rollout
   halts (or ``--hours`` pass).

    .venv/bin/python bench/rollout.py [--devices 10000] [--canary 5] [--db postgresql://…]
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from central.db import open_db  # noqa: E402
from central.fleet import Fleet  # noqa: E402
from central.keys import KeyRing  # noqa: E402
from central.releases.pool import Pool  # noqa: E402
from central.releases.rollouts import MemoryPublisher, Rollouts, is_canary  # noqa: E402
from central.simulate import PROVINCES, ReleaseActor, ReleaseBehaviour  # noqa: E402
from central.trust import TrustList  # noqa: E402
from pishkhan.protocol import payloads  # noqa: E402
from pishkhan.protocol.topics import Topics  # noqa: E402


def build_deb(folder: Path, version: str) -> Path:
    root = folder / f"pishkhan-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(f"Package: pishkhan\nVersion: {version}\nArchitecture: arm64\n"
                                             "Maintainer: bench <bench@localhost>\nDescription: bench release\n")
    out = folder / f"pishkhan_{version}_arm64.deb"
    subprocess.run(["dpkg-deb", "--build", "-Zgzip", str(root), str(out)], check=True, capture_output=True)
    return out


def register(db, n: int) -> list[str]:
    """*n* offices in the registry (and the devices table), in one transaction."""
    now = "2026-12-07T18:00:00Z"
    ids = [f"sim-{i:05d}" for i in range(1, n + 1)]

    def work(c):
        for i, d in enumerate(ids):
            province = PROVINCES[i % len(PROVINCES)]
            c.execute("INSERT INTO registry(device_id, province, office_id, office_name, registered_at, changed_at) "
                      "VALUES (?,?,?,?,?,?)", (d, province, f"office-{i + 1:05d}", "", now, now))
            c.execute("INSERT INTO devices(device_id, province, office_id, online, software_version) "
                      "VALUES (?,?,?,1,'0.8.0')", (d, province, f"office-{i + 1:05d}"))
    db.write(work)
    return ids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--canary", type=float, default=5.0, help="canary percent (default 5)")
    ap.add_argument("--threshold", type=float, default=10.0, help="halt threshold percent (default 10)")
    ap.add_argument("--soak-hours", type=float, default=2.0)
    ap.add_argument("--fail-share", type=float, default=1.0, help="of the canaries, the share that roll back")
    ap.add_argument("--spread", type=float, default=30.0, help="minutes over which canaries start (default 30)")
    ap.add_argument("--advance-minutes", type=float, default=5.0, help="the controller timer (default 5)")
    ap.add_argument("--hours", type=float, default=12.0, help="give up after this many simulated hours")
    ap.add_argument("--db", default=None, help="fleet database (default: a SQLite file in a temporary folder)")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-rollout-"))
    db = open_db(args.db or str(work / "fleet.db"))
    ring = KeyRing(work / "keys")
    ring.new("national")
    key = ring.load("national")
    trust = TrustList.of((key.public, "national"))
    clock = [dt.datetime(2026, 12, 7, 18, 30, tzinfo=dt.timezone.utc)]  # 22:00 in Tehran: the window opens
    publisher = MemoryPublisher(trust=trust)
    rollouts = Rollouts(db, publisher=publisher, pool=Pool(work / "pool"), clock=lambda: clock[0])
    fleet = Fleet(db)
    topics = Topics()

    t0 = time.perf_counter()
    ids = register(db, args.devices)
    canaries = sum(1 for d in ids if is_canary(d, args.canary))
    print(f"{args.devices:,} devices registered in {time.perf_counter() - t0:.1f} s; {canaries} canaries "
          f"({args.canary:g} %), halt threshold {args.threshold:g} %, soak {args.soak_hours:g} h")
    bad = build_deb(work, "0.9.0+bad")
    behaviour = ReleaseBehaviour(bad_versions=("0.9.0+bad",), fail_share=args.fail_share,
                                 start_spread_seconds=args.spread * 60)
    actors = {d: ReleaseActor(d, behaviour=behaviour, rng=random.Random(i)) for i, d in enumerate(ids)}
    seqs = dict.fromkeys(ids, 0)

    wall = time.perf_counter()
    r = rollouts.start(bad, scope="national", key=key, canary_percent=args.canary,
                       soak_seconds=int(args.soak_hours * 3600), halt_threshold=args.threshold)
    published_at = clock[0]
    print(f"rollout {r.rollout} published (document v{r.doc_version}) at {published_at:%H:%M} UTC")

    queue: list = []  # (due, n, device, step, fields)
    counter = [0]
    seen_versions: dict[str, int] = {}

    def deliver_documents():
        for topic, envelope in publisher.retained.items():
            version = envelope["payload"]["version"]
            if seen_versions.get(topic) == version:
                continue
            seen_versions[topic] = version
            for d, actor in actors.items():
                for delay, step, fields in actor.consider(envelope):
                    counter[0] += 1
                    heapq.heappush(queue, (clock[0] + dt.timedelta(seconds=delay), counter[0], d, step, fields))

    deliver_documents()
    touched: set[str] = set()
    called_off: set[str] = set()
    events = 0
    next_advance = clock[0] + dt.timedelta(minutes=args.advance_minutes)
    halted_at = None
    end = clock[0] + dt.timedelta(hours=args.hours)
    while clock[0] < end and halted_at is None:
        clock[0] += dt.timedelta(minutes=1)
        batch = []
        while queue and queue[0][0] <= clock[0]:
            due, _, d, step, fields = heapq.heappop(queue)
            if not actors[d].due(step, fields):
                called_off.add(d)
                continue
            actors[d].applied(step, fields)
            if step == "_offline":
                continue
            touched.add(d)
            seqs[d] += 1
            message = actors[d].event(seq=seqs[d], sent_at=payloads.format_time(due.timestamp()), step=step,
                                      fields=fields)
            batch.append((topics.event(d), payloads.encode(message), payloads.format_time(clock[0].timestamp())))
        if batch:
            counts = fleet.ingest(batch)
            events += counts.accepted
            if counts.refused:
                print(f"  refused {counts.refused}: {counts.reasons}")
        if clock[0] >= next_advance:
            next_advance += dt.timedelta(minutes=args.advance_minutes)
            for decision in rollouts.advance(key=key):
                if decision.action in ("halted", "promoted"):
                    print(f"  {clock[0]:%H:%M} UTC: {decision.action} ({decision.reason}): "
                          f"{decision.detail.get('message', '')}")
                if decision.action == "halted":
                    halted_at = clock[0]
            deliver_documents()
    wall = time.perf_counter() - wall
    state = rollouts.get(r.rollout)
    # after the halt: what was under way finishes (completes or rolls back); a canary not yet begun never starts
    while queue:
        due, _, d, step, fields = heapq.heappop(queue)
        if not actors[d].due(step, fields):
            called_off.add(d)
        else:
            touched.add(d)
    print()
    if halted_at is None:
        print(f"NOT HALTED within {args.hours:g} simulated hours; stage {state.stage}")
    else:
        print(f"halted after {(halted_at - published_at).total_seconds() / 60:.0f} simulated minutes "
              f"(controller every {args.advance_minutes:g} min); {wall:.1f} s of wall time")
    print(f"devices touched: {len(touched)} (canaries: {canaries}; target ≤ canaries: "
          f"{'met' if len(touched) <= canaries else 'MISSED'}), including those mid-update at the halt; "
          f"canaries that never started (the halt came first): {len(called_off)}")
    print(f"update events ingested: {events:,}; stage {state.stage}, reason {state.halted_reason or '-'}")
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
