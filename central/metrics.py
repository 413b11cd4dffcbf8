"""Prometheus metrics of the fleet, computed from the fleet database at scrape time.

Every metric is a gauge labelled by ``province`` (a province user's scrape
has only theirs):

=====================================  =========================================================
``pishkhan_devices``                   devices known, by ``status`` (online, offline)
``pishkhan_devices_online``            devices online
``pishkhan_compliance_devices``        devices by today's current compliance ``state``
                                       (serving, degraded, closed, unknown, none: nothing sent), from
                                       its telemetry's ``compliance``, else today's report;
                                       an offline device is unknown
``pishkhan_compliance_minutes``        today's minutes by ``state`` (scheduled, serving, degraded,
                                       closed, unknown), summed over the reports sent
``pishkhan_late_openings``             offices that opened late today
``pishkhan_board_outdated_devices``    devices showing a board older than the official one
``pishkhan_outbox_depth``              messages waiting in the offices' outboxes (sum of
                                       telemetry ``agent.outbox.depth``)
``pishkhan_outbox_depth_max``          the deepest outbox
``pishkhan_sequence_gaps``             messages never received (``highest_seq − received``, less the
                                       Last Will a live connection holds back)
``pishkhan_sequence_duplicates``       duplicates received
``pishkhan_unreadable_values``         stored values the scrape could not read (:mod:`central.stored`),
                                       by ``table``: what a page shows as «نامعلوم»
``pishkhan_devices_by_version``        devices by the package ``version`` they run (what they last
                                       reported running, else their birth's)
``pishkhan_rollout_devices``           each running or recent ``rollout``'s devices by progress
                                       ``state`` (pending, in_window, installed, healthy, rolled_back,
                                       failed, offline) — not labelled by province
``pishkhan_rollout_halted``            1 when the ``rollout`` halted (``reason``), else 0
=====================================  =========================================================

:data:`METRIC_NAMES` lists them; the Grafana dashboard shipped beside
(``central/grafana/pishkhan-fleet.json``) queries only these.
"""

from __future__ import annotations

from central import stored
from central.status import DAY_MINUTES, fleet_view, lost_messages, reports_of_day
from central.verification import silent

METRIC_NAMES = ("pishkhan_devices", "pishkhan_devices_online", "pishkhan_compliance_devices",
                "pishkhan_compliance_minutes", "pishkhan_late_openings", "pishkhan_board_outdated_devices",
                "pishkhan_outbox_depth", "pishkhan_outbox_depth_max", "pishkhan_sequence_gaps",
                "pishkhan_sequence_duplicates", "pishkhan_unreadable_values", "pishkhan_devices_by_version",
                "pishkhan_rollout_devices", "pishkhan_rollout_halted")
#: The rollouts the metrics show: the newest ones (a halted or finished one stays visible until pushed out).
METRIC_ROLLOUTS = 20
#: The deepest outbox a device may report (deeper is unreadable).
MAX_DEPTH = 10_000_000
UNREADABLE_TABLES = ("devices", "events", "reports")
COMPLIANCE_STATES = ("serving", "degraded", "closed", "unknown", "none")
MINUTE_STATES = ("scheduled", "serving", "degraded", "closed", "unknown")


def current_state(compliance) -> str:
    """The compliance state a device last reported: its ``state``, else its timeline's last run."""
    if not isinstance(compliance, dict):
        return "none"
    state = compliance.get("state")
    if isinstance(state, str) and state in COMPLIANCE_STATES:
        return state
    timeline = compliance.get("timeline")
    if isinstance(timeline, list) and timeline and isinstance(timeline[-1], dict):
        state = timeline[-1].get("state")
        if isinstance(state, str) and state in COMPLIANCE_STATES:
            return state
    return "none"


