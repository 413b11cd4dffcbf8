"""How long the history pages take over a national fleet's months of reports (figures only; nothing fails on them).

Makes N offices (default 8,000) across 31 provinces and D days (default 90) of daily reports each, written
straight into the ``reports`` table as the monitor stores them (one in fifteen office-days missing, one in
ten late, one in fifty with the printer out), on PostgreSQL (a cluster of its own, as the tests start one)
or SQLite; then, through the real app under uvicorn, times: a province's 30-day trend page, the monthly
ranking (the whole country and one province; over the last 30 days, which cross a Jalali month, and over
the last whole Jalali month, as the ranking page's month link asks), and an export of a province-month (CSV
and xlsx) — p50 and p95 of serial runs, and p50/p95 with 10 parallel clients, after the first request
(printed apart).

Reports written straight into the table have no figures yet: they are read once by the back-fill
(:func:`central.history.refresh` over the whole range), timed and printed first, as an upgraded database
pays it once. The monitor keeps the figures of a report it stores (:func:`central.history.record`); what
that adds to ingest is timed too: a day of reports of 2,000 offices sent again (each replacing its stored
report) through :meth:`Fleet.ingest` in batches of 100, with and without the figures kept.

    .venv/bin/python bench/history.py [--offices 8000] [--days 90] [--db postgresql|sqlite] [--runs 10]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "central")]

from dashboard_client import Client, serving  # noqa: E402

from central import history  # noqa: E402
from central.db import open_db  # noqa: E402
from central.fleet import Fleet  # noqa: E402
from central.web.history import months  # noqa: E402
from pishkhan.protocol import payloads  # noqa: E402
from pishkhan.protocol.topics import Topics  # noqa: E402
from central.users import Users  # noqa: E402
from central.web.app import create_app  # noqa: E402

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
LAST = dt.date(2026, 12, 1)


def fill(db, offices: int, days: int) -> int:
    """The devices and their reports; the number of reports written."""
    rnd = random.Random(22)
    db.write(lambda c: c.executemany(
        "INSERT INTO devices(device_id, province, office_id, office_name) VALUES (?,?,?,?)",
        [(f"dev-{i:05d}", str(1 + i % 31), f"{1 + i % 31}-{i:05d}", f"دفتر {i}") for i in range(offices)]))
    written, batch = 0, []
    for d in range(days):
        day = (LAST - dt.timedelta(days=d)).isoformat()
        for i in range(offices):
            if rnd.random() < 1 / 15:
                continue
            closed = rnd.choice((0, 0, 0, 5, 20, 45))
            late = 20 if rnd.random() < 0.1 else 0
            events = [{"kind": "late_opening", "minutes": late}] if late else []
            if rnd.random() < 0.02:
                events.append({"kind": "printer_out", "minutes": 30})
            report = {"date": day, "scheduled_minutes": 480, "serving_minutes": 480 - closed - late,
                      "degraded_minutes": 0, "closed_minutes": closed + late, "unknown_minutes": 0,
                      "late_opening_minutes": late, "events": events, "complete": True,
                      "device": f"dev-{i:05d}", "office": f"{1 + i % 31}-{i:05d}", "province": str(1 + i % 31)}
            batch.append((f"dev-{i:05d}", day, str(1 + i % 31), json.dumps(report), f"{day}T14:00:00+00:00"))
        if len(batch) >= 40_000 or d == days - 1:
            rows = batch
            db.write(lambda c: c.executemany(
                "INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?)", rows))
            written += len(batch)
            batch = []
    return written


def ingest_cost(db, *, offices: int = 2000, batch: int = 100) -> tuple[float, float]:
    """Seconds to ingest a day's reports of *offices* offices again (replacing the stored ones) through
    Fleet.ingest, with the figures kept and with :func:`central.history.record` made a no-op."""
    topics, fleet = Topics(), Fleet(db)
    day = (LAST - dt.timedelta(days=1)).isoformat()
    sent = payloads.format_time(NOW)

    def run(seq: int) -> float:
        messages = []
        for i in range(offices):
            report = {"date": day, "scheduled_minutes": 480, "serving_minutes": 470 - seq, "degraded_minutes": 0,
                      "closed_minutes": 10 + seq, "unknown_minutes": 0, "late_opening_minutes": 0, "events": []}
            messages.append((topics.device(f"dev-{i:05d}", "report"), payloads.encode(payloads.report(
                device=f"dev-{i:05d}", seq=seq, sent_at=sent, date=day, report=report)), sent))
        start = time.perf_counter()
        for i in range(0, len(messages), batch):
            counts = fleet.ingest(messages[i:i + batch])
            assert counts.accepted == len(messages[i:i + batch]), counts
        return time.perf_counter() - start

    kept = run(1)
    record = history.record
    history.record = lambda c, **kw: None
    try:
        bare = run(2)
    finally:
        history.record = record
    run(3)  # the figures kept again for the pages
    return kept, bare


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times) * 1000, times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] * 1000


def timed(url: str, path: str, *, runs: int, parallel: int) -> tuple[float, float, int]:
    """p50, p95 (ms) and size of *path*, *runs* requests from each of *parallel* logged-in clients."""
    clients = []
    for _ in range(parallel):
        c = Client(url)
        assert c.login("bench", "bench-password")[0] == 303
        clients.append(c)

    def run(c):
        out, size = [], 0
        for _ in range(runs):
            start = time.perf_counter()
            status, _, body = c.get(path)
            out.append(time.perf_counter() - start)
            assert status == 200, (path, status)
            size = len(body)
        return out, size

    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(run, clients))
    return (*percentiles([t for r, _ in results for t in r]), results[0][1])


@contextlib.contextmanager
def database(kind: str, tmp: str):
    if kind == "sqlite":
        db = open_db(str(Path(tmp) / "fleet.db"))
        yield db
        db.close()
        return
    from services import postgres_server

    with postgres_server() as url:
        db = open_db(url)
        yield db
        db.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--offices", type=int, default=8000)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--parallel", type=int, default=10)
    args = p.parse_args(argv)
    month = f"start={(LAST - dt.timedelta(days=29)).isoformat()}&end={LAST.isoformat()}"
    first, last = months(LAST)["last"]
    jalali_month = f"start={first.isoformat()}&end={last.isoformat()}"
    pages = (("province 30-day trend", f"/history?{month}&province=23"),
             ("country 30-day trend", f"/history?{month}"),
             ("monthly ranking, country", f"/ranking?{month}&by=closed_minutes"),
             ("Jalali month ranking, country", f"/ranking?{jalali_month}&by=closed_minutes"),
             ("monthly ranking, province", f"/ranking?{month}&province=23&by=late_openings"),
             ("export province-month CSV", f"/history.csv?{month}&province=23"),
             ("export province-month xlsx", f"/history.xlsx?{month}&province=23"))
    with tempfile.TemporaryDirectory() as tmp, database(args.db, tmp) as db:
        start = time.perf_counter()
        n = fill(db, args.offices, args.days)
        print(f"{args.db}: {args.offices} offices, {n} reports over {args.days} days written in "
              f"{time.perf_counter() - start:.0f} s")
        start = time.perf_counter()
        read = history.refresh(db, history.Period(LAST - dt.timedelta(days=args.days - 1), LAST))
        print(f"back-fill (once, reports stored without figures): {read} reports read in "
              f"{time.perf_counter() - start:.1f} s")
        kept, bare = ingest_cost(db, offices=min(2000, args.offices))
        n = min(2000, args.offices)
        print(f"ingest of {n} reports (each replacing one), batches of 100: {kept:.2f} s with figures kept, "
              f"{bare:.2f} s without ({1000 * (kept - bare) / n:.2f} ms a report)")
        Users(db).add("bench", "bench-password")
        with serving(create_app(Fleet(db), now=lambda: NOW)) as url:
            print(f"{'page':30s} {'first':>8s} {'serial p50':>11s} {'p95':>8s} {'10 clients p50':>15s} {'p95':>8s} "
                  f"{'size':>9s}")
            for label, path in pages:
                once, _, _ = timed(url, path, runs=1, parallel=1)
                s50, s95, size = timed(url, path, runs=args.runs, parallel=1)
                p50, p95, _ = timed(url, path, runs=max(1, args.runs // 2), parallel=args.parallel)
                print(f"{label:30s} {once:5.0f} ms {s50:8.0f} ms {s95:5.0f} ms {p50:12.0f} ms {p95:5.0f} ms {size / 1024:6.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
