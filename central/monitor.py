"""The fleet monitor: the centre's MQTT client that keeps the fleet database.

This module is the MQTT side — subscriptions, the network thread,
acknowledgements and back-pressure. What is written lives elsewhere: the
writer thread (:mod:`central.monitor_writer`), the fleet's state
(:mod:`central.fleet`), the official documents
(:mod:`central.official_record`; the questions about them in
:mod:`central.official`).

- Subscribes (QoS 1; MQTT 3.1.1 by default, 5 on request) to every device stream,
  ``{root}/dev/+/{status,telemetry,event,report,reported,result}``; with
  *share* through the shared subscription ``$share/{share}/…``, so several
  monitors split the fleet's messages between them and keep one PostgreSQL
  database (the database, not the monitor, counts duplicates and gaps).
- Subscribes, never shared (a shared subscription gets no retained
  messages), to the centre's retained signed documents, ``{root}/all/#`` and
  ``{root}/province/+/#``: recorded as official only when they verify
  against the centre's trust list (*trust*, required) with a key allowed
  for their scope.
- **A message is acknowledged only once the writer is done with it**
  (paho's manual acknowledgements): its row committed, or its refusal
  counted. ``on_message`` only hands the message to the writer; the
  writer's "done" comes back to the network thread, which sends the
  PUBACKs. A PUBACK is sent only on the connection that received the
  message (a later connection's packet ids name other messages); what was
  not acknowledged is sent again by the broker to a monitor with a session
  (a fixed *client_id*), and written twice is a duplicate the database
  already counts. So a monitor killed at any moment loses nothing the
  broker held for it.
- Above *max_pending* messages handed over and not yet done, the monitor
  stops reading its socket until the writer catches up (back-pressure: the
  rest wait at the broker, which also sends no more than its in-flight
  window — Mosquitto's ``max_inflight_messages`` for 3.1.1, the client's
  Receive Maximum for 5 — before the acknowledgements come).
- One network thread drives paho through its external-loop calls
  (``loop_read``/``loop_write``/``loop_misc`` on ``select``): an
  acknowledgement goes straight to the socket, and both the packets read in
  a burst and the acknowledgements of a written batch are sent with the
  socket corked, so they leave together. It reconnects with growing waits
  (0.5 s to 30 s); subscriptions are made again in every ``on_connect``.
- Its housekeeping thread (:mod:`central.monitor_housekeeping`) writes the
  monitor's own health into the database every few seconds (``monitors``:
  messages in, refused by reason, lag, writer queue; read by ``/metrics``)
  and prunes old sequence numbers and event budgets every hour.
- :meth:`Monitor.problems` is empty while both threads are alive and the
  writer is not stuck; the command ends the process when a thread has died
  and feeds systemd's watchdog only while it is empty
  (systemd/pishkhan-monitor.service).

Offline: a device's Last Will (sent by the broker after 1.5 × the device's
keepalive without a packet, or at once when its socket drops) marks it
offline through :class:`~central.fleet.Fleet`.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import secrets
import select
import socket
import threading
import time
from urllib.parse import urlsplit

from central.fleet import Fleet
from central.monitor_housekeeping import SEEN_DAYS, Housekeeper
from central.monitor_writer import WRITER_DEAD, Message, Writer
from central.official_record import OfficialRecord
from central.trust import TrustList
from pishkhan.exc import ConfigError, PishkhanError
from pishkhan.protocol.payloads import format_time
from pishkhan.protocol.topics import DEVICE_STREAMS, Topics

log = logging.getLogger("pishkhan.central.monitor")

NETWORK_DEAD = "network_dead"

__all__ = ["Monitor", "parse_broker_url"]


def _pending(sock) -> int:
    """Bytes a TLS socket has decrypted and kept, which ``select`` cannot see."""
    pending = getattr(sock, "pending", None)
    return pending() if pending else 0


@contextlib.contextmanager
def _corked(sock):
    cork = getattr(socket, "TCP_CORK", None)
    try:
        if cork is not None:
            sock.setsockopt(socket.IPPROTO_TCP, cork, 1)
    except OSError:
        cork = None
    try:
        yield
    finally:
        if cork is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, cork, 0)
            except OSError:
                pass  # closed during the burst


def parse_broker_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (port 1883 if absent) as ``(host, port)``; :exc:`ConfigError` otherwise."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme != "mqtt" or not parts.hostname:
        raise ConfigError(f"--broker: expected mqtt://HOST[:PORT], got {url!r}")
    try:
        port = parts.port or 1883
    except ValueError:
        raise ConfigError(f"--broker: the port in {url!r} is not a number 1-65535") from None
    return parts.hostname, port


class Monitor:
    """The centre's subscriber, writing the fleet's messages into *db*.

    :param db: a :class:`~central.db.FleetDB`.
    :param trust: the centre's :class:`~central.trust.TrustList` (required:
        a document is official only if it verifies against it).
    :param host, port: the broker.
    :param username, password: the centre's broker login.
    :param share: the shared-subscription group, or None for the whole fleet.
    :param protocol: ``"3.1.1"`` (the default) or ``"5"``, for this subscribing connection only.
    :param max_pending: most messages received and not yet done; above it
        the monitor stops reading its socket until the database has caught up,
        so a slow or absent database holds messages at the broker (which
        resends what was not acknowledged) instead of in this process's memory.
    :param client_id: a fixed client id keeps a session at the broker: what the
        fleet sends while this monitor is stopped or cut off, and what it
        received and had not yet acknowledged, waits for it there (QoS 1, up
        to the broker's ``max_queued_messages``) and is written when it
        connects again. Without one, a random id and a clean session: the
        retained births and documents still tell a restarted monitor where
        the fleet stands.
    :param stuck_after: seconds one write may run before the writer counts as stuck.
    :param seen_days: days a sequence number is kept to tell a duplicate (and the receive times the
        verification of a day reads): :data:`central.monitor_housekeeping.SEEN_DAYS` by default.

    The monitor subscribes with MQTT 3.1.1 unless told otherwise: it uses
    nothing of MQTT 5 that 3.1.1 lacks on Mosquitto, EMQX or HiveMQ (they take
    ``$share/…`` from 3.1.1 clients and refuse a subscription with SUBACK
    0x80), and paho builds an MQTT 5 ``Properties`` object for every message
    it receives, which makes the monitor slower on 5 (bench/fleet.py; docs/scale.md).
    """

    PROTOCOLS = ("3.1.1", "5")

    STREAMS = DEVICE_STREAMS

    def __init__(self, db, *, trust: TrustList, host: str = "127.0.0.1", port: int = 1883,
                 username: str | None = None, password: str | None = None, share: str | None = None,
                 topics: Topics | None = None, batch_size: int = 1000, batch_ms: int = 100,
                 max_pending: int = 20000, keepalive: int = 30, client_id: str | None = None, validate: bool = True,
                 protocol: str = "3.1.1", stuck_after: float = 120.0, seen_days: float = SEEN_DAYS):
        import paho.mqtt.client as mqtt

        if not isinstance(trust, TrustList):
            raise ConfigError("--trust: the monitor needs the centre's trust list (a file of PEM public keys, "
                              "each after a 'Scope:' line); a document is official only if it verifies against it")
        if share is not None and (not share or any(c in share for c in "/+#\0")):
            raise ConfigError(f"--share: a group name is one topic level without '/', '+', '#', got {share!r}")
        if protocol not in self.PROTOCOLS:
            raise ConfigError(f"--protocol: the monitor speaks MQTT {' or '.join(self.PROTOCOLS)}, got {protocol!r}")
        self.protocol = protocol
        self.db = db
        self.topics = topics or Topics()
        self.fleet = Fleet(db, topics=self.topics, validate=validate)
        self.writer = Writer(self.fleet, OfficialRecord(db, trust=trust, topics=self.topics),
                             on_done=self._done, batch_size=batch_size, batch_ms=batch_ms, stuck_after=stuck_after)
        self.share = share
        self.max_pending = max_pending
        self.host, self.port, self.keepalive = host, port, keepalive
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._network: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()  # stop() and the writer wake the network thread's select
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._acks: collections.deque = collections.deque()
        self._connection = 0  # which connection a message came on; its PUBACK goes only there
        self.persistent = bool(client_id)
        self.client_id = client_id or f"pishkhan-monitor-{secrets.token_hex(4)}"
        self.housekeeper = Housekeeper(self.fleet, monitor_id=self.client_id, figures=self.figures,
                                       seen_days=seen_days)
        v5 = protocol == "5"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=self.client_id,
                                  protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                                  clean_session=None if v5 else not self.persistent, manual_ack=True)
        if username:
            self.client.username_pw_set(username, password)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    # -- what the writer counted ------------------------------------------------------
    received = property(lambda self: self.writer.received, doc="Messages done: written or refused.")
    refused = property(lambda self: self.writer.refused, doc="Messages refused.")
    documents = property(lambda self: self.writer.documents, doc="Documents recorded as official.")
    refusals = property(lambda self: self.writer.refusals, doc="Refusals by reason.")
    _pending = property(lambda self: self.writer.pending)

    def figures(self) -> dict:
        """This monitor's own health, as :class:`~central.monitor_housekeeping.Housekeeper` writes it."""
        w = self.writer
        return {"connected": self.connected.is_set(), "received": w.received, "refused": w.refused,
                "refusals": dict(w.refusals), "pending": w.pending, "lag_seconds": round(w.lag_seconds, 3),
                "last_message_at": format_time(w.last_message_at) if w.last_message_at else None}

    # -- subscriptions ------------------------------------------------------------
    def filters(self) -> list[str]:
        """The topic filters this monitor subscribes to."""
        prefix = f"$share/{self.share}/" if self.share else ""
        streams = [prefix + self.topics.all_devices(s) for s in self.STREAMS]
        return streams + [f"{self.topics.root}/all/#", f"{self.topics.root}/province/+/#"]

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("the broker refused the monitor: %s", reason_code)
            return
        self._connection += 1
        self._delay = self.RECONNECT_MIN
        log.info("connected to %s:%d; subscribing to %d filters", self.host, self.port, len(self.filters()))
        client.subscribe([(f, 1) for f in self.filters()])
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        bad = [str(rc) for rc in reason_codes if rc.is_failure]
        if bad:
            log.error("the broker refused subscriptions: %s", ", ".join(bad))
        else:
            self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        self.subscribed.clear()
        self._connection += 1  # no PUBACK of the lost connection goes out on the next
        if not self._stop.is_set():
            log.warning("lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        ack = (self._connection, message.mid, message.qos) if message.qos else None
        self.writer.put(Message(message.topic, message.payload, time.time(), ack))

    def _done(self, messages):
        """The writer's call: *messages* are committed or refused; acknowledge them from the network thread."""
        self._acks.extend(m.ack for m in messages if m.ack is not None)
        try:
            self._wake_w.send(b"a")
        except (BlockingIOError, OSError):
            pass  # a wake-up is already waiting

    def _send_acks(self, sock):
        """Send the PUBACKs the writer has released, together, on the connection they belong to."""
        if not self._acks:
            return
        with _corked(sock):
            while self._acks:
                connection, mid, qos = self._acks.popleft()
                if connection == self._connection and self.client.socket() is sock:
                    self.client.ack(mid, qos)

    # -- running ---------------------------------------------------------------
    def start(self, *, wait: float | None = 10.0) -> "Monitor":
        """Connect in the background and start the writer; with *wait*, until subscribed."""
        self._stop.clear()
        self._delay = self.RECONNECT_MIN
        self._clear_wake()
        self.writer.start()
        self.client.connect_async(self.host, self.port, self.keepalive, **self._session())
        self._network = threading.Thread(target=self._network_loop, name="monitor-network", daemon=True)
        self._network.start()
        self.housekeeper.start()
        if wait and not self.subscribed.wait(wait):
            raise PishkhanError(f"the monitor could not subscribe at {self.host}:{self.port} within {wait} s")
        return self

    #: The problems no waiting cures: the process must end (and systemd start it again).
    FATAL = (NETWORK_DEAD, WRITER_DEAD)

    def problems(self) -> list[tuple[str, str]]:
        """``(reason, sentence)`` for what is wrong now — ``network_dead``, ``writer_dead``,
        ``writer_stuck`` (:data:`FATAL` are the first two). Empty when all is well."""
        alive = self._network is not None and self._network.is_alive()
        found = [] if alive else [(NETWORK_DEAD, "the network thread is dead")]
        return found + self.writer.problems()

    #: Waits between attempts to reach the broker, seconds.
    RECONNECT_MIN, RECONNECT_MAX = 0.5, 30.0

    def _network_loop(self):
        """Connect, read, acknowledge, ping and reconnect until stopped; then acknowledge what the writer
        finishes and disconnect."""
        while not self._stop.is_set():
            try:
                self._network_step()
            except Exception:  # noqa: BLE001 - this thread must outlive any one fault; paho reconnects
                log.exception("the monitor's network loop failed; dropping the connection and starting again")
                try:
                    self._disconnect()
                except Exception:  # noqa: BLE001
                    pass
                self._backoff()
        self._finish()

    def _finish(self):
        """Read no more; let the writer finish what it holds, acknowledge it, disconnect."""
        self.writer.finish_soon()
        while self.writer.alive() and self.client.socket() is not None:
            self._wait(0.05)
            sock = self.client.socket()
            if sock is not None:
                self._send_acks(sock)
                if self.client.want_write():
                    self.client.loop_write()
                self.client.loop_misc()
        sock = self.client.socket()
        if sock is not None:
            self._send_acks(sock)
            self._disconnect()

    def _disconnect(self):
        """Queue DISCONNECT and write it from this thread (paho closes the socket once it is out)."""
        self.client.disconnect()
        self.client.loop_write()

    def _network_step(self):
        """One turn: connect if need be, else wait for the socket and read, acknowledge, write and ping."""
        import paho.mqtt.client as mqtt

        client = self.client
        sock = client.socket()
        if sock is None:
            try:
                client.reconnect()
            except (OSError, ValueError) as e:
                log.warning("cannot reach the broker at %s:%d (%s); trying again in %.1f s",
                            self.host, self.port, e, self._delay)
                self._backoff()
            return
        full = self._full()  # the writer is behind: leave new messages in the socket and at the broker
        try:
            readable, writable, _ = select.select([self._wake_r] if full else [sock, self._wake_r],
                                                  [sock] if client.want_write() else [], [],
                                                  0.05 if full else 0.0 if _pending(sock) or self._acks else 1.0)
        except (OSError, ValueError):  # the socket closed under us: paho notices below
            readable, writable = [sock], []
        if self._wake_r in readable:
            self._clear_wake()
        self._send_acks(sock)
        rc = mqtt.MQTT_ERR_SUCCESS
        if not full and (sock in readable or _pending(sock)):
            rc = self._read_burst(sock)
        if rc == mqtt.MQTT_ERR_SUCCESS and sock in writable and client.socket() is not None:
            rc = client.loop_write()
        if client.socket() is not None:
            client.loop_misc()
        if client.socket() is None and not self._stop.is_set():
            self._backoff()  # the link dropped or the broker refused us: paho said so through its callbacks

    #: Most packets read in one go before the acknowledgements are let out.
    BURST = 100

    def _read_burst(self, sock):
        """Read the packets that have arrived, up to :attr:`BURST`, with the socket corked."""
        import paho.mqtt.client as mqtt

        rc = mqtt.MQTT_ERR_SUCCESS
        with _corked(sock):
            for _ in range(self.BURST):
                rc = self.client.loop_read()
                if rc or self.client.socket() is not sock or self._full():
                    break
                if not _pending(sock) and not select.select([sock], [], [], 0)[0]:
                    break
        return rc

    def _full(self) -> bool:
        return self.writer.pending >= self.max_pending

    def _backoff(self):
        """Wait before the next attempt, twice as long as the last (reset by a successful connect)."""
        self._wait(self._delay)
        self._delay = min(self._delay * 2, self.RECONNECT_MAX)

    def _wait(self, seconds):
        readable, _, _ = select.select([self._wake_r], [], [], seconds)
        if readable:
            self._clear_wake()

    def _clear_wake(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    #: How long the broker keeps an MQTT 5 session of a monitor that is away.
    SESSION_EXPIRY = 7 * 24 * 3600

    def _session(self) -> dict:
        if self.protocol != "5":
            return {}  # 3.1.1: clean_session was given to the client
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        if not self.persistent:
            return {"clean_start": True}
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.SESSION_EXPIRY
        return {"clean_start": False, "properties": properties}

    def stop(self):
        """Stop reading, write and acknowledge what was received, disconnect, and stop the writer."""
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._network:
            self._network.join(90)
        self.writer.finish()
        self.housekeeper.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every message received so far is written or refused."""
        return self.writer.drain(timeout)
