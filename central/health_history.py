"""Each office's health over time: a bounded history of its readings, thresholds as data, and the devices beyond them.

**What is kept.** On ingest (:meth:`central.fleet._Batch.flush`, one call a batch) the readings a device's telemetry
leaves stored (its ``device`` group, :mod:`pishkhan.hardware.health`) give one :class:`Sample`: CPU temperature,
the firmware's under-voltage flag *now*, free and total disk, total and available memory. Each value is checked
as the centre checks what an office owner could type (:data:`BOUNDS`): a number of the right kind within bounds,
free no more than total; anything else is None (absent, never invented). A sample with no value is not kept.

- ``health_now``: each device's latest sample (one row a device, replaced when a value changes or a new slot
  starts; the fleet applies a device's telemetry in order, so the latest readings are the device's now, also after
  a re-imaged card's clock went back); the fleet-wide list of devices beyond a threshold (:func:`beyond`) reads
  only this table, in SQL, paged.
- ``health_samples``: at most one sample a device every :data:`SAMPLE_MINUTES` minutes (the first of each slot of
  the device's own time, ``slot``: the telemetry's ``sent_at`` floored; the centre refuses telemetry older than
  the one it holds, so a device cannot go back to refill slots), kept :data:`RETENTION_DAYS` days
  (:func:`prune`, from the monitor's hourly housekeeping). At most 144 rows a device a day.

**Thresholds** (:class:`Thresholds`, :data:`DEFAULT_THRESHOLDS`) are data, in this one place; a kind
(:data:`KINDS`) is beyond its threshold when:

=================  ==================================================================================
``temperature``    CPU temperature ≥ ``temperature_c`` (80 °C)
``under_voltage``  the firmware's under-voltage flag set now
``disk``           free disk < ``disk_free_percent`` (10 %) of the total, or < ``disk_free_bytes`` (500 MB)
``memory``         available memory < ``memory_available_percent`` (10 %) of the total
=================  ==================================================================================

:func:`history` reads one device's samples over a period, by Tehran hour (a period of up to two days) or by day,
each bucket with its minimum and maximum and whether it crossed a threshold.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from central import stored
from central.status import parse_time
from pishkhan.text import jalali

#: One sample a device in each slot of this many minutes.
SAMPLE_MINUTES = 10
#: Samples older than this many days are pruned.
RETENTION_DAYS = 90
#: The longest period :func:`history` reads (the samples kept).
MAX_PERIOD_DAYS = RETENTION_DAYS
#: A period up to this many days is read by hour, a longer one by day.
HOURLY_UP_TO_DAYS = 2
#: The fleet-wide list: a device whose latest sample is older than this is not "currently" beyond anything.
CURRENT_WITHIN = dt.timedelta(days=1)
PAGE_SIZE = 50
#: The health kinds a threshold judges.
KINDS = ("temperature", "under_voltage", "disk", "memory")
#: What a stored value may be: (low, high) for each reading kept.
BOUNDS = {"cpu_temp_c": (-60.0, 200.0), "disk_bytes": (0, 10 ** 15), "mem_kb": (0, 10 ** 12)}
_ROWS_PER_STATEMENT = 300
#: A slot's text, comparable with a sample's ``at`` (``%Y-%m-%dT%H:%M:%SZ``).
_SLOT = "%Y-%m-%dT%H:%M:00Z"
_COLUMNS = ("cpu_temp_c", "under_voltage", "disk_free_bytes", "disk_total_bytes", "mem_total_kb", "mem_available_kb")


@dataclass(frozen=True)
class Thresholds:
    """Where a device's health is beyond what the centre accepts (see the module's table)."""

    temperature_c: float = 80.0
    disk_free_percent: float = 10.0
    disk_free_bytes: int = 500 * 1024 * 1024  # «۵۰۰ مگابایت», as the dashboard writes sizes
    memory_available_percent: float = 10.0

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Sample:
    """One device's health at one time; each value None where absent or unreadable."""

    at: str
    cpu_temp_c: float | None = None
    under_voltage: bool | None = None
    disk_free_bytes: int | None = None
    disk_total_bytes: int | None = None
    mem_total_kb: int | None = None
    mem_available_kb: int | None = None

    def empty(self) -> bool:
        return all(getattr(self, k) is None for k in _COLUMNS)

    def row(self) -> tuple:
        return (self.cpu_temp_c, None if self.under_voltage is None else int(self.under_voltage),
                self.disk_free_bytes, self.disk_total_bytes, self.mem_total_kb, self.mem_available_kb)

    def beyond(self, limits: Thresholds = DEFAULT_THRESHOLDS) -> list[str]:
        """The :data:`KINDS` this sample is beyond."""
        return [k for k in KINDS if judge(k, self, limits)]


