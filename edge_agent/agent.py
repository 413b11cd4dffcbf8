"""The agent daemon: ``pishkhan agent``.

Start-up is local only: open the outbox, start the outbox writer, start
the MQTT session in the background, then tell systemd ``READY=1`` — without
waiting for the network. Then the main loop runs until SIGTERM or SIGINT:

- on every connect, a retained birth on ``dev/{id}/status`` (agent and
  software versions, boot id, the effective board's version and
  verification code from the store, the schedule and clock state from their
  hooks, and ``will_seq``, the number this connection's Last Will carries);
- every ``mqtt.telemetry_seconds``, a telemetry message with the agent's own
  figures (uptime, outbox depth, oldest age, drops) and every registered part;
- messages arriving on subscribed topics go to their handlers, on this
  thread (never on paho's);
- ``WATCHDOG=1`` only while this loop, paho's network thread and the outbox
  writer are all healthy; ``STATUS=`` says what it is doing.

The Last Will (retained, QoS 1) says offline with reason ``lost``. On a
clean stop the agent itself publishes offline with reason ``stopped`` and
the same sequence number, waits briefly for the broker's ack, then
disconnects cleanly (so the broker drops the will).

Parts plug in without changing this module. Each is given
:attr:`Agent.context`, a :class:`~edge_agent.context.PartContext` (store,
publisher, topics, device id, scheduling, subscribing, birth and telemetry
hooks, and a live view of the settings), never the agent itself;
``pishkhan agent`` registers the parts listed in :data:`PARTS`
(:func:`add_parts`) and keeps them by name in :attr:`Agent.parts`.

:meth:`Agent.reload_config` (the centre's ``reload_config`` command) reads
the configuration file again and puts it in force: every part reads the new
values from then on, a part that must act on a change does (a new province:
its documents' filter is subscribed instead of the old one; a new office
name, code or province: a new birth), and each changed key that no part
applies is listed in ``restart_needed``.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time

from pishkhan.protocol import payloads
from pishkhan.releases import running_version
from pishkhan.protocol.topics import Topics

from . import __version__ as agent_version
from . import circulars, commands, compliance, facts, renewal, sync, telemetry, updates
from .context import LiveSettings, PartContext
from .drain import Drainer
from pishkhan.exc import OutboxFull
from pishkhan.notify import Notifier
from .outbox import Outbox, boot_id, boottime
from .publish import Publisher
from .reload import InForce
from .session import MqttSettings, Session

log = logging.getLogger("pishkhan.agent")

#: The birth's clock when no part can say (a failing clock reading): not known, never invented.
CLOCK_UNKNOWN = {"synchronized": None, "source": None}
#: Seconds between tries to write a birth while the disk is full.
BIRTH_RETRY_SECONDS = 2.0
#: Seconds between tries to open the outbox at start while its disk is full.
OPEN_RETRY_SECONDS = 2.0
#: Settings the agent itself applies on a reload: its province's inbox filter is subscribed anew.
LIVE = ("office.province",)


class Agent:
    """The daemon for *config*. Tests pass their own *notifier* or *session_factory*."""

    def __init__(self, config, *, notifier: Notifier | None = None, session_factory=Session,
                 outbox: Outbox | None = None, store=None, clock=time.time, validate: bool = False):
        self._in_force = InForce(config)
        self.settings = MqttSettings.from_config(config)
        telemetry_seconds = config.mqtt.telemetry_seconds
        if not (isinstance(telemetry_seconds, (int, float)) and telemetry_seconds >= 1):
            from pishkhan.exc import ConfigError
            raise ConfigError(f"mqtt.telemetry_seconds: must be at least 1, got {telemetry_seconds!r}")
        self.device_id = config.device_id
        self.topics = Topics(self.settings.topic_root)
        self.clock = clock
        self.notifier = notifier or Notifier()
        self.outbox = outbox or Outbox.for_config(config)
        self.publisher = Publisher(self.outbox, self.topics, self.device_id, validate=validate)
        self.boot_id = boot_id()
        self.started_at = clock()
        self._started_mono = time.monotonic()
        self._store = store
        self._events: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._handlers: list[tuple[str, object]] = []
        self._tasks: list[list] = []  # [interval, next_at, fn]
        self.birth_parts: dict[str, object] = {}
        self.telemetry_parts: dict[str, object] = {}
        #: ``.filter(readings, agent_figures) -> (readings, full)``: changes only (edge_agent.telemetry.Changes)
        self.telemetry_changes = None
        self._will_lock = threading.Lock()
        self._will_seq: int | None = None
        self._will_state = "none"  # none | reserved | live | used
        self._will_at = 0.0
        self._will_exposed = False  # the reserved number went to a broker (its socket opened)
        self._birth_recorded = None
        self._birth_due: int | None = None  # the live connection's will number, its birth not yet written
        self._birth_retry_at = 0.0
        #: The outbox's disk was full at the last write (said once in the log, and once when room is back).
        self.disk_full = False
        self.session = None
        if self.settings.enabled:
            self.session = session_factory(
                self.settings, will=self._will, on_connected=self._connected,
                on_disconnected=self._disconnected, on_message=self._message, on_socket_open=self._socket_open,
                on_never_opened=self._never_opened,
                on_published=lambda mid, code: self.drainer.on_published(mid, code))
        self.drainer = Drainer(self.outbox, self.session, window=self.settings.inflight_window)
        self.outbox.listeners.append(self.drainer.wake)
        self.every(telemetry_seconds, self.send_telemetry)
        self._watchdog_next = 0.0
        self.loop_heartbeat = time.monotonic()
        self.exit_code = 0
        #: The parts plugged in by :func:`add_parts`, by name.
        self.parts: dict[str, object] = {}
        self._in_force.live(LIVE, on_change=self._resubscribe_inbox)
        self.settings_view = LiveSettings(lambda: self.config)
        self.context = PartContext(
            store=lambda: self.store, publisher=self.publisher, topics=self.topics, device_id=self.device_id,
            boot_id=self.boot_id, settings=self.settings_view, session=self.session, every=self.every,
            subscribe=self.subscribe, unsubscribe=self.unsubscribe, add_birth_part=self.add_birth_part,
            add_telemetry_part=self.add_telemetry_part, filter_telemetry=self._filter_telemetry,
            live=self._in_force.live, rebirth=self.rebirth, figures=self.agent_figures, board_state=self.board_state,
            reload_config=self.reload_config)
        for topic_filter in self.topics.inbox(self.device_id, config.office.province):
            self.subscribe(topic_filter, self._unhandled)

    # -- plug-in points ----------------------------------------------------------
    def add_birth_part(self, name: str, fn):
        """``fn() -> JSON value`` goes into every birth under *name* (without one, ``schedule`` is null, ``clock`` unknown)."""
        self.birth_parts[name] = fn

    def add_telemetry_part(self, name: str, fn):
        """``fn() -> dict`` goes into every telemetry message's ``readings`` under *name*; an exception leaves it out."""
        self.telemetry_parts[name] = fn

    def subscribe(self, topic_filter: str, handler, qos: int = 1):
        """Call ``handler(topic, payload, retained)`` on the main loop for each message matching *topic_filter*."""
        self._handlers = [(f, h) for f, h in self._handlers if not (f == topic_filter and h == self._unhandled)]
        self._handlers.append((topic_filter, handler))
        if self.session is not None:
            self.session.subscribe(topic_filter, qos)

    def unsubscribe(self, topic_filter: str, handler):
        """Stop calling *handler* for *topic_filter*; the session drops the filter once no handler is left."""
        self._handlers = [(f, h) for f, h in self._handlers if not (f == topic_filter and h == handler)]
        if self.session is not None and all(f != topic_filter for f, _ in self._handlers):
            self.session.unsubscribe(topic_filter)

    def every(self, seconds: float, fn, *, first: float | None = None):
        """Call ``fn()`` on the main loop every *seconds*, the first time after *first* (default *seconds*)."""
        self._tasks.append([float(seconds), time.monotonic() + (seconds if first is None else first), fn])

    def _filter_telemetry(self, changes):
        self.telemetry_changes = changes

    # -- the configuration in force ------------------------------------------------
    @property
    def config(self):
        """The configuration in force (a reload replaces it)."""
        return self._in_force.config

    def reload_config(self) -> dict:
        """Read the configuration file again and put it in force (:meth:`edge_agent.reload.InForce.reload`)."""
        return self._in_force.reload()

    def _resubscribe_inbox(self, changed: set, old):
        if "office.province" not in changed:
            return
        before = set(self.topics.inbox(self.device_id, old.office.province))
        now = self.topics.inbox(self.device_id, self.config.office.province)
        for topic_filter in before - set(now):
            self.unsubscribe(topic_filter, self._unhandled)
        for topic_filter in now:
            if topic_filter not in before:
                self.subscribe(topic_filter, self._unhandled)

    def rebirth(self) -> int | None:
        """A new birth now, on the live connection, because what it says changed (None when not connected)."""
        with self._will_lock:
            will_seq = self._will_seq if self._will_state == "live" else None
        if will_seq is None or self.session is None or not self.session.connected:
            return None
        try:
            return self.send_birth(will_seq, live_only=True)
        except OutboxFull as e:  # written when there is room
            self._disk(full=e)
            self._birth_due, self._birth_retry_at = will_seq, time.monotonic() + BIRTH_RETRY_SECONDS
            return None

    @property
    def store(self):
        if self._store is None:
            from pishkhan.store.database import open_store
            self._store = open_store(self.config)
        return self._store

    # -- paho thread → main loop ---------------------------------------------------
    def _will(self):
        """The Last Will for the next connection attempt (paho's thread, before each attempt).

        Every number reserved for a will is accounted for by a message (docs/mqtt.md, "Gaps and
        duplicates"): the birth of the connection that carried it, the clean offline, or, for an attempt
        that reached a broker but whose birth was never written (the agent died, the connection failed
        before its CONNACK, the disk was full), that will sent by the agent itself. The number is recorded as
        gone to a broker before the attempt (:meth:`edge_agent.outbox.Outbox.reserve_will`); one whose
        attempt never opened a socket is used again, after a restart too. When no number can be written
        (a full disk) this raises, and the session makes no connection without a will. The spent
        message is the will's own bytes, so no number ever goes out with two payloads."""
        with self._will_lock:
            before = self._will_seq if self._will_exposed or self._will_state in ("live", "used") else None
            self._spend_wills()
            try:
                self._will_seq, self._will_at = self.outbox.reserve_will(avoid=[before or 0], build=self._will_bytes)
            except Exception:
                self._will_seq, self._will_state, self._will_exposed = None, "none", False
                raise
            self._will_state, self._will_exposed = "reserved", False
            payload = self._will_bytes(self._will_seq, self._will_at)
        return self.topics.status(self.device_id), payload

    def _will_bytes(self, seq: int, reserved_at: float) -> bytes:
        message = payloads.offline(device=self.device_id, seq=seq, sent_at=reserved_at, reason="lost",
                                   boot_id=self.boot_id)
        return payloads.encode(payloads.in_epoch(message, getattr(self.outbox, "epoch", "")))

    def _spend_wills(self):
        """Each will number that reached a broker and that no birth announced goes out as that will, sent by
        the agent itself (the broker may send it too: the centre keeps the first of the two copies). A full
        disk leaves them in the file, for the next attempt."""
        try:
            for seq in self.outbox.unannounced_wills():
                self.publisher.spent_will(seq, boot_id=self.boot_id)
        except Exception as e:  # noqa: BLE001 - kept in ``wills``: spent on a later attempt or start
            log.warning("cannot write the unannounced Last Will numbers yet: %s", e)

    def _socket_open(self):
        with self._will_lock:
            if self._will_state == "reserved":
                self._will_exposed = True  # the file says so already (reserve_will)

    def _never_opened(self):
        """The attempt ended before its socket opened: its will number never left, it may be used again."""
        with self._will_lock:
            if self._will_state != "reserved" or self._will_exposed:
                return
            seq = self._will_seq
            try:
                self.outbox.unexpose_will(seq)
            except Exception as e:  # noqa: BLE001 - left as gone to a broker: spent later, never reused
                log.debug("cannot mark Last Will %s as unused: %s", seq, e)

    def _connected(self):
        with self._will_lock:
            self._will_state = "live" if self._will_seq is not None else "none"
            will_seq = self._will_seq
        self.drainer.on_connected()
        self._events.put(("connected", will_seq))

    def _disconnected(self, reason):
        with self._will_lock:
            if self._will_state == "live":
                self._will_state = "used"
        self._events.put(("disconnected", reason))

    def _message(self, topic, payload, retained):
        self._events.put(("message", (topic, payload, retained)))

    def _unhandled(self, topic, payload, retained):
        log.debug("no handler yet for %s (%d bytes)", topic, len(payload))

    # -- messages ----------------------------------------------------------------
    def board_state(self) -> dict | None:
        """The effective board's version and verification code, or None (no board, or the store unreadable)."""
        try:
            from pishkhan.boards.installed import effective_for_config
            board = effective_for_config(self.store, self.config)  # the config in force now
        except Exception as e:  # noqa: BLE001 - the birth goes out without the board, saying so in the log
            log.warning("cannot read the installed board for the birth: %s", e)
            return None
        if board is None:
            return None
        return {"version": board.version_label, "verification_code": board.verification_code,
                "effective_from": board.effective_from.isoformat(),
                "layers": [{"scope": l.board.scope.key, "version": l.board.version,
                            "verification_code": l.verification_code} for l in board.layers]}

    def send_birth(self, will_seq: int, *, live_only: bool = False) -> int | None:
        """The birth announcing *will_seq*; *live_only*: written only while that will's connection is live
        (None when it is not: a birth for a connection that ended would announce a number spent otherwise)."""
        parts = {"schedule": None, "clock": None}
        for name, fn in self.birth_parts.items():
            try:
                parts[name] = fn()
            except Exception as e:  # noqa: BLE001
                log.warning("birth part %s failed: %s", name, e)
                parts[name] = None
        if parts["clock"] is None:
            parts["clock"] = dict(CLOCK_UNKNOWN)
        version = running_version()
        board = self.board_state()
        with self._will_lock:
            if live_only and (self._will_state != "live" or self._will_seq != will_seq):
                return None
            seq = self.publisher.birth(agent_version=agent_version, software_version=version,
                                       boot_id=self.boot_id, started_at=self.started_at, will_seq=will_seq,
                                       protocol=self.settings.protocol, board=board,
                                       booted_at=payloads.format_time(max(0.0, self.clock() - boottime())), **parts)
        self._record_birth(version, seq)
        return seq

    def _record_birth(self, version: str, seq: int):
        """The first birth of this process is a fact in the store (audit ``agent.birth``): the update's health
        gate reads that the new version came up and said so (:mod:`pishkhan.releases.verify`)."""
        if self._birth_recorded == version:
            return
        try:
            self.store.audit("agent", "agent.birth", self.device_id, software_version=version, seq=seq,
                             boot_id=self.boot_id)
            self._birth_recorded = version
        except Exception as e:  # noqa: BLE001 - the birth is out; the health gate will say it saw none
            log.warning("cannot record the birth in the store: %s", e)

    def agent_figures(self) -> dict:
        return {"uptime_s": round(time.monotonic() - self._started_mono, 1), "outbox": self.drainer.stats()}

    def send_telemetry(self) -> int:
        readings = {}
        for name, fn in self.telemetry_parts.items():
            try:
                readings[name] = fn()
            except Exception as e:  # noqa: BLE001 - a broken reading is absent, never invented
                log.warning("telemetry part %s failed: %s", name, e)
        figures, full = self.agent_figures(), None
        if self.telemetry_changes is not None:
            readings, full = self.telemetry_changes.filter(readings, figures)
        try:
            seq = self.publisher.telemetry(agent=figures, readings=readings, full=full)
        except OutboxFull as e:  # the outbox counts it; the next one written says so (telemetry.disk_full)
            self._disk(full=e)
            return None
        self._disk(full=None)
        return seq

    # -- health --------------------------------------------------------------------
    def health(self) -> list[str]:
        """What is unhealthy now; empty when the main loop, the network thread and the outbox writer are fine."""
        problems = []
        if time.monotonic() - self.loop_heartbeat > 10:
            problems.append("main loop stalled")
        if self.session is not None and not self.session.network_alive():
            problems.append("MQTT network thread stopped")
        if not self.drainer.healthy():
            problems.append(f"outbox writer unhealthy{': ' + self.drainer.error if self.drainer.error else ''}")
        return problems

    def describe(self) -> str:
        stats = self.drainer.stats()
        if self.session is None:
            link = "MQTT disabled (mqtt.enabled = false), keeping messages in the outbox"
        else:
            link = self.session.describe()
        text = f"{link}; outbox {stats['depth']} waiting, {stats['in_flight']} in flight"
        if stats["oldest_age_s"]:
            text += f", oldest {stats['oldest_age_s']:.0f} s"
        problems = self.health()
        if problems:
            text = "UNHEALTHY: " + ", ".join(problems) + "; " + text
        return text

    def _tend_watchdog(self):
        self.loop_heartbeat = time.monotonic()
        self.notifier.status(self.describe())
        interval = self.notifier.watchdog_interval
        if interval is None or time.monotonic() < self._watchdog_next:
            return
        if not self.health():
            self.notifier.watchdog()
            self._watchdog_next = time.monotonic() + interval

    # -- life cycle ----------------------------------------------------------------
    def start(self):
        """Local start-up: everything that needs no network; then READY=1."""
        self.drainer.start()
        if self.session is not None:
            self.session.start()
        self.notifier.ready(self.describe())
        log.info("agent started for device %s (%s)", self.device_id,
                 self.settings.address if self.session else "MQTT disabled")

    def stop(self):
        """Ask the main loop to end (safe from any thread or a signal handler)."""
        self._stop.set()
        self._events.put(("stop", None))

    def run(self, *, handle_signals: bool = True, seconds: float | None = None) -> int:
        """Start, loop until :meth:`stop` (or SIGTERM/SIGINT, or *seconds*), stop cleanly."""
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        self.start()
        deadline = None if seconds is None else time.monotonic() + seconds
        try:
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                self._tick()
        finally:
            self.shutdown()
        return self.exit_code

    def _tick(self):
        now = time.monotonic()
        wait = min([0.5] + [max(0.0, t[1] - now) for t in self._tasks])
        try:
            kind, value = self._events.get(timeout=wait)
        except queue.Empty:
            kind, value = None, None
        if kind == "connected":
            self._birth_due, self._birth_retry_at = value, 0.0
        elif kind == "message":
            self._dispatch(*value)
        now = time.monotonic()
        for task in self._tasks:
            if now >= task[1]:
                task[1] = now + task[0]
                try:
                    task[2]()
                except OutboxFull as e:  # the part tries again on its next turn (what it sends is keyed)
                    self._disk(full=e)
                except Exception as e:  # noqa: BLE001 - one failing task must not stop the agent
                    log.exception("periodic task %s failed: %s", getattr(task[2], "__name__", task[2]), e)
        self._send_due_birth()
        self._tend_watchdog()

    def _send_due_birth(self):
        """The birth of the live connection, tried again every few seconds while the disk is full."""
        if self._birth_due is None or time.monotonic() < self._birth_retry_at:
            return
        try:
            self.send_birth(self._birth_due, live_only=True)  # None: that connection ended
        except OutboxFull as e:
            self._disk(full=e)
            self._birth_retry_at = time.monotonic() + BIRTH_RETRY_SECONDS
            return
        self._birth_due = None
        self._disk(full=None)

    def _disk(self, *, full):
        """Say once when the outbox's disk becomes full (*full*: the error) and once when a write passes again."""
        if bool(full) == self.disk_full:
            return
        self.disk_full = bool(full)
        if full:
            log.error("the disk is full: the agent keeps running and keeps what it has; births, events and "
                      "reports are written when there is room, telemetry is counted as dropped (%s)", full)
        else:
            log.warning("room on the disk again: writing to the outbox")

    def _dispatch(self, topic, payload, retained):
        from paho.mqtt.client import topic_matches_sub

        for topic_filter, handler in list(self._handlers):
            if topic_matches_sub(topic_filter, topic):
                try:
                    handler(topic, payload, retained)
                except Exception as e:  # noqa: BLE001
                    log.exception("handler for %s failed: %s", topic, e)

    def shutdown(self, wait: float = 5.0):
        """Publish offline (reason ``stopped``), wait up to *wait* s for its ack, disconnect, close."""
        self.notifier.stopping("stopping: publishing offline")
        try:
            with self._will_lock:  # an attempt that may have reached a broker keeps its number (spent at next start)
                seq = self._will_seq if self._will_state == "live" or (
                    self._will_state == "reserved" and not self._will_exposed) else None
                self._will_state = "used"
            seq = self.publisher.offline(reason="stopped", boot_id=self.boot_id, seq=seq)
            if self.session is not None and self.session.connected:
                deadline = time.monotonic() + wait
                while self.outbox.waiting(seq) and time.monotonic() < deadline and self.session.connected:
                    time.sleep(0.02)
        except Exception as e:  # noqa: BLE001 - stopping must finish
            log.warning("could not publish offline on stop: %s", e)
        self.drainer.stop()
        if self.session is not None:
            self.session.stop()
        self.outbox.close()
        if self._store is not None:
            self._store.close()
        log.info("agent stopped")


