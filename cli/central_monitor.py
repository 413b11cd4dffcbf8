"""``pishkhan central monitor`` and ``pishkhan central simulate``: the fleet monitor and simulated offices.

``simulate --register`` first puts its offices in the centre's registry
(:func:`central.simulate.register_offices`), so a demo fleet is not all quarantined.

:func:`register_monitor` adds both to the ``pishkhan central`` parser (cli/central.py); they have no
other name.

The monitor runs until stopped (SIGTERM, Ctrl-C) or ``--seconds``. Under systemd
(systemd/pishkhan-monitor.service) it says READY once started and feeds the
watchdog while :meth:`central.monitor.Monitor.problems` is empty; when its
network or writer thread has died it ends with exit status 1, so systemd
starts it again (what it had not acknowledged is still at the broker).
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


def register_monitor(sub, common):
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
    p.add_argument("--trust", required=True, metavar="FILE",
                   help="the centre's trust list: PEM public keys, each after a 'Scope: national|province:CODE|"
                        "office:CODE|any' line; a document is official only if it verifies with a key allowed "
                        "for its scope")
    p.add_argument("--protocol", choices=("3.1.1", "5"), default="3.1.1",
                   help="MQTT version of the monitor's own connection (default 3.1.1: the same subscriptions, "
                        "shared ones too, for less CPU a message)")
    p.add_argument("--client-id", default=None, metavar="ID",
                   help="keep a session at the broker under this id: what the fleet sends while the monitor is "
                        "stopped waits for it (default: a random id, no session)")
    p.add_argument("--seen-days", type=float, default=15.0, metavar="DAYS",
                   help="days each message's sequence number is kept to tell a duplicate (default 15: the outbox "
                        "keeps a message 14 days; the office page verifies the last 7 from them)")
    p.add_argument("--batch", type=int, default=1000, help="most messages written in one transaction")
    p.add_argument("--batch-ms", type=int, default=100, help="longest wait to fill a batch, in ms")
    p.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--listen", default=None, metavar="HOST:PORT",
                   help="also serve the web dashboard from this process (e.g. 127.0.0.1:8080)")
    p.add_argument("--secret-file", default=None, metavar="FILE",
                   help="the dashboard's session-signing secret (made, mode 0600, if missing)")
    p.add_argument("--alert-webhook", default=None, metavar="URL",
                   help="with --listen: POST each new or resolved alert here (docs/operations.md, Alerts)")
    p.add_argument("--alert-secret-file", default=None, metavar="FILE", help="sign the webhook's body (HMAC)")
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
    p.add_argument("--register", action="store_true",
                   help="first put the simulated offices in the centre's registry (--db), where their births say "
                        "they are, so the demo fleet is counted rather than quarantined")
    p.add_argument("--db", default=None, metavar="URL",
                   help="with --register: the fleet database (default: fleet.db in the state directory)")
    p.add_argument("--releases", action="store_true",
                   help="act on release documents: canaries install, then healthy or rolled back (docs/updates.md)")
    p.add_argument("--bad-release", action="append", default=[], metavar="VERSION",
                   help="with --releases: this package version fails its health gate and rolls back (repeat)")
    p.add_argument("--bad-share", type=float, default=1.0, help="of devices installing a bad release, the share "
                                                                  "that roll back (default 1.0)")
    p.set_defaults(handler=run_simulate)


def _password(args) -> str | None:
    if not args.password_file:
        return None
    from pathlib import Path

    from pishkhan.exc import ConfigError

    try:
        return Path(args.password_file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--password-file: cannot read {args.password_file}: {e}") from None


def _until_stopped(seconds, report, *, every: float = 1.0):
    """Call *report* every *every* seconds until SIGTERM, Ctrl-C, *seconds*, or *report* returns a status."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            stop.wait(every if deadline is None else max(0.0, min(every, deadline - time.monotonic())))
            status = report()
            if status is not None:
                return status
    except KeyboardInterrupt:
        pass
    return 0