def judge(kind: str, s, limits: Thresholds = DEFAULT_THRESHOLDS) -> bool:
    """Whether *s* (a :class:`Sample` or anything with its attributes) is beyond the threshold of *kind*."""
    if kind == "temperature":
        return s.cpu_temp_c is not None and s.cpu_temp_c >= limits.temperature_c
    if kind == "under_voltage":
        return s.under_voltage is True
    if kind == "disk":
        return s.disk_free_bytes is not None and (
            s.disk_free_bytes < limits.disk_free_bytes
            or (bool(s.disk_total_bytes) and s.disk_free_bytes * 100 < limits.disk_free_percent * s.disk_total_bytes))
    if kind == "memory":
        return bool(s.mem_total_kb) and s.mem_available_kb is not None and \
            s.mem_available_kb * 100 < limits.memory_available_percent * s.mem_total_kb
    raise ValueError(kind)


def _number(value, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return round(float(value), 1) if low <= value <= high else None


def _whole(value, low: int, high: int) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return stored.integer(value, low=low, high=high)


def _pair(free, total, low: int, high: int) -> tuple[int | None, int | None]:
    """(free, total), each bounded; free larger than a known total is unreadable."""
    free, total = _whole(free, low, high), _whole(total, low, high)
    if free is not None and total is not None and free > total:
        return None, total
    return free, total


def _group(telemetry) -> dict:
    """The health readings of stored telemetry: its ``device`` group, else ``health``, else its top level."""
    if not isinstance(telemetry, dict):
        return {}
    for name in ("device", "health"):
        if isinstance(telemetry.get(name), dict):
            return telemetry[name]
    return telemetry


def sample_of(telemetry, at) -> Sample | None:
    """The :class:`Sample` of stored *telemetry* made at *at* (an ISO time), or None (no time, or no value)."""
    moment = parse_time(at) if isinstance(at, str) else None
    if moment is None:
        return None
    g = _group(telemetry)
    throttled = g.get("throttled")
    flag = throttled.get("under_voltage") if isinstance(throttled, dict) else None
    disk = _pair(g.get("disk_free_bytes"), g.get("disk_total_bytes"), *BOUNDS["disk_bytes"])
    mem = _pair(g.get("mem_available_kb"), g.get("mem_total_kb"), *BOUNDS["mem_kb"])
    sample = Sample(at=_iso(moment), cpu_temp_c=_number(g.get("cpu_temp_c"), *BOUNDS["cpu_temp_c"]),
                    under_voltage=flag if isinstance(flag, bool) else None, disk_free_bytes=disk[0],
                    disk_total_bytes=disk[1], mem_total_kb=mem[1], mem_available_kb=mem[0])
    return None if sample.empty() else sample


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def slot_of(at: str) -> str:
    """The sample slot of a sample's ``at`` (``YYYY-MM-DDTHH:MM:SSZ``): its minute floored to :data:`SAMPLE_MINUTES`."""
    minute = int(at[14:16])
    return f"{at[:14]}{minute - minute % SAMPLE_MINUTES:02d}:00Z"


# -- ingest --------------------------------------------------------------------------------------------------
def record(db, c, readings) -> int:
    """Keep the samples of *readings* — ``(device_id, telemetry, at)`` as one ingest batch leaves them stored —
    in ``health_now`` and, the first of its slot, ``health_samples``; how many samples there were."""
    rows = []
    for device, telemetry, at in readings:
        s = sample_of(telemetry, at)
        if s is not None:
            rows.append((device, slot_of(s.at), s.at, *s.row()))
    types = ("text", "text", "text", "double precision", "bigint", "bigint", "bigint", "bigint", "bigint")
    cols = ", ".join(_COLUMNS)
    values = ", ".join(f"column{i}" for i in range(4, 10))
    # a value changed, None included (no stored value is below -60: -1000 stands for None on both servers)
    changed = " OR ".join(f"COALESCE(health_now.{k}, -1000) <> COALESCE(excluded.{k}, -1000)" for k in _COLUMNS)
    for i in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[i:i + _ROWS_PER_STATEMENT]
        table, params = db.values(chunk, types)
        c.execute(f"INSERT INTO health_samples(device_id, slot, at, {cols}) SELECT column1, column2, column3, "
                  f"{values} FROM {table} AS v WHERE true ON CONFLICT (device_id, slot) DO NOTHING", params)
        table, params = db.values(chunk, types)
        c.execute(f"INSERT INTO health_now(device_id, slot, at, {cols}) SELECT column1, column2, column3, {values} "
                  f"FROM {table} AS v WHERE true ON CONFLICT (device_id) DO UPDATE SET slot = excluded.slot, "
                  f"at = excluded.at, " + ", ".join(f"{k} = excluded.{k}" for k in _COLUMNS)
                  + f" WHERE {changed} OR excluded.slot <> health_now.slot", params)
    return len(rows)


def prune(db, *, now: dt.datetime, days: float = RETENTION_DAYS) -> int:
    """Forget samples older than *days* before *now*; how many went."""
    before = (now - dt.timedelta(days=days)).astimezone(dt.timezone.utc).strftime(_SLOT)
    return db.write(lambda c: c.execute("DELETE FROM health_samples WHERE slot < ?", (before,)).rowcount)


# -- reading ---------------------------------------------------------------------------------------------------
def _stored_sample(row: dict, tally: stored.Tally | None, province: str | None) -> Sample | None:
    """A stored row as a :class:`Sample`, every value bounded again (a row may be written by hand)."""
    moment = parse_time(row.get("at"))
    if moment is None:
        if tally is not None:
            tally.add("health_samples", province=province)
        return None
    uv = row.get("under_voltage")
    disk = _pair(row.get("disk_free_bytes"), row.get("disk_total_bytes"), *BOUNDS["disk_bytes"])
    mem = _pair(row.get("mem_available_kb"), row.get("mem_total_kb"), *BOUNDS["mem_kb"])
    s = Sample(at=_iso(moment), cpu_temp_c=_number(row.get("cpu_temp_c"), *BOUNDS["cpu_temp_c"]),
               under_voltage=None if uv not in (0, 1) or isinstance(uv, float) else bool(uv),
               disk_free_bytes=disk[0], disk_total_bytes=disk[1], mem_total_kb=mem[1], mem_available_kb=mem[0])
    lost = sum(1 for k in _COLUMNS if row.get(k) is not None and getattr(s, k) is None)
    if lost and tally is not None:
        tally.add("health_samples", province=province, n=lost)
    return s


def latest(db, device_id: str, *, tally: stored.Tally | None = None, province: str | None = "") -> Sample | None:
    row = db.query_one("SELECT * FROM health_now WHERE device_id = ?", (device_id,))
    return _stored_sample(row, tally, province) if row else None


def _percent(part, whole) -> float | None:
    return None if part is None or not whole else round(100.0 * part / whole, 1)


def history(db, device_id: str, *, start: dt.date, end: dt.date, limits: Thresholds = DEFAULT_THRESHOLDS,
            tally: stored.Tally | None = None, province: str | None = "") -> dict:
    """*device_id*'s samples of Tehran days *start* to *end*, in buckets (by hour up to :data:`HOURLY_UP_TO_DAYS`
    days, else by day), oldest first. Each bucket: ``start`` (ISO), ``samples``, ``temp_min``/``temp_max`` (°C),
    ``under_voltage`` (samples with the flag set), ``disk_free_min`` (bytes) and ``disk_free_percent_min``,
    ``mem_available_percent_min``/``_max``, and ``beyond`` (the :data:`KINDS` a sample in it crossed)."""
    day0 = dt.datetime.combine(start, dt.time(0), jalali.TEHRAN)
    day1 = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), jalali.TEHRAN)
    hourly = (end - start).days + 1 <= HOURLY_UP_TO_DAYS
    rows = db.query("SELECT * FROM health_samples WHERE device_id = ? AND slot >= ? AND slot < ? ORDER BY slot",
                    (device_id, day0.astimezone(dt.timezone.utc).strftime(_SLOT),
                     day1.astimezone(dt.timezone.utc).strftime(_SLOT)))
    buckets: dict[str, dict] = {}
    for row in rows:
        s = _stored_sample(row, tally, province)
        if s is None:
            continue
        local = jalali.to_tehran(parse_time(s.at))
        key = local.replace(minute=0, second=0, microsecond=0) if hourly else \
            dt.datetime.combine(local.date(), dt.time(0), jalali.TEHRAN)
        b = buckets.setdefault(key.isoformat(), {"start": key.isoformat(), "samples": 0, "temp_min": None,
                                                 "temp_max": None, "under_voltage": 0, "disk_free_min": None,
                                                 "disk_free_percent_min": None, "mem_available_percent_min": None,
                                                 "mem_available_percent_max": None, "beyond": []})
        b["samples"] += 1
        _low_high(b, "temp", s.cpu_temp_c)
        b["under_voltage"] += s.under_voltage is True
        if s.disk_free_bytes is not None:
            b["disk_free_min"] = s.disk_free_bytes if b["disk_free_min"] is None else min(b["disk_free_min"],
                                                                                          s.disk_free_bytes)
            _low(b, "disk_free_percent_min", _percent(s.disk_free_bytes, s.disk_total_bytes))
        mem = _percent(s.mem_available_kb, s.mem_total_kb)
        _low(b, "mem_available_percent_min", mem)
        if mem is not None:
            b["mem_available_percent_max"] = mem if b["mem_available_percent_max"] is None else \
                max(b["mem_available_percent_max"], mem)
        for kind in s.beyond(limits):
            if kind not in b["beyond"]:
                b["beyond"].append(kind)
    out = list(buckets.values())
    return {"device_id": device_id, "start": start.isoformat(), "end": end.isoformat(),
            "by": "hour" if hourly else "day", "buckets": out, "samples": sum(b["samples"] for b in out),
            "thresholds": limits.as_dict(),
            "crossings": {k: sum(1 for b in out if k in b["beyond"]) for k in KINDS}}


