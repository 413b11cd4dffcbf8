"""The command line: ``pishkhan-update run|recover|status|keep`` (docs/updates-on-device.md).

Every path and bound can be given by a flag or by ``PISHKHAN_UPDATE_<NAME>`` (see :mod:`updater.settings`),
so a test or a chroot drives it without the device's layout. Exit codes of ``run``: 0 done (healthy, or the
running version's package kept, or nothing requested), 1 failed, 2 usage or configuration error, 3 refused,
4 rolled back, 75 another update holds the lock.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import sys
from pathlib import Path

from updater.journal import STEP_WORDS, Journal
from updater.kept import Kept, sha256_of
from updater.killswitch import KillSwitch
from updater.recover import Recoverer
from updater.settings import FIELDS, Settings, SettingsError, load
from updater.update import BUSY, DONE, USAGE, Parts, Updater, running_version


def real_parts(settings: Settings, kill: KillSwitch) -> Parts:
    """The device's parts: the installed command, HTTPS with the pinned CA, dpkg, systemctl, journalctl.

    Built (so every module of the zip imported) before anything is installed: dpkg replaces the zip under a
    running update, and a module first imported after that would come from the other version's archive.
    """
    from updater.download import HttpsTransport
    from updater.health import CommandHealth, JournalctlLogs
    from updater.packages import Dpkg
    from updater.services import Systemctl
    from updater.verify import CommandVerifier

    return Parts(
        verifier=CommandVerifier(pishkhan=settings.pishkhan, config=settings.config, user=settings.as_user),
        transport=HttpsTransport(ca_file=settings.ca_file),
        packages=Dpkg(command=settings.dpkg, kill=kill),
        health=CommandHealth(pishkhan=settings.pishkhan, config=settings.config, user=settings.as_user),
        services=Systemctl(),
        logs=JournalctlLogs(),
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pishkhan-update", description="Install a verified release; recover after a "
                                "power cut; show the last attempt (docs/updates-on-device.md).")
    p.add_argument("--config", help="the device's TOML file (default $PISHKHAN_CONFIG, else "
                   "/etc/pishkhan/pishkhan.toml)")
    for name in FIELDS:
        p.add_argument("--" + name.replace("_", "-"), dest=name, default=None,
                       help=f"override (env PISHKHAN_UPDATE_{name.upper()})")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="take the request file and carry it through (the path unit's service)")
    sub.add_parser("recover", help="finish or undo an update cut short (at boot)")
    status = sub.add_parser("status", help="the last attempt's steps")
    status.add_argument("--json", action="store_true", help="one JSON object")
    keep = sub.add_parser("keep", help="keep FILE as the running version's package (the way back)")
    keep.add_argument("file", type=Path)
    return p


class Busy(Exception):
    pass


def _lock(path: Path):
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Busy(f"{path}: another pishkhan-update holds the lock") from None
    return fd


def _lock_waiting(path: Path, seconds: float):
    import time
    deadline = time.monotonic() + seconds
    while True:
        try:
            return _lock(path)
        except Busy:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _status(journal: Journal, *, as_json: bool) -> int:
    rows = [r.as_dict() for r in journal.last_attempt()]
    if as_json:
        print(json.dumps({"attempt": rows[0]["attempt"] if rows else "", "steps": rows}, ensure_ascii=False))
        return DONE
    if not rows:
        print("no update attempt yet")
        return DONE
    first = rows[0]
    print(f"attempt {first['attempt']}  rollout {first['rollout'] or '-'}  "
          f"{rows[-1]['from_version'] or '?'} → {rows[-1]['to_version'] or '?'}")
    for r in rows:
        print(f"  {r['at']}  {r['step']:<12} {STEP_WORDS.get(r['step'], ''):<22} {r['reason']:<20} "
              f"{r['detail'][:200]}")
    return DONE


def _keep(settings: Settings, parts: Parts, file: Path) -> int:
    fields = parts.packages.fields(file)
    running = running_version(settings, parts.packages)
    if fields.get("Package") != "pishkhan" or fields.get("Version") != running:
        print(f"pishkhan-update: {file} is {fields.get('Package')} {fields.get('Version')}, not the running "
              f"pishkhan {running}", file=sys.stderr)
        return USAGE
    kept = Kept(settings.kept).keep(file, version=running, sha256=sha256_of(file))
    print(f"pishkhan-update: kept {kept}")
    return DONE


def main(argv: list[str] | None = None, *, parts: Parts | None = None, env=os.environ) -> int:
    """The command line; *parts* replaces the device's (the suite's fakes)."""
    args = parser().parse_args(argv)
    try:
        settings = load(config=args.config, overrides={n: getattr(args, n) for n in FIELDS}, env=env)
    except SettingsError as e:
        print(f"pishkhan-update: {e}", file=sys.stderr)
        return USAGE
    kill = KillSwitch.from_env(env)
    parts = parts or real_parts(settings, kill)
    if hasattr(parts.packages, "kill"):
        parts.packages.kill = kill
    journal = Journal(settings.journal)
    try:
        if args.command == "status":
            return _status(journal, as_json=args.json)
        if args.command == "keep":
            return _keep(settings, parts, args.file)
        try:
            lock = _lock(settings.lock) if args.command == "recover" else _lock_waiting(settings.lock, 3600)
        except Busy as e:
            print(f"pishkhan-update: {e}", file=sys.stderr)
            return BUSY if args.command == "run" else DONE
        try:
            recovered = Recoverer(settings, parts=parts, journal=journal, kill=kill).recover()
            if args.command == "recover":
                return recovered
            # An attempt cut short without a reboot (the unit stopped or timed out) is mended first.
            return Updater(settings, parts=parts, journal=journal, kill=kill).run()
        finally:
            os.close(lock)
    finally:
        journal.close()
