"""``pishkhan central release publish|status|halt|promote|advance|serve``: shipping a release to the fleet
(central/releases, docs/updates.md, docs/operations.md «Releases»)."""

from __future__ import annotations

import json
import re
import sys

from cli.central_publish import _broker, _broker_args

DEFAULT_DB = "fleet.db"
DEFAULT_POOL = "releases/pool"


def _percent(text: str) -> float:
    from pishkhan.exc import ConfigError

    m = re.fullmatch(r"\s*([0-9]{1,3}(?:\.[0-9]{1,2})?)\s*%?\s*", str(text))
    if not m or float(m.group(1)) > 100:
        raise ConfigError(f"expected a percentage 0-100 with at most 2 decimals (5%, 12.5%), got {text!r}")
    value = float(m.group(1))
    return int(value) if value == int(value) else value


def _span(text: str) -> int:
    from pishkhan.exc import ConfigError

    m = re.fullmatch(r"\s*([0-9]+)\s*([smhd]?)\s*", str(text))
    if not m:
        raise ConfigError(f"expected a span like 90s, 30m, 2h or 1d, got {text!r}")
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def _window(text: str) -> tuple[str, str]:
    from pishkhan.exc import ConfigError

    m = re.fullmatch(r"\s*(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*", str(text))
    if not m:
        raise ConfigError(f"--window: expected HH:MM-HH:MM (Tehran time), got {text!r}")
    return m.group(1), m.group(2)


def _common(p, *, key=True, broker=True):
    p.add_argument("--db", metavar="URL", default=DEFAULT_DB, help="fleet database (default: fleet.db)")
    if key:
        p.add_argument("--key", required=True, metavar="K", help="issuer key: private key file or a name in --keys-dir")
        p.add_argument("--keys-dir", default="keys", metavar="DIR", help="the keys folder (default: ./keys)")
        p.add_argument("--trust", required=True, metavar="FILE",
                       help="the centre's trust list; a document is published only if it verifies against it")
    if broker:
        _broker_args(p)


