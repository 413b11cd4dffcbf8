"""The fleet monitor: the centre's MQTT client that keeps the fleet database.

- Subscribes (QoS 1; MQTT 3.1.1 by default, 5 on request) to every device stream,
  ``{root}/dev/+/{status,telemetry,event,report,reported,result}``; with
  *share* through the shared subscription ``$share/{share}/…``, so several
  monitors split the fleet's messages between them and keep one PostgreSQL
  database (the database, not the monitor, counts duplicates and gaps).
- Subscribes, never shared (a shared subscription gets no retained
  messages), to the centre's retained signed documents, ``{root}/all/#`` and
  ``{root}/province/+/#``, and records each (kind, scope, version,
  verification code, effective date, issuer, envelope) in ``official``. With
  a trust list, a document whose signature does not verify is refused.
- ``on_message`` only appends to a queue. One writer thread takes batches —
  up to *batch_size* messages or *batch_ms* milliseconds — and hands them to
  :meth:`central.fleet.Fleet.ingest` in one transaction. A malformed message
  is refused, counted (:attr:`Monitor.refused`) and logged; the monitor goes
  on. A database that is down keeps the batch and is tried again; a message
  the database will not store is found by splitting its batch and refused
  alone. Above *max_pending* messages not yet written, the monitor stops
  reading its socket until the writer catches up (back-pressure: the rest
  wait at the broker).
- One network thread drives paho through its external-loop calls
  (``loop_read``/``loop_write``/``loop_misc`` on ``select``), so an
  acknowledgement goes straight to the socket (under ``loop_start`` paho
  also writes a wake-up byte to an internal socket pair for every PUBACK
  and wakes its own ``select`` for it), and reads what has arrived in
  bursts with the socket corked, so the PUBACKs of a burst leave together.
  bench/fleet.py, the monitor on one core draining a backlog: 4,894
  messages/s under ``loop_start``, 5,511 with this loop, 6,030 corked. It
  reconnects with growing waits (0.5 s to 30 s); subscriptions are made
  again in every ``on_connect``. Everything the monitor knows is in the
  database, so a restarted monitor knows the fleet; with a fixed
  *client_id* the broker also keeps what the fleet sent while it was away.

Offline: a device's Last Will (sent by the broker after 1.5 × the device's
keepalive without a packet, or at once when its socket drops) marks it
offline through :class:`~central.fleet.Fleet`. :func:`late_devices` names the
online devices that have said nothing for 3 × their telemetry interval, and
:func:`out_of_date` those whose board or schedule is older than the official
one for their scope.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import queue
import secrets
import select
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from central.fleet import Fleet
from pishkhan.exc import ConfigError, KeyFileError, PishkhanError, ProtocolError
from pishkhan.protocol.payloads import format_time
from pishkhan.protocol.topics import DEVICE_STREAMS, Topics

log = logging.getLogger("pishkhan.central.monitor")


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


def load_trust(path) -> dict:
    """The centre's public keys in *path* (one or more PEM blocks), by fingerprint."""
    from pishkhan.boards.signing import PublicKey

    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as e:
        raise KeyFileError(f"--trust: cannot read {path}: {e}") from None
    end = "-----END PUBLIC KEY-----"
    blocks = [b.strip() + "\n" + end + "\n" for b in text.split(end) if b.strip()]
    if not blocks:
        raise KeyFileError(f"--trust: {path} holds no PEM public key (-----BEGIN PUBLIC KEY-----)")
    keys = [PublicKey.from_pem(b, source=f"{path} key {i + 1}") for i, b in enumerate(blocks)]
    return {k.fingerprint: k for k in keys}


