"""An office day under faults: the whole office and its centre, compressed into minutes; the figures.

Starts a real Mosquitto (passwords, ACL), the centre's monitor writing into a
real database (SQLite; ``--db postgresql://…`` for PostgreSQL, ``--pg`` to start
a throw-away cluster), and the office — wall display, kiosk (scripted
touches), counter panel (MockFactory presses), agent — through a TCP proxy
(tests/officeday/officeday_office.py). *CUSTOMERS* customers come at random
through *SECONDS*; the faults come at random instants drawn from the seed,
which is printed first: ``--seed N`` replays a day.

Faults (``--faults``, comma-separated; default all):
``kill`` (SIGKILL of each process alone), ``power`` (all at once),
``broker`` (stopped for 8-15 s, the agent killed while it is away),
``paper`` (the printer out of paper for 10-20 s), ``partition`` (the proxy
stalls both ways for 10-20 s), ``disk`` (the state folder, a tmpfs of
``--tmpfs-mb``, filled to the last block for 8-15 s, then freed; needs root
to mount), ``usb`` (a hostile USB stick in staff mode); by name only: ``clock``
(libfaketime in the four office processes, the wall clock forward 5-20
minutes for 10-20 s, then back; the boot clock moves with it, see
bench/faketime_probe.py).

At the end: tickets issued, stored and printed, numbers twice; messages
made and received (after dedupe by seq) and the true loss, against the
centre's own loss and duplicate counters; sequence numbers reserved for
Last Wills and never announced; compliance minutes by state at the device,
at the centre and in the harness's truth; the integrity of the store and the
outbox; each process's restart times and memory. Exit 1 when a target is missed.

    .venv/bin/python bench/office_day.py [--seed N] [--customers 300] [--seconds 180] [--faults kill,power,...]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "officeday")]

from cli.headless import VirtualDisplay  # noqa: E402
from mqtt_broker import MosquittoBroker  # noqa: E402
from officeday_office import OfficeDay, targets  # noqa: E402

ALL_FAULTS = ("kill", "power", "broker", "paper", "partition", "disk", "usb", "clock")
DEFAULT_FAULTS = ALL_FAULTS[:-1]  # clock: by name only (docs/testing.md "office day", clock)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--customers", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=180.0, help="how long the customers take to come")
    ap.add_argument("--faults", default=",".join(DEFAULT_FAULTS))
    ap.add_argument("--db", default=None, help="the centre's database URL (default SQLite in the work folder)")
    ap.add_argument("--pg", action="store_true", help="start a throw-away PostgreSQL for the centre")
    ap.add_argument("--tmpfs-mb", type=int, default=256, help="the state folder's tmpfs for the disk fault")
    ap.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (logs, store, outbox)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    faults = [f for f in args.faults.split(",") if f]
    unknown = set(faults) - set(ALL_FAULTS)
    if unknown:
        ap.error(f"unknown faults {sorted(unknown)}; known: {', '.join(ALL_FAULTS)}")
    print(f"office day: seed {seed} (replay with --seed {seed}), {args.customers} customers in {args.seconds:.0f} s, "
          f"faults {','.join(faults) or 'none'}", flush=True)
    import logging
    logging.getLogger("pishkhan.central").setLevel(logging.ERROR)  # the monitor's reconnects: the plan says why
    started = time.monotonic()
    with ExitStack() as stack:
        tmp = Path(args.keep) if args.keep else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        tmp.mkdir(parents=True, exist_ok=True)
        stack.enter_context(VirtualDisplay((1920, 1080)))
        db_url = args.db
        if args.pg:
            from services import postgres_server
            db_url = stack.enter_context(postgres_server())
        broker = MosquittoBroker(tmp / "broker")
        broker.start()
        stack.callback(broker.close)
        office = OfficeDay(tmp / "office", broker, seed=seed, customers=args.customers, seconds=args.seconds,
                           db_url=db_url, period_minutes=60, report_after=args.seconds + 30,
                           tmpfs_mb=args.tmpfs_mb if "disk" in faults else None)
        stack.callback(office.close)
        office.start_centre()
        plan = office.plan(faults)
        print("plan:\n" + "\n".join(f"  {f}" for f in plan), flush=True)
        office.power_on()
        office.run_day(plan)
        office.wait_report()
        depth = office.drain()
        office.stop_all()
        time.sleep(1.0)
        figures = office.figures()
        figures["drain_depth_left"] = depth
        figures["wall_seconds"] = round(time.monotonic() - started, 1)
    print(report(figures))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    missed = targets(figures)
    print("\ntargets: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    return 1 if missed else 0


def report(f: dict) -> str:
    t, m, c, comp = f["tickets"], f["messages"], f["centre"], f["compliance"]
    lines = [
        f"\n== figures (seed {f['seed']}, {f['wall_seconds']} s)",
        f"tickets: customers {t['customers']}, asked at the kiosk {t['asked']}, issued {t['issued']}, "
        f"stored {t['stored']}, printed (store) {t['printed_in_store']}, on paper {t['printed_on_paper']}, "
        f"print failed {t['print_failed']}; lost {len(t['lost'])}, numbers twice {len(t['duplicated_numbers'])}"
        + (f"; kiosk refusals {t['refused']}" if t["refused"] else ""),
        f"messages: numbers handed out {m['numbers_handed_out']}, made {m['made']} {m['made_by_stream']}, "
        f"received (distinct seq) {m['received_distinct']} in {m['deliveries']} deliveries, still queued "
        f"{m['still_queued']}; made and not received {m['made_not_received']}, dropped by the outbox "
        f"{m['dropped_by_outbox'] or 0}; TRUE LOSS {m['true_loss']}",
        f"  seqs reserved for Last Wills {m['reserved_for_wills']}: announced in a birth {m['wills_announced']}, "
        f"sent {m['wills_sent']}, never announced {len(m['reserved_never_announced'])} "
        f"{m['reserved_never_announced'][:10]}",
        f"  an event or report under two seqs: {len(m['sent_under_two_seqs'])}; a seq with two payloads: "
        f"{len(m['seq_with_two_payloads'])} {m['two_payloads'] or ''}",
        f"centre: received {c['received']}, highest seq {c['highest_seq']}, duplicates {c['duplicates']}, "
        f"LOSS COUNTER {c['lost_counter']} (true loss {m['true_loss']}); refused {c['monitor_refused']}; "
        f"events {c['events']}",
        f"compliance minutes: device {comp['device']}; centre's reports {c['reports']}; truth {comp['truth']}",
    ]
    for minute, device, truth, why in comp["differs"][:10]:
        lines.append(f"  minute {minute}: device says {device}, truth {truth} ({why})")
    for minute, device, truth, why in comp["unseeable"][:10]:
        lines.append(f"  minute {minute}: device says {device}, truth {truth} ({why}: no fact can say so; "
                     f"not counted against the device)")
    lines.append(f"integrity: store {f['integrity']['store']}, outbox {f['integrity']['outbox']}")
    for name, p in f["processes"].items():
        lines.append(f"{name:8s}: started {p['starts']} times, back after each kill {p['back_after_kill_s']} s "
                     f"(start to ready {p['start_to_ready_s']} s), "
                     f"PSS {p['pss_mb']} MB{', still down' if p['still_down'] else ''}"
                     f"{', exited by itself ' + str(p['exits']) if p['exits'] else ''}")
    lines.append(f"clock facts in the store: {f.get('clock_facts')}")
    if f["usb"]:
        lines.append(f"usb stick: {f['usb']}")
    lines.append("faults: " + "; ".join(f["faults"]))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
