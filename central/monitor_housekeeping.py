"""The monitor's housekeeping: its own health written where the dashboard reads it, and old rows pruned.

A :class:`Housekeeper` runs on a thread of its own (:meth:`start`), and every
:attr:`Housekeeper.beat_every` seconds writes one ``monitors`` row: when it
started and last beat, whether it is connected, messages done and refused
(by reason), the writer's queue, its lag (how long the last batch waited
between the socket and its commit) and when it last received a device's
message. ``/metrics`` and the fleet page read those rows
(:mod:`central.freshness`): a monitor that stopped stops beating, and its
row's age says so — the figures of the fleet are then stale.

Every :attr:`Housekeeper.prune_every` seconds it forgets what the centre no
longer needs: sequence numbers received more than :data:`SEEN_DAYS` ago
(:meth:`central.fleet.Fleet.prune_seen`), event budgets of days no event
may carry any more (:meth:`central.fleet.Fleet.prune_budgets`), the rows
of monitors that have not beaten for :data:`MONITOR_ROWS_DAYS`, health samples older than
:data:`central.health_history.RETENTION_DAYS`, and what the broker saw of each device (``presence``) older
than :data:`PRESENCE_DAYS`.

A database that fails is logged and tried again at the next turn; it never
stops the thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from central import codec, health_history
from central.fleet import TEHRAN, TIME_BEHIND
from pishkhan.protocol.payloads import format_time

log = logging.getLogger("pishkhan.central.monitor")

#: How long a sequence number is kept to recognise a duplicate: a message is resent after a lost PUBACK on the
#: device's next connection, and the outbox keeps one ``mqtt.outbox_max_age_days`` (14 by default), and a day.
#: A copy arriving later than this is counted as received again (it fills no hole and moves no state backwards:
#: the status and telemetry are ordered by ``sent_at``).
SEEN_DAYS = 15
#: A monitor not heard of for this long is forgotten (its row goes).
MONITOR_ROWS_DAYS = 7
#: How long the centre keeps what the broker saw of a device (``presence``, one row a status message): a past
#: day's re-judgement (central.verification, the office's day page) needs it; older days are not re-judged.
PRESENCE_DAYS = 400


class Housekeeper:
    """Writes *monitor*'s health into its database and prunes old rows.

    :param fleet: the monitor's :class:`central.fleet.Fleet`.
    :param monitor_id: the row's key (the monitor's MQTT client id).
    :param figures: ``figures() -> dict`` with ``connected``, ``received``, ``refused``, ``refusals``
        (reason → count), ``pending``, ``lag_seconds`` and ``last_message_at`` (an ISO time or None).
    :param clock: Unix seconds; tests pass their own.
    """

    beat_every = 10.0
    prune_every = 3600.0

    def __init__(self, fleet, *, monitor_id: str, figures, clock=None, seen_days: float = SEEN_DAYS):
        import time

        self.fleet = fleet
        self.db = fleet.db
        self.monitor_id = monitor_id
        self.figures = figures
        self.clock = clock or time.time
        self.seen_days = seen_days
        self.started_at = format_time(self.clock())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at: float | None = None
        self.pruned = {"seen": 0, "budgets": 0, "monitors": 0, "health_samples": 0, "presence": 0}

    # -- one turn --------------------------------------------------------------------
    def beat(self):
        """Write this monitor's row now."""
        f = self.figures()
        now = format_time(self.clock())
        row = (self.monitor_id, self.started_at, now, int(bool(f["connected"])), int(f["received"]),
               int(f["refused"]), codec.dumps(dict(f["refusals"])), int(f["pending"]), float(f["lag_seconds"]),
               f["last_message_at"])
        self.db.write(lambda c: c.execute(
            "INSERT INTO monitors(monitor_id, started_at, heartbeat_at, connected, received, refused, refusals, "
            "pending, lag_seconds, last_message_at) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (monitor_id) DO UPDATE "
            "SET started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, "
            "connected = excluded.connected, received = excluded.received, refused = excluded.refused, "
            "refusals = excluded.refusals, pending = excluded.pending, lag_seconds = excluded.lag_seconds, "
            "last_message_at = excluded.last_message_at", row))

    def prune(self) -> dict:
        """Forget old sequence numbers, budgets and monitors' rows; how many of each went."""
        now = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)
        seen = self.fleet.prune_seen(format_time(now - dt.timedelta(days=self.seen_days)))
        oldest_day = now.astimezone(TEHRAN).date() - TIME_BEHIND - dt.timedelta(days=1)
        budgets = self.fleet.prune_budgets(oldest_day.isoformat())
        before = format_time(now - dt.timedelta(days=MONITOR_ROWS_DAYS))
        monitors = self.db.write(lambda c: c.execute("DELETE FROM monitors WHERE heartbeat_at < ?",
                                                     (before,)).rowcount)
        gone = format_time(now - dt.timedelta(days=PRESENCE_DAYS))
        presence = self.db.write(lambda c: c.execute("DELETE FROM presence WHERE received_at < ?",
                                                     (gone,)).rowcount)
        done = {"seen": seen, "budgets": budgets, "monitors": monitors,
                "health_samples": health_history.prune(self.db, now=now), "presence": presence}
        for key, n in done.items():
            self.pruned[key] += n
        if any(done.values()):
            log.info("pruned %d sequence numbers, %d event budgets and %d monitors' rows", seen, budgets, monitors)
        return done

    def tend(self):
        """One turn: beat, and prune when it is due. A failing database is logged, not raised."""
        try:
            self.beat()
        except Exception as e:  # noqa: BLE001 - the next turn tries again
            log.warning("cannot write the monitor's health: %s", e)
        if self._pruned_at is None or self.clock() - self._pruned_at >= self.prune_every:
            self._pruned_at = self.clock()
            try:
                self.prune()
            except Exception as e:  # noqa: BLE001
                log.warning("cannot prune old rows: %s", e)

    # -- the thread -----------------------------------------------------------------
    def start(self) -> "Housekeeper":
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="monitor-housekeeping", daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.tend()
            self._stop.wait(self.beat_every)

    def stop(self):
        """Stop the thread, after one last beat (so the row says how the monitor ended)."""
        self._stop.set()
        if self._thread:
            self._thread.join(30)
            self._thread = None
        try:
            self.beat()
        except Exception as e:  # noqa: BLE001
            log.warning("cannot write the monitor's health: %s", e)
