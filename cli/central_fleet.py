"""``pishkhan central monitor`` and ``pishkhan central simulate``: the fleet monitor and simulated offices.

:func:`register_fleet` adds both to the ``pishkhan central`` parser.
:func:`register` (listed in cli/main.py) also offers them as ``pishkhan fleet monitor|simulate``.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

from . import context


def _broker_args(p):
    p.add_argument("--broker", default="mqtt://127.0.0.1:1883", metavar="URL",
                   help="the broker, mqtt://HOST[:PORT] (default mqtt://127.0.0.1:1883)")
    p.add_argument("--username", default=None, help="broker username (simulate: each device logs in as its id)")
    p.add_argument("--password-file", default=None, metavar="FILE", help="file holding the broker password")


def register_fleet(sub, common):
    """Add ``monitor`` and ``simulate`` to *sub* (the subparsers of ``pishkhan central``)."""
    p = sub.add_parser("monitor", parents=[common], help="keep the fleet database from the fleet's MQTT messages",
                       description="Subscribe to every device's streams and the centre's retained documents and keep "
                                   "the fleet database: online/offline, telemetry, events, reports, sequence gaps.")
    _broker_args(p)
    p.add_argument("--db", default=None, metavar="URL",
                   help="fleet database: a file path, sqlite:///PATH or postgresql://… "
                        "(default: fleet.db in the state directory)")
    p.add_argument("--share", default=None, metavar="GROUP",
                   help="take part of the fleet through the MQTT 5 shared subscription $share/GROUP/…")
    p.add_argument("--trust", default=None, metavar="FILE",
                   help="PEM public keys of the centre: documents must verify against them")
    p.add_argument("--protocol", choices=("3.1.1", "5"), default="3.1.1",
                   help="MQTT version of the monitor's own connection (default 3.1.1: the same subscriptions, "
                        "shared ones too, for less CPU a message)")
    p.add_argument("--client-id", default=None, metavar="ID",
                   help="keep a session at the broker under this id: what the fleet sends while the monitor is "
                        "stopped waits for it (default: a random id, no session)")
    p.add_argument("--batch", type=int, default=1000, help="most messages written in one transaction")
    p.add_argument("--batch-ms", type=int, default=100, help="longest wait to fill a batch, in ms")
    p.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--listen", default=None, metavar="HOST:PORT",
                   help="also serve the web dashboard from this process (e.g. 127.0.0.1:8080)")
    p.add_argument("--secret-file", default=None, metavar="FILE",
                   help="the dashboard's session-signing secret (made, mode 0600, if missing)")
    p.set_defaults(handler=run_monitor)

    p = sub.add_parser("simulate", parents=[common], help="run simulated offices against a broker",
                       description="Run N simulated offices speaking the real protocol: births, telemetry, late "
                                   "openings, customers, printer faults, outages and reconnects.")
    _broker_args(p)
    p.add_argument("--devices", type=int, required=True, help="how many offices")
    p.add_argument("--seconds", type=float, default=None, help="run this long (default: until interrupted)")
    p.add_argument("--speed", type=float, default=60.0, help="simulated seconds per wall second (default 60)")
    p.add_argument("--prefix", default="sim", help="device ids are PREFIX-00001 … (default sim)")
    p.add_argument("--keepalive", type=int, default=30, help="MQTT keepalive of each device, seconds")
    p.add_argument("--telemetry-seconds", type=float, default=60.0, help="simulated seconds between telemetry")
    p.add_argument("--storm-every", type=float, default=None, metavar="SECONDS",
                   help="drop every connection every this many wall seconds (a reconnect storm)")
    p.set_defaults(handler=run_simulate)


def register(sub, common):
    p = sub.add_parser("fleet", parents=[common], help="the centre's fleet monitor and simulated offices",
                       description="The centre's fleet monitor and the office simulator "
                                   "(the same as pishkhan central monitor|simulate).")
    register_fleet(p.add_subparsers(dest="fleet_command", metavar="COMMAND", required=True), common)


def _password(args) -> str | None:
    if not args.password_file:
        return None
    from pathlib import Path

    from pishkhan.exc import ConfigError

    try:
        return Path(args.password_file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--password-file: cannot read {args.password_file}: {e}") from None


def _until_stopped(seconds, report):
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            stop.wait(1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic())))
            report()
    except KeyboardInterrupt:
        pass


def _logging():
    import os

    logging.basicConfig(level=os.environ.get("PISHKHAN_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def run_monitor(args) -> int:
    from central.db import open_db
    from central.monitor import Monitor, load_trust, parse_broker_url
    from pishkhan.protocol.topics import Topics

    _logging()
    cfg = context.config(args)
    host, port = parse_broker_url(args.broker)
    db = open_db(args.db or str(cfg.state_dir / "fleet.db"))
    trust = load_trust(args.trust) if args.trust else None
    monitor = Monitor(db, host=host, port=port, username=args.username, password=_password(args), share=args.share,
                      topics=Topics(cfg.get("mqtt.topic_root")), trust=trust, batch_size=args.batch,
                      batch_ms=args.batch_ms, protocol=args.protocol,
                      client_id=args.client_id)
    monitor.start(wait=None)
    if args.listen:
        _serve_dashboard(db, cfg, args)
    log = logging.getLogger("pishkhan.central.monitor")
    last = [time.monotonic(), 0]

    def report():
        if time.monotonic() - last[0] >= 60:
            log.info("%d messages (%d refused) so far", monitor.received, monitor.refused)
            last[0] = time.monotonic()
    try:
        _until_stopped(args.seconds, report)
    finally:
        monitor.stop()
        db.close()
    return 0


def _serve_dashboard(db, cfg, args):
    """The dashboard on the monitor's own database, served by uvicorn on a thread of this process."""
    import threading

    import uvicorn

    from central.fleet import Fleet
    from central.web.app import create_app
    from cli.central import _listen, _secret

    host, port = _listen(args.listen)
    app = create_app(Fleet(db), config=cfg, secret=_secret(args.secret_file))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    threading.Thread(target=server.run, name="dashboard", daemon=True).start()
    print(f"dashboard on http://{host}:{port}/", file=sys.stderr, flush=True)


def run_simulate(args) -> int:
    from central.monitor import parse_broker_url
    from central.simulate import Behaviour, SimulatedFleet
    from pishkhan.protocol.topics import Topics

    _logging()
    cfg = context.config(args)
    host, port = parse_broker_url(args.broker)
    fleet = SimulatedFleet(args.devices, host=host, port=port, passwords=_password(args), speed=args.speed,
                  keepalive=args.keepalive, prefix=args.prefix, topics=Topics(cfg.get("mqtt.topic_root")),
                  behaviour=Behaviour(telemetry_seconds=args.telemetry_seconds)).start()
    last_storm = [time.monotonic()]

    def report():
        if args.storm_every and time.monotonic() - last_storm[0] >= args.storm_every:
            last_storm[0] = time.monotonic()
            fleet.storm()
        print(" ".join(f"{k}={v}" for k, v in fleet.stats().items()), flush=True)
    try:
        _until_stopped(args.seconds, report)
    finally:
        fleet.stop()
    return 0
