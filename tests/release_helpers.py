"""Release documents for the tests: a valid payload with anything replaced."""

from __future__ import annotations

import copy
import hashlib

SHA = hashlib.sha256(b"pishkhan 0.9.0").hexdigest()

BASE = {
    "format": "pishkhan.release/1",
    "issuer": "مرکز",
    "version": 1,
    "scope": {"level": "national"},
    "rollout": "R-20261207-1",
    "package": {"name": "pishkhan", "version": "0.9.0", "architecture": "all", "sha256": SHA,
                "size": 55_000_000, "path": f"releases/pool/{SHA}.deb"},
    "not_before": "2026-12-01T00:00:00Z",
    "expires": "2027-02-01T00:00:00Z",
    "window": {"start": "22:00", "end": "05:00"},
    "canary_percent": 100,
    "min_version_to_upgrade_from": "0.1.0",
    "rollback": False,
    "urgent": False,
    "halted": False,
}


def release_doc(version: int = 1, *, scope=None, package=None, **fields) -> dict:
    """The base release payload with *version*, *scope* (default national), package fields and other fields."""
    doc = copy.deepcopy(BASE) | {"version": version, "scope": scope or {"level": "national"}} | fields
    if package:
        doc["package"] = doc["package"] | package
        if "sha256" in package:
            doc["package"]["path"] = f"releases/pool/{package['sha256']}.deb"
    return doc


def live_dates(now=None) -> dict:
    """not_before a day before *now* (default: the real now), expires 30 days after: for stores on the real clock."""
    import datetime as dt

    now = now or dt.datetime.now(dt.timezone.utc)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {"not_before": (now - dt.timedelta(days=1)).strftime(fmt),
            "expires": (now + dt.timedelta(days=30)).strftime(fmt)}
