"""Simulated offices that speak the real protocol, many to a process.

Each :class:`SimDevice` is one office's agent as the centre sees it: its own
MQTT 5 connection (client id and username = device id, a password where the
broker needs one), a retained Last Will made at connect time with a fresh
``seq``, a retained birth carrying ``province``, ``office`` and
``office_name``, then telemetry and events — all built with
:mod:`pishkhan.protocol.payloads`, the agent's own code, so every message
passes the centre's schema check.

The office day follows its province's hours in Asia/Tehran (by default
Saturday-Wednesday 07:30-14:30, Thursday 07:30-12:30, Friday closed; a few
provinces open at 08:00), on a clock that runs *speed* times faster than the
wall's. An office may open late: as the agent does, it sends ``late_opening``
once the period has begun :data:`LATE_AFTER` minutes closed (``at`` the
period's start, the judge's event whole as the detail, ``opened_at`` null),
then ``office.opened`` when it opens — the office day's events stamped on
the simulated clock (:func:`stamp`); office names carry Persian digits;
customers arrive at random while it is open and are counted in telemetry;
the printer runs out now and then (``printer_out``, later ``printer_ok``);
and outages happen:

``drop``  the socket is cut without a DISCONNECT, as when the process is
          SIGKILLed: the broker sends the Last Will at once;
``hang``  the device goes silent with its socket open, as when the network
          dies: the broker sends the Will after 1.5 × keepalive;

and after either the device comes back with a new birth. :meth:`SimulatedFleet.storm`
drops every connection at once, and a broker restart does the same: devices
come back with random waits (a reconnect storm).

One paho client per device, but no thread per device: a :class:`_Shard`
thread drives a few thousand clients through one ``selectors`` loop with
paho's ``loop_read``/``loop_write``/``loop_misc``.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import random
import resource
import selectors
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

from pishkhan import provinces
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics
from pishkhan.text.persian import to_persian_digits

log = logging.getLogger("pishkhan.central.simulate")

#: The 31 province codes (00-30, ISO 3166-2:IR: pishkhan.provinces), office 1 in the first.
PROVINCES = provinces.CODES
#: Provinces that open at 08:00 (the rest at 07:30).
LATE_START = ("05", "11", "21")
#: An office's name, its number in Persian digits as an office writes it.
OFFICE_NAME = "دفتر پیشخوان دولت {n}"
#: A late opening is sent once the period has begun this many minutes closed (the agent's judge's default
#: ``late_opening_minutes``: pishkhan.compliance.judge.Thresholds).
LATE_AFTER = 5
#: The centre refuses a time more than a day ahead of its clock: an office-day time the simulated clock puts
#: further ahead than this is sent whole days earlier.
AHEAD = dt.timedelta(hours=23)


def office_of(index: int, *, prefix: str = "sim") -> dict:
    """Simulated office *index* (from 1) as its births say it is: ``device_id``, ``province``, ``office_id``
    and ``office_name``."""
    return {"device_id": f"{prefix}-{index:05d}", "province": PROVINCES[(index - 1) % len(PROVINCES)],
            "office_id": f"office-{index:05d}", "office_name": OFFICE_NAME.format(n=to_persian_digits(index))}


def stamp(moment: dt.datetime) -> str:
    """A moment of the simulated office day as a message's time: on the simulated clock, as an agent stamps
    its events on its own; if the clock runs more than :data:`AHEAD` ahead of the wall's, whole days earlier
    (the centre refuses times more than a day ahead)."""
    ahead = moment - dt.datetime.now(dt.timezone.utc)
    days = max(0, -(-(ahead - AHEAD) // dt.timedelta(days=1)))
    return payloads.format_time(moment - dt.timedelta(days=days))


def register_offices(db, n: int, *, prefix: str = "sim") -> list[str]:
    """Put simulated offices 1…*n* in the centre's registry where their births say they are
    (``pishkhan central simulate --register``), so a demo fleet is not all quarantined.

    One already registered the same way is left as it is; one registered elsewhere (moved by hand) is
    kept there. Returns the ids of those kept elsewhere.
    """
    from central import registry

    kept = []
    for i in range(1, n + 1):
        try:
            registry.register(db, **office_of(i, prefix=prefix))
        except registry.RegistryRefused as e:
            if e.reason != "already_registered":
                raise
            kept.append(office_of(i, prefix=prefix)["device_id"])
    return kept

try:
    from zoneinfo import ZoneInfo
    TEHRAN = ZoneInfo("Asia/Tehran")
except Exception:  # noqa: BLE001 - no tz database: Iran keeps +03:30 all year
    TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))


def province_hours(province: str) -> dict[int, tuple[dt.time, dt.time] | None]:
    """``date.weekday()`` -> (open, close) in Tehran time, or None (closed), for *province*."""
    start = dt.time(8, 0) if province in LATE_START else dt.time(7, 30)
    week = {5: (start, dt.time(14, 30)), 6: (start, dt.time(14, 30)), 0: (start, dt.time(14, 30)),
            1: (start, dt.time(14, 30)), 2: (start, dt.time(14, 30)), 3: (start, dt.time(12, 30)), 4: None}
    return week


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file limit towards *wanted*; returns the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


@dataclass
class Behaviour:
    """How often things go wrong, per simulated office."""

    telemetry_seconds: float = 60.0      # simulated seconds between telemetry (0: only at connect)
    late_opening: float = 0.08           # chance an office opens late on a day
    customers_per_hour: float = 12.0
    printer_faults_per_day: float = 0.3
    outages_per_day: float = 0.2
    outage_minutes: tuple = (2.0, 30.0)  # simulated
    hang_share: float = 0.3              # of outages: silent (hang) rather than dropped


@dataclass
class ReleaseBehaviour:
    """How simulated devices take a release (``pishkhan central simulate --bad-release V``).

    A device acts on each release document it sees as a real one would (docs/updates.md): a halted document,
    a package it runs already, one it rolled back before, or (while ``canary_percent`` is under 100) a device
    outside the canary bucket starts nothing. Otherwise it
    starts after a random wait within *start_spread_seconds* (its window opening, the agent's poll), and walks
    the updater's steps: requested, downloading, installing, installed, then ``healthy`` — or, for a version
    in *bad_versions*, with chance *fail_share*, ``unhealthy`` and ``rolled_back`` (reason ``unhealthy``, the
    failed checks in ``detail``); with chance *offline_share* it goes silent after installing instead.
    Times are simulated seconds.
    """

    bad_versions: tuple = ()
    fail_share: float = 1.0
    offline_share: float = 0.0
    start_spread_seconds: float = 1800.0
    install_seconds: float = 180.0
    health_seconds: float = 120.0
    running_version: str = "0.8.0"


class ReleaseActor:
    """What one simulated device does with the release documents it sees: a plan of update steps.

    Pure (no network, no clock): :meth:`consider` takes a signed envelope and returns
    ``[(delay_seconds, step, fields)]`` to send as ``update`` events (:meth:`event`), and the simulated
    device's running version follows what it installs. The simulated fleet and bench/rollout.py both use it.
    """

    def __init__(self, device_id: str, *, behaviour: ReleaseBehaviour, rng: random.Random):
        self.device_id, self.behaviour, self.rng = device_id, behaviour, rng
        self.running = behaviour.running_version
        self.started: set[str] = set()  # rollouts this device began
        self.failed: set[str] = set()  # package hashes it rolled back (failed_here)
        self.hashes: dict[str, str] = {}  # rollout -> its package's hash
        self.halted: set[str] = set()  # rollouts seen halted
        self.scopes: dict[str, str] = {}  # rollout -> its document's scope (national, province:CODE, …)
        self.begun: set[str] = set()  # rollouts whose first step was sent
        self.offline = False

    def consider(self, envelope) -> list[tuple[float, str, dict]]:
        from central.releases.rollouts import is_canary
        from pishkhan.boards.signing import verification_code

        doc = envelope.get("payload") if isinstance(envelope, dict) else None
        if not isinstance(doc, dict) or doc.get("format") != "pishkhan.release/1" or self.offline:
            return []
        package, rollout = doc.get("package") or {}, doc.get("rollout", "")
        if doc.get("halted"):
            self.halted.add(rollout)  # a start still to come is called off; one under way goes on
            return []
        if rollout in self.started or package.get("sha256") in self.failed \
                or package.get("version") == self.running:
            return []
        if doc.get("canary_percent", 0) < 100 and not is_canary(self.device_id, doc.get("canary_percent", 0)):
            return []
        self.started.add(rollout)
        self.hashes[rollout] = package.get("sha256", "")
        self.scopes[rollout] = _scope_key(doc.get("scope"))
        b = self.behaviour
        fields = {"rollout": rollout, "document_code": verification_code(envelope), "from_version": self.running,
                  "to_version": package.get("version", ""), "reason": "", "detail": ""}
        t = self.rng.uniform(0, b.start_spread_seconds)
        plan = [(t, "requested", fields), (t + 5, "downloading", fields), (t + 60, "installing", fields),
                (t + b.install_seconds, "installed", fields)]
        t += b.install_seconds + b.health_seconds
        bad = package.get("version") in b.bad_versions
        roll = self.rng.random()
        if bad and roll < b.offline_share:
            plan.append((t, "_offline", fields))
        elif bad and roll < b.offline_share + b.fail_share:
            failed = fields | {"reason": "unhealthy",
                               "detail": "pishkhan-kiosk.service: failed\nImportError: simulated bad release"}
            plan += [(t, "unhealthy", failed), (t + 30, "rolling_back", failed), (t + 90, "rolled_back", failed)]
        else:
            plan.append((t, "healthy", fields))
        return plan

    def due(self, step: str, fields: dict) -> bool:
        """Whether a planned step still happens: not when its rollout halted before the device began it."""
        if fields["rollout"] in self.halted and fields["rollout"] not in self.begun:
            return False
        self.begun.add(fields["rollout"])
        return True

    def applied(self, step: str, fields: dict):
        """Follow a step as it is sent: the running version, what rolled back, going silent."""
        if step == "healthy":
            self.running = fields["to_version"]
        elif step == "rolled_back":
            self.failed.add(self.hashes.get(fields["rollout"], ""))
        elif step == "_offline":
            self.offline = True

    def reported(self, *, seq: int, sent_at, step: str, fields: dict) -> dict:
        """``reported.applied.release`` after a final *step*, as an agent sends it: the version it runs now, which
        the Releases page counts by province."""
        release = {"rollout": fields["rollout"], "document_code": fields["document_code"],
                   "scope": self.scopes.get(fields["rollout"], "national"), "package_version": fields["to_version"],
                   "state": step, "reason": fields["reason"], "running_version": self.running}
        return payloads.reported(device=self.device_id, seq=seq, sent_at=sent_at, applied={"release": release})

    def event(self, *, seq: int, sent_at, step: str, fields: dict) -> dict:
        """The ``update`` event of *step* (the agent's builder, :func:`pishkhan.protocol.payloads.event`)."""
        return payloads.event(device=self.device_id, seq=seq, sent_at=sent_at, event="update",
                              detail={"step": step, **fields})


def _scope_key(scope) -> str:
    """A release document's ``scope`` object as its key: national, province:CODE, office:ID or device:ID."""
    scope = scope if isinstance(scope, dict) else {}
    level = scope.get("level", "national")
    return "national" if level == "national" else f"{level}:{scope.get(level, '')}"


class SimDevice:
    """One simulated office's agent."""

    def __init__(self, fleet: "SimulatedFleet", index: int, device_id: str, province: str, *, password: str | None,
                 board: dict | None, schedule: dict | None, rng: random.Random):
        self.fleet = fleet
        self.index = index
        self.id = device_id
        self.province = province
        self.password = password
        self.board = board
        self.schedule = schedule
        self.rng = rng
        self.seq = 0
        self.epoch = uuid.uuid4().hex[:16]  # a run is a new outbox: its numbers start again at 1 in a new epoch
        self.boot_id = str(uuid.uuid4())
        self.started_at = time.time()
        self.client = None
        self.shard: _Shard | None = None
        self.connected = False
        self.hung = False
        self.down_until = 0.0
        self.connects = 0
        self.published = 0
        self.will_seq: int | None = None
        self.open = False
        self.waiting = 0
        self.served = 0
        self.printer_ok = True
        self.day: dt.date | None = None
        self.late_sent = False
        self.backoff = 1.0
        self.cut_at: float | None = None  # when drop() or hang() last took effect (monotonic)
        self.release = ReleaseActor(device_id, behaviour=fleet.release_behaviour, rng=random.Random(rng.random())) \
            if fleet.release_behaviour else None

    # -- messages (the agent's builders) ------------------------------------------
    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def publish(self, stream: str, message: dict, *, retain: bool = False):
        if not self.connected or self.hung:
            return  # a real agent keeps it in its outbox; the simulation does not need the backlog
        self.client.publish(self.fleet.topics.device(self.id, stream), self.encode(message), qos=1,
                            retain=retain)
        self.published += 1
        self.fleet.published += 1

    def encode(self, message: dict) -> bytes:
        """*message* on the wire, in this run's epoch."""
        return payloads.encode(payloads.in_epoch(message, self.epoch))

    def birth(self) -> dict:
        running = self.release.running if self.release else "sim"  # with --releases, the version it runs
        return payloads.birth(device=self.id, seq=self.next_seq(), sent_at=time.time(), agent_version="sim",
                              software_version=running, boot_id=self.boot_id, started_at=self.started_at,
                              will_seq=self.will_seq, protocol="5", board=self.board, schedule=self.schedule,
                              booted_at=payloads.format_time(self.started_at),
                              clock={"synchronized": True, "source": "simulated"}, province=self.province,
                              office=office_of(self.index)["office_id"],
                              office_name=office_of(self.index)["office_name"])

    def telemetry(self) -> dict:
        return payloads.telemetry(
            device=self.id, seq=self.next_seq(), sent_at=time.time(),
            agent={"uptime_s": round(time.time() - self.started_at, 1),
                   "outbox": {"depth": 0, "bytes": 0, "oldest_age_s": None, "in_flight": 0, "dropped": {},
                              "refused": 0}},
            readings={"office": {"open": self.open, "waiting": {"A": self.waiting}, "served_today": self.served},
                      "peripherals": {"printer": {"state": "ok" if self.printer_ok else "paper_out",
                                                  "reason": "" if self.printer_ok else "paper out",
                                                  "at": payloads.format_time(time.time())}}})

    def event(self, name: str, *, at: dt.datetime | None = None, **detail) -> dict:
        """Event *name*; *at*, a moment of the office day on the simulated clock (:func:`stamp`)."""
        return payloads.event(device=self.id, seq=self.next_seq(), sent_at=time.time(), event=name,
                              at=None if at is None else stamp(at), detail=detail)

    def late_opening(self, start: dt.datetime, until: dt.datetime) -> dict:
        """The late opening as the agent sends it (edge_agent.compliance): at the period's *start*, the judge's
        event whole as the detail — closed from *start* to *until* (whole minutes), not opened yet."""
        until = until.replace(second=0, microsecond=0)
        event = {"id": f"late_opening@{start.isoformat()}", "kind": "late_opening", "start": stamp(start),
                 "end": stamp(until), "minutes": int((until - start).total_seconds() // 60),
                 "detail": {"opened_at": None, "why": "closed"}}
        return payloads.event(device=self.id, seq=self.next_seq(), sent_at=time.time(), event="late_opening",
                              at=stamp(start), detail=event)

    # -- connection ---------------------------------------------------------------------
    def make_client(self):
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.id, protocol=mqtt.MQTTv5)
        if self.password is not None:
            client.username_pw_set(self.id, self.password)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        shard = self.shard
        client.on_socket_open = lambda c, u, s: shard.register(self, s)
        client.on_socket_close = lambda c, u, s: shard.unregister(s)
        client.on_socket_register_write = lambda c, u, s: shard.want_write(s, True)
        client.on_socket_unregister_write = lambda c, u, s: shard.want_write(s, False)
        self.client = client

    def connect(self):
        """Start a connection (TCP now, MQTT in the shard's loop), with a fresh Last Will."""
        self.will_seq = self.next_seq()
        will = payloads.offline(device=self.id, seq=self.will_seq, sent_at=time.time(), reason="lost",
                                boot_id=self.boot_id)
        self.client.will_set(self.fleet.topics.status(self.id), self.encode(will), qos=1, retain=True)
        try:
            self.client.connect(self.fleet.host, self.fleet.port, self.fleet.keepalive)
        except OSError as e:
            log.debug("%s: cannot connect: %s", self.id, e)
            self.retry_later()

    def retry_later(self):
        wait = self.backoff * (0.5 + self.rng.random() / 2)
        self.backoff = min(self.backoff * 2, self.fleet.reconnect_max)
        self.shard.after(wait, self.connect)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("%s: the broker refused: %s", self.id, reason_code)
            return
        self.connected = True
        self.connects += 1
        self.backoff = 1.0
        self.fleet.connects += 1
        self.publish("status", self.birth(), retain=True)
        self.publish("telemetry", self.telemetry())
        if self.release is not None:  # the release documents, as an agent's inbox has them
            t = self.fleet.topics
            client.subscribe([(f"{t.root}/all/release", 1), (f"{t.root}/province/{self.province}/release", 1),
                              (t.device(self.id, "release"), 1)])

    def _on_message(self, client, userdata, message):
        """A release document: walk its plan of update steps on the simulated clock."""
        import json

        if self.release is None or not message.topic.endswith("/release"):
            return
        try:
            envelope = json.loads(message.payload)
        except ValueError:
            return
        for delay, step, fields in self.release.consider(envelope):
            self.shard.after(delay / self.fleet.speed, lambda step=step, fields=fields: self._step(step, fields))

    def _step(self, step: str, fields: dict):
        if not self.release.due(step, fields):
            return
        self.release.applied(step, fields)
        if step == "_offline":
            self.down_until = time.time() + 86400
            self.drop()
            return
        self.publish("event", self.release.event(seq=self.next_seq(), sent_at=time.time(), step=step,
                                                 fields=fields))
        if step in ("healthy", "rolled_back"):
            self.publish("reported", self.release.reported(seq=self.next_seq(), sent_at=time.time(), step=step,
                                                           fields=fields))

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        was = self.connected
        self.connected = False
        if was:
            self.fleet.disconnects += 1
        if self.fleet.stopping:
            return
        wait = max(0.0, self.down_until - time.time())
        if wait > 0:
            self.shard.after(wait, self.connect)
        else:
            self.retry_later()

    # -- outages ------------------------------------------------------------------------
    def drop(self):
        """Cut the socket without a DISCONNECT (a SIGKILLed agent): the broker sends the Will at once."""
        sock = self.client.socket() if self.client else None
        self.cut_at = time.monotonic()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def hang(self, seconds: float):
        """Go silent for *seconds* with the socket open (the network gone); then cut it and come back."""
        self.hung = True
        self.cut_at = time.monotonic()
        self.down_until = time.time() + seconds
        sock = self.client.socket()
        if sock is not None:
            self.shard.unregister(sock)

        def wake():
            self.hung = False
            s = self.client.socket()
            if s is not None:
                self.shard.register(self, s)
            self.drop()
        self.shard.after(seconds, wake)

    def stop(self):
        """A clean stop: offline ``stopped`` with this connection's will seq, then DISCONNECT."""
        if self.connected and not self.hung:
            message = payloads.offline(device=self.id, seq=self.will_seq, sent_at=time.time(), reason="stopped",
                                       boot_id=self.boot_id)
            self.client.publish(self.fleet.topics.status(self.id), self.encode(message), qos=1, retain=True)
            self.client.disconnect()

    # -- the office day -----------------------------------------------------------------
    def tick(self, sim_now: dt.datetime, sim_step: float):
        """Advance this office by *sim_step* simulated seconds ending at *sim_now* (Tehran time)."""
        b = self.fleet.behaviour
        if sim_now.date() != self.day:
            self.day = sim_now.date()
            self.served = 0
            self.late_by = (self.rng.uniform(10, 60) if self.rng.random() < b.late_opening else 0.0)
            self.opened_today = False
            self.late_sent = False
        hours = province_hours(self.province).get(sim_now.weekday())
        if hours:
            scheduled = dt.datetime.combine(sim_now.date(), hours[0], sim_now.tzinfo)
            opens = scheduled + dt.timedelta(minutes=self.late_by)
            closes = dt.datetime.combine(sim_now.date(), hours[1], sim_now.tzinfo)
            should_open = opens <= sim_now < closes
            fired = scheduled + dt.timedelta(minutes=LATE_AFTER)
            due = not self.late_sent and not self.opened_today and fired <= sim_now < closes
            if self.late_by >= LATE_AFTER and due:
                # the agent's judge fires at the threshold, while the office is still closed
                self.late_sent = True
                self.publish("event", self.late_opening(scheduled, min(sim_now, opens)))
        else:
            should_open = False
        if should_open and not self.open:
            self.open = True
            if not self.opened_today:
                self.opened_today = True
                self.publish("event", self.event("office.opened", at=opens))
        elif not should_open and self.open:
            self.open = False
            self.waiting = 0
            self.publish("event", self.event("office.closed", at=sim_now))
        if self.open:
            arrivals = _poisson(self.rng, b.customers_per_hour * sim_step / 3600)
            self.waiting += arrivals
            served = min(self.waiting, _poisson(self.rng, b.customers_per_hour * 1.1 * sim_step / 3600))
            self.waiting -= served
            self.served += served
        per_day = sim_step / 86400
        if self.printer_ok and self.open and self.rng.random() < b.printer_faults_per_day * per_day * 3:
            self.printer_ok = False
            self.publish("event", self.event("printer_out"))
        elif not self.printer_ok and self.rng.random() < sim_step / 1800:
            self.printer_ok = True
            self.publish("event", self.event("printer_ok"))
        if self.connected and not self.hung and self.rng.random() < b.outages_per_day * per_day:
            minutes = self.rng.uniform(*b.outage_minutes)
            wall = minutes * 60 / self.fleet.speed
            if self.rng.random() < b.hang_share:
                self.fleet.outages["hang"] += 1
                self.hang(wall)
            else:
                self.fleet.outages["drop"] += 1
                self.down_until = time.time() + wall
                self.drop()


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    n, p, limit = 0, 1.0, pow(2.718281828459045, -mean)
    while True:
        p *= rng.random()
        if p < limit:
            return n
        n += 1


class _Shard:
    """One thread driving many devices' paho clients through a selector."""

    def __init__(self, fleet: "SimulatedFleet", name: str):
        self.fleet = fleet
        self.devices: list[SimDevice] = []
        self.selector = selectors.DefaultSelector()
        self.timers: list = []
        self._n = 0
        self._calls: list = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    # called on the shard's thread (paho callbacks, timers)
    def register(self, device: SimDevice, sock):
        try:
            self.selector.register(sock, selectors.EVENT_READ, device)
        except (KeyError, ValueError):
            pass

    def unregister(self, sock):
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass

    def want_write(self, sock, on: bool):
        try:
            key = self.selector.get_key(sock)
        except (KeyError, ValueError):
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if on else 0)
        if key.events != events:
            self.selector.modify(sock, events, key.data)

    def after(self, seconds: float, fn):
        self._n += 1
        heapq.heappush(self.timers, (time.monotonic() + seconds, self._n, fn))

    # from any thread
    def call(self, fn):
        with self._lock:
            self._calls.append(fn)
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _run(self):
        fleet = self.fleet
        next_misc = time.monotonic()
        while not fleet.finished.is_set():
            now = time.monotonic()
            timeout = max(0.0, min(next_misc, self.timers[0][0] if self.timers else now + 1) - now)
            for key, events in self.selector.select(min(timeout, 0.5)):
                device = key.data
                if device is None:
                    try:
                        self._wake_r.recv(4096)
                    except OSError:
                        pass
                    continue
                if events & selectors.EVENT_READ:
                    device.client.loop_read()
                if events & selectors.EVENT_WRITE and device.client.socket() is not None:
                    device.client.loop_write()
            with self._lock:
                calls, self._calls = self._calls, []
            for fn in calls:
                fn()
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, fn = heapq.heappop(self.timers)
                fn()
            if now >= next_misc:
                next_misc = now + 1.0
                for device in self.devices:
                    if device.client is not None and not device.hung:
                        device.client.loop_misc()
                        if device.client.want_write() and device.client.socket() is not None:
                            device.client.loop_write()


class SimulatedFleet:
    """*n* simulated offices against the broker at *host*:*port*.

    :param passwords: device id -> password, or one password for all, or None (anonymous).
    :param speed: how many simulated seconds pass in one wall second.
    :param boards: ``fn(index, province) -> board dict or None`` for the births (default: none).
    """

    def __init__(self, n: int, *, host: str = "127.0.0.1", port: int = 1883, passwords=None,
                 topics: Topics | None = None, speed: float = 60.0, keepalive: int = 30, shards: int | None = None,
                 behaviour: Behaviour | None = None, boards=None, schedules=None, prefix: str = "sim",
                 seed: int = 1, start: dt.datetime | None = None, connect_rate: float = 2000.0,
                 reconnect_max: float = 30.0, release: ReleaseBehaviour | None = None):
        raise_fd_limit(n + 256)
        self.release_behaviour = release
        self.host, self.port, self.keepalive = host, port, keepalive
        self.topics = topics or Topics()
        self.speed = speed
        self.behaviour = behaviour or Behaviour()
        self.connect_rate = connect_rate
        self.reconnect_max = reconnect_max
        self.published = 0
        self.connects = 0
        self.disconnects = 0
        self.outages = {"drop": 0, "hang": 0}
        self.stopping = False
        self.finished = threading.Event()
        self.sim_start = (start or dt.datetime.now(TEHRAN)).astimezone(TEHRAN)
        self.wall_start = time.monotonic()
        rng = random.Random(seed)
        self.shards = [_Shard(self, f"sim-shard-{i}") for i in range(shards or max(1, min(4, n // 2500 + 1)))]
        self.devices: list[SimDevice] = []
        for i in range(1, n + 1):
            device_id = f"{prefix}-{i:05d}"
            province = PROVINCES[(i - 1) % len(PROVINCES)]
            password = passwords.get(device_id) if isinstance(passwords, dict) else passwords
            device = SimDevice(self, i, device_id, province, password=password,
                               board=boards(i, province) if boards else None,
                               schedule=schedules(i, province) if schedules else None,
                               rng=random.Random(rng.random()))
            shard = self.shards[i % len(self.shards)]
            device.shard = shard
            shard.devices.append(device)
            self.devices.append(device)

    def set_speed(self, speed: float):
        """Run the simulated clock *speed* times the wall's from now on."""
        self.sim_start, self.wall_start, self.speed = self.sim_now(), time.monotonic(), speed

    def sim_now(self) -> dt.datetime:
        return self.sim_start + dt.timedelta(seconds=(time.monotonic() - self.wall_start) * self.speed)

    def start(self) -> "SimulatedFleet":
        """Start the shards and connect every device (at *connect_rate* a second)."""
        for shard in self.shards:
            for k, device in enumerate(shard.devices):
                device.make_client()
                shard.after(k * len(self.shards) / self.connect_rate, device.connect)
            shard.after(0.5, lambda s=shard: self._tick(s, 0.5))
            shard.thread.start()
        return self

    def _tick(self, shard: _Shard, wall_step: float):
        if self.stopping:
            return
        sim_now, sim_step = self.sim_now(), wall_step * self.speed
        telemetry_every = self.behaviour.telemetry_seconds
        for device in shard.devices:
            device.tick(sim_now, sim_step)
            if telemetry_every and device.connected and not device.hung:
                # spread telemetry: each device on its own phase
                phase = (device.index * 7.919) % telemetry_every
                before = (sim_now.timestamp() - sim_step - phase) // telemetry_every
                if (sim_now.timestamp() - phase) // telemetry_every != before:
                    device.publish("telemetry", device.telemetry())
        shard.after(wall_step, lambda: self._tick(shard, wall_step))

    def connected(self) -> int:
        return sum(1 for d in self.devices if d.connected and not d.hung)

    def wait_connected(self, count: int | None = None, timeout: float = 60.0) -> bool:
        count = len(self.devices) if count is None else count
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connected() >= count:
                return True
            time.sleep(0.05)
        return False

    def on(self, device: SimDevice, fn):
        """Run ``fn(device)`` on the device's shard thread."""
        device.shard.call(lambda: fn(device))

    def drop(self, device_id: str, *, down_seconds: float = 0.0):
        """Cut one device's socket (as a SIGKILL would); it comes back after *down_seconds*."""
        def cut(d):
            d.down_until = time.time() + down_seconds
            d.drop()
        self.on(self.device(device_id), cut)

    def hang(self, device_id: str, seconds: float):
        self.on(self.device(device_id), lambda d: d.hang(seconds))

    def storm(self, *, down_seconds: float = 0.0):
        """Drop every connection at once; devices come back with random waits."""
        until = time.time() + down_seconds
        for device in self.devices:
            def cut(d, until=until):
                d.down_until = until
                d.drop()
            self.on(device, cut)

    def device(self, device_id: str) -> SimDevice:
        for d in self.devices:
            if d.id == device_id:
                return d
        raise KeyError(device_id)

    def stats(self) -> dict:
        return {"devices": len(self.devices), "connected": self.connected(), "connects": self.connects,
                "disconnects": self.disconnects, "published": self.published, "outages": dict(self.outages),
                "sim_time": self.sim_now().isoformat(timespec="minutes")}

    def stop(self, *, clean: bool = True, timeout: float = 10.0):
        """Stop every device (cleanly: offline ``stopped`` and DISCONNECT) and the shards."""
        self.stopping = True
        if clean:
            done = threading.Barrier(len(self.shards) + 1)
            for shard in self.shards:
                def stop_all(s=shard):
                    for d in s.devices:
                        d.stop()
                    s.after(1.0, lambda: done.wait())
                shard.call(stop_all)
            try:
                done.wait(timeout)
            except threading.BrokenBarrierError:
                pass
        self.finished.set()
        for shard in self.shards:
            shard.thread.join(timeout)
            for d in shard.devices:
                sock = d.client.socket() if d.client else None
                if sock is not None:
                    try:
                        sock.close()
                    except OSError:
                        pass
