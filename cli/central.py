"""``pishkhan central``: the centre's tools — the fleet monitor and simulator (cli/central_monitor.py),
publishing documents, keys and commands (cli/central_publish.py), the dashboard, the daily report,
dashboard users. Each sub-command module is registered here, and only here."""

from __future__ import annotations

import datetime as dt
import sys

from cli.central_serve import listen_address as _listen
from pishkhan import provinces
from cli.central_serve import session_secret as _secret

DEFAULT_DB = "fleet.db"


def register(sub, common):
    p = sub.add_parser("central", parents=[common], help="the centre: fleet dashboard, reports, users")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    dash = s.add_parser("dashboard", parents=[common], help="serve the web dashboard on an existing fleet database")
    dash.add_argument("--db", metavar="URL", default=DEFAULT_DB,
                      help="fleet database: a path, sqlite:///PATH or postgresql://… (default: fleet.db)")
    dash.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:8080", help="default: 127.0.0.1:8080")
    dash.add_argument("--secret-file", metavar="FILE",
                      help="session-signing secret (made, mode 0600, if missing); default: a new one per run")
    dash.add_argument("--trusted-proxy", metavar="ADDR", default="",
                      help="believe X-Forwarded-For only from this proxy address (default: from nobody)")
    dash.add_argument("--cookie-secure", action="store_true",
                      help="cookies only over HTTPS (on anyway when a request comes over HTTPS: docs/dashboard.md)")
    dash.add_argument("--alert-webhook", metavar="URL",
                      help="POST each new or resolved alert here as JSON (docs/operations.md, Alerts)")
    dash.add_argument("--alert-secret-file", metavar="FILE", help="sign the webhook's body with this secret (HMAC)")
    dash.add_argument("--command-key", metavar="K", help="the command key (a file, or a name in --keys-dir) that "
                      "signs the office page's remote actions, sent through --broker (docs/dashboard.md)")
    dash.add_argument("--keys-dir", default="keys", metavar="DIR", help="the keys folder (default: ./keys)")
    __import__("cli.central_publish", fromlist=["_"])._broker_args(dash)
    dash.set_defaults(handler=cmd_dashboard)

    rep = s.add_parser("report", parents=[common], help="the daily compliance report by province")
    rep.add_argument("--date", metavar="YYYY-MM-DD", help="Tehran date (default: today)")
    rep.add_argument("--province", metavar="CODE", type=provinces.option,
                     help="one province only (00-30; 6, 06 and ۰۶ are the same)")
    rep.add_argument("--format", choices=("csv", "html", "json"), default="csv")
    rep.add_argument("--db", metavar="URL", default=DEFAULT_DB, help="fleet database (default: fleet.db)")
    rep.set_defaults(handler=cmd_report)

    users = s.add_parser("users", parents=[common], help="dashboard users")
    u = users.add_subparsers(dest="users_action", metavar="ACTION", required=True)
    add = u.add_parser("add", parents=[common], help="add a user; the password is read from stdin")
    add.add_argument("name")
    add.add_argument("--province", metavar="CODE", type=provinces.option,
                     help="the user sees only this province (00-30)")
    add.add_argument("--replace", action="store_true", help="set a new password (and province) for an existing user")
    add.add_argument("--db", metavar="URL", default=DEFAULT_DB)
    add.set_defaults(handler=cmd_users_add)
    ls = u.add_parser("list", parents=[common], help="list the users")
    ls.add_argument("--db", metavar="URL", default=DEFAULT_DB)
    ls.set_defaults(handler=cmd_users_list)
    rm = u.add_parser("remove", parents=[common], help="remove a user")
    rm.add_argument("name")
    rm.add_argument("--db", metavar="URL", default=DEFAULT_DB)
    rm.set_defaults(handler=cmd_users_remove)

    from cli.central_monitor import register_monitor

    register_monitor(s, common)
    from cli.central_publish import register_publish

    register_publish(s, common)
    __import__("cli.central_devices", fromlist=["_"]).register_devices(s, common)  # devices add|list|move|retire
    __import__("cli.central_enroll", fromlist=["_"]).register_enrolment(s, common)  # claims, enroll-server, ca
    __import__("cli.central_release", fromlist=["_"]).register_release(s, common)  # release publish|status|…
    __import__("cli.central_alerts", fromlist=["_"]).register_alerts(s, common)  # alerts rules|add-rule|list|ack


def cmd_dashboard(args):
    from central.db import open_db
    from central.fleet import Fleet
    from central.web.app import create_app, serve
    from cli import context
    from cli.central_alerts import alert_watcher

    host, port = _listen(args.listen)
    cfg = context.config(args)
    db = open_db(args.db)
    try:
        app = create_app(Fleet(db), config=cfg, secret=_secret(args.secret_file), secure_cookie=args.cookie_secure,
                         commander=_commander(args))
        watcher = alert_watcher(db, args)
        print(f"dashboard on http://{host}:{port}/ (fleet database {args.db})", file=sys.stderr)
        serve(app, host, port, trusted_proxy=args.trusted_proxy)
        watcher.stop()
    finally:
        db.close()
    return 0


def _commander(args):
    """What sends the office page's remote actions (``--command-key``), or None."""
    if not args.command_key:
        return None
    from central.keys import KeyRing
    from central.remote import BrokerCommander
    from cli.central_publish import _broker

    return BrokerCommander(_broker(args), key=KeyRing(args.keys_dir).load(args.command_key), timeout=args.timeout)


def _day(text) -> dt.date:
    from pishkhan.exc import ConfigError
    from pishkhan.text import jalali

    if not text:
        return jalali.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--date: expected YYYY-MM-DD, got {text!r}") from None


def _stored_province(db, code: str | None) -> str | None:
    """*code* (normalised by :func:`pishkhan.provinces.option`) as the fleet stores that province (a fleet
    registered before codes were normalised may hold ``6`` for ``06``), as the dashboard reads ``?province=``."""
    if not code:
        return None
    from central import queries

    return provinces.resolve(code, queries.province_codes(db))


def cmd_report(args):
    from central import report
    from central.db import open_db

    day = _day(args.date)
    with open_db(args.db) as db:
        data = report.daily_report(db, day, province=_stored_province(db, args.province))
    if args.format == "json":
        print(report.to_json(data))
    elif args.format == "csv":
        sys.stdout.write(report.to_csv(data))
    else:
        from central.web.render import report_html

        print(report_html(data, standalone=True))
    return 0


def cmd_users_add(args):
    import getpass

    from central.db import open_db
    from central.users import Users

    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            from central.users import UserError

            raise UserError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with open_db(args.db) as db:
        user = Users(db).add(args.name, password, province=args.province, replace=args.replace)
    print(f"user {user.username}: {'province ' + user.province if user.province else 'the whole fleet'}")
    return 0


def cmd_users_list(args):
    from central.db import open_db
    from central.users import Users

    with open_db(args.db) as db:
        for user in Users(db).list():
            print(f"{user.username}\t{user.province or 'all'}")
    return 0


def cmd_users_remove(args):
    from central.db import open_db
    from central.users import UserError, Users

    with open_db(args.db) as db:
        if not Users(db).remove(args.name):
            raise UserError(f"no user {args.name!r}")
    print(f"removed {args.name}")
    return 0
