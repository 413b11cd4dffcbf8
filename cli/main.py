"""``pishkhan``: the one console command, with a subcommand per job.

Each ``cli/<topic>.py`` module registers its subcommands with ``register``;
heavy imports (Kivy, Pillow) happen inside the handlers, so ``--help`` and
small commands stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from pishkhan.exc import PishkhanError

#: Modules under cli/ that add subcommands, in the order --help lists them.
COMMAND_MODULES = ["config", "keys", "board", "schedule", "queue", "display", "kiosk", "screens", "compliance",
                   "agent", "update", "circulars", "central", "provision"]


class _Version(argparse.Action):
    """``--version``: the running package's version (:func:`pishkhan.releases.running_version`), read when asked."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print the running version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from pishkhan.releases import running_version

        print(f"pishkhan {running_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="configuration file (default: $PISHKHAN_CONFIG, else built-in defaults)")
    parser = argparse.ArgumentParser(
        prog="pishkhan", parents=[common],
        description="Pishkhan Edge: the software on a government-service counter office's device.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"cli.{name}").register(sub, common)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "config"):
        args.config = None
    try:
        return args.handler(args) or 0
    except PishkhanError as e:
        from pishkhan.text.safety import terminal_safe

        print(f"pishkhan: error: {terminal_safe(str(e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
