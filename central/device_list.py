"""The device list at national scale: search, filter, sort and one page of devices, chosen in SQL.

The same statements run on SQLite and PostgreSQL (``?`` placeholders, ``LIKE … ESCAPE``, ``LOWER``).
Only the page's rows (at most :data:`MAX_PAGE`) are read whole and judged for the day
(:func:`central.status.device_day`); the database filters, counts and orders the rest.

- **Search** (``q``): a part of the office id, the office name or the device id, digits typed in any script
  (``۲۳۰۱`` finds ``2301``, and ``2301`` finds a name written with Persian digits).
- **Filters**: ``province`` (already resolved by the caller), ``status`` (``online``: its last status was
  online and it was heard from within :data:`central.verification.SILENT_AFTER`; ``offline``: the rest),
  ``board`` (``current``, ``outdated``, ``unknown``: :func:`central.official.board_currency`, judged once
  per distinct board and scope and handed to SQL as the set of matching keys), ``version`` (the agent's),
  and the day's ``state`` (``late``, ``closed``: an event or the day's report says so).
- **Sort**: one of :data:`SORTS`, ascending or descending, always then by device id (stable). A search's
  matches sorted by office name are in natural order — a number in a name by its value, in any digits
  (``دولت ۵۵`` before ``دولت 155``) — when they are at most :data:`NATURAL_MAX` (sorted in Python); more,
  and the database's text order.
- **Pages**: ``LIMIT``/``OFFSET``. Keyset paging is faster on deep pages, but a user picks any column and
  jumps to any page; 8,000 offices are 160 pages of 50, and an ``OFFSET`` of 8,000 rows costs SQLite and
  PostgreSQL well under a millisecond of skipping, so the simpler way is kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from central import status, stored
from central.errors import ListRefused
from central.official import board_currency, newest_boards
from central.verification import SILENT_AFTER
from pishkhan.text.persian import to_latin_digits

#: Rows on a page: the default and the most a request may ask for.
PAGE_SIZE = 50
MAX_PAGE = 100
#: Sort keys → the column(s) they order by.
SORTS = {"office": "office_name", "office_id": "office_id", "province": "province", "device": "device_id",
         "status": "online", "last_seen": "last_seen", "version": "agent_version"}
STATUSES = ("online", "offline")
BOARD_STATES = ("current", "outdated", "unknown")
DAY_STATES = ("late", "closed")
_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
#: A search's matches sorted by name in natural order when at most this many.
NATURAL_MAX = 5000
_DIGITS = re.compile(r"(\d+)")


def natural_key(text) -> tuple:
    """*text* as a sort key whose numbers (digits of any script) compare by value: ``دولت 55`` before
    ``دولت ۱۵۵``."""
    parts = _DIGITS.split(to_latin_digits(text or ""))
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))



@dataclasses.dataclass(frozen=True, kw_only=True)
class ListQuery:
    """What the list is asked for (every field optional)."""

    q: str = ""
    province: str | None = None
    status: str = ""
    board: str = ""
    version: str = ""
    state: str = ""
    sort: str = "office"
    descending: bool = False
    page: int = 1
    size: int = PAGE_SIZE

    @classmethod
    def of(cls, params, *, province: str | None) -> "ListQuery":
        """The query of request parameters *params* (a mapping of text); raises :class:`ListRefused`."""
        def pick(name, allowed, reason):
            value = (params.get(name) or "").strip()
            if value and value not in allowed:
                raise ListRefused(f"{name}: expected one of {', '.join(allowed)}, got {value[:40]!r}",
                                  reason=reason)
            return value

        sort = (params.get("sort") or "office").strip()
        descending = sort.startswith("-")
        if sort.lstrip("-") not in SORTS:
            raise ListRefused(f"sort: expected one of {', '.join(SORTS)} (a leading - for descending)",
                              reason="bad_sort")
        state = pick("state", STATUSES + DAY_STATES + ("outdated",), "bad_state")
        status_, board = pick("status", STATUSES, "bad_status"), pick("board", BOARD_STATES, "bad_board")
        if state in STATUSES:  # the fleet page's links: ?state=online|offline|outdated
            status_, state = status_ or state, ""
        elif state == "outdated":
            board, state = board or "outdated", ""
        try:
            page = int(to_latin_digits((params.get("page") or "1").strip()))
            size = int(to_latin_digits((params.get("size") or str(PAGE_SIZE)).strip()))
        except ValueError:
            raise ListRefused("page and size: whole numbers", reason="bad_page") from None
        if page < 1 or not 1 <= size <= MAX_PAGE or page > 10**6:
            raise ListRefused(f"page: from 1; size: from 1 to {MAX_PAGE}", reason="bad_page")
        return cls(q=(params.get("q") or "").strip()[:100], province=province, status=status_, board=board,
                   version=(params.get("version") or "").strip()[:100], state=state, sort=sort.lstrip("-"),
                   descending=descending, page=page, size=size)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _cutoff(now: dt.datetime) -> str:
    """Stored receive times at or after this are within :data:`SILENT_AFTER` of *now* (text order)."""
    return (now - SILENT_AFTER).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _board_keys(db, query: ListQuery, newest: dict) -> list[tuple]:
    """The (province, office_id, board) keys whose board is in *query.board*'s state (unknown: NULL too)."""
    office_boards = any(scope.startswith("office:") for scope in newest)
    cols = "province, office_id, board" if office_boards else "province, board"
    sql, params = f"SELECT DISTINCT {cols} FROM devices WHERE province <> '' AND board IS NOT NULL", []
    if query.province:
        sql += " AND province = ?"
        params.append(query.province)
    keys = []
    for row in db.query(sql, params):
        device = {"province": row["province"], "office_id": row.get("office_id", ""),
                  "board": stored.loads(row["board"])}
        if board_currency(device, newest)["state"] == query.board:
            keys.append((row["province"], row.get("office_id"), row["board"]))
    return keys


