"""``pishkhan central alerts rules|add-rule|disable-rule|list|ack``: the alert rules kept as data in the fleet
database, and the alerts they opened (central/alerts.py, docs/operations.md "Alerts").

:func:`register_alerts` adds the command to the ``pishkhan central`` parser.
"""

from __future__ import annotations

import json

from pishkhan import provinces

DEFAULT_DB = "fleet.db"


def register_alerts(sub, common):
    """Add ``alerts`` to *sub* (the subparsers of ``pishkhan central``)."""
    from central.alerts import KINDS, SEVERITIES, STATES

    p = sub.add_parser("alerts", parents=[common], help="alert rules and alerts")
    s = p.add_subparsers(dest="alerts_action", metavar="ACTION", required=True)

    rules = s.add_parser("rules", parents=[common], help="list the rules (JSON lines)")
    rules.set_defaults(handler=cmd_rules)
    add = s.add_parser("add-rule", parents=[common], help="add a rule")
    add.add_argument("--kind", required=True, choices=KINDS)
    add.add_argument("--severity", required=True, choices=SEVERITIES)
    add.add_argument("--minutes", type=int, default=0, help="how long the condition must hold (default 0)")
    add.add_argument("--province", default="", type=provinces.option,
                     help="its scope: one province's code, 00-30 (default: the nation)")
    add.add_argument("--threshold", type=float, help="disk_low: percent free; circular_unacknowledged: days (default 3)")
    add.add_argument("--group-at", type=int, default=10,
                     help="devices of one province meeting it together that make one grouped alert (default 10)")
    add.add_argument("--by", default="", help="who added it")
    add.set_defaults(handler=cmd_add_rule)
    off = s.add_parser("disable-rule", parents=[common], help="switch a rule off")
    off.add_argument("rule_id", type=int)
    off.set_defaults(handler=cmd_disable_rule)
    ls = s.add_parser("list", parents=[common], help="the alerts, newest first (JSON lines)")
    ls.add_argument("--state", default="unresolved", choices=(*STATES, "unresolved"))
    ls.add_argument("--kind", choices=KINDS)
    ls.add_argument("--province", type=provinces.option, help="one province only (00-30; 6, 06 and ۰۶ are the same)")
    ls.add_argument("--page", type=int, default=1)
    ls.set_defaults(handler=cmd_list)
    ack = s.add_parser("ack", parents=[common], help="acknowledge an open alert")
    ack.add_argument("alert_id", type=int)
    ack.add_argument("--by", required=True, help="who acknowledges it")
    ack.set_defaults(handler=cmd_ack)
    for parser in (rules, add, off, ls, ack):
        parser.add_argument("--db", metavar="URL", default=DEFAULT_DB, help="fleet database (default: fleet.db)")


def _alerting(args):
    from central.alerts import Alerting
    from central.db import open_db

    return Alerting(open_db(args.db))


def _print(row: dict):
    print(json.dumps({k: v for k, v in row.items() if k != "members"}, ensure_ascii=False, sort_keys=True))


def cmd_rules(args):
    alerting = _alerting(args)
    for rule in alerting.db.query("SELECT * FROM alert_rules ORDER BY rule_id"):
        _print(rule)
    alerting.db.close()


def cmd_add_rule(args):
    from central.freshness import utc_now

    alerting = _alerting(args)
    try:
        rule_id = alerting.rules.add(kind=args.kind, severity=args.severity, minutes=args.minutes,
                                     province=args.province, threshold=args.threshold, group_at=args.group_at,
                                     by=args.by, now=utc_now())
    finally:
        alerting.db.close()
    print(rule_id)


def cmd_disable_rule(args):
    alerting = _alerting(args)
    alerting.rules.disable(args.rule_id)
    alerting.db.close()


def cmd_list(args):
    alerting = _alerting(args)
    try:
        province = None
        if args.province:  # as the fleet stores it (a fleet from before normalising may hold 6 for 06)
            from central import queries

            province = provinces.resolve(args.province, queries.province_codes(alerting.db))
        page = alerting.page(kind=args.kind, province=province, state=args.state, page=args.page)
    finally:
        alerting.db.close()
    for row in page["rows"]:
        _print(row)


def cmd_ack(args):
    from central.freshness import utc_now

    alerting = _alerting(args)
    try:
        _print(alerting.acknowledge(args.alert_id, by=args.by, now=utc_now()))
    finally:
        alerting.db.close()


def alert_watcher(db, args):
    """The alert rules evaluated every minute (the default rules when there are none), changes sent to
    ``--alert-webhook``."""
    from pathlib import Path

    from central.alert_notify import AlertWatcher, Webhook
    from central.alerts import Rules
    from central.freshness import utc_now

    Rules(db).install_defaults(now=utc_now())
    secret = Path(args.alert_secret_file).read_bytes().strip() if args.alert_secret_file else None
    webhook = Webhook(args.alert_webhook, secret=secret) if args.alert_webhook else None
    watcher = AlertWatcher(db, webhook=webhook, clock=utc_now)
    watcher.start()
    return watcher
