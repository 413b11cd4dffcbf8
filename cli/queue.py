"""``pishkhan queue``, ``pishkhan counter`` and ``pishkhan panel``: the queue for staff
without buttons, counters, and the GPIO counter panel."""

from __future__ import annotations

import sys

from cli import context

#: Ticket ids and counter numbers are SQLite integers: 1 to 2^63-1.
MAX_ID = 2 ** 63 - 1


def _id(text: str) -> int:
    """An argparse type: a whole number from 1 to :data:`MAX_ID`, else a clear usage error."""
    import argparse

    try:
        value = int(text.strip(), 10) if len(text) <= 40 else None
    except ValueError:
        value = None
    if value is None or not 1 <= value <= MAX_ID:
        shown = text if len(text) <= 40 else text[:40] + "…"
        from pishkhan.text.safety import terminal_safe

        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_ID}, got {terminal_safe(shown)!r}")
    return value


def register(sub, common):
    q = sub.add_parser("queue", parents=[common], help="queue tickets: issue, call, recall, status, report")
    s = q.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name, handler, help, *, json=True):
        p = s.add_parser(name, parents=[common], help=help)
        if json:
            p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(handler=handler)
        return p

    p = action("issue", cmd_issue, "issue a ticket and print it")
    p.add_argument("--service", required=True, metavar="CODE", help="service code on the board, e.g. ID-01")
    p.add_argument("--priority", action="store_true", help="priority ticket (elderly, disabled, veterans)")
    p.add_argument("--printer", metavar="URI", help="printer URI (default: printer.uri in the configuration)")
    for name, handler, help in (("next", cmd_next, "finish the counter's ticket and call the next"),
                                ("recall", cmd_recall, "call the counter's ticket again (no-show after K recalls)"),
                                ("serve", cmd_serve, "mark the counter's called ticket as being served"),
                                ("finish", cmd_finish, "mark the counter's ticket done"),
                                ("no-show", cmd_no_show, "mark the counter's called ticket as a no-show")):
        action(name, handler, help).add_argument("--counter", type=_id, required=True, metavar="N")
    action("cancel", cmd_cancel, "cancel a waiting or called ticket").add_argument("ticket", type=_id, metavar="ID")
    p = action("transfer", cmd_transfer, "move a ticket to another lane, keeping its arrival time")
    p.add_argument("ticket", type=_id, metavar="ID")
    p.add_argument("--lane", required=True, metavar="CODE")
    p = action("reprint", cmd_reprint, "print an issued ticket again")
    p.add_argument("ticket", type=_id, metavar="ID")
    p.add_argument("--printer", metavar="URI", help="printer URI (default: printer.uri in the configuration)")
    action("unprinted", cmd_unprinted, "today's waiting tickets whose print failed or never happened")
    action("end-of-day", cmd_end_of_day, "cancel what still waits and close every counter")
    action("status", cmd_status, "waiting per lane, counters and their tickets, recent calls")
    p = action("report", cmd_report, "figures of one day per lane and counter")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="business day (default: today in Tehran)")

    c = sub.add_parser("counter", parents=[common], help="open or close a counter")
    c.add_argument("action", choices=["open", "close"])
    c.add_argument("number", type=_id, metavar="N")
    c.set_defaults(handler=cmd_counter)

    g = sub.add_parser("panel", parents=[common], help="run the GPIO counter panel (buttons, LEDs, buzzer)")
    g.add_argument("--pin-factory", metavar="NAME", help="gpiozero pin factory (default: hardware.pin_factory)")
    g.set_defaults(handler=cmd_panel)


class _Open:
    """Configuration, store and queue for one command."""

    def __init__(self, args):
        from pishkhan.queue.core import Queue

        self.args = args
        self.config = context.config(args)
        self.store = context.store(self.config)
        self.queue = Queue(self.store, self.config)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.store.close()


def _show(args, ticket, *, extra=None, empty="nobody is waiting"):
    if args.json:
        context.print_json((ticket.to_json() if ticket else None) if extra is None
                           else (ticket.to_json() if ticket else {}) | extra)
    elif ticket is None:
        print(empty)
    else:
        where = f" at counter {ticket.counter}" if ticket.counter else ""
        print(f"{ticket.label}  {ticket.state}{where}  ({ticket.service_code}, lane {ticket.lane}, id {ticket.id})")


def _printer(cfg, uri):
    from pishkhan.hardware.printer import open_printer

    return open_printer(uri or cfg.printer.uri)


