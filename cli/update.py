"""``pishkhan update``: the checks the root updater asks of the installed software (docs/updates.md).

``pishkhan update verify --request FILE``
    exit 0 and one JSON line ``{"version", "sha256", "size", "path", "rollout", "document_code", "urgent",
    "rollback"}``; exit 3 and ``{"reason", "message"}`` when refused (a :data:`pishkhan.exc.REASONS` or
    :data:`pishkhan.releases.WAIT_REASONS` code); exit 2 on a usage or configuration error.
``pishkhan update health --since ISO --version V [--services/--no-services]``
    exit 0 healthy, 1 not (yet); one JSON line ``{"healthy", "checks": [{"name", "ok", "detail"}, …]}``.
Run as root, both become the store's owner first (:func:`as_store_owner`), so no store file becomes root's.

``pishkhan update status``
    the release document in force and this device's decision about it (for a technician).
"""

from __future__ import annotations

import argparse
import json
import sys

from pishkhan.exc import PishkhanError

#: Exit statuses of ``verify``.
OK, UNHEALTHY, USAGE, REFUSED = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors: exit 2 (as argparse), said on stderr
        self.print_usage(sys.stderr)
        print(f"pishkhan update: error: {message}", file=sys.stderr)
        sys.exit(USAGE)


def register(sub, common):
    p = sub.add_parser("update", parents=[common], help="fleet updates: the checks the root updater runs")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)

    v = s.add_parser("verify", parents=[common],
                     help="check the release the agent's request file asks for (exit 0 yes, 3 refused, 2 usage)")
    v.add_argument("--request", required=True, metavar="FILE", help="the request file the agent wrote")
    v.add_argument("--check-window", action="store_true",
                   help="also refuse outside the release's window or in the office's working hours (in_hours, "
                        "outside_window), as the agent decided")
    v.set_defaults(handler=cmd_verify)

    h = s.add_parser("health", parents=[common],
                     help="is this version up and healthy? (exit 0 healthy, 1 not yet)")
    h.add_argument("--since", required=True, metavar="ISO", help="when the install finished (UTC, ISO 8601)")
    h.add_argument("--version", required=True, metavar="V", help="the package version expected running")
    h.add_argument("--services", action=argparse.BooleanOptionalAction, default=None,
                   help="also judge the services (default: when systemd runs)")
    h.set_defaults(handler=cmd_health)

    st = s.add_parser("status", parents=[common], help="the release document in force and the decision about it")
    st.set_defaults(handler=cmd_status)


def as_store_owner(cfg) -> None:
    """Run as root (the updater), become the owner of the store first: no file of the store (its journal, a
    migration) may end up owned by root, where the agent could no longer write it. The code is loaded first."""
    import os
    import pwd

    if os.geteuid() != 0:
        return
    import pishkhan.hardware.clock  # noqa: F401 - the code is loaded before the user changes
    import pishkhan.releases.installed  # noqa: F401
    import pishkhan.releases.verify  # noqa: F401
    import pishkhan.schedule.hours  # noqa: F401
    from pishkhan.boards.signing import verify  # noqa: F401

    path = cfg.store_path
    target = path if path.exists() else path.parent
    try:
        info = target.stat()
    except OSError:
        return
    if info.st_uid == 0:
        return
    try:
        name = pwd.getpwuid(info.st_uid).pw_name
        os.initgroups(name, info.st_gid)
    except KeyError:
        os.setgroups([])
    os.setgid(info.st_gid)
    os.setuid(info.st_uid)


def _line(data) -> None:
    sys.stdout.write(json.dumps(data, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def cmd_verify(args) -> int:
    from pishkhan.releases.verify import VerifyRefusal, verify_request

    from . import context

    try:
        cfg = context.config(args)
        as_store_owner(cfg)
        store = context.store(cfg)
    except PishkhanError as e:
        print(f"pishkhan update verify: {e}", file=sys.stderr)
        return USAGE
    try:
        _line(verify_request(cfg, store, args.request, check_window=args.check_window))
        return OK
    except VerifyRefusal as e:
        _line({"reason": e.reason, "message": str(e)[:1000]})
        return REFUSED
    except PishkhanError as e:
        print(f"pishkhan update verify: {e}", file=sys.stderr)
        return USAGE
    finally:
        store.close()


def _since(text: str):
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def cmd_health(args) -> int:
    from pishkhan.releases.verify import health_checks

    since = _since(args.since)
    if since is None:
        print(f"pishkhan update health: --since must be an ISO 8601 time, got {args.since!r}", file=sys.stderr)
        return USAGE
    try:
        from pishkhan.config import load_config

        as_store_owner(load_config(getattr(args, "config", None)))
    except PishkhanError:
        pass  # the health check "config" says why
    checks = health_checks(version=args.version, since=since, config_path=getattr(args, "config", None),
                           services=args.services)
    healthy = all(c["ok"] for c in checks)
    _line({"healthy": healthy, "checks": checks})
    return OK if healthy else UNHEALTHY


def cmd_status(args) -> int:
    from pishkhan.releases import decide, running_version
    from pishkhan.releases.installed import in_force
    from pishkhan.schedule.hours import hours_from_config

    from . import context

    cfg = context.config(args)
    with context.store(cfg) as store:
        doc = in_force(store, device=cfg.device_id, office=cfg.office.office_id, province=cfg.office.province)
        running = running_version()
        out = {"running_version": running, "document": doc.to_json() if doc else None}
        if doc is not None:
            d = decide(store.now(), doc.release, device_id=cfg.device_id, running=running,
                       hours=hours_from_config(cfg, store=store), guard_minutes=cfg.update.guard_minutes)
            out["decision"] = {"state": d.state, "reason": d.reason, "message": d.message}
    context.print_json(out)
    return 0
