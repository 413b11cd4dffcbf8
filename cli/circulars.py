"""``pishkhan circulars``: the office's library of circulars on the command line (docs/circulars.md).

``pishkhan circulars list [--kind KIND] [--json]``
    every circular ever received, newest issued first: number, kind, Jalali issue date, title, and its state
    (kept, waiting for its file and why, superseded, acknowledged by whom and when).
``pishkhan circulars show NUMBER [--scope SCOPE] [--json]``
    one circular in full, with its file's path and SHA-256 (Persian digits in NUMBER are read as Latin ones).
``pishkhan circulars verify [--json]``
    hash every kept file again; exit 1 and list the bad ones (missing, or bytes that changed).
"""

from __future__ import annotations

from pishkhan.circulars.document import KINDS, normalise_number
from pishkhan.circulars.files import AttachmentStore
from pishkhan.circulars.library import Entry, Library
from pishkhan.exc import PishkhanError
from pishkhan.text.safety import terminal_safe

from . import context


def say(text: str = "") -> None:
    print(terminal_safe(text))


def register(sub, common):
    p = sub.add_parser("circulars", parents=[common],
                       help="the library of circulars, instructions, regulations and tariff lists")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    ls = s.add_parser("list", parents=[common], help="every circular ever received, newest issued first")
    ls.add_argument("--kind", choices=sorted(KINDS), help="only this kind")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=cmd_list)

    sh = s.add_parser("show", parents=[common], help="one circular in full, with its file's path and hash")
    sh.add_argument("number", metavar="NUMBER", help="its number, e.g. 1405/123")
    sh.add_argument("--scope", metavar="SCOPE", help="national or province:CODE (when two scopes use the number)")
    sh.add_argument("--json", action="store_true", help="print JSON")
    sh.set_defaults(handler=cmd_show)

    v = s.add_parser("verify", parents=[common], help="hash every kept file again (exit 1 when one is bad)")
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(handler=cmd_verify)


def _open(args) -> tuple[Library, AttachmentStore]:
    cfg = context.config(args)
    folder = cfg.state_dir / "circulars"
    return Library(context.store(cfg), folder), AttachmentStore(folder)


def state(lib: Library, e: Entry) -> str:
    """The entry's state in words (Persian, English beside)."""
    words = []
    if e.fetched_at:
        words.append("نگه‌داری‌شده / kept")
    else:
        row = lib.store.query_one("SELECT last_error, next_fetch_at FROM circulars WHERE scope_key = ? AND number = ?",
                                  (e.scope_key, e.number))
        why = f" ({row['last_error'][:80]}; again at {row['next_fetch_at']})" if row and row["last_error"] else ""
        words.append(f"در انتظار فایل / waiting for its file{why}")
    if e.superseded_by:
        words.append(f"جایگزین‌شده با {e.superseded_by} / superseded")
    if e.acknowledged_at:
        words.append(f"خوانده‌شده: {e.acknowledged_by} {e.acknowledged_at} / acknowledged")
    else:
        words.append("خوانده‌نشده / unread")
    return "; ".join(words)


def cmd_list(args):
    lib, _ = _open(args)
    entries = lib.entries(kind=args.kind)
    if args.json:
        context.print_json([e.to_json() | {"file": str(lib.file(e) or "")} for e in entries])
        return 0
    if not entries:
        say("no circulars received yet / هنوز بخشنامه‌ای دریافت نشده است")
        return 0
    for e in entries:
        say(f"{e.scope_key}  {e.number}  {e.kind_fa}  {e.issued_on}  {'فوری ' if e.urgent else ''}{e.title}")
        say(f"    {state(lib, e)}")
    say(f"{len(entries)} circular(s), {lib.unread_count()} unread")
    return 0


def _find(lib: Library, number: str, scope: str | None) -> Entry:
    wanted = normalise_number(number)
    if wanted is None:
        raise PishkhanError(f"{number!r} is not a circular's number (e.g. 1405/123)")
    found = [e for e in lib.entries() if e.number == wanted and (scope is None or e.scope_key == scope)]
    if not found:
        raise PishkhanError(f"no circular {wanted} in the library" + (f" of {scope}" if scope else ""))
    if len(found) > 1:
        raise PishkhanError(f"{wanted} is held in {', '.join(e.scope_key for e in found)}: name one with --scope")
    return found[0]


def cmd_show(args):
    lib, _ = _open(args)
    e = _find(lib, args.number, args.scope)
    path = lib.file(e)
    if args.json:
        context.print_json(e.to_json() | {"file": str(path or "")})
        return 0
    say(f"{e.kind_fa} {e.number} ({e.scope_key}){' — فوری / urgent' if e.urgent else ''}")
    say(f"  title:        {e.title}")
    say(f"  issuer:       {e.issuer}")
    say(f"  issued on:    {e.issued_on}   effective on: {e.effective_on} (Jalali)")
    say(f"  received at:  {e.received_at}")
    say(f"  state:        {state(lib, e)}")
    say(f"  file:         {path or '-'}")
    say(f"  sha256:       {e.sha256} ({e.size:,} bytes)")
    say("  summary:")
    for line in e.summary.splitlines():
        say(f"    {line}")
    return 0


def cmd_verify(args):
    lib, files = _open(args)
    checked, bad = 0, []
    for e in lib.entries():
        if not e.fetched_at:
            continue
        checked += 1
        if not files.has(e.sha256):
            bad.append({"scope": e.scope_key, "number": e.number, "sha256": e.sha256, "problem": "missing"})
        elif not files.verify(e.sha256):
            bad.append({"scope": e.scope_key, "number": e.number, "sha256": e.sha256, "problem": "changed"})
    if args.json:
        context.print_json({"checked": checked, "bad": bad})
    else:
        for b in bad:
            say(f"BAD {b['scope']} {b['number']}: {b['problem']} ({files.path(b['sha256'])})")
        say(f"{checked} kept file(s) checked, {len(bad)} bad")
    return 1 if bad else 0
