"""How long the dashboard's pages take over a large fleet (figures only; nothing here fails on them).

Makes N devices (default 10,000) across 31 provinces from real protocol
messages through Fleet.ingest — a birth, a telemetry and a day's report
each, one in ten late, one in twenty on an old board, one in eight offline —
then times, on SQLite: the fleet page (all provinces, and one province),
the daily report, /metrics, an office page and a verification, each the
median of a few runs through the real Starlette app.

    .venv/bin/python bench/dashboard.py [--devices 10000] [--db PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "central"))

import dashboard_fleet as F  # noqa: E402

from central.db import open_db  # noqa: E402
from central.fleet import Fleet  # noqa: E402
from central import registry  # noqa: E402
from central.users import Users  # noqa: E402
from central.web.app import create_app  # noqa: E402


def fill(db, n: int) -> F.Official:
    official = F.Official()
    official.insert(db)
    fleet = Fleet(db, validate=True)
    batch = []
    for i in range(n):
        province = str(1 + i % 31)
        dev = F.Device(f"dev-{i:05d}", province, f"دفتر {i}")
        registry.register(db, device_id=dev.id, office_id=dev.office, province=province, office_name=dev.name)
        layers = [("national", 3 if i % 20 == 0 else 4)]
        if province in ("23", "11"):
            layers.append((f"province:{province}", 2 if province == "23" else 1))
        dev.will = dev.birth(F.tehran(7, 45), official.board(*layers))
        dev.telemetry(F.tehran(10, 50), depth=i % 5)
        runs = [("serving", F.tehran(8), F.tehran(10, 50))]
        events = []
        if i % 10 == 0:
            runs = [("closed", F.tehran(8), F.tehran(8, 20)), ("serving", F.tehran(8, 20), F.tehran(10, 50))]
            events = [F.judge_event("late_opening", F.tehran(8), F.tehran(8, 20))]
            dev.event("late_opening", F.tehran(8), F.tehran(8, 20))
        dev.report(F.report_of_day(F.TODAY, runs, until=F.tehran(10, 50), events=events, device=dev.id,
                                   office=dev.office, province=province), F.tehran(10, 50))
        if i % 8 == 0:
            dev.offline(dev.will, "lost", F.tehran(10, 55))
        batch += dev.messages
        if len(batch) > 5000:
            fleet.ingest(batch)
            batch = []
    fleet.ingest(batch)
    return official


def timed(client, path, *, runs=5, **kw) -> tuple[float, int]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        r = client.get(path, **kw)
        times.append(time.perf_counter() - start)
        assert r.status_code == 200, (path, r.status_code)
    return statistics.median(times), len(r.content)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--db", help="a fleet database file (default: a temporary one)")
    args = p.parse_args(argv)
    from starlette.testclient import TestClient

    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(args.db or str(Path(tmp) / "fleet.db"))
        start = time.perf_counter()
        official = fill(db, args.devices)
        print(f"{args.devices} devices ingested in {time.perf_counter() - start:.1f} s")
        Users(db).add("bench", "bench-password")
        client = TestClient(create_app(Fleet(db), now=lambda: F.NOW, metrics_cache_seconds=0))  # every scrape computed
        token = re.search(r'name="csrf_token" value="(\w+)"', client.get("/login").text)[1]  # the form's CSRF token
        client.post("/login", data={"username": "bench", "password": "bench-password", "csrf_token": token})
        for label, path in (("fleet page, all provinces", "/"), ("fleet page, province 23", "/?province=23"),
                            ("devices late, all", "/devices?state=late"), ("daily report", "/report"),
                            ("report CSV", "/report.csv"), ("/metrics", "/metrics"),
                            ("office page", "/device/dev-00010"),
                            ("verify (single code)", f"/verify/{official.codes[('national', 4)]}"),
                            ("verify (layered code)", f"/verify/{official.board(('national', 4), ('province:23', 2))['verification_code']}")):
            seconds, size = timed(client, path)
            print(f"{label:28s} {seconds * 1000:8.0f} ms  {size / 1024:8.0f} KiB")
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
