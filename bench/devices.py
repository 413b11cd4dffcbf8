"""The device list at national scale (/devices): the first page's time and weight over a large fleet.

Fills a fleet of N offices (default 8,000) as bench/dashboard.py does (real protocol messages through
Fleet.ingest), then asks the real Starlette app for the list's first page and a few searched, filtered,
sorted and deep pages, RUNS times each, and prints p50 and p95 and the bytes of each answer. Figures only;
nothing here fails on them.

    .venv/bin/python bench/devices.py [--devices 8000] [--runs 40] [--db URL | --postgres]

``--db`` takes a path or a ``postgresql://…`` URL of an EMPTY database (default: a temporary SQLite file);
``--postgres`` starts a throwaway PostgreSQL cluster for the run (tests/services.py).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "central"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard_fleet as F  # noqa: E402
from dashboard import fill  # noqa: E402

from central.db import open_db  # noqa: E402
from central.fleet import Fleet  # noqa: E402
from central.users import Users  # noqa: E402
from central.web.app import create_app  # noqa: E402

PAGES = (("first page", "/devices"), ("first page, JSON", "/api/devices"),
         ("search office id (Persian digits)", "/devices?q=" + quote("۲۳-۰۰۲۲")),
         ("search name", "/devices?q=" + quote("دفتر 7999")),
         ("offline, province 23", "/devices?status=offline&province=23"),
         ("board outdated", "/devices?board=outdated"), ("late today", "/devices?state=late"),
         ("closed today", "/devices?state=closed"),
         ("sorted by last message, desc", "/devices?sort=-last_seen"), ("page 100", "/devices?page=100"))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=8_000)
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--db", help="a fleet database path or an empty PostgreSQL URL (default: a temporary SQLite file)")
    p.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL cluster")
    args = p.parse_args(argv)
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from services import postgres_server

        with postgres_server() as url:
            args.db = url
            return run(args)
    return run(args)


def run(args) -> int:
    from starlette.testclient import TestClient

    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(args.db or str(Path(tmp) / "fleet.db"))
        start = time.perf_counter()
        fill(db, args.devices)
        print(f"{args.devices} offices ingested in {time.perf_counter() - start:.1f} s ({type(db).__name__})")
        Users(db).add("bench", "bench-password")
        # one portal for every request: its worker threads, and their database connections, are kept
        with TestClient(create_app(Fleet(db), now=lambda: F.NOW)) as client:
            token = re.search(r'name="csrf_token" value="(\w+)"', client.get("/login").text)[1]
            client.post("/login", data={"username": "bench", "password": "bench-password", "csrf_token": token})
            print(f"{'page':36s} {'p50 ms':>8s} {'p95 ms':>8s} {'bytes':>9s}")
            for label, path in PAGES:
                times = []
                for _ in range(args.runs):
                    began = time.perf_counter()
                    r = client.get(path)
                    times.append(time.perf_counter() - began)
                    assert r.status_code == 200, (path, r.status_code)
                print(f"{label:36s} {statistics.median(times) * 1000:8.1f} {percentile(times, 0.95) * 1000:8.1f} "
                      f"{len(r.content):9d}")
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
