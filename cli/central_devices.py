"""``pishkhan central devices add|list|move|retire|revoke|crl``: the registry of devices, offices and provinces,
and the revocation of a device's certificates (central/revocation.py).

The centre counts a device under the office and province the registry gives
it, never what the device says (central/registry.py). :func:`register_devices`
adds the command to the ``pishkhan central`` parser.
"""

from __future__ import annotations

import sys

DEFAULT_DB = "fleet.db"


def register_devices(sub, common):
    """Add ``devices`` to *sub* (the subparsers of ``pishkhan central``)."""
    p = sub.add_parser("devices", parents=[common], help="the registry: each device's office and province",
                       description="The centre's registry of devices: the office and province each device is "
                                   "counted under. A device not in it is quarantined (shown apart, counted nowhere).")
    s = p.add_subparsers(dest="devices_action", metavar="ACTION", required=True)

    add = s.add_parser("add", parents=[common], help="register a device to an office")
    _identity(add, name_default="")
    add.set_defaults(handler=cmd_add)

    move = s.add_parser("move", parents=[common], help="give a registered device another office")
    _identity(move, name_default=None)
    move.set_defaults(handler=cmd_move)

    retire = s.add_parser("retire", parents=[common], help="take a device out of the registry (quarantined after)")
    retire.add_argument("device", help="the device id")
    retire.add_argument("--revoke", action="store_true",
                        help="revoke its certificates too (needs --reason and --ca; see `devices revoke`)")
    _revocation(retire, required=False)
    _db(retire)
    retire.set_defaults(handler=cmd_retire)

    revoke = s.add_parser("revoke", parents=[common], help="revoke a device's certificates: the broker refuses it",
                          description="Mark every certificate of the device revoked, write the broker's CRL again "
                                      "from every revoked certificate, and make the broker read it. Mosquitto "
                                      "reads it on SIGHUP for new connections; a connection already open stays, "
                                      "unless --broker names the centre's listener: then the device's client id "
                                      "is taken over there, which closes it (docs/broker.md).")
    revoke.add_argument("device", help="the device id")
    _revocation(revoke, required=True)
    _db(revoke)
    revoke.set_defaults(handler=cmd_revoke)

    crl = s.add_parser("crl", parents=[common], help="write the broker's CRL again (daily: it is valid 30 days)")
    _crl_args(crl)
    _db(crl)
    crl.set_defaults(handler=cmd_crl)

    ls = s.add_parser("list", parents=[common], help="list the registry (and, with --quarantined, the rest)")
    ls.add_argument("--province", metavar="CODE", help="one province only (00-30; 6, 06 and ۰۶ are the same)")
    ls.add_argument("--retired", action="store_true", help="list retired devices too")
    ls.add_argument("--quarantined", action="store_true",
                    help="list the devices heard from that are not in the registry, with what they claim")
    _db(ls)
    ls.set_defaults(handler=cmd_list)


def _db(p):
    p.add_argument("--db", metavar="URL", default=DEFAULT_DB,
                   help="fleet database: a path, sqlite:///PATH or postgresql://… (default: fleet.db)")


def _revocation(p, *, required: bool):
    p.add_argument("--reason", required=required, metavar="TEXT", help="why (kept in the enrolment log)")
    _crl_args(p, required=required)
    g = p.add_argument_group("closing the device's open connection (Mosquitto keeps it after a reload)")
    g.add_argument("--broker", metavar="URL", help="the centre's listener, mqtt://HOST:PORT or mqtts://HOST:PORT; "
                                                   "given: the device's open connection is closed after the reload")
    g.add_argument("--username", metavar="U", help="a centre account on that listener")
    g.add_argument("--password-file", metavar="F", help="file whose first line is its password")
    g.add_argument("--ca-file", metavar="F", help="CA certificate for mqtts://")


def _crl_args(p, *, required: bool = True):
    p.add_argument("--ca", required=required, metavar="DIR", help="the centre's CA folder (central/ca.py)")
    p.add_argument("--crl", metavar="FILE", help="the CRL file Mosquitto's crlfile names (default: DIR/crl.pem)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--reload-broker", metavar="PIDFILE", help="send SIGHUP to the broker of this pid_file")
    how.add_argument("--reload-command", metavar="CMD", help="run CMD to reload the broker, e.g. "
                                                             "'systemctl reload mosquitto'")


def _reloader(args):
    from central import revocation

    if args.reload_broker:
        return revocation.SignalReload(args.reload_broker)
    if args.reload_command:
        return revocation.CommandReload(args.reload_command)
    return revocation.NoReload()


def _identity(p, *, name_default):
    p.add_argument("device", help="the device id, as in its configuration (device.id)")
    p.add_argument("--office", required=True, metavar="ID", help="the office id, e.g. 23-1234")
    p.add_argument("--province", required=True, metavar="CODE",
                   help="the province code, 00-30 (stored as two digits: 6, 06 and ۰۶ are 06)")
    p.add_argument("--name", default=name_default, metavar="TEXT",
                   help="the office's name" + ("" if name_default is not None else " (default: keep it)"))
    _db(p)


def _refusals(fn):
    """Run *fn*; a registry, revocation or CA refusal leaves as a :exc:`CentralError` that starts with its
    reason code."""
    from central.ca import CertificateRefused
    from central.registry import RegistryRefused
    from central.revocation import RevocationRefused
    from pishkhan.exc import CentralError

    try:
        return fn()
    except (RegistryRefused, RevocationRefused, CertificateRefused) as e:
        raise CentralError(f"{e.reason}: {e}") from None


