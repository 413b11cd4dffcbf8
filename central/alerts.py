"""Alerts that reach a person: rules as data, alerts with a lifecycle, a mass event as one grouped alert.

A **rule** (table ``alert_rules``) names a :data:`KINDS` condition, its ``severity`` (:data:`SEVERITIES`), its
scope (``province``; ``''``: the nation), ``minutes`` (how long the condition must hold before an alert opens),
a ``threshold`` where the kind has one (``disk_low``: percent free) and ``group_at``: when that many devices of
one province meet it in one evaluation (or join while a grouped alert of it is unresolved), they make **one**
grouped alert, not one row each — a broker restart is one alert, not 50 that push every other one out.

:meth:`Alerting.evaluate` (the dashboard runs it every minute) judges every enabled rule against the devices
as the centre knows them *now* and returns the :class:`Change` list (opened, resolved) for the notifier
(:mod:`central.alert_notify`); two dashboards evaluating at once open each alert once (SQLite writes one at a
time; on PostgreSQL the rule's row is locked while it is applied). An alert's lifecycle, each step a timestamped fact in its row:

``open`` → ``acknowledged`` (``acknowledged_by``, ``acknowledged_at``; :meth:`Alerting.acknowledge`) →
``resolved`` (``resolved_at``: when none of its devices meets the condition any more; an open alert may be
resolved without being acknowledged).

The kinds and where the centre reads them:

======================  ===========================================================================================
``offline``             offline (or silent) for ``minutes`` while its last compliance said it was in its hours
``late_opening``        a late opening today the office has not yet opened from (:func:`central.status.fleet_view`)
``closed_during_hours`` online, its current compliance state ``closed`` (in hours) for ``minutes``
``printer_out``         its printer's last fact ``offline``, ``paper_out`` or ``cover_open``
``board_outdated``      showing a board older than the official one (the default rule waits a day)
``under_voltage``       the firmware's under-voltage flag set now
``disk_low``            free disk below ``threshold`` percent (default 10)
``clock_unsynchronised`` its clock not synchronised
``circular_unacknowledged`` a circular of its scope published ``threshold`` days ago (default 3) and not yet
                        acknowledged by its staff (central/circulars/view.py; since: publication + N days)
======================  ===========================================================================================

A condition's start is the device's own time where the data has one (its last message, its compliance state's
``since``, the printer fact's ``at``), else when the centre first saw it (``alert_conditions``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace

from central import stored
from central.errors import AlertRefused  # noqa: F401  (re-exported)

#: The conditions a rule may name.
KINDS = ("offline", "late_opening", "closed_during_hours", "printer_out", "board_outdated", "under_voltage",
         "disk_low", "clock_unsynchronised", "circular_unacknowledged")
SEVERITIES = ("critical", "warning", "info")
STATES = ("open", "acknowledged", "resolved")
#: The printer states that mean it cannot print.
PRINTER_OUT = ("offline", "paper_out", "cover_open")
#: The rules a new centre starts with: (kind, severity, minutes, threshold).
DEFAULT_RULES = (("offline", "critical", 15, None), ("late_opening", "warning", 0, None),
                 ("closed_during_hours", "warning", 15, None), ("printer_out", "warning", 30, None),
                 ("board_outdated", "warning", 1440, None), ("under_voltage", "warning", 10, None),
                 ("disk_low", "warning", 60, 10.0), ("clock_unsynchronised", "warning", 30, None))
#: Devices of one province meeting a rule together that make one grouped alert.
GROUP_AT = 10
PAGE_SIZE = 50
#: A grouped alert's members shown in the list (the rest: "and N more offices", on the alert's own page).
MEMBERS_SHOWN = 5
#: A grouped alert's members on one page of the alert's own page.
MEMBERS_PAGE = 100


@dataclass(frozen=True)
class Change:
    """An alert that opened or resolved in one evaluation (what the notifier sends)."""

    event: str  # "opened" or "resolved"
    alert: dict


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _time(text) -> dt.datetime | None:
    from central.status import parse_time

    return parse_time(text)


class Rules:
    """The ``alert_rules`` table: add, list, switch off."""

    def __init__(self, db):
        self.db = db

    def add(self, *, kind: str, severity: str, minutes: int = 0, province: str = "", threshold: float | None = None,
            group_at: int = GROUP_AT, by: str = "", now: dt.datetime) -> int:
        """A new enabled rule; its id."""
        if kind not in KINDS:
            raise AlertRefused(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}", reason="bad_kind")
        if severity not in SEVERITIES:
            raise AlertRefused(f"severity: expected one of {', '.join(SEVERITIES)}", reason="bad_severity")
        if not isinstance(minutes, int) or not 0 <= minutes <= 10 * 1440:
            raise AlertRefused("minutes: 0 to 14400", reason="bad_minutes")
        if kind == "disk_low" and not (isinstance(threshold, (int, float)) and 0 < threshold < 100):
            raise AlertRefused("disk_low needs a threshold: percent free, between 0 and 100", reason="bad_threshold")
        if kind == "circular_unacknowledged" and threshold is not None and not (
                isinstance(threshold, (int, float)) and 0 <= threshold <= 365):
            raise AlertRefused("circular_unacknowledged: threshold is days, 0 to 365 (default 3)",
                               reason="bad_threshold")
        if not isinstance(group_at, int) or group_at < 2:
            raise AlertRefused("group_at: at least 2", reason="bad_threshold")
        if province:  # stored as the registry stores it: 6, 06 and ۰۶ are 06
            from pishkhan import provinces

            if provinces.known(province) is None:
                raise AlertRefused(f"province: {str(province)[:40]!r} is none of the 31 provinces",
                                   reason="unknown_province")
            province = provinces.normalise(province)
        row = self.db.write(lambda c: c.execute(
            "INSERT INTO alert_rules (kind, severity, province, minutes, threshold, group_at, enabled, created_at, "
            "created_by) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING rule_id",
            (kind, severity, province, minutes, threshold, group_at, _iso(now), by)).fetchone())
        return int(row[0])

    def install_defaults(self, *, now: dt.datetime) -> int:
        """:data:`DEFAULT_RULES`, nationally, when there is no rule yet; how many were added."""
        if self.db.query_one("SELECT rule_id FROM alert_rules LIMIT 1"):
            return 0
        for kind, severity, minutes, threshold in DEFAULT_RULES:
            self.add(kind=kind, severity=severity, minutes=minutes, threshold=threshold, by="default", now=now)
        return len(DEFAULT_RULES)

    def disable(self, rule_id: int):
        """Switch a rule off; its unresolved alerts resolve at the next evaluation."""
        self.db.execute("UPDATE alert_rules SET enabled = 0 WHERE rule_id = ?", (rule_id,))

    def enabled(self) -> list[dict]:
        return self.db.query("SELECT * FROM alert_rules WHERE enabled = 1 ORDER BY rule_id")


class Conditions:
    """Which devices meet each kind's condition now, and since when (None: since the centre first saw it)."""

    def __init__(self, db, *, now: dt.datetime):
        from central import status
        from pishkhan.text import jalali

        self.now = now
        self.db = db
        day = jalali.to_tehran(now).date()
        view = status.fleet_view(SimpleNamespace(db=db), day=day, now=now)
        self.rows = {r["device_id"]: r for r in view["devices"]}
        self.devices = {}
        for row in db.query("SELECT device_id, province, online, last_seen, status_since, status_reason, telemetry, "
                            "compliance, clock, highest_seq, received, duplicates FROM devices WHERE province <> ''"):
            self.devices[row["device_id"]] = status.device_row(row, now=now)

    def holding(self, kind: str, *, threshold=None) -> dict[str, tuple[str, str | None]]:
        """``{device_id: (province, since)}`` of the devices meeting *kind* now."""
        out = {}
        for device_id, d in self.devices.items():
            since = getattr(self, f"_{kind}")(d, self.rows.get(device_id) or {}, threshold)
            if since is not False:
                out[device_id] = (d["province"], since)
        return out

    # Each returns False (not met), or when it began (an ISO time, or None: unknown).
    @staticmethod
    def _offline(d, row, threshold):
        compliance = d["compliance"] if isinstance(d["compliance"], dict) else {}
        if d["online"] or compliance.get("in_hours") is not True:
            return False
        return d["last_seen"] or None

    @staticmethod
    def _late_opening(d, row, threshold):
        waiting = [x for x in row.get("late_events") or [] if not x.get("opened_at")]
        return waiting[0].get("at") if waiting else False

    @staticmethod
    def _closed_during_hours(d, row, threshold):
        c = d["compliance"] if isinstance(d["compliance"], dict) else {}
        if not d["online"] or c.get("state") != "closed" or c.get("in_hours") is False:
            return False
        return c.get("since") if isinstance(c.get("since"), str) else None

    @staticmethod
    def _readings(d, group) -> dict:
        t = d["telemetry"] if d["online"] and isinstance(d["telemetry"], dict) else {}
        value = t.get(group)
        return value if isinstance(value, dict) else {}

    def _printer_out(self, d, row, threshold):
        printer = self._readings(d, "peripherals").get("printer")
        if not isinstance(printer, dict) or printer.get("state") not in PRINTER_OUT:
            return False
        return printer.get("at") if isinstance(printer.get("at"), str) else None

    @staticmethod
    def _board_outdated(d, row, threshold):
        return None if d["online"] and row.get("outdated") else False

    def _under_voltage(self, d, row, threshold):
        throttled = self._readings(d, "device").get("throttled")
        return None if isinstance(throttled, dict) and throttled.get("under_voltage") is True else False

    def _disk_low(self, d, row, threshold):
        readings = self._readings(d, "device")
        free = stored.integer(readings.get("disk_free_bytes"), low=0, high=10 ** 15)
        total = stored.integer(readings.get("disk_total_bytes"), low=1, high=10 ** 15)
        if free is None or total is None:
            return False
        return None if free * 100 < (threshold if threshold is not None else 10.0) * total else False

    def _circular_unacknowledged(self, d, row, threshold):
        from central.circulars.view import unacknowledged_since

        if not hasattr(self, "_circulars_due"):
            self._circulars_due = {}
        if threshold not in self._circulars_due:  # one query per threshold, for every device
            self._circulars_due[threshold] = unacknowledged_since(self.db, now=self.now, days=threshold)
        return self._circulars_due[threshold].get(d["device_id"], False)

    def _clock_unsynchronised(self, d, row, threshold):
        clock = self._readings(d, "clock") or (d["clock"] if d["online"] and isinstance(d["clock"], dict) else {})
        return None if clock.get("synchronized") is False else False


