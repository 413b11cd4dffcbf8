"""``pishkhan schedule``: validate, sign, verify, install and show working-hours schedules and holiday lists."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pishkhan.boards.signing import ENVELOPE, PublicKey, SigningKey, verification_code, verify
from pishkhan.exc import PishkhanError, ScheduleInvalid
from pishkhan.schedule import strings as S
from pishkhan.schedule.document import HolidayList, load_document_file, parse_document
from pishkhan.schedule.hours import ScheduleHours, weekly_from_config
from pishkhan.schedule.installed import history, in_effect, install_schedule, pending
from pishkhan.text import jalali
from pishkhan.text.jalali import TEHRAN

from . import context


def register(sub, common):
    p = sub.add_parser("schedule", parents=[common],
                       help="working hours and holidays: validate, sign, install, show")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    v = s.add_parser("validate", parents=[common],
                     help="check a schedule or holiday list (signed or not); exit 1 listing every error")
    v.add_argument("file", metavar="FILE")
    v.set_defaults(handler=cmd_validate)

    sg = s.add_parser("sign", parents=[common], help="sign a schedule or holiday list with an issuer key")
    sg.add_argument("file", metavar="FILE")
    sg.add_argument("--key", required=True, metavar="K", help="issuer private key (from `keys new`)")
    sg.add_argument("--out", required=True, metavar="SIGNED")
    sg.set_defaults(handler=cmd_sign)

    vf = s.add_parser("verify", parents=[common], help="check a signed schedule or holiday list against issuer keys")
    vf.add_argument("file", metavar="SIGNED")
    vf.add_argument("--trust", nargs="+", required=True, metavar="PUB", help="trusted public key files")
    vf.set_defaults(handler=cmd_verify)

    i = s.add_parser("install", parents=[common], help="install a signed schedule or holiday list into the local store")
    i.add_argument("file", metavar="SIGNED")
    i.set_defaults(handler=cmd_install)

    sh = s.add_parser("show", parents=[common], help="the hours in effect, day by day, and where they come from")
    sh.add_argument("--json", action="store_true", help="print JSON")
    sh.add_argument("--history", action="store_true", help="also list every schedule and holiday list ever installed")
    sh.add_argument("--at", metavar="WHEN", help="judge at YYYY-MM-DD or YYYY-MM-DDTHH:MM, Tehran time (default: now)")
    sh.add_argument("--days", type=int, default=7, metavar="N", help="how many days to list (default 7)")
    sh.set_defaults(handler=cmd_show)


def _summary(doc) -> str:
    if isinstance(doc, HolidayList):
        return (f"holidays {doc.scope.key} v{doc.version}, effective {doc.effective_from}, covers "
                f"{doc.covers_from} to {doc.covers_to}, {len(doc.holidays)} holiday entries")
    return (f"schedule {doc.scope.key} v{doc.version}, effective {doc.effective_from}, "
            f"{len(doc.exceptions)} exceptions")


def cmd_validate(args):
    try:
        data = load_document_file(args.file)
        if isinstance(data, dict) and data.get("format") == ENVELOPE:
            data = data.get("payload")  # the signature is checked by `verify` and `install`
        doc = parse_document(data)
    except ScheduleInvalid as e:
        print(f"{args.file}: {len(e.errors)} error(s)")
        for err in e.errors:
            print(f"  {err}")
        return 1
    print(f"{args.file}: valid; {_summary(doc)}")


def cmd_sign(args):
    data = load_document_file(args.file)
    parse_document(data)  # never sign an invalid document
    envelope = SigningKey.load(args.key).sign(data)
    Path(args.out).write_text(json.dumps(envelope, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"signed {args.file} -> {args.out}; key {envelope['signature']['key']}, "
          f"verification code {verification_code(envelope)}")


def cmd_verify(args):
    envelope = load_document_file(args.file)
    payload, key = verify(envelope, [PublicKey.load(p) for p in args.trust])
    doc = parse_document(payload)
    print(f"{args.file}: signature good (key {key.fingerprint}); {doc.kind} {doc.scope.key} v{doc.version}; "
          f"verification code {verification_code(envelope)}")


def cmd_install(args):
    cfg = context.config(args)
    envelope = load_document_file(args.file)
    with context.store(cfg) as st:
        installed = install_schedule(st, envelope, source="cli", actor=context.actor(),
                                     province=cfg.office.province, office=cfg.office.office_id)
    d = installed.document
    when = "now in effect" if d.effective_from <= jalali.today() else f"takes effect {d.effective_from}"
    print(f"installed {d.kind} {d.scope.key} v{d.version} ({when}); verification code {installed.verification_code}")


def _moment(text: str | None) -> tuple[dt.datetime, bool]:
    """``(moment, given)`` from ``--at``."""
    if not text:
        return jalali.now(), False
    try:
        if "T" in text:
            return dt.datetime.fromisoformat(text).replace(tzinfo=TEHRAN), True
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(0, 0), TEHRAN), True
    except ValueError:
        raise PishkhanError(f"--at must be YYYY-MM-DD or YYYY-MM-DDTHH:MM, got {text!r}") from None


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "اعلام نشده"
    return f"{jalali.format_date(moment.date())}، ساعت {jalali.format_time(moment)}"


def cmd_show(args):
    cfg = context.config(args)
    at, given = _moment(args.at)
    if not 1 <= args.days <= 366:
        raise PishkhanError(f"--days must be 1 to 366, got {args.days}")
    province, office = cfg.office.province, cfg.office.office_id
    with context.store(cfg) as st:
        hours = ScheduleHours(st, province=province, office=office, fallback=weekly_from_config(cfg))
        docs = in_effect(st, province=province, office=office, on=at.date())
        waiting = pending(st, at.date())
        past = history(st) if args.history else []
        days = [hours.day(at.date() + dt.timedelta(days=n)) for n in range(args.days)]
        texts = [hours.describe_day(d.date) for d in days]
        now = {"at": at.isoformat(), "open": hours.is_open(at),
               "closes_at": (c := hours.closes_at(at)) and c.isoformat(),
               "next_open": (n := hours.next_open(at)) and n.isoformat()}
    always_open = bool(cfg.hours.always_open)
    if args.json:
        data = {"in_effect": [d.to_json() for d in docs], "pending": [p.to_json() for p in waiting],
                "always_open": always_open, "now": now,
                "days": [d.to_json() | {"text": t} for d, t in zip(days, texts)]}
        if args.history:
            data["history"] = [h.to_json() for h in past]
        context.print_json(data)
        return 0
    if not any(d.kind == "schedule" for d in docs):
        print("no signed schedule in effect: the weekly hours of the configuration apply")
    if not docs:
        print("nothing installed is in effect: no holidays are applied to the configuration's hours")
    elif not any(d.kind == "holidays" and d.document.scope.level == "national" for d in docs):
        print("no national holiday list in effect: the built-in calendar (holidays package) serves")
    for d in docs:
        print(f"{_summary(d.document)}; by {d.document.issuer}; verification code {d.verification_code}")
    for p in waiting:
        print(f"pending: {p.document.kind} {p.document.scope.key} v{p.document.version} "
              f"takes effect {p.document.effective_from}")
    if always_open:
        print("hours.always_open is set in the configuration: the office counts as open at every minute")
    label = "at " + at.strftime("%Y-%m-%d %H:%M") if given else "now"
    if now["open"]:
        print(f"{label}: باز است تا {jalali.format_time(dt.datetime.fromisoformat(now['closes_at']))}")
    else:
        nxt = now["next_open"] and dt.datetime.fromisoformat(now["next_open"])
        print(f"{label}: بسته است؛ بازگشایی {_when(nxt)}")
    for day, text in zip(days, texts):
        origin = S.KIND_FA.get(day.kind, day.kind)
        print(f"  {day.date}  {jalali.format_date(day.date)}: {text}   [{origin}; {day.source}]")
    for h in past:
        print(f"history: {h.document.kind} {h.document.scope.key} v{h.document.version} via {h.source} "
              f"at {h.installed_at} ({h.verification_code})")
