"""``pishkhan provision``: bring a device up — check it (and enrol it, cli/provision_enroll.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import context

#: The device's configuration as the package lays it; a provision command run without
#: ``--config`` or ``PISHKHAN_CONFIG`` checks this file when it is there.
DEVICE_CONFIG = Path("/etc/pishkhan/pishkhan.toml")


def register(sub, common):
    p = sub.add_parser("provision", parents=[common], help="check and enrol this device",
                       description="Bring an office device up: `check` says what is missing or wrong, each with "
                                   "its fix; `enroll` enrols the device with the centre by claim code.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = actions.add_parser("check", parents=[common], help="what is missing or wrong on this device, with the fix",
                           description="Check shaping libraries, font, groups, printer, both screens, clock, "
                                       "enrolment and certificate, the broker over TLS, disk, SD card and power. "
                                       "One line per check in Persian and English with its fix. Exit status: "
                                       "0 the office can open, 1 it cannot (a blocker failed), 2 usage error. "
                                       f"Without --config it reads $PISHKHAN_CONFIG, else {DEVICE_CONFIG} when "
                                       "present.")
    c.add_argument("--json", action="store_true", help="print the report as JSON (for the centre)")
    c.set_defaults(handler=check)
    from cli.provision_enroll import register as register_enroll

    register_enroll(actions, common)


def device_config(args):
    """The configuration to check: ``--config``, else ``$PISHKHAN_CONFIG``, else the device's file."""
    if not getattr(args, "config", None) and not os.environ.get("PISHKHAN_CONFIG") and DEVICE_CONFIG.is_file():
        args.config = str(DEVICE_CONFIG)
    return context.config(args)


def check(args) -> int:
    from pishkhan.text.safety import terminal_safe
    from provisioning import check_strings, machine
    from provisioning.check import record_report, run_checks

    cfg = device_config(args)
    report = run_checks(config=cfg, machine=machine.RealMachine(state_dir=cfg.state_dir))
    problem = record_report(report, config=cfg)
    if args.json:
        context.print_json(report.as_json())
    else:
        print(terminal_safe(check_strings.CONFIGURATION.format(path=cfg.path or check_strings.BUILT_IN)))
        for line in report.lines():
            print(terminal_safe(line))
    if problem:
        print(terminal_safe(f"pishkhan: note: the result was not recorded in the store: {problem}"), file=sys.stderr)
    return 0 if report.can_open else 1