#: The parts ``pishkhan agent`` plugs in, by name: each ``register(context) -> part`` (facts after
#: compliance: it streams its beat).
PARTS = {"telemetry": telemetry.register, "compliance": compliance.register, "facts": facts.register,
         "sync": sync.register, "commands": commands.register, "renewal": renewal.register,
         "updates": updates.register, "circulars": circulars.register}


def add_parts(agent: Agent, parts=PARTS) -> Agent:
    """Plug each of *parts* into *agent* through its context; ``agent.parts`` keeps what each returned."""
    for name, register in parts.items():
        agent.parts[name] = register(agent.context)
    return agent


def run_agent(config, *, seconds: float | None = None) -> int:
    logging.basicConfig(level=os.environ.get("PISHKHAN_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    renewal.settle(config)  # a renewal a power cut cut short
    notifier = Notifier()
    outbox = wait_for_outbox(config, notifier=notifier)
    if outbox is None:
        return 0
    return add_parts(Agent(config, notifier=notifier, outbox=outbox)).run(seconds=seconds)


def wait_for_outbox(config, *, notifier: Notifier, retry: float = OPEN_RETRY_SECONDS):
    """The outbox, opened; while it cannot be for a full disk the process stays up, tells systemd it is ready
    and well, says why once, and tries again every *retry* s. None when SIGTERM or SIGINT came meanwhile."""
    stop = threading.Event()
    said = None
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stop.is_set():
            try:
                outbox = Outbox.for_config(config)
            except OutboxFull as e:  # any other error ends the process, as before (systemd says so)
                if type(e) is not said:
                    log.error("cannot open the outbox yet, trying again every %g s: %s", retry, e)
                    said = type(e)
                notifier.ready(f"waiting for the outbox: {e}")
                notifier.watchdog()
                stop.wait(retry)
                continue
            if said is not None:
                log.warning("the outbox is open")
            return outbox
        return None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
