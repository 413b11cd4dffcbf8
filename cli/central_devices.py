"""``pishkhan central devices add|list|move|retire``: the registry of devices, offices and provinces.

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
    _db(retire)
    retire.set_defaults(handler=cmd_retire)

    ls = s.add_parser("list", parents=[common], help="list the registry (and, with --quarantined, the rest)")
    ls.add_argument("--province", metavar="CODE", help="one province only")
    ls.add_argument("--retired", action="store_true", help="list retired devices too")
    ls.add_argument("--quarantined", action="store_true",
                    help="list the devices heard from that are not in the registry, with what they claim")
    _db(ls)
    ls.set_defaults(handler=cmd_list)


def _db(p):
    p.add_argument("--db", metavar="URL", default=DEFAULT_DB,
                   help="fleet database: a path, sqlite:///PATH or postgresql://… (default: fleet.db)")


def _identity(p, *, name_default):
    p.add_argument("device", help="the device id, as in its configuration (device.id)")
    p.add_argument("--office", required=True, metavar="ID", help="the office id, e.g. 23-1234")
    p.add_argument("--province", required=True, metavar="CODE", help="the province code, 1-3 digits")
    p.add_argument("--name", default=name_default, metavar="TEXT",
                   help="the office's name" + ("" if name_default is not None else " (default: keep it)"))
    _db(p)


def _refusals(fn):
    """Run *fn*; a registry refusal leaves as a :exc:`CentralError` that starts with its reason code."""
    from central.registry import RegistryRefused
    from pishkhan.exc import CentralError

    try:
        return fn()
    except RegistryRefused as e:
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

    with open_db(args.db) as db:
        entry = _refusals(lambda: registry.retire(db, device_id=args.device))
    print(f"retired {_show(entry)}")
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