def register_release(central_subparsers, common):
    """Add ``release`` and its actions under ``pishkhan central``."""
    r = central_subparsers.add_parser("release", parents=[common], help="ship a release: publish, watch, halt, promote",
                                      description="Fleet updates (docs/updates.md): the package pool, signed release "
                                                  "documents, phased rollouts that halt themselves.")
    s = r.add_subparsers(dest="release_action", metavar="ACTION", required=True)
    pub = s.add_parser("publish", parents=[common], help="pool a package and publish its release document (canary)")
    pub.add_argument("package", metavar="PACKAGE", help="the .deb (name, version and architecture are read from it)")
    pub.add_argument("--scope", required=True, help="national, province:CODE, office:ID or device:ID")
    pub.add_argument("--device", default=None, help="office:ID only: the one device to publish to (default: every "
                                                    "registered device of the office)")
    pub.add_argument("--pool", default=DEFAULT_POOL, metavar="DIR", help=f"the pool folder (default: {DEFAULT_POOL})")
    pub.add_argument("--canary", default="5%", help="the canary share of the scope's devices (default: 5%%)")
    pub.add_argument("--window", default="22:00-05:00", help="Tehran time an update may start (default: 22:00-05:00)")
    pub.add_argument("--not-before", default=None, metavar="ISO", help="no device starts before (default: now)")
    pub.add_argument("--expires-days", type=float, default=14, help="the document's life, at most 90 (default: 14)")
    pub.add_argument("--min-from", default="0", metavar="V", help="a device running older refuses (too_old)")
    pub.add_argument("--urgent", action="store_true", help="ignore the window and working hours (national key only)")
    pub.add_argument("--rollback", action="store_true", help="allow a lower version (national key only)")
    pub.add_argument("--soak", default="2h", help="how long the canaries soak before promotion (default: 2h)")
    pub.add_argument("--halt-threshold", default="10%", help="halt when more of the updated devices roll back, fail "
                                                             "or go offline (default: 10%%)")
    _common(pub)
    pub.set_defaults(handler=cmd_publish)

    sg = s.add_parser("sign", parents=[common], help="pool a package and write its signed release document to a "
                                                     "file, publishing nothing (tests, an air-gapped hand-over)")
    sg.add_argument("package", metavar="PACKAGE")
    sg.add_argument("--scope", required=True, help="national, province:CODE, office:ID or device:ID")
    sg.add_argument("--pool", default=DEFAULT_POOL, metavar="DIR", help=f"the pool folder (default: {DEFAULT_POOL})")
    sg.add_argument("--version", type=int, default=1, help="the document's version in its scope (default: 1)")
    sg.add_argument("--rollout", default=None, help="the rollout id (default: a new one)")
    sg.add_argument("--canary", default="100%", help="the canary share (default: 100%%)")
    sg.add_argument("--window", default="22:00-05:00", help="Tehran time an update may start (default: 22:00-05:00)")
    sg.add_argument("--not-before", default=None, metavar="ISO", help="default: now")
    sg.add_argument("--expires-days", type=float, default=14, help="at most 90 (default: 14)")
    sg.add_argument("--min-from", default="0", metavar="V")
    sg.add_argument("--urgent", action="store_true")
    sg.add_argument("--rollback", action="store_true")
    sg.add_argument("--halted", action="store_true")
    sg.add_argument("--out", required=True, metavar="FILE", help="where to write the signed envelope (JSON)")
    sg.add_argument("--key", required=True, metavar="K", help="issuer key: private key file or a name in --keys-dir")
    sg.add_argument("--keys-dir", default="keys", metavar="DIR", help="the keys folder (default: ./keys)")
    sg.add_argument("--trust", required=True, metavar="FILE", help="the centre's trust list; the document must "
                                                                   "verify against it")
    sg.set_defaults(handler=cmd_sign)

    st = s.add_parser("status", parents=[common], help="the rollouts, or one rollout's progress and record")
    st.add_argument("rollout", nargs="?", metavar="ROLLOUT")
    st.add_argument("--json", action="store_true", help="print JSON")
    _common(st, key=False, broker=False)
    st.set_defaults(handler=cmd_status)

    for name, helptext in (("halt", "halt a rollout: publish its next document with halted: true"),
                           ("promote", "promote a canary rollout now: publish its next document at 100%")):
        a = s.add_parser(name, parents=[common], help=helptext)
        a.add_argument("rollout", metavar="ROLLOUT")
        a.add_argument("--why", default="", help="a sentence kept with the record")
        _common(a)
        a.set_defaults(handler=cmd_halt if name == "halt" else cmd_promote)

    adv = s.add_parser("advance", parents=[common], help="the controller's step (a timer runs it): promote after a "
                                                         "healthy soak, halt on failures above the threshold")
    _common(adv)
    adv.set_defaults(handler=cmd_advance)

    srv = s.add_parser("serve", parents=[common], help="serve only the pool over HTTPS (/releases/pool/<sha256>.deb)",
                       description="The enrolment server serves the pool too (enroll-server --pool DIR); this serves "
                                   "the pool alone, with the same TLS stack.")
    srv.add_argument("--pool", default=DEFAULT_POOL, metavar="DIR")
    srv.add_argument("--listen", metavar="HOST:PORT", default="0.0.0.0:8443", help="default: 0.0.0.0:8443")
    srv.add_argument("--tls-cert", metavar="FILE", required=True, help="this server's certificate (PEM)")
    srv.add_argument("--tls-key", metavar="FILE", required=True, help="this server's private key (PEM)")
    srv.set_defaults(handler=cmd_serve)


def _rollouts(args, *, publish: bool):
    from central.db import open_db
    from central.releases.pool import Pool
    from central.releases.rollouts import BrokerPublisher, Rollouts
    from central.trust import TrustList

    db = open_db(args.db)
    publisher = BrokerPublisher(_broker(args), trust=TrustList.load(args.trust), timeout=args.timeout) \
        if publish else None
    return db, Rollouts(db, publisher=publisher, pool=Pool(getattr(args, "pool", DEFAULT_POOL)))


def _key(args):
    from central.keys import KeyRing

    return KeyRing(args.keys_dir).load(args.key)