def _where(db, query: ListQuery, *, day: dt.date, now: dt.datetime) -> tuple[str, list]:
    where, params = ["province <> ''"], []  # unregistered devices are quarantined, listed elsewhere
    if query.province:
        where.append("province = ?")
        params.append(query.province)
    if query.q:
        latin = to_latin_digits(query.q)
        where.append("(LOWER(office_id) LIKE ? ESCAPE '\\' OR LOWER(device_id) LIKE ? ESCAPE '\\' "
                     "OR LOWER(office_name) LIKE ? ESCAPE '\\' OR LOWER(office_name) LIKE ? ESCAPE '\\')")
        params += [_like(latin.lower()), _like(latin.lower()), _like(latin.lower()),
                   _like(latin.lower().translate(_PERSIAN))]
    if query.status == "online":
        where.append("online <> 0 AND (last_seen IS NULL OR last_seen >= ?)")
        params.append(_cutoff(now))
    elif query.status == "offline":
        where.append("(online = 0 OR last_seen < ?)")
        params.append(_cutoff(now))
    if query.version:
        where.append("agent_version = ?")
        params.append(query.version)
    if query.board:
        keys = _board_keys(db, query, newest_boards(db))
        parts = ["board IS NULL"] if query.board == "unknown" else []
        for province, office_id, board in keys:
            parts.append("(province = ? AND board = ?" + (" AND office_id = ?)" if office_id is not None else ")"))
            params += [province, board] + ([office_id] if office_id is not None else [])
        where.append("(" + (" OR ".join(parts) or "1 = 0") + ")")
    if query.state:
        kinds = status.LATE_KINDS if query.state == "late" else status.CLOSED_KINDS
        marks = ",".join("?" * len(kinds))
        start, end = status.day_start_utc(day), status.day_start_utc(day + dt.timedelta(days=1))
        mention = " OR ".join("r.report LIKE ?" for _ in kinds)
        where.append(f"(EXISTS (SELECT 1 FROM events e WHERE e.device_id = devices.device_id AND e.kind IN ({marks}) "
                     f"AND e.received_at >= ? AND e.at >= ? AND e.at < ?) OR EXISTS (SELECT 1 FROM reports r "
                     f"WHERE r.device_id = devices.device_id AND r.date = ? AND ({mention})))")
        params += [*kinds, status.day_start_utc(day - dt.timedelta(days=1)), start[:19], end[:19],
                   day.isoformat(), *[f'%"{k}"%' for k in kinds]]
    return " AND ".join(where), params