class Monitor:
    """The centre's subscriber, writing the fleet's messages into *db*.

    :param db: a :class:`~central.db.FleetDB`.
    :param host, port: the broker.
    :param username, password: the centre's broker login.
    :param share: the shared-subscription group, or None for the whole fleet.
    :param trust: fingerprint -> PublicKey for the signed documents, or None (recorded unverified).
    :param protocol: ``"3.1.1"`` (the default) or ``"5"``, for this subscribing connection only.
    :param max_pending: most messages received and not yet written; above it
        the monitor stops reading its socket until the database has caught up,
        so a slow or absent database holds messages at the broker (which
        resends what was not acknowledged) instead of in this process's memory.
    :param client_id: a fixed client id keeps a session at the broker: what the
        fleet sends while this monitor is stopped or cut off waits for it
        there (QoS 1, up to the broker's ``max_queued_messages``) and is
        written when it connects again. Without one, a random id and a clean
        session: the retained births and documents still tell a restarted
        monitor where the fleet stands.

    The monitor subscribes with MQTT 3.1.1 unless told otherwise: it uses
    nothing of MQTT 5 that 3.1.1 lacks on Mosquitto, EMQX or HiveMQ (they take
    ``$share/…`` from 3.1.1 clients and refuse a subscription with SUBACK
    0x80), and paho builds an MQTT 5 ``Properties`` object for every message
    it receives: bench/fleet.py (``--devices 300 --feed 30000``) measured the
    whole monitor on one core at 5,965 messages/s with ``"3.1.1"`` and 4,563
    and 4,585 with ``"5"``.
    """

    PROTOCOLS = ("3.1.1", "5")

    STREAMS = DEVICE_STREAMS

    def __init__(self, db, *, host: str = "127.0.0.1", port: int = 1883, username: str | None = None,
                 password: str | None = None, share: str | None = None, topics: Topics | None = None,
                 trust: dict | None = None, batch_size: int = 1000, batch_ms: int = 100, max_pending: int = 20000,
                 keepalive: int = 30, client_id: str | None = None, validate: bool = True,
                 protocol: str = "3.1.1"):
        import paho.mqtt.client as mqtt

        if share is not None and (not share or any(c in share for c in "/+#\0")):
            raise ConfigError(f"--share: a group name is one topic level without '/', '+', '#', got {share!r}")
        if protocol not in self.PROTOCOLS:
            raise ConfigError(f"--protocol: the monitor speaks MQTT {' or '.join(self.PROTOCOLS)}, got {protocol!r}")
        self.protocol = protocol
        self.db = db
        self.topics = topics or Topics()
        self.fleet = Fleet(db, topics=self.topics, validate=validate)
        self.share = share
        self.trust = trust
        self.batch_size = batch_size
        self.batch_ms = batch_ms
        self.max_pending = max_pending
        self.host, self.port, self.keepalive = host, port, keepalive
        self.received = 0
        self.refused = 0
        self.documents = 0
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self._network: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()  # stop() wakes the network thread's select
        self._wake_r.setblocking(False)
        self._idle = threading.Condition()
        self._pending = 0
        self.persistent = bool(client_id)
        v5 = protocol == "5"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"pishkhan-monitor-{secrets.token_hex(4)}",
                                  protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                                  clean_session=None if v5 else not self.persistent)
        if username:
            self.client.username_pw_set(username, password)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

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
        if not self._stop.is_set():
            log.warning("lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        with self._idle:
            self._pending += 1
        self._queue.put((message.topic, message.payload, time.time()))

    # -- running ---------------------------------------------------------------
    def start(self, *, wait: float | None = 10.0) -> "Monitor":
        """Connect in the background and start the writer; with *wait*, until subscribed."""
        self._stop.clear()
        self._delay = self.RECONNECT_MIN
        try:
            while self._wake_r.recv(64):  # a wake-up left from an earlier stop()
                pass
        except BlockingIOError:
            pass
        self._writer = threading.Thread(target=self._write_loop, name="monitor-writer", daemon=True)
        self._writer.start()
        self.client.connect_async(self.host, self.port, self.keepalive, **self._session())
        self._network = threading.Thread(target=self._network_loop, name="monitor-network", daemon=True)
        self._network.start()
        if wait and not self.subscribed.wait(wait):
            raise PishkhanError(f"the monitor could not subscribe at {self.host}:{self.port} within {wait} s")
        return self

    #: Waits between attempts to reach the broker, seconds.
    RECONNECT_MIN, RECONNECT_MAX = 0.5, 30.0

    def _network_loop(self):
        """Connect, read, acknowledge, ping and reconnect until stopped; then disconnect."""
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
        if self.client.socket() is not None:
            self._disconnect()

    def _disconnect(self):
        """Queue DISCONNECT and write it from this thread (paho closes the socket once it is out)."""
        self.client.disconnect()
        self.client.loop_write()

    def _network_step(self):
        """One turn: connect if need be, else wait for the socket and read, write and ping."""
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
                                                  0.05 if full else 0.0 if _pending(sock) else 1.0)
        except (OSError, ValueError):  # the socket closed under us: paho notices below
            readable, writable = [sock], []
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
        """Read the packets that have arrived, up to :attr:`BURST`, with the socket corked.

        paho writes each PUBACK as it handles its PUBLISH, one ``send`` each;
        corked (Linux ``TCP_CORK``), the kernel keeps them and lets them out
        together when the burst ends, instead of a loopback or network round
        of work per 4-byte packet.
        """
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
        return self._pending >= self.max_pending

    def _backoff(self):
        """Wait before the next attempt, twice as long as the last (reset by a successful connect)."""
        self._wait(self._delay)
        self._delay = min(self._delay * 2, self.RECONNECT_MAX)

    def _wait(self, seconds):
        readable, _, _ = select.select([self._wake_r], [], [], seconds)
        if readable:
            try:
                self._wake_r.recv(64)
            except BlockingIOError:
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
        """Disconnect, write what is queued, and stop the writer."""
        self._stop.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._network:
            self._network.join(30)
        self._queue.put(None)
        if self._writer:
            self._writer.join(60)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every message received so far is in the database."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.1))
        return True

    def _write_loop(self):
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.batch_ms / 1000
            done = False
            while len(batch) < self.batch_size:
                left = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    done = True
                    break
                batch.append(item)
            self._write(batch)
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()
            if done:
                return

    def _write(self, batch):
        devices, documents = [], []
        for topic, payload, at in batch:
            (devices if "/dev/" in topic else documents).append((topic, payload, format_time(at)))
        for topic, payload, at in documents:
            self._document(topic, payload, at)
        if devices:
            self._ingest(devices)

    def _ingest(self, messages):
        """Write *messages*; a batch the database will not take is split until the message at fault is found.

        A database that is down or locked is waited for (0.5 s, doubling to
        30 s) and nothing is lost; a message the database refuses while it
        takes others (a value it cannot store) is refused, counted and
        logged like a malformed one, so one message never stops the fleet's.
        """
        wait = 0.5
        while True:
            try:
                counts = self.fleet.ingest(messages)
            except Exception as e:  # noqa: BLE001 - FleetDBError, or a driver's own (OverflowError …)
                if self._database_works():
                    if len(messages) == 1:
                        self.received += 1
                        self.refused += 1
                        log.error("refused a message on %s that the fleet database will not store: %s",
                                  messages[0][0], e)
                        return
                    half = len(messages) // 2
                    self._ingest(messages[:half])
                    self._ingest(messages[half:])
                    return
                if self._stop.is_set() and wait > 8:
                    log.error("giving up on %d messages: %s", len(messages), e)
                    return
                log.error("cannot write %d messages, trying again in %.1f s: %s", len(messages), wait, e)
                time.sleep(wait)
                wait = min(wait * 2, 30)
                continue
            self.received += len(messages)
            self.refused += counts.refused
            return

    def _database_works(self) -> bool:
        try:
            self.db.write(lambda c: c.execute("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001
            return False

    # -- the centre's documents ----------------------------------------------------
    def _document(self, topic, payload, received_at):
        self.received += 1
        if not payload:
            return  # a retained document cleared
        try:
            row = official_row(topic, payload, topics=self.topics, trust=self.trust)
        except PishkhanError as e:
            self.refused += 1
            log.warning("refused a document on %s: %s", topic, e)
            return
        self.db.write(lambda c: c.execute(
            "INSERT INTO official(scope_key, kind, version, verification_code, effective_from, issuer, "
            "published_at, envelope) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (kind, scope_key, version) DO NOTHING",
            (row["scope_key"], row["kind"], row["version"], row["verification_code"], row["effective_from"],
             row["issuer"], received_at, row["envelope"])))
        self.documents += 1
        log.info("official %s for %s: version %s (%s)", row["kind"], row["scope_key"], row["version"],
                 row["verification_code"])


def official_row(topic: str, payload: bytes, *, topics: Topics, trust: dict | None) -> dict:
    """The ``official`` row for a signed document on *topic*; :exc:`PishkhanError` saying why not."""
    from pishkhan.boards.signing import verification_code, verify

    info = topics.parse(topic)
    if info.scope not in ("all", "province"):
        raise ProtocolError(f"{topic}: not a national or provincial document")
    try:
        envelope = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"{topic}: the document is not UTF-8 JSON: {e}") from None
    if trust is not None:
        document, _key = verify(envelope, trust)
    else:
        document = envelope.get("payload") if isinstance(envelope, dict) else None
        if not isinstance(document, dict):
            raise ProtocolError(f"{topic}: not a signed envelope (no payload object)")
    if info.kind == "board":
        from pishkhan.boards.document import parse_board
        parsed = parse_board(document)
    elif info.kind in ("schedule", "holidays"):
        from pishkhan.schedule.document import parse_document
        parsed = parse_document(document)
        if getattr(parsed, "kind", info.kind) != info.kind:
            raise ProtocolError(f"{topic}: a {info.kind} topic carries a {parsed.kind} document")
    else:
        raise ProtocolError(f"{topic}: the monitor does not record {info.kind} documents")
    expected = "national" if info.scope == "all" else f"province:{info.province}"
    if parsed.scope.key != expected:
        raise ProtocolError(f"{topic}: the document's scope is {parsed.scope.key}, the topic's {expected}")
    return {"kind": info.kind, "scope_key": parsed.scope.key, "version": int(parsed.version),
            "verification_code": verification_code(envelope), "effective_from": parsed.effective_from.isoformat(),
            "issuer": parsed.issuer, "envelope": json.dumps(envelope, ensure_ascii=False)}


# -- questions the dashboard asks ------------------------------------------------
def late_devices(db, *, telemetry_seconds: float = 60, now: dt.datetime | None = None) -> list[str]:
    """Online devices whose last message is older than 3 × *telemetry_seconds* (their telemetry interval)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    before = format_time(now - dt.timedelta(seconds=3 * telemetry_seconds))
    rows = db.query("SELECT device_id FROM devices WHERE online = 1 AND (last_seen IS NULL OR last_seen < ?) "
                    "ORDER BY device_id", (before,))
    return [r["device_id"] for r in rows]


def current_official(db, *, kind: str, today: dt.date | None = None) -> dict[str, dict]:
    """scope key -> the newest official *kind* in force on *today* (version, verification_code, …)."""
    today = (today or dt.date.today()).isoformat()
    rows = db.query("SELECT scope_key, version, verification_code, effective_from, issuer FROM official "
                    "WHERE kind = ? AND effective_from <= ? ORDER BY scope_key, version", (kind, today))
    return {r["scope_key"]: r for r in rows}  # the last (highest version) of each scope wins


def out_of_date(db, *, kind: str = "board", today: dt.date | None = None) -> list[dict]:
    """Devices whose *kind* (``board`` or ``schedule``) is older than the official one for their scope.

    A board is out of date when, for the national scope or the device's
    province, the centre has published a higher version than the layer the
    device shows (or it shows none). A schedule is compared with its
    province's official schedule, else the national one. Each item:
    ``{"device_id", "province", "scope", "shows", "official", "official_code"}``.
    """
    if kind not in ("board", "schedule"):
        raise ProtocolError(f"out_of_date: kind must be board or schedule, got {kind!r}")
    official = current_official(db, kind=kind, today=today)
    out = []
    for row in db.query(f"SELECT device_id, province, {kind} AS shown FROM devices ORDER BY device_id"):
        shown = json.loads(row["shown"]) if row["shown"] else None
        province_key = f"province:{row['province']}" if row["province"] else None
        if kind == "board":
            layers = {l.get("scope"): l.get("version") for l in (shown or {}).get("layers") or []}
            for scope in ("national", province_key):
                if scope and scope in official and (layers.get(scope) or 0) < official[scope]["version"]:
                    out.append({"device_id": row["device_id"], "province": row["province"], "scope": scope,
                                "shows": layers.get(scope), "official": official[scope]["version"],
                                "official_code": official[scope]["verification_code"]})
                    break
        else:
            scope = province_key if province_key in official else ("national" if "national" in official else None)
            version = (shown or {}).get("version")
            if scope and (version or 0) < official[scope]["version"]:
                out.append({"device_id": row["device_id"], "province": row["province"], "scope": scope,
                            "shows": version, "official": official[scope]["version"],
                            "official_code": official[scope]["verification_code"]})
    return out
