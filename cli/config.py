"""``pishkhan config``: write, check and document the configuration file."""

from __future__ import annotations

import sys
from pathlib import Path

from pishkhan.config import default_toml, docs_markdown, load_config, settings_module
from pishkhan.exc import ConfigError


def register(sub, common):
    p = sub.add_parser("config", parents=[common], help="write or check the configuration file")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = s.add_parser("init", parents=[common], help="write a commented default configuration")
    init.add_argument("--out", required=True, metavar="FILE", help="where to write it")
    init.add_argument("--always-open", action="store_true",
                      help="office open at every minute (demos and tests)")
    init.add_argument("--printer", default="fake", metavar="URI", help="printer URI (default: fake)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=cmd_init)
    check = s.add_parser("check", parents=[common], help="load the configuration and report problems")
    check.set_defaults(handler=cmd_check)
    docs = s.add_parser("docs", parents=[common], help="write the settings reference (docs/configuration.md)")
    docs.add_argument("--out", metavar="FILE", help="where to write it (default: standard output)")
    docs.set_defaults(handler=cmd_docs)
    typed = s.add_parser("typed", parents=[common], help="write the typed sections (pishkhan/settings.py)")
    typed.add_argument("--out", metavar="FILE", help="where to write it (default: standard output)")
    typed.set_defaults(handler=cmd_typed)


def cmd_init(args):
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ConfigError(f"{out} exists; pass --force to overwrite it")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(default_toml(always_open=args.always_open, printer=args.printer), encoding="utf-8")
    load_config(out)  # the file we wrote must load
    print(f"wrote {out}")


def cmd_check(args):
    cfg = load_config(args.config)
    for warning in _staff_pin_warnings(cfg):
        print(warning, file=sys.stderr)
    print(f"ok: {cfg.path or 'built-in defaults'}; device {cfg.device_id}; state in {cfg.state_dir}")


def cmd_docs(args):
    if args.out:
        Path(args.out).write_text(docs_markdown(), encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(docs_markdown(), end="")


def cmd_typed(args):
    if args.out:
        Path(args.out).write_text(settings_module(), encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(settings_module(), end="")


def _staff_pin_warnings(cfg) -> list[str]:
    from pishkhan.staff_pin import check_configured_pin
    from pishkhan.store.database import Store

    if not cfg.store_path.exists():
        return check_configured_pin(cfg)
    with Store(cfg.store_path) as store:
        return check_configured_pin(cfg, store=store)