def device_list(db, query: ListQuery, *, day: dt.date, now: dt.datetime) -> dict:
    """One page of the devices *query* asks for, judged for Tehran *day* as of *now*.

    ``{"total", "page", "pages", "size", "devices": [row…], "versions": [...], "unreadable"}``; each row is
    :func:`central.status.device_day`'s with ``agent_version``.
    """
    where, params = _where(db, query, day=day, now=now)
    order = "DESC" if query.descending else "ASC"
    column = SORTS[query.sort]
    offset = (query.page - 1) * query.size
    matched = None
    if query.q and query.sort == "office":  # names found by a search: numbers in them by value
        matched = db.query(f"SELECT device_id, office_name FROM devices WHERE {where} LIMIT ?",
                           [*params, NATURAL_MAX + 1])
        matched = matched if len(matched) <= NATURAL_MAX else None
    if matched is not None:
        matched.sort(key=lambda r: (natural_key(r["office_name"]), r["device_id"]), reverse=query.descending)
        ids, total = [r["device_id"] for r in matched[offset:offset + query.size]], len(matched)
    else:
        # one pass gives the page and the count; past the last page no row carries the count
        found = db.query(f"SELECT device_id, COUNT(*) OVER () AS total FROM devices WHERE {where} "
                         f"ORDER BY {column} {order}, device_id {order} LIMIT ? OFFSET ?",
                         [*params, query.size, offset])
        ids = [r["device_id"] for r in found]
        total = int(found[0]["total"]) if found else \
            int(db.query_one(f"SELECT COUNT(*) AS n FROM devices WHERE {where}", params)["n"])
    tally = stored.Tally()
    rows = _judged(db, ids, day=day, now=now, tally=tally)
    versions_sql = "SELECT DISTINCT agent_version FROM devices WHERE province <> ''"
    vparams = []
    if query.province:
        versions_sql += " AND province = ?"
        vparams.append(query.province)
    versions = sorted(r["agent_version"] for r in db.query(versions_sql, vparams) if r["agent_version"])
    return {"total": total, "page": query.page, "pages": max(1, -(-total // query.size)), "size": query.size,
            "devices": rows, "versions": versions, "unreadable": tally.total}


def _judged(db, ids: list[str], *, day: dt.date, now: dt.datetime, tally: stored.Tally) -> list[dict]:
    """The day's rows of devices *ids*, in that order (each read whole: only one page of them)."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    devices = {r["device_id"]: r for r in db.query(
        f"SELECT {status.DEVICE_COLUMNS}, agent_version FROM devices WHERE device_id IN ({marks})", ids)}
    kinds = status.LATE_KINDS + status.CLOSED_KINDS + status.OPENED_KINDS
    kmarks = ",".join("?" * len(kinds))
    events: dict[str, list] = {}
    for e in db.query(f"SELECT device_id, province, kind, at, detail FROM events WHERE device_id IN ({marks}) "
                      f"AND kind IN ({kmarks}) AND received_at >= ?",
                      [*ids, *kinds, status.day_start_utc(day - dt.timedelta(days=1))]):
        when = status.tehran_day(e["at"])
        if when is None:
            tally.add("events", province=e["province"])
        if when == day:
            detail = stored.loads(e["detail"], tally=tally, table="events", province=e["province"])
            events.setdefault(e["device_id"], []).append(e | {"detail": detail or {}})
    reports = {}
    mention = " OR ".join("report LIKE ?" for _ in status.LATE_KINDS + status.CLOSED_KINDS)
    for r in db.query(f"SELECT device_id, province, report FROM reports WHERE date = ? AND device_id IN ({marks}) "
                      f"AND ({mention})",  # only a report that names a late opening or closing adds to the row
                      [day.isoformat(), *ids, *[f'%"{k}"%' for k in status.LATE_KINDS + status.CLOSED_KINDS]]):
        reports[r["device_id"]] = stored.loads(r["report"], tally=tally, table="reports", province=r["province"])
    newest = newest_boards(db)
    out = []
    boards: dict = {}  # offices showing the same board store the same text: read it once
    for device_id in ids:
        d = dict(devices[device_id])
        if d["board"] not in boards:
            boards[d["board"]] = stored.loads(d["board"], tally=tally, table="devices", province=d["province"])
        elif boards[d["board"]] is None and d["board"]:
            tally.add("devices", province=d["province"])
        d["board"] = boards[d["board"]]
        d["online"] = bool(d["online"])
        row = status.device_day(d, events=events.get(device_id, []), report=reports.get(device_id), newest=newest,
                                tally=tally, now=now)
        out.append(row | {"agent_version": d["agent_version"]})
    return out
