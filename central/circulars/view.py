"""Per circular and province: offices in scope, received, acknowledged, and the offices not acknowledged after
N days — what the ``/circulars`` page draws (:func:`circulars_view`) and what the ``circular_unacknowledged``
alert judges (:func:`unacknowledged_since`).

An office is a device in the registry (not retired), heard from or not. A circular's offices are the nation's
(a national circular) or its province's; a province user's view holds their province only. "After N days" counts from
when the centre published it; a superseded circular is listed, marked, and never overdue. Every value drawn
was checked on its way in (:mod:`central.circulars.wire`, :mod:`central.circulars.index`); what is read back is
still bounded (:mod:`central.stored`), so a bad row shows as unknown, never breaks the page.
"""

from __future__ import annotations

import datetime as dt

from central import stored
from central.circulars import DEFAULT_DAYS, KINDS

#: The circulars on one page, newest first.
PAGE_SIZE = 20
#: The offices listed by name under one circular and province (the rest: "and N more").
LISTED = 30


def _text(value, limit: int) -> str:
    """A stored text as a string of at most *limit* characters (anything else: ``''``)."""
    return value[:limit] if isinstance(value, str) else ""


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def days_option(text, default: int = DEFAULT_DAYS) -> int:
    """``?days=`` as a whole number 0-365 (anything else: *default*)."""
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        return default
    return value if 0 <= value <= 365 else default


def circulars_view(db, *, now: dt.datetime, province: str | None = None, days: int = DEFAULT_DAYS,
                   page: int = 1) -> dict:
    """The page's data: ``circulars`` (newest first), each with ``provinces``: ``[{province, in_scope, received,
    acknowledged, overdue, late: [{device_id, office_id, office_name, received_at}], more}]``."""
    where, params = "", []
    if province:
        where, params = "WHERE scope_key IN ('national', ?)", [f"province:{province}"]
    total = int(db.query_one(f"SELECT COUNT(*) AS n FROM circulars {where}", params)["n"])
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, int(page)), pages)
    rows = db.query(f"SELECT * FROM circulars {where} ORDER BY published_at DESC, number DESC LIMIT ? OFFSET ?",
                    (*params, PAGE_SIZE, (page - 1) * PAGE_SIZE))
    due_before = _iso(now - dt.timedelta(days=days))
    out = []
    for row in rows:
        scope = _text(row["scope_key"], 20)
        scoped = province or (scope.partition(":")[2] if scope != "national" else None)
        if scope != "national" and province and scope != f"province:{province}":
            continue
        filt, fparams = ("AND d.province = ?", [scoped]) if scoped else ("", [])
        counts = db.query(
            "SELECT d.province, COUNT(*) AS in_scope, COUNT(o.received_at) AS received, "
            "COUNT(o.acknowledged_at) AS acknowledged FROM registry d LEFT JOIN circular_offices o "
            "ON o.device_id = d.device_id AND o.scope = ? AND o.number = ? "
            f"WHERE d.retired_at IS NULL {filt} GROUP BY d.province ORDER BY d.province",
            (scope, row["number"], *fparams))
        overdue_now = not row["superseded_by"] and _text(row["published_at"], 40) <= due_before
        provinces = []
        for c in counts:
            item = {"province": c["province"], "in_scope": int(c["in_scope"]), "received": int(c["received"]),
                    "acknowledged": int(c["acknowledged"]), "overdue": 0, "late": [], "more": 0}
            if overdue_now:
                item["overdue"] = item["in_scope"] - item["acknowledged"]
                if item["overdue"]:
                    item["late"] = db.query(
                        "SELECT d.device_id, d.office_id, d.office_name, o.received_at FROM registry d "
                        "LEFT JOIN circular_offices o ON o.device_id = d.device_id AND o.scope = ? AND o.number = ? "
                        "WHERE d.province = ? AND d.retired_at IS NULL AND o.acknowledged_at IS NULL "
                        "ORDER BY d.device_id LIMIT ?",
                        (scope, row["number"], c["province"], LISTED))
                    item["more"] = max(0, item["overdue"] - len(item["late"]))
            provinces.append(item)
        out.append({"scope": scope, "number": _text(row["number"], 40), "kind": _text(row["kind"], 20),
                    "kind_fa": KINDS.get(row["kind"], _text(row["kind"], 20)), "title": _text(row["title"], 200),
                    "issuer": _text(row["issuer"], 120), "issued_on": _text(row["issued_on"], 10),
                    "effective_on": _text(row["effective_on"], 10), "urgent": row["urgent"] in (1, True),
                    "sha256": _text(row["sha256"], 64), "size": stored.integer(row["size"], low=0, high=2 ** 40),
                    "supersedes": [n for n in _text(row["supersedes"], 900).split() if n][:20],
                    "superseded_by": _text(row["superseded_by"], 40),
                    "index_version": stored.integer(row["index_version"], low=0, high=2 ** 31),
                    "published_at": _text(row["published_at"], 40), "overdue_counted": overdue_now,
                    "in_scope": sum(p["in_scope"] for p in provinces),
                    "received": sum(p["received"] for p in provinces),
                    "acknowledged": sum(p["acknowledged"] for p in provinces),
                    "overdue": sum(p["overdue"] for p in provinces), "provinces": provinces})
    return {"province": province or "", "days": days, "circulars": out, "page": page, "pages": pages,
            "total": total}


def unacknowledged_since(db, *, now: dt.datetime, days=None) -> dict[str, str]:
    """``{device_id: since}`` of the registered devices with a circular of their scope (not superseded) published
    *days* (default 3) or more ago and not acknowledged; *since*: when the oldest such became overdue."""
    days = DEFAULT_DAYS if days is None else float(days)
    due_before = _iso(now - dt.timedelta(days=days))
    rows = db.query(
        "SELECT d.device_id, MIN(c.published_at) AS first FROM registry d JOIN circulars c "
        "ON c.scope_key = 'national' OR c.scope_key = 'province:' || d.province "
        "LEFT JOIN circular_offices o ON o.device_id = d.device_id AND o.scope = c.scope_key AND o.number = c.number "
        "WHERE d.retired_at IS NULL AND c.superseded_by = '' AND c.published_at <= ? AND o.acknowledged_at IS NULL "
        "GROUP BY d.device_id", (due_before,))
    out = {}
    for r in rows:
        try:
            first = dt.datetime.fromisoformat(str(r["first"]).replace("Z", "+00:00"))
        except ValueError:
            continue
        out[r["device_id"]] = _iso(first + dt.timedelta(days=days))
    return out
