"""Power cuts: the whole office killed at random instants, many rounds; what survived.

Each round switches the office on (wall display, kiosk, counter panel, agent
against a real Mosquitto, and a driver issuing tickets by the kiosk's path,
calling by the panel's and installing newer boards by the centre's), lets it
work, and SIGKILLs every process of it at one random instant
(``tests/power/power_office.py``). After each cut: the store's and the
outbox's ``integrity_check``, the store's own open guard, issued tickets lost
or numbered twice, the numbering mark, installs lost, sequence numbers
reused. On the next switch-on: seconds until the wall shows the last
verified board. At the end a last agent drains the outbox and the centre's
capture is compared with every message ever seen queued.

``--mode wall`` (default) cuts 0.3-3 s after the wall shows the board, so
every round measures the wall; ``--mode any`` cuts 0.2-12 s after switch-on,
start-up included (the wall is measured only when it came up before the cut).

    .venv/bin/python bench/power_cut.py [--rounds 50] [--seed 1] [--mode wall|any]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "power")]

from cli.headless import VirtualDisplay  # noqa: E402
from mqtt_broker import MosquittoBroker  # noqa: E402
from power_office import PowerOffice  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mode", choices=("wall", "any"), default="wall")
    ap.add_argument("--rate", type=float, default=25.0, help="driver actions a second")
    args = ap.parse_args(argv)
    started = time.monotonic()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp, VirtualDisplay((1920, 1080)) as _screen:
        broker = MosquittoBroker(Path(tmp) / "broker")
        broker.start()
        office = PowerOffice(Path(tmp) / "office", broker, seed=args.seed, rate=args.rate)
        try:
            for n in range(args.rounds):
                down = n % 3 == 1  # every third round without the network: the outbox fills
                if args.mode == "wall":
                    r = office.power_round(on_for=(0.3, 3.0), network_down=down)
                else:
                    r = office.power_round(on_for=(0.2, 12.0), after_wall=False, network_down=down)
                failures += bool(r.problems) or (args.mode == "wall" and (r.shown_after is None or r.shown_after > 10))
                print(f"round {r.round:3d}: on {r.alive_seconds:5.2f} s, wall showed the board after "
                      f"{r.shown_after if r.shown_after is not None else '-'} s; tickets issued {r.tickets_acked}, "
                      f"stored {r.tickets_stored}; outbox depth {r.outbox_depth}{' (network down)' if down else ''}; "
                      f"{'; '.join(r.problems) or 'ok'}", flush=True)
            end = office.finish()
        finally:
            office.close()
            broker.close()
    rounds = office.rounds
    shown = [r.shown_after for r in rounds if r.shown_after is not None]
    print(f"\n{len(rounds)} power cuts in {time.monotonic() - started:.0f} s (mode {args.mode}, seed {args.seed})")
    print(f"office on per round: {min(r.alive_seconds for r in rounds):.1f}-{max(r.alive_seconds for r in rounds):.1f} s")
    print(f"tickets issued (the issue call returned): {len(office.issued)}; lost: "
          f"{sum(len(r.lost) for r in rounds)}; numbered twice: {sum(len(r.duplicated) for r in rounds)}; "
          f"numbering mark below an issued number: {sum(len(r.mark_below) for r in rounds)}")
    print(f"board installs that returned: {len(office.boards)}; lost: {sum(len(r.boards_lost) for r in rounds)}")
    print(f"integrity: store {sum(r.store_integrity == 'ok' for r in rounds)}/{len(rounds)} ok, "
          f"outbox {sum(r.outbox_integrity == 'ok' for r in rounds)}/{len(rounds)} ok, "
          f"store guard refused {sum(r.guard != 'ok' for r in rounds)}")
    if shown:
        print(f"wall shows the last verified board after restart: {len(shown)}/{len(rounds)} measured, "
              f"median {statistics.median(shown):.1f} s, max {max(shown):.1f} s (target 10 s)")
    print(f"outbox messages seen queued after a cut: {end['queued']}; received at the centre: {end['received']} "
          f"seqs in {end['deliveries']} deliveries; missing {len(end['missing'])}; a seq with two payloads "
          f"{len(end['seq_with_two_payloads'])}; an event or report under two seqs {len(end['sent_under_two_seqs'])}; "
          f"seqs reused {sum(len(r.seq_reused) for r in rounds)}")
    bad_end = end["missing"] or end["seq_with_two_payloads"] or end["payload_differs"] or end["sent_under_two_seqs"]
    return 1 if failures or bad_end else 0


if __name__ == "__main__":
    sys.exit(main())