def _low(b: dict, key: str, value):
    if value is not None:
        b[key] = value if b[key] is None else min(b[key], value)


def _low_high(b: dict, key: str, value):
    if value is not None:
        b[f"{key}_min"] = value if b[f"{key}_min"] is None else min(b[f"{key}_min"], value)
        b[f"{key}_max"] = value if b[f"{key}_max"] is None else max(b[f"{key}_max"], value)


def _conditions(kinds, limits: Thresholds) -> tuple[str, list]:
    """SQL over ``health_now h`` that holds when a device is beyond one of *kinds*, and its parameters."""
    parts, params = [], []
    for kind in kinds:
        if kind == "temperature":
            parts.append("(h.cpu_temp_c >= ? AND h.cpu_temp_c <= ?)")
            params += [limits.temperature_c, BOUNDS["cpu_temp_c"][1]]
        elif kind == "under_voltage":
            parts.append("h.under_voltage = 1")
        elif kind == "disk":
            parts.append("(h.disk_free_bytes >= 0 AND (h.disk_total_bytes IS NULL OR h.disk_free_bytes <= "
                         "h.disk_total_bytes) AND (h.disk_free_bytes < ? OR h.disk_free_bytes * 100.0 < ? * "
                         "h.disk_total_bytes))")
            params += [limits.disk_free_bytes, limits.disk_free_percent]
        elif kind == "memory":
            parts.append("(h.mem_total_kb > 0 AND h.mem_available_kb >= 0 AND h.mem_available_kb <= h.mem_total_kb "
                         "AND h.mem_available_kb * 100.0 < ? * h.mem_total_kb)")
            params.append(limits.memory_available_percent)
    return "(" + " OR ".join(parts) + ")", params


