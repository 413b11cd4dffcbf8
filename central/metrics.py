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
``pishkhan_sequence_gaps``             messages never received and never accounted for by the device
                                       (``highest_seq − received``, less announced Last Wills not sent
                                       and telemetry its outbox dropped: docs/mqtt.md)
``pishkhan_sequence_duplicates``       duplicates received
``pishkhan_unreadable_values``         stored values the scrape could not read (:mod:`central.stored`),
                                       by ``table``: what a page shows as «نامعلوم»
``pishkhan_devices_by_version``        devices by the package ``version`` they run (what they last
                                       reported running, else their birth's)
``pishkhan_rollout_devices``           each running or recent ``rollout``'s devices by progress
                                       ``state`` (pending, in_window, installed, healthy, rolled_back,
                                       failed, offline) — not labelled by province
``pishkhan_rollout_halted``            1 when the ``rollout`` halted (``reason``), else 0
``pishkhan_last_message_age_seconds``  seconds since the centre last received a message from any of the
                                       province's devices (:mod:`central.freshness`; absent: never)
=====================================  =========================================================

And the monitors' own health, from their heartbeats (:mod:`central.monitor_housekeeping`), labelled by
``monitor`` — national scrapes only:

===============================================  ===============================================
``pishkhan_monitor_heartbeat_age_seconds``       seconds since the monitor last wrote its health
                                                 (every 10 s while it runs: growing, it stopped)
``pishkhan_monitor_connected``                   1 while connected to the broker
``pishkhan_monitor_messages_received_total``     messages done (written or refused) since it started
``pishkhan_monitor_messages_refused_total``      of those, refused, by ``reason``
``pishkhan_monitor_lag_seconds``                 its last batch, from arrival to commit
``pishkhan_monitor_writer_queue``                messages received and not yet done
``pishkhan_monitor_last_message_age_seconds``    seconds since it last received a device's message
===============================================  ===============================================

:data:`METRIC_NAMES` lists the gauges, :data:`COUNTER_NAMES` the counters; the Grafana dashboard shipped beside
(``central/grafana/pishkhan-fleet.json``) queries only these.
"""

from __future__ import annotations

from central import freshness, stored
from central.queries import UNSENT_WILLS
from central.status import DAY_MINUTES, fleet_view, lost_messages, reports_of_day
from central.verification import silent

METRIC_NAMES = ("pishkhan_devices", "pishkhan_devices_online", "pishkhan_compliance_devices",
                "pishkhan_compliance_minutes", "pishkhan_late_openings", "pishkhan_board_outdated_devices",
                "pishkhan_outbox_depth", "pishkhan_outbox_depth_max", "pishkhan_sequence_gaps",
                "pishkhan_sequence_duplicates", "pishkhan_unreadable_values", "pishkhan_devices_by_version",
                "pishkhan_rollout_devices", "pishkhan_rollout_halted", "pishkhan_last_message_age_seconds",
                "pishkhan_monitor_heartbeat_age_seconds", "pishkhan_monitor_connected",
                "pishkhan_monitor_lag_seconds", "pishkhan_monitor_writer_queue",
                "pishkhan_monitor_last_message_age_seconds")
#: The counters (the rest are gauges): their samples end in ``_total``.
COUNTER_NAMES = ("pishkhan_monitor_messages_received", "pishkhan_monitor_messages_refused")
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
            ("pishkhan_last_message_age_seconds", "Seconds since the centre last received a message from the "
             "province's devices", ["province"]),
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
              f"duplicates, seq_skipped, lost_before, telemetry_dropped, {UNSENT_WILLS} FROM devices WHERE province <> ''"
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
                                          "seq_skipped": row["seq_skipped"], "lost_before": row["lost_before"],
                                          "unsent_wills": row["unsent_wills"],
                                          "telemetry_dropped": row["telemetry_dropped"]})
            acc["dups"] += int(row["duplicates"])
            if isinstance(row["last_seen"], str) and row["last_seen"] > (acc.get("last") or ""):
                acc["last"] = row["last_seen"]
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
            age = freshness.age(acc.get("last"), now)
            if age is not None:
                g["pishkhan_last_message_age_seconds"].add_metric([code], age)
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
        if not self.province:
            yield from _monitor_metrics(self.fleet.db, now=now)


def _monitor_metrics(db, *, now):
    """Each monitor's own health, from its heartbeat row."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    gauges = {name: GaugeMetricFamily(name, doc, labels=["monitor"]) for name, doc in (
        ("pishkhan_monitor_heartbeat_age_seconds", "Seconds since the monitor last wrote its health"),
        ("pishkhan_monitor_connected", "1 while the monitor is connected to the broker"),
        ("pishkhan_monitor_lag_seconds", "The monitor's last batch, from arrival to commit, seconds"),
        ("pishkhan_monitor_writer_queue", "Messages the monitor received and has not yet written"),
        ("pishkhan_monitor_last_message_age_seconds", "Seconds since the monitor last received a device's message"),
    )}
    received = CounterMetricFamily("pishkhan_monitor_messages_received", "Messages the monitor wrote or refused "
                                   "since it started", labels=["monitor"])
    refused = CounterMetricFamily("pishkhan_monitor_messages_refused", "Messages the monitor refused since it "
                                  "started, by reason", labels=["monitor", "reason"])
    for m in freshness.monitors(db, now=now or freshness.utc_now()):
        name = m["monitor_id"]
        for metric, value in (("pishkhan_monitor_heartbeat_age_seconds", m["heartbeat_age_seconds"]),
                              ("pishkhan_monitor_connected", int(m["connected"])),
                              ("pishkhan_monitor_lag_seconds", m["lag_seconds"]),
                              ("pishkhan_monitor_writer_queue", m["pending"]),
                              ("pishkhan_monitor_last_message_age_seconds", m["last_message_age_seconds"])):
            if value is not None:
                gauges[metric].add_metric([name], float(value))
        received.add_metric([name], int(m["received"]))
        for reason, n in sorted(m["refusals"].items()):
            if isinstance(n, int):
                refused.add_metric([name, str(reason)[:64]], n)
    yield from gauges.values()
    yield from (received, refused)


def _release_metrics(db, *, province: str | None):
    """The fleet's versions and the newest rollouts' progress (central/releases)."""
    from prometheus_client.core import GaugeMetricFamily

    from central.releases.view import releases_view

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