def _line(*fields) -> str:
    """*fields* joined by tabs, each escaped so a terminal shows it as written."""
    from pishkhan.text.safety import terminal_safe

    return "\t".join(terminal_safe(str(f), newlines=False) for f in fields)


def _show(entry) -> str:
    state = f"retired {entry.retired_at}" if entry.retired_at else "active"
    return _line(entry.device_id, entry.province, entry.office_id, entry.office_name, state)


def cmd_add(args):
    from central import registry
    from central.db import open_db

    with open_db(args.db) as db:
        entry = _refusals(lambda: registry.register(db, device_id=args.device, office_id=args.office,
                                                    province=args.province, office_name=args.name))
    print(f"registered {_show(entry)}")
    return 0


def cmd_move(args):
    from central import registry
    from central.db import open_db

    with open_db(args.db) as db:
        entry = _refusals(lambda: registry.move(db, device_id=args.device, office_id=args.office,
                                                province=args.province, office_name=args.name))
    print(f"moved {_show(entry)}")
    return 0


def cmd_retire(args):
    from central import registry
    from central.db import open_db
    from pishkhan.exc import CentralError

    if args.revoke and not (args.reason and args.ca):
        raise CentralError("retire --revoke needs --reason and --ca")
    with open_db(args.db) as db:
        entry = _refusals(lambda: registry.retire(db, device_id=args.device))
        print(f"retired {_show(entry)}")
        if args.revoke:
            _print_revocation(_revoke(db, args), args)
        else:
            print("its certificates are still valid: revoke them with `pishkhan central devices revoke "
                  f"{_line(args.device)} --reason … --ca …` (or retire with --revoke)")
    return 0


def _revoke(db, args):
    from central import revocation
    from central.ca import CertificateAuthority

    def work():
        ca = CertificateAuthority.open(args.ca)
        disconnect = None
        if args.broker:
            from central.publish import Broker

            disconnect = revocation.Disconnect(Broker.from_args(args.broker, username=args.username,
                                                                password_file=args.password_file,
                                                                ca_file=args.ca_file))
        return revocation.revoke(db, ca, device_id=args.device, reason=args.reason, crl_path=args.crl,
                                 reloader=_reloader(args), disconnect=disconnect)
    return _refusals(work)


def _print_revocation(done, args):
    what = f"revoked {len(done.serials)} certificate(s)" if done.serials else "already revoked"
    print(_line(done.device_id, what, f"CRL {done.crl_path} lists {done.listed}", done.reloaded,
                *([done.disconnected] if done.disconnected else [])))
    for line in _broker_not_told(args, done.crl_path, newly=bool(done.serials)):
        print(line, file=sys.stderr)


def _broker_not_told(args, crl_path, *, newly: bool) -> list[str]:
    """Warnings, Persian then English, for what the broker was not told: without a reload it still accepts
    the device; without --broker the device's open connection, if it was just revoked (*newly*), stays."""
    crl = _line(crl_path)
    if not (args.reload_broker or args.reload_command):
        return [f"هشدار: کارگزار خبردار نشد و تا فهرست ابطال ({crl}) را نخوانَد این دستگاه را می‌پذیرد؛ دوباره اجرا "
                "کنید با --crl (همان پرونده‌ای که crlfile در Mosquitto نام می‌برد) و --reload-broker PIDFILE یا "
                "--reload-command 'systemctl reload mosquitto' (docs/broker.md).",
                f"warning: the broker was not told: it accepts this device until it reads the CRL ({crl}); run "
                "again with --crl (the file Mosquitto's crlfile names) and --reload-broker PIDFILE or "
                "--reload-command 'systemctl reload mosquitto' (docs/broker.md)."]
    if newly and not args.broker:
        return ["هشدار: اتصالِ باز دستگاه تا وقتی خودش قطع شود می‌ماند؛ برای بستن آن دوباره اجرا کنید با "
                "--broker mqtt://HOST:PORT --username U --password-file F (شنوندهٔ مرکز).",
                "warning: the device's open connection stays until it disconnects; to close it, run again with "
                "--broker mqtt://HOST:PORT --username U --password-file F (the centre's listener)."]
    return []


def cmd_revoke(args):
    from central.db import open_db

    with open_db(args.db) as db:
        _print_revocation(_revoke(db, args), args)
    return 0


def cmd_crl(args):
    from central import revocation
    from central.ca import CertificateAuthority
    from central.db import open_db

    with open_db(args.db) as db:
        def work():
            path, listed = revocation.refresh_crl(db, CertificateAuthority.open(args.ca), crl_path=args.crl)
            return path, listed, _reloader(args).reload()
        path, listed, reloaded = _refusals(work)
    print(_line(f"CRL {path} lists {listed}", reloaded))
    return 0


def cmd_list(args):
    from central import registry
    from central.db import open_db

    if args.province:
        _refusals(lambda: registry.check(province=args.province))
    with open_db(args.db) as db:
        if args.quarantined:
            for row in registry.quarantined(db):
                claimed = "/".join(row[k] or "-" for k in ("claimed_province", "claimed_office_id",
                                                           "claimed_office_name"))
                state = "online" if row["online"] else "offline"
                retired = [f"retired {row['retired_at']}"] if row["retired_at"] else []
                print(_line(row["device_id"], "quarantined", state, f"claims {claimed}",
                            f"last seen {row['last_seen']}", *retired))
            return 0
        for entry in registry.entries(db, province=args.province, retired=args.retired):
            print(_show(entry))
    sys.stdout.flush()
    return 0