def beyond(db, *, now: dt.datetime, province: str | None = None, kind: str | None = None, page: int = 1,
           size: int = PAGE_SIZE, limits: Thresholds = DEFAULT_THRESHOLDS,
           tally: stored.Tally | None = None) -> dict:
    """The devices (of *province*) whose latest sample, made within :data:`CURRENT_WITHIN` of *now*, is beyond the
    threshold of *kind* (any kind when None), newest sample first, page *page* of *size*: ``total``, ``pages``,
    ``devices`` (each with its office, ``sample`` and ``beyond``)."""
    where, params = _conditions([kind] if kind else KINDS, limits)
    sql = "FROM health_now h JOIN devices d ON d.device_id = h.device_id WHERE h.at >= ? AND " + where
    params = [_iso(now - CURRENT_WITHIN)] + params
    if province:
        sql += " AND d.province = ?"
        params.append(province)
    total = int(db.query_one(f"SELECT COUNT(*) AS n {sql}", tuple(params))["n"] or 0)
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = db.query(f"SELECT h.*, d.province, d.office_id, d.office_name, d.online {sql} ORDER BY h.at DESC, "
                    f"h.device_id LIMIT ? OFFSET ?", tuple(params + [size, (page - 1) * size]))
    devices = []
    for r in rows:
        s = _stored_sample(r, tally, r.get("province"))
        if s is None:
            continue
        devices.append({"device_id": r["device_id"], "province": r["province"], "office_id": r["office_id"],
                        "office_name": r["office_name"], "online": bool(r["online"]), "sample": asdict(s),
                        "disk_free_percent": _percent(s.disk_free_bytes, s.disk_total_bytes),
                        "mem_available_percent": _percent(s.mem_available_kb, s.mem_total_kb),
                        "beyond": s.beyond(limits)})
    return {"total": total, "page": page, "pages": pages, "size": size, "province": province, "kind": kind,
            "thresholds": limits.as_dict(), "devices": devices}
