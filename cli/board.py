"""``pishkhan board``: validate, sign, verify, render, install and show boards.

Everything printed goes through :func:`say` (or ``context.print_json``), which
escapes control and bidi characters, so a board's text cannot drive the terminal.
"""

from __future__ import annotations

import json
from pathlib import Path

from pishkhan.text import jalali
from pishkhan.boards.document import load_board_file, parse_board
from pishkhan.boards.installed import effective_for_config, history, install_board, pending_boards
from pishkhan.exc import BoardInvalid, PishkhanError
from pishkhan.boards.layering import preview
from pishkhan.boards.signing import PublicKey, SigningKey, verification_code, verify
from pishkhan.text.safety import terminal_safe

from . import context


def say(text: str = "") -> None:
    """Print *text* with control and bidi characters escaped: the terminal shows
    document text as written (``\\u202e``, ``\\x1b``), never acts on it."""
    print(terminal_safe(text))


SIZES = {"1920x1080", "1080x1920", "1280x800"}


def register(sub, common):
    p = sub.add_parser("board", parents=[common], help="tariff boards: validate, sign, render, install")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    v = s.add_parser("validate", parents=[common], help="check a board file; exit 1 listing every error")
    v.add_argument("file", metavar="FILE")
    v.set_defaults(handler=cmd_validate)

    sg = s.add_parser("sign", parents=[common], help="sign a board with an issuer key")
    sg.add_argument("file", metavar="FILE")
    sg.add_argument("--key", required=True, metavar="K", help="issuer private key (from `keys new`)")
    sg.add_argument("--out", required=True, metavar="SIGNED")
    sg.set_defaults(handler=cmd_sign)

    vf = s.add_parser("verify", parents=[common], help="check a signed board against issuer keys")
    vf.add_argument("file", metavar="SIGNED")
    vf.add_argument("--trust", nargs="+", required=True, metavar="PUB", help="trusted public key files")
    vf.set_defaults(handler=cmd_verify)

    r = s.add_parser("render", parents=[common], help="render the board's screen pages as PNG")
    r.add_argument("file", metavar="FILE", help="board file, signed or not")
    r.add_argument("--size", default="1920x1080", help="1920x1080, 1080x1920 or 1280x800")
    r.add_argument("--out", required=True, metavar="DIR")
    r.set_defaults(handler=cmd_render)

    po = s.add_parser("poster", parents=[common], help="render the printable poster as PDF")
    po.add_argument("file", metavar="FILE", help="board file, signed or not")
    po.add_argument("--paper", default="A4", choices=["A4", "A3"])
    po.add_argument("--out", required=True, metavar="PDF")
    po.set_defaults(handler=cmd_poster)

    i = s.add_parser("install", parents=[common], help="install a signed board into the local store")
    i.add_argument("file", metavar="SIGNED")
    i.set_defaults(handler=cmd_install)

    sh = s.add_parser("show", parents=[common], help="the effective board now, its sources and versions")
    sh.add_argument("--json", action="store_true", help="print JSON")
    sh.add_argument("--history", action="store_true", help="also list every board ever installed")
    sh.set_defaults(handler=cmd_show)


def cmd_validate(args):
    try:
        board = parse_board(load_board_file(args.file))
    except BoardInvalid as e:
        say(f"{args.file}: {len(e.errors)} error(s)")
        for err in e.errors:
            say(f"  {err}")
        return 1
    count = sum(1 for _ in board.services())
    say(f"{args.file}: valid; {board.scope.key} v{board.version}, effective {board.effective_from}, "
          f"{len(board.categories)} categories, {count} services")


def cmd_sign(args):
    doc = load_board_file(args.file)
    parse_board(doc)  # never sign an invalid board
    envelope = SigningKey.load(args.key).sign(doc)
    Path(args.out).write_text(json.dumps(envelope, ensure_ascii=False, indent=1), encoding="utf-8")
    say(f"signed {args.file} -> {args.out}; key {envelope['signature']['key']}, "
          f"verification code {verification_code(envelope)}")


def cmd_verify(args):
    envelope = load_board_file(args.file)
    payload, key = verify(envelope, [PublicKey.load(p) for p in args.trust])
    board = parse_board(payload)
    say(f"{args.file}: signature good (key {key.fingerprint}); {board.scope.key} v{board.version}; "
          f"verification code {verification_code(envelope)}")


def cmd_render(args):
    from pishkhan.render.board_pages import render_pages

    if args.size not in SIZES:
        raise PishkhanError(f"--size must be one of {', '.join(sorted(SIZES))}, got {args.size!r}")
    width, height = map(int, args.size.split("x"))
    cfg = context.config(args)
    board = preview(load_board_file(args.file))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pages = render_pages(board, config=cfg, size=(width, height))
    for n, page in enumerate(pages, 1):
        page.save(out / f"page-{n:02d}.png")
    say(f"{len(pages)} page(s) at {args.size} -> {out}/")


def cmd_poster(args):
    from pishkhan.render.poster import write_poster

    cfg = context.config(args)
    board = preview(load_board_file(args.file))
    pages = write_poster(board, config=cfg, paper=args.paper, out=Path(args.out))
    say(f"poster, {pages} {args.paper} page(s) -> {args.out}")


def cmd_install(args):
    cfg = context.config(args)
    envelope = load_board_file(args.file)
    with context.store(cfg) as st:
        installed = install_board(st, envelope, source="cli", actor=context.actor(),
                                  province=cfg.office.province, office=cfg.office.office_id)
    b = installed.board
    when = "now in effect" if b.effective_from <= jalali.today() else f"takes effect {b.effective_from}"
    say(f"installed {b.scope.key} v{b.version} ({when}); verification code {installed.verification_code}")


def cmd_show(args):
    cfg = context.config(args)
    with context.store(cfg) as st:
        board = effective_for_config(st, cfg)
        pending = pending_boards(st)
        past = history(st) if args.history else []
    if args.json:
        data = board.to_json() if board else {"board": None}
        data["pending"] = [{"scope": p.board.scope.key, "version": p.board.version,
                            "effective_from": p.board.effective_from.isoformat()} for p in pending]
        if args.history:
            data["history"] = [{"scope": h.board.scope.key, "version": h.board.version, "source": h.source,
                                "installed_at": h.installed_at, "verification_code": h.verification_code}
                               for h in past]
        context.print_json(data)
        return 0 if board else 1
    if board is None:
        say("no verified board is installed (install one with `pishkhan board install SIGNED`)")
        return 1
    say(f"effective board v{board.version_label}, effective {board.effective_from}, "
          f"verification code {board.verification_code}")
    for layer in board.layers:
        b = layer.board
        say(f"  layer {b.scope.key} v{b.version} from {b.effective_from} by {b.issuer} ({layer.verification_code})")
    for conflict in board.conflicts:
        say(f"  ignored: {conflict}")
    for p in pending:
        say(f"  pending {p.board.scope.key} v{p.board.version} takes effect {p.board.effective_from}")
    for cat in board.categories:
        say(f"[{cat.code}] {cat.title}")
        for s in cat.services:
            flag = f"  (unavailable: {s.unavailable})" if s.unavailable else ""
            say(f"  {s.code:10} {s.government_fee:>12,} + {s.office_fee:>10,} rials  {s.title}{flag}")
    for h in past:
        say(f"history: {h.board.scope.key} v{h.board.version} via {h.source} at {h.installed_at}")
