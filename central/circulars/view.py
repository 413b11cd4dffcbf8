"""Per circular and province: offices in scope, received, acknowledged, and the offices not acknowledged after
N days — what the ``/circulars`` page draws (:func:`circulars_view`) and what the ``circular_unacknowledged``
alert judges (:func:`unacknowledged_since`).

An office is a device in the registry (not retired), heard from or not. A circular's offices are the nation's (a national
circular) or its province's; a province user's view holds their province only. "After N days" counts from
when the centre published it; a superseded circular is listed, marked, and never overdue. Every value drawn
was checked on its way in (:mod:`central.circulars.wire`, :mod:`central.circulars.index`); what is read back is
still bounded (:mod:`central.stored`), so a bad row shows as unknown, never breaks the page.
"""

from __future__ import annotations

import datetime as dt

from central.circulars import DEFAULT_DAYS, KINDS

#: The circulars on one page, newest first.
PAGE_SIZE = 20
#: The offices listed by name under one circular and province (the rest: "and N more").
LISTED = 30


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
        scope = row["scope_key"]
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
        overdue_now = not row["superseded_by"] and str(row["published_at"]) <= due_before
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
        out.append({"scope": scope, "number": row["number"], "kind": row["kind"],
                    "kind_fa": KINDS.get(row["kind"], row["kind"]), "title": row["title"], "issuer": row["issuer"],
                    "issued_on": row["issued_on"], "effective_on": row["effective_on"],
                    "urgent": bool(row["urgent"]), "sha256": row["sha256"], "size": int(row["size"]),
                    "supersedes": [n for n in str(row["supersedes"] or "").split() if n],
                    "superseded_by": row["superseded_by"] or "", "index_version": int(row["index_version"]),
                    "published_at": row["published_at"], "overdue_counted": overdue_now,
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