class Alerting:
    """Evaluates the rules, keeps the alerts' lifecycle, lists them."""

    def __init__(self, db):
        self.db = db
        self.rules = Rules(db)

    # -- evaluation ------------------------------------------------------------------------------------------
    def evaluate(self, *, now: dt.datetime) -> list[Change]:
        """Open and resolve alerts as the devices stand at *now*; what changed."""
        rules = self.rules.enabled()
        switched_off = self.db.query("SELECT DISTINCT r.* FROM alert_rules r JOIN alerts a ON a.rule_id = r.rule_id "
                                     "WHERE r.enabled = 0 AND a.state <> 'resolved' ORDER BY r.rule_id")
        if not rules and not switched_off:
            return []
        conditions = Conditions(self.db, now=now) if rules else None
        changed: list[tuple[str, int]] = []
        for rule in [*rules, *switched_off]:  # a switched-off rule's alerts resolve: it holds for nobody
            holding = conditions.holding(rule["kind"], threshold=rule["threshold"]) if rule["enabled"] else {}
            if rule["province"]:
                holding = {k: v for k, v in holding.items() if v[0] == rule["province"]}
            self.db.write(lambda c, rule=rule, holding=holding: self._apply(c, rule, holding, now, changed))
        return [Change(event, self.alert(alert_id)) for event, alert_id in changed]

    def _apply(self, c, rule: dict, holding: dict, now: dt.datetime, changed: list):
        rid, stamp = rule["rule_id"], _iso(now)
        if self.db.dialect == "%s":  # two dashboards on one PostgreSQL: one evaluates a rule at a time
            c.execute("SELECT rule_id FROM alert_rules WHERE rule_id = ? FOR UPDATE", (rid,))
        seen = {r[0]: r[1] for r in c.execute("SELECT device_id, since FROM alert_conditions WHERE rule_id = ?",
                                              (rid,)).fetchall()}
        gone = [d for d in seen if d not in holding]
        for device_id in gone:
            c.execute("DELETE FROM alert_conditions WHERE rule_id = ? AND device_id = ?", (rid, device_id))
        for device_id, (province, since) in holding.items():
            if device_id not in seen:
                since = since if _time(since) else stamp
                c.execute("INSERT INTO alert_conditions (rule_id, device_id, since) VALUES (?, ?, ?)",
                          (rid, device_id, since))
                seen[device_id] = since
        # Devices of unresolved alerts that no longer meet the condition are cleared; an alert all clear resolves.
        members = c.execute("SELECT a.id, m.device_id FROM alerts a JOIN alert_devices m ON m.alert_id = a.id "
                            "WHERE a.rule_id = ? AND a.state <> 'resolved' AND m.cleared_at IS NULL",
                            (rid,)).fetchall()
        covered, alive = set(), {}
        for alert_id, device_id in members:
            if device_id in holding:
                covered.add(device_id)
                alive[alert_id] = True
            else:
                c.execute("UPDATE alert_devices SET cleared_at = ? WHERE alert_id = ? AND device_id = ?",
                          (stamp, alert_id, device_id))
                alive.setdefault(alert_id, False)
        for alert_id, still in alive.items():
            if not still:
                c.execute("UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ?", (stamp, alert_id))
                changed.append(("resolved", alert_id))
        held = rule["minutes"] * 60
        due: dict[str, list] = {}
        for device_id, (province, _) in holding.items():
            since = _time(seen[device_id])
            if device_id not in covered and since and (now - since).total_seconds() >= held:
                due.setdefault(province, []).append((device_id, seen[device_id]))
        for province, devices in sorted(due.items()):
            group = c.execute("SELECT id FROM alerts WHERE rule_id = ? AND province = ? AND grouped = 1 AND "
                              "state <> 'resolved' ORDER BY id DESC LIMIT 1", (rid, province)).fetchone()
            if group is None and len(devices) >= rule["group_at"]:
                group = c.execute(
                    "INSERT INTO alerts (rule_id, kind, severity, province, device_id, grouped, devices, state, "
                    "since, opened_at) VALUES (?, ?, ?, ?, '', 1, 0, 'open', ?, ?) RETURNING id",
                    (rid, rule["kind"], rule["severity"], province, min(s for _, s in devices), stamp)).fetchone()
                changed.append(("opened", group[0]))
            if group is not None:
                for device_id, since in devices:  # a member that cleared and meets it again is one again
                    c.execute("INSERT INTO alert_devices (alert_id, device_id, since) VALUES (?, ?, ?) "
                              "ON CONFLICT (alert_id, device_id) DO UPDATE SET since = excluded.since, "
                              "cleared_at = NULL", (group[0], device_id, since))
                c.execute("UPDATE alerts SET devices = (SELECT COUNT(*) FROM alert_devices WHERE alert_id = ?) "
                          "WHERE id = ?", (group[0], group[0]))
                continue
            for device_id, since in devices:
                one = c.execute(
                    "INSERT INTO alerts (rule_id, kind, severity, province, device_id, grouped, devices, state, "
                    "since, opened_at) VALUES (?, ?, ?, ?, ?, 0, 1, 'open', ?, ?) RETURNING id",
                    (rid, rule["kind"], rule["severity"], province, device_id, since, stamp)).fetchone()
                c.execute("INSERT INTO alert_devices (alert_id, device_id, since) VALUES (?, ?, ?)",
                          (one[0], device_id, since))
                changed.append(("opened", one[0]))

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def acknowledge(self, alert_id: int, *, by: str, now: dt.datetime) -> dict:
        """Mark an open alert acknowledged by *by* at *now*; the alert."""
        def work(c):
            row = c.execute("SELECT state FROM alerts WHERE id = ?", (alert_id,)).fetchone()
            if row is None:
                raise AlertRefused(f"no alert {alert_id}", reason="unknown_alert")
            if row[0] != "open":
                raise AlertRefused(f"alert {alert_id} is {row[0]}, not open", reason="not_open")
            c.execute("UPDATE alerts SET state = 'acknowledged', acknowledged_by = ?, acknowledged_at = ? "
                      "WHERE id = ? AND state = 'open'", (by, _iso(now), alert_id))
        self.db.write(work)
        return self.alert(alert_id)

    # -- reading -------------------------------------------------------------------------------------------
    def alert(self, alert_id: int) -> dict | None:
        """One alert with its office (a device's) and its devices (``members``: id, since, cleared_at)."""
        row = self.db.query_one("SELECT a.*, d.office_id, d.office_name FROM alerts a LEFT JOIN devices d "
                                "ON d.device_id = a.device_id AND a.device_id <> '' WHERE a.id = ?", (alert_id,))
        if row is None:
            return None
        row["members"] = self.db.query("SELECT device_id, since, cleared_at FROM alert_devices WHERE alert_id = ? "
                                       "ORDER BY device_id", (alert_id,))
        return row

    def members(self, alert_id: int, *, page: int = 1, per_page: int = MEMBERS_PAGE) -> dict:
        """An alert's devices by device id, with their office: ``rows`` (device_id, office_id, office_name, since,
        cleared_at), ``total``, ``affected`` (not cleared yet), ``page``, ``pages``."""
        counts = self.db.query_one("SELECT COUNT(*) AS n, COUNT(*) - COUNT(cleared_at) AS affected FROM alert_devices "
                                   "WHERE alert_id = ?", (alert_id,))
        total = int(counts["n"])
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        rows = self.db.query(
            "SELECT m.device_id, d.office_id, d.office_name, m.since, m.cleared_at FROM alert_devices m "
            "LEFT JOIN devices d ON d.device_id = m.device_id WHERE m.alert_id = ? ORDER BY m.device_id "
            "LIMIT ? OFFSET ?", (alert_id, per_page, (page - 1) * per_page))
        return {"rows": rows, "total": total, "affected": int(counts["affected"] or 0), "page": page, "pages": pages}

    def page(self, *, kind: str | None = None, province: str | None = None, state: str | None = None,
             page: int = 1, per_page: int = PAGE_SIZE) -> dict:
        """Alerts newest first, filtered by *kind*, *province* and *state* (``unresolved``: open or
        acknowledged): ``rows``, ``total``, ``page``, ``pages``; a grouped row carries ``members``: the first
        :data:`MEMBERS_SHOWN` of :meth:`members`."""
        where, params = ["1 = 1"], []
        if kind:
            if kind not in KINDS:
                raise AlertRefused(f"kind: expected one of {', '.join(KINDS)}", reason="bad_filter")
            where.append("a.kind = ?")
            params.append(kind)
        if province:
            where.append("a.province = ?")
            params.append(province)
        if state == "unresolved":
            where.append("a.state <> 'resolved'")
        elif state:
            if state not in STATES:
                raise AlertRefused(f"state: expected one of {', '.join(STATES)} or unresolved", reason="bad_filter")
            where.append("a.state = ?")
            params.append(state)
        clause = " AND ".join(where)
        total = int(self.db.query_one(f"SELECT COUNT(*) AS n FROM alerts a WHERE {clause}", params)["n"])
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        rows = self.db.query(
            f"SELECT a.*, d.office_id, d.office_name FROM alerts a LEFT JOIN devices d ON d.device_id = a.device_id "
            f"AND a.device_id <> '' WHERE {clause} ORDER BY a.opened_at DESC, a.id DESC LIMIT ? OFFSET ?",
            (*params, per_page, (page - 1) * per_page))
        for row in rows:  # a grouped alert: its first members, how many, how many still affected
            if row["grouped"]:
                row["members"] = self.members(row["id"], per_page=MEMBERS_SHOWN)
        return {"rows": rows, "total": total, "page": page, "pages": pages}