class FleetCollector:
    """A prometheus-client collector reading *fleet*'s database on every scrape."""

    def __init__(self, fleet, *, today, province: str | None = None, now=None):
        self.fleet = fleet
        self.today = today  # a function returning the Tehran date
        self.now = now  # a function returning the current aware time (None: the clock)
        self.province = province

    def describe(self):
        return []  # computed at scrape time; no fixed samples to register

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        day = self.today()
        tally = stored.Tally()
        now = self.now() if self.now else None
        view = fleet_view(self.fleet, day=day, province=self.province, tally=tally, now=now)
        g = {name: GaugeMetricFamily(name, doc, labels=labels) for name, doc, labels in (
            ("pishkhan_devices", "Devices known, by status", ["province", "status"]),
            ("pishkhan_devices_online", "Devices online", ["province"]),
            ("pishkhan_compliance_devices", "Devices by today's current compliance state", ["province", "state"]),
            ("pishkhan_compliance_minutes", "Today's minutes by compliance state", ["province", "state"]),
            ("pishkhan_late_openings", "Offices that opened late today", ["province"]),
            ("pishkhan_board_outdated_devices", "Devices showing an out-of-date board", ["province"]),
            ("pishkhan_outbox_depth", "Messages waiting in the offices' outboxes", ["province"]),
            ("pishkhan_outbox_depth_max", "The deepest office outbox", ["province"]),
            ("pishkhan_sequence_gaps", "Messages the centre never received", ["province"]),
            ("pishkhan_sequence_duplicates", "Duplicate messages received", ["province"]),
            ("pishkhan_unreadable_values", "Stored values that could not be read, shown as unknown",
             ["province", "table"]),
        )}
        for p in view["provinces"]:
            code = p["province"]
            g["pishkhan_devices"].add_metric([code, "online"], p["online"])
            g["pishkhan_devices"].add_metric([code, "offline"], p["offline"])
            g["pishkhan_devices_online"].add_metric([code], p["online"])
            g["pishkhan_late_openings"].add_metric([code], p["late"])
            g["pishkhan_board_outdated_devices"].add_metric([code], p["outdated"])
        reports = reports_of_day(self.fleet.db, day, province=self.province)  # counted once, in fleet_view
        sql = "SELECT device_id, province, online, last_seen, will_seq, compliance, telemetry, highest_seq, received, " \
              "duplicates, seq_skipped FROM devices WHERE province <> ''"
        params = []
        if self.province:
            sql += " AND province = ?"
            params.append(self.province)
        per: dict[str, dict] = {}
        for row in self.fleet.db.query(sql, params):
            acc = per.setdefault(row["province"], {"states": dict.fromkeys(COMPLIANCE_STATES, 0), "depth": 0,
                                                   "depth_max": 0, "gaps": 0, "dups": 0})
            code = row["province"]
            if not row["online"] or silent(row["last_seen"], now):
                state = "unknown"  # what it last said is no longer news
            else:
                state = current_state(stored.loads(row["compliance"], tally=tally, table="devices", province=code))
                if state == "none":
                    state = current_state(reports.get(row["device_id"]))
            acc["states"][state] += 1
            depth = _depth(stored.loads(row["telemetry"], tally=tally, table="devices", province=code))
            acc["depth"] += depth
            acc["depth_max"] = max(acc["depth_max"], depth)
            acc["gaps"] += lost_messages({"online": bool(row["online"]), "will_seq": row["will_seq"],
                                          "highest_seq": row["highest_seq"], "received": row["received"],
                                          "seq_skipped": row["seq_skipped"]})
            acc["dups"] += int(row["duplicates"])
        minutes: dict[str, dict] = {}
        for report in reports.values():
            m = minutes.setdefault(report["_province"], dict.fromkeys(MINUTE_STATES, 0))
            for state in MINUTE_STATES:
                m[state] += stored.integer(report.get(f"{state}_minutes"), low=0, high=DAY_MINUTES) or 0
        for code, acc in sorted(per.items()):
            for state, n in acc["states"].items():
                g["pishkhan_compliance_devices"].add_metric([code, state], n)
            g["pishkhan_outbox_depth"].add_metric([code], acc["depth"])
            g["pishkhan_outbox_depth_max"].add_metric([code], acc["depth_max"])
            g["pishkhan_sequence_gaps"].add_metric([code], acc["gaps"])
            g["pishkhan_sequence_duplicates"].add_metric([code], acc["dups"])
            for state in MINUTE_STATES:
                g["pishkhan_compliance_minutes"].add_metric([code, state], minutes.get(code, {}).get(state, 0))
        unreadable = {}
        for (table, code), n in tally.counts.items():
            counts = unreadable.setdefault(code, dict.fromkeys(UNREADABLE_TABLES, 0))
            counts[table] = counts.get(table, 0) + n
        for code in per:
            unreadable.setdefault(code, dict.fromkeys(UNREADABLE_TABLES, 0))
        for code, tables in sorted(unreadable.items()):
            for table, n in sorted(tables.items()):
                g["pishkhan_unreadable_values"].add_metric([code, table], n)
        yield from g.values()
        yield from _release_metrics(self.fleet.db, province=self.province)


def _release_metrics(db, *, province: str | None):
    """The fleet's versions and the newest rollouts' progress (central/releases)."""
    from prometheus_client.core import GaugeMetricFamily

    from central.releases.progress import releases_view

    view = releases_view(db, province=province)
    versions = GaugeMetricFamily("pishkhan_devices_by_version", "Devices by the package version they run",
                                 labels=["province", "version"])
    for p in view["versions"]:
        for version, n in p["versions"]:
            versions.add_metric([p["province"], version], n)
    devices = GaugeMetricFamily("pishkhan_rollout_devices", "A rollout's devices by progress state",
                                labels=["rollout", "state"])
    halted = GaugeMetricFamily("pishkhan_rollout_halted", "1 when the rollout halted itself or was halted",
                               labels=["rollout", "reason"])
    for r in view["rollouts"][:METRIC_ROLLOUTS]:
        if not r["readable"]:
            continue
        for state, n in r["progress"].items():
            devices.add_metric([r["rollout"], state], n)
        devices.add_metric([r["rollout"], "offline"], r["offline"])
        halted.add_metric([r["rollout"], r["halted_reason"] if r["stage"] == "halted" else ""],
                          1 if r["stage"] == "halted" else 0)
    yield from (versions, devices, halted)


def _depth(telemetry) -> int:
    try:
        value = telemetry["agent"]["outbox"]["depth"]
    except (TypeError, KeyError):
        return 0
    return stored.integer(value, low=0, high=MAX_DEPTH) or 0


def exposition(fleet, *, today, province: str | None = None, extra=None, now=None) -> bytes:
    """The Prometheus text of the fleet's metrics (and of *extra*, a registry, e.g. the monitor's counters)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(fleet, today=today, province=province, now=now))
    text = generate_latest(registry)
    if extra is not None and province is None:
        text += generate_latest(extra)
    return text
