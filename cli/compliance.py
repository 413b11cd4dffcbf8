"""``pishkhan compliance``: the working-hours report, from the facts in the store."""

from __future__ import annotations

import datetime as dt
import json

from cli import context

LABELS = [("scheduled_minutes", "دقایق ساعات اعلام‌شده", "scheduled"),
          ("serving_minutes", "در حال خدمت", "serving"),
          ("degraded_minutes", "خدمت با نقص", "degraded"),
          ("closed_minutes", "بسته در ساعات کاری", "closed in hours"),
          ("unknown_minutes", "نامعلوم (دستگاه خاموش یا ساعت نامطمئن)", "unknown"),
          ("late_opening_minutes", "تأخیر در گشایش", "late opening"),
          ("early_closing_minutes", "تعطیل زودهنگام", "early closing"),
          ("tickets_issued", "نوبت‌های صادرشده", "tickets issued"),
          ("tickets_served", "نوبت‌های خدمت‌گرفته", "tickets served"),
          ("wait_mean", "میانگین انتظار (دقیقه)", "wait mean, min"),
          ("wait_p90", "صدک ۹۰ انتظار (دقیقه)", "wait p90, min")]


def register(sub, common):
    p = sub.add_parser("compliance", parents=[common], help="working-hours compliance, judged from stored facts")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    report = s.add_parser("report", parents=[common], help="the daily report (today so far by default)")
    report.add_argument("--date", metavar="YYYY-MM-DD", help="Tehran date (default: today)")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.set_defaults(handler=cmd_report)


def cmd_report(args):
    from pishkhan.compliance.judge import day_report
    from pishkhan.exc import ConfigError
    from pishkhan.schedule.hours import hours_from_config
    from pishkhan.text import jalali

    cfg = context.config(args)
    with context.store(cfg) as store:
        now = store.now()
        if args.date:
            try:
                day = dt.date.fromisoformat(args.date)
            except ValueError:
                raise ConfigError(f"--date: expected YYYY-MM-DD, got {args.date!r}") from None
        else:
            day = jalali.today(now)
        report = day_report(store, cfg, hours_from_config(cfg, store=store), day, until=now)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    state = "complete" if report["complete"] else f"so far, until {report['judged_until']}"
    print(f"گزارش ساعات کاری {report['date_jalali']} — compliance report {report['date']} ({state})")
    print(f"device {report['device']} · office {report['office']} · province {report['province']}")
    for key, fa, en in LABELS:
        value = report.get(key)
        print(f"  {fa} ({en}): {'-' if value is None else value}")
    if report["events"]:
        print("رویدادها (events):")
        for e in report["events"]:
            span = f"{e['start']} → {e['end']}" if e["end"] else e["start"]
            print(f"  {e['kind']}: {span}" + (f" ({e['minutes']} min)" if e["minutes"] else ""))
    return 0