def cmd_issue(args):
    from pishkhan.queue.issuing import issue_and_print

    from pishkhan.exc import OfficeClosed

    with _Open(args) as o, _printer(o.config, args.printer) as printer:
        try:
            result = issue_and_print(o.queue, printer, args.service, priority=args.priority, config=o.config)
        except OfficeClosed as e:
            when = f"; next open {e.next_open.isoformat()}" if e.next_open else ""
            print(f"pishkhan: refused ({e.reason}{when}): {e}", file=sys.stderr)
            return 2
    t = result.ticket
    if args.json:
        context.print_json(t.to_json() | {"printed": result.printed, "printer_state": result.printer_state,
                                          "print_error": result.error})
    else:
        print(f"{t.label}  lane {t.lane}  {t.service_code}  people ahead {t.people_ahead}  "
              f"about {t.wait_minutes} min")
        if not result.printed:
            print(f"warning: the ticket is issued but was not printed: {result.error}")
    return 0 if result.printed else 3


def cmd_next(args):
    with _Open(args) as o:
        _show(args, o.queue.call_next(args.counter))


def cmd_recall(args):
    with _Open(args) as o:
        _show(args, o.queue.recall(args.counter))


def cmd_serve(args):
    with _Open(args) as o:
        _show(args, o.queue.serve(args.counter))


def cmd_finish(args):
    with _Open(args) as o:
        _show(args, o.queue.finish(args.counter), empty="the counter had no ticket")


def cmd_no_show(args):
    with _Open(args) as o:
        _show(args, o.queue.no_show(args.counter))


def cmd_cancel(args):
    with _Open(args) as o:
        _show(args, o.queue.cancel(args.ticket, actor=context.actor()))


def cmd_transfer(args):
    with _Open(args) as o:
        _show(args, o.queue.transfer(args.ticket, args.lane, actor=context.actor()))


def cmd_reprint(args):
    from pishkhan.queue.issuing import reprint

    with _Open(args) as o, _printer(o.config, args.printer) as printer:
        result = reprint(o.queue, printer, args.ticket, config=o.config)
    _show(args, result.ticket, extra={"printed": result.printed, "printer_state": result.printer_state,
                                      "print_error": result.error} if args.json else None)
    if not args.json and not result.printed:
        print(f"warning: not printed: {result.error}")
    return 0 if result.printed else 3


def cmd_unprinted(args):
    with _Open(args) as o:
        tickets = o.queue.unprinted()
    if args.json:
        context.print_json([t.to_json() for t in tickets])
    for t in [] if args.json else tickets:
        print(f"{t.label}  id {t.id}  print {t.print_state}  {t.print_error}")


def cmd_end_of_day(args):
    with _Open(args) as o:
        n = o.queue.end_of_day(actor=context.actor())
    if args.json:
        context.print_json({"closed": n})
    else:
        print(f"day closed: {n} ticket(s) ended, every counter closed")


def cmd_status(args):
    with _Open(args) as o:
        status = o.queue.status()
        ok, reason, next_open = o.queue.accepting()
        calls = o.queue.recent_calls()
    status |= {"accepting": ok, "reason": reason, "next_open": next_open.isoformat() if next_open else None,
               "recent_calls": [{"label": c.ticket.label, "counter": c.counter, "at": c.at, "recall": c.recall}
                                for c in calls]}
    if args.json:
        context.print_json(status)
        return
    print(f"day {status['day']}: " + ("accepting tickets" if ok else f"not accepting tickets ({reason})"))
    print("waiting: " + ", ".join(f"lane {k} {v}" for k, v in status["waiting"].items()))
    for c in status["counters"]:
        state = "open" if c["open"] else "closed"
        print(f"counter {c['number']} ({'/'.join(c['lanes'])}): {state}"
              + (f", serving {c['ticket']}" if c["ticket"] else ""))
    for c in status["recent_calls"]:
        print(f"called {c['label']} to counter {c['counter']}" + (f" (recall {c['recall']})" if c["recall"] else ""))


def cmd_report(args):
    from pishkhan.text import jalali
    from pishkhan.exc import QueueError
    from pishkhan.queue.kpi import day_report, format_report

    day = args.date or jalali.today().isoformat()
    try:
        day = jalali.parse_iso_date(day).isoformat()
    except ValueError:
        raise QueueError(f"--date must be a Gregorian date YYYY-MM-DD, got {args.date!r}") from None
    cfg = context.config(args)
    with context.store(cfg) as st:
        report = day_report(st, cfg, day)
    if args.json:
        context.print_json(report)
    else:
        print(format_report(report))


def cmd_counter(args):
    with _Open(args) as o:
        if args.action == "open":
            o.queue.open_counter(args.number, actor=context.actor())
        else:
            o.queue.close_counter(args.number, actor=context.actor())
        print(f"counter {args.number} {'open' if args.action == 'open' else 'closed'}; "
              f"open now: {o.queue.open_counters() or 'none'}")


def cmd_panel(args):
    from panel.app import run_panel

    cfg = context.config(args)
    return run_panel(cfg, pin_factory=args.pin_factory)