def _logging():
    import os

    logging.basicConfig(level=os.environ.get("PISHKHAN_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def run_monitor(args) -> int:
    from central.db import open_db
    from central.monitor import Monitor, parse_broker_url
    from central.trust import TrustList
    from pishkhan.notify import Notifier
    from pishkhan.protocol.topics import Topics

    _logging()
    cfg = context.config(args)
    host, port = parse_broker_url(args.broker)
    trust = TrustList.load(args.trust)
    db = open_db(args.db or str(cfg.state_dir / "fleet.db"))
    monitor = Monitor(db, host=host, port=port, username=args.username, password=_password(args), share=args.share,
                      topics=Topics(cfg.mqtt.topic_root), trust=trust, batch_size=args.batch,
                      batch_ms=args.batch_ms, protocol=args.protocol, client_id=args.client_id,
                      seen_days=args.seen_days)
    notifier = Notifier()
    watchdog = Watchdog(monitor, notifier)
    monitor.start(wait=None)
    if args.listen:
        _serve_dashboard(db, cfg, args)
    notifier.ready(watchdog.describe())
    try:
        status = _until_stopped(args.seconds, watchdog.tend, every=watchdog.every)
    finally:
        notifier.stopping("stopping: writing and acknowledging what was received")
        monitor.stop()
        db.close()
    return status


class Watchdog:
    """systemd's watchdog and status line for a running monitor, and the verdict that it must end.

    :meth:`tend` sends ``WATCHDOG=1`` only while :meth:`Monitor.problems` is
    empty; it returns 1 (the exit status) once a thread of the monitor has
    died, which no waiting can cure. A stuck writer is left to the watchdog.
    """

    def __init__(self, monitor, notifier):
        self.monitor = monitor
        self.notifier = notifier
        self.every = min(1.0, notifier.watchdog_interval or 1.0)
        self._logged = time.monotonic()
        self._reasons: tuple = ()
        self.log = logging.getLogger("pishkhan.central.monitor")

    def describe(self) -> str:
        m = self.monitor
        link = "connected" if m.connected.is_set() else "not connected"
        return f"{link}; {m.received} messages ({m.refused} refused), {m.documents} official documents"

    def tend(self) -> int | None:
        problems = self.monitor.problems()
        said = "; ".join(sentence for _, sentence in problems)
        if any(reason in self.monitor.FATAL for reason, _ in problems):
            self.notifier.status("failed: " + said)
            self.log.critical("ending the monitor: %s", said)
            return 1
        reasons = tuple(reason for reason, _ in problems)
        if reasons != self._reasons:  # logged when it changes, not every second
            if problems:
                self.log.error("the monitor is unhealthy: %s", said)
            else:
                self.log.info("the monitor is healthy again")
            self._reasons = reasons
        if problems:
            self.notifier.status("unhealthy: " + said)
        else:
            self.notifier.status(self.describe())
            self.notifier.watchdog()
        if time.monotonic() - self._logged >= 60:
            self.log.info("%d messages (%d refused) so far", self.monitor.received, self.monitor.refused)
            self._logged = time.monotonic()
        return None


def _serve_dashboard(db, cfg, args):
    """The dashboard on the monitor's own database, served by uvicorn on a thread of this process."""
    import threading

    import uvicorn

    from central.fleet import Fleet
    from central.web.app import create_app
    from cli.central_serve import listen_address, session_secret

    host, port = listen_address(args.listen)
    app = create_app(Fleet(db), config=cfg, secret=session_secret(args.secret_file))
    from central.web.headers import proxy_options

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", **proxy_options()))
    threading.Thread(target=server.run, name="dashboard", daemon=True).start()
    from cli.central_alerts import alert_watcher

    alert_watcher(db, args)  # the alert rules evaluated every minute, as `central dashboard` does
    print(f"dashboard on http://{host}:{port}/", file=sys.stderr, flush=True)


def _register_simulated(args, cfg):
    """``simulate --register``: the simulated offices into the registry of the fleet database."""
    from central.db import open_db
    from central.registry import RegistryRefused
    from central.simulate import register_offices
    from pishkhan.exc import CentralError

    db = open_db(args.db or str(cfg.state_dir / "fleet.db"))
    try:
        kept = register_offices(db, args.devices, prefix=args.prefix)
    except RegistryRefused as e:
        raise CentralError(f"--register: {e.reason}: {e}") from None
    finally:
        db.close()
    print(f"registered {args.devices - len(kept)} simulated offices"
          + (f"; {len(kept)} kept where the registry has them: {' '.join(kept[:10])}" if kept else ""), flush=True)


def run_simulate(args) -> int:
    from central.monitor import parse_broker_url
    from central.simulate import Behaviour, ReleaseBehaviour, SimulatedFleet
    from pishkhan.protocol.topics import Topics

    _logging()
    cfg = context.config(args)
    host, port = parse_broker_url(args.broker)
    if args.register:
        _register_simulated(args, cfg)
    fleet = SimulatedFleet(args.devices, host=host, port=port, passwords=_password(args), speed=args.speed,
                  keepalive=args.keepalive, prefix=args.prefix, topics=Topics(cfg.mqtt.topic_root),
                  behaviour=Behaviour(telemetry_seconds=args.telemetry_seconds),
                  release=ReleaseBehaviour(bad_versions=tuple(args.bad_release), fail_share=args.bad_share)
                  if args.releases else None).start()
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