def _not_before(args):
    import datetime as dt

    from pishkhan.exc import ConfigError

    if not args.not_before:
        return None
    try:
        moment = dt.datetime.fromisoformat(args.not_before.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--not-before: expected an ISO time, got {args.not_before!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def cmd_sign(args) -> int:
    import datetime as dt
    import secrets

    from central.publish import encode, prepare
    from central.releases import document
    from central.releases.pool import Pool
    from central.trust import TrustList
    from pishkhan.boards.signing import verification_code
    from pishkhan.tls import write_file

    now = dt.datetime.now(dt.timezone.utc)
    package = Pool(args.pool).add(args.package, now=now)
    begin = _not_before(args) or now
    payload = document.build(
        issuer="مرکز پیشخوان / Pishkhan centre", version=args.version, scope=args.scope,
        rollout=args.rollout or f"R-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}", package=package,
        not_before=begin, expires=begin + dt.timedelta(days=args.expires_days), window=_window(args.window),
        canary_percent=_percent(args.canary), min_from=args.min_from, rollback=args.rollback, urgent=args.urgent,
        halted=args.halted)
    envelope = prepare("release", payload, key=_key(args), expected_scope=args.scope, trust=TrustList.load(args.trust))
    write_file(args.out, encode(envelope), mode=0o644)
    print(f"{args.out}: release v{payload['version']} ({verification_code(envelope)}) of {package.name} "
          f"{package.version} ({package.sha256}) for {args.scope}; pooled as {args.pool}/{package.file_name}")
    return 0


def cmd_publish(args) -> int:
    not_before = _not_before(args)
    key = _key(args)
    db, rollouts = _rollouts(args, publish=True)
    with db:
        r = rollouts.start(args.package, scope=args.scope, key=key, canary_percent=_percent(args.canary),
                           window=_window(args.window), not_before=not_before, expires_days=args.expires_days,
                           min_from=args.min_from, urgent=args.urgent, rollback=args.rollback,
                           soak_seconds=_span(args.soak), halt_threshold=float(_percent(args.halt_threshold)),
                           device=args.device)
    print(f"rollout {r.rollout}: {r.package_version} ({r.sha256}) to {r.scope_key}, document v{r.doc_version} "
          f"({r.document_code}), canaries {r.canary_percent:g}%, soak {r.soak_seconds} s, halt above "
          f"{r.halt_threshold:g}%; published retained to {', '.join(r.topics)}")
    return 0


def cmd_status(args) -> int:
    from central.db import open_db
    from central.releases.progress import rollout_progress
    from central.releases.rollouts import Rollouts
    from pishkhan.text.safety import terminal_safe

    with open_db(args.db) as db:
        rollouts = Rollouts(db)
        chosen = [rollouts.get(args.rollout)] if args.rollout else rollouts.list()
        out = []
        for r in chosen:
            p = rollout_progress(db, r)
            item = r.to_json() | {"progress": p.by_state, "touched": p.touched, "failures": p.failures,
                                  "offline": p.offline, "canaries": p.canaries, "in_scope": p.in_scope,
                                  "failed_devices": p.failed_devices}
            if args.rollout:
                item["log"] = rollouts.log(r.rollout)
            out.append(item)
    if args.json:
        print(json.dumps(out if not args.rollout else out[0], ensure_ascii=False, indent=1))
        return 0
    for item in out:
        states = " ".join(f"{k}={v}" for k, v in item["progress"].items())
        print(f"{item['rollout']}  {item['stage']:10} {item['package_version']} → {item['scope_key']} "
              f"v{item['doc_version']}  {states}  offline={item['offline']}")
        if item["halted_reason"]:
            try:
                why = json.loads(item["halted_detail"] or "{}").get("message", "")
            except (ValueError, AttributeError):
                why = ""
            print(f"  halted: {item['halted_reason']}: {why}")
        for d in item["failed_devices"][:20] if args.rollout else []:
            print(terminal_safe(f"  {d['device_id']}: {d['state']} {d['reason']} {d['detail'][:120]!r}"))
        for fact in item.get("log", []):
            print(f"  {fact['at']} {fact['action']} {fact['reason']}")
    if not out:
        print("no rollouts", file=sys.stderr)
    return 0


def cmd_halt(args) -> int:
    key = _key(args)
    db, rollouts = _rollouts(args, publish=True)
    with db:
        r = rollouts.halt(args.rollout, key=key, detail={"message": args.why or "halted by ops"})
    print(f"rollout {r.rollout} halted: document v{r.doc_version} ({r.document_code}) published with halted: true")
    return 0


def cmd_promote(args) -> int:
    key = _key(args)
    db, rollouts = _rollouts(args, publish=True)
    with db:
        r = rollouts.promote(args.rollout, key=key, detail={"message": args.why or "promoted by ops"})
    print(f"rollout {r.rollout} promoted: document v{r.doc_version} ({r.document_code}) at canary_percent 100")
    return 0


def cmd_advance(args) -> int:
    key = _key(args)
    db, rollouts = _rollouts(args, publish=True)
    with db:
        decisions = rollouts.advance(key=key)
    for d in decisions:
        print(f"{d.rollout}: {d.action} ({d.reason}) {d.detail.get('message', '')}")
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    from central.enrolment.server import pool_app, uvicorn_config
    from cli.central_serve import listen_address

    host, port = listen_address(args.listen)
    print(f"release pool {args.pool} on https://{host}:{port}/releases/pool/", file=sys.stderr)
    uvicorn.Server(uvicorn_config(pool_app(args.pool), host=host, port=port, tls_cert=args.tls_cert,
                                  tls_key=args.tls_key)).run()
    return 0
