"""The MQTT connection to the centre's broker (paho-mqtt 2.x).

- Started with ``connect_async`` and ``loop_start``: :meth:`Session.start`
  returns at once, so a device that boots without network still starts and
  its office runs; paho's network thread keeps trying.
- MQTT 5 by default, 3.1.1 by ``mqtt.protocol``; clean start, because the
  durable state is the outbox, not the broker's session. TLS with a CA file
  and optionally a client certificate and key; or username and a password
  read from ``mqtt.password_file``.
- Reconnect waits grow from ``reconnect_min_seconds`` to
  ``reconnect_max_seconds`` with random jitter (half the wait is random), so
  ten thousand offices do not come back in step after a broker restart.
- Subscriptions are made again in every ``on_connect``.
- The Last Will is asked of a callback just before each connection attempt
  (``on_pre_connect``), so it can carry a fresh sequence number; another is
  told when the attempt's socket opens (``on_socket_open``), just before the
  CONNECT carrying that will is sent, and another when an attempt ended
  before its socket opened (``on_never_opened``: its will never left). When
  the will cannot be made (its number cannot be written: a full disk), the
  attempt's socket is shut before the CONNECT: no connection without a will
  whose number is accounted for; paho tries again after its wait.
- No topic aliases: a QoS 1 message resent after a reconnect would carry an
  alias the new connection does not know (paho issue 893).
- Callbacks run on paho's thread and must be quick; the agent hands work
  to its own threads.
"""

from __future__ import annotations

import logging
import random
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pishkhan.exc import ConfigError

log = logging.getLogger("pishkhan.agent.session")

PROTOCOLS = ("5", "3.1.1")


class _QuietRetry(logging.Filter):
    """paho 2.2 logs an error on every failed reconnect ("Client is not connected"); the session says it once."""

    def filter(self, record):
        return "Client is not connected" not in record.getMessage()


_paho_log = logging.getLogger("pishkhan.agent.paho")
_paho_log.addFilter(_QuietRetry())


@dataclass(frozen=True)
class MqttSettings:
    """The ``[mqtt]`` settings, checked; :meth:`from_config` names any bad key."""

    enabled: bool
    host: str
    port: int
    protocol: str
    tls: bool
    ca_file: str
    cert_file: str
    key_file: str
    username: str
    password: str | None
    client_id: str
    keepalive: int
    reconnect_min: float
    reconnect_max: float
    inflight_window: int
    topic_root: str

    @classmethod
    def from_config(cls, config) -> "MqttSettings":
        mqtt = config.mqtt
        errors = []
        host, port, tls = mqtt.host, mqtt.port, mqtt.tls
        url = mqtt.url
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
                errors.append(f"mqtt.url: must look like mqtt://HOST:PORT or mqtts://HOST:PORT, got {url!r}")
            elif parts.username or parts.password or parts.path not in ("", "/"):
                errors.append(f"mqtt.url: give only scheme, host and port (credentials go in mqtt.username "
                              f"and mqtt.password_file), got {url!r}")
            else:
                tls = parts.scheme in ("mqtts", "ssl")
                host = parts.hostname
                try:
                    port = parts.port or (8883 if tls else 1883)
                except ValueError:
                    errors.append(f"mqtt.url: the port must be a number 1-65535, got {url!r}")
        if not host:
            errors.append("mqtt.host: must not be empty (or give mqtt.url)")
        if not (isinstance(port, int) and 0 < port < 65536):
            errors.append(f"mqtt.port: must be 1-65535, got {port!r}")
        protocol = str(mqtt.protocol)
        if protocol not in PROTOCOLS:
            errors.append(f"mqtt.protocol: must be \"5\" or \"3.1.1\", got {protocol!r}")
        for key, path in (("ca_file", mqtt.ca_file), ("cert_file", mqtt.cert_file), ("key_file", mqtt.key_file)):
            if path and not Path(path).expanduser().is_file():
                errors.append(f"mqtt.{key}: no such file {path!r}")
        if bool(mqtt.cert_file) != bool(mqtt.key_file):
            errors.append("mqtt.cert_file and mqtt.key_file: give both (the client certificate and its key) or neither")
        if (mqtt.ca_file or mqtt.cert_file) and not tls:
            errors.append("mqtt.tls: must be true when mqtt.ca_file or mqtt.cert_file is set (or use an mqtts:// url)")
        password = None
        if mqtt.password_file:
            if not mqtt.username:
                errors.append("mqtt.username: must be set when mqtt.password_file is")
            try:
                lines = Path(mqtt.password_file).expanduser().read_text(encoding="utf-8").splitlines()
                password = lines[0].strip() if lines else ""
                if not password:
                    errors.append(f"mqtt.password_file: {mqtt.password_file!r} is empty")
            except OSError as e:
                errors.append(f"mqtt.password_file: cannot read {mqtt.password_file!r}: {e.strerror or e}")
        if not (isinstance(mqtt.keepalive, int) and 5 <= mqtt.keepalive <= 65535):
            errors.append(f"mqtt.keepalive: must be 5-65535 seconds, got {mqtt.keepalive!r}")
        lo, hi = mqtt.reconnect_min_seconds, mqtt.reconnect_max_seconds
        if not (0 < lo <= hi):
            errors.append(f"mqtt.reconnect_min_seconds and reconnect_max_seconds: need 0 < min <= max, got {lo!r}, {hi!r}")
        window = mqtt.inflight_window
        if not (isinstance(window, int) and 1 <= window <= 1000):
            errors.append(f"mqtt.inflight_window: must be 1-1000, got {window!r}")
        root = mqtt.topic_root
        if not root or any(c in root for c in "+#\0"):
            errors.append(f"mqtt.topic_root: must be non-empty, without '+', '#' or NUL, got {root!r}")
        if errors:
            where = f"{config.path}: " if getattr(config, "path", None) else ""
            raise ConfigError(f"{where}bad [mqtt] settings:\n  " + "\n  ".join(errors))
        return cls(enabled=mqtt.enabled, host=host, port=port, protocol=protocol, tls=tls,
                   ca_file=mqtt.ca_file, cert_file=mqtt.cert_file, key_file=mqtt.key_file,
                   username=mqtt.username, password=password, client_id=mqtt.client_id or config.device_id,
                   keepalive=mqtt.keepalive, reconnect_min=float(lo), reconnect_max=float(hi),
                   inflight_window=window, topic_root=root.strip("/"))

    @property
    def address(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


class Backoff:
    """Waits that double from *low* to *high*; half of each wait is random."""

    def __init__(self, low: float, high: float, *, rng=None):
        self.low, self.high = low, high
        self.attempt = 0
        self.rng = rng or random.Random()

    def next(self) -> float:
        cap = min(self.high, self.low * (2 ** self.attempt))
        self.attempt += 1
        return max(self.low, cap / 2 + self.rng.uniform(0, cap / 2))

    def reset(self):
        self.attempt = 0


class Session:
    """One MQTT client, connected in the background.

    :param will: returns ``(topic, payload)`` for the Last Will (retained,
        QoS 1), asked before each connection attempt.
    :param on_socket_open: ``f()`` when an attempt's socket is open, just before its CONNECT (and will) is sent.
    :param on_never_opened: ``f()`` when an attempt failed before its socket opened.
    :param on_connected: ``f()`` after a successful CONNACK, subscriptions renewed.
    :param on_disconnected: ``f(reason: str)``.
    :param on_message: ``f(topic, payload: bytes, retained: bool)``.
    :param on_published: ``f(mid, reason_code: int)`` when the broker
        acknowledges a QoS 1 publish; a code >= 0x80 is a refusal.
    """

    def __init__(self, settings: MqttSettings, *, will=None, on_connected=None, on_disconnected=None,
                 on_message=None, on_published=None, on_socket_open=None, on_never_opened=None):
        import paho.mqtt.client as mqtt

        self.settings = settings
        self._will = will
        self.on_connected = on_connected or (lambda: None)
        self.on_disconnected = on_disconnected or (lambda reason: None)
        self.on_message = on_message or (lambda topic, payload, retained: None)
        self.on_published = on_published or (lambda mid, code: None)
        self.on_socket_open = on_socket_open or (lambda: None)
        self.on_never_opened = on_never_opened or (lambda: None)
        self._opened = False  # this attempt's socket opened
        self._willless = False  # this attempt has no will: its socket is shut before the CONNECT
        self._subscriptions: dict[str, int] = {}
        self._lock = threading.Lock()
        self.connected = False
        self.last_error = ""
        self.connected_since: float | None = None
        self.next_attempt_at: float | None = None
        self.connections = 0
        self._backoff = Backoff(settings.reconnect_min, settings.reconnect_max)
        protocol = mqtt.MQTTv5 if settings.protocol == "5" else mqtt.MQTTv311
        kwargs = {} if protocol == mqtt.MQTTv5 else {"clean_session": True}
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                             protocol=protocol, **kwargs)
        client.max_inflight_messages_set(settings.inflight_window)
        client.max_queued_messages_set(0)
        if settings.tls:
            client.tls_set(ca_certs=settings.ca_file or None, certfile=settings.cert_file or None,
                           keyfile=settings.key_file or None, cert_reqs=ssl.CERT_REQUIRED,
                           tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        client.reconnect_delay_set(settings.reconnect_min, settings.reconnect_max)
        client.on_pre_connect = self._pre_connect
        client.on_socket_open = self._socket_open
        client.on_connect = self._connect
        client.on_connect_fail = self._connect_fail
        client.on_disconnect = self._disconnect
        client.on_message = self._message
        client.on_publish = self._publish
        client.enable_logger(_paho_log)
        client.suppress_exceptions = True  # an exception in a callback is logged; it must not end the network thread
        self._client = client
        self._started = False

    # -- life cycle -----------------------------------------------------------
    def start(self):
        """Begin connecting in the background; returns at once."""
        kwargs = {"clean_start": True} if self.settings.protocol == "5" else {}
        self._client.connect_async(self.settings.host, self.settings.port, self.settings.keepalive, **kwargs)
        self._client.loop_start()
        self._started = True

    def network_alive(self) -> bool:
        """True while paho's network thread runs."""
        thread = getattr(self._client, "_thread", None)  # paho sets it to None when its loop ends
        return self._started and thread is not None and thread.is_alive()

    def stop(self, timeout: float = 5.0):
        """Disconnect cleanly (the broker does not send the Will) and end the network thread."""
        if not self._started:
            return
        self._started = False
        try:
            self._client.disconnect()
        except Exception as e:  # noqa: BLE001 - stopping goes on whatever the socket does
            log.warning("disconnect failed: %s", e)
        done = threading.Event()
        stopper = threading.Thread(target=lambda: (self._client.loop_stop(), done.set()), daemon=True)
        stopper.start()
        done.wait(timeout)
        self.connected = False

    def reload_certificate(self):
        """Load the client certificate and key again (renewed) and reconnect with them."""
        context = self._client._ssl_context  # paho keeps the context tls_set made; new connections use it
        if context is None or not self.settings.cert_file:
            return
        context.load_cert_chain(self.settings.cert_file, self.settings.key_file or None)
        if self._started:
            self.stop()
            self.start()

    # -- use ---------------------------------------------------------------------
    def subscribe(self, topic_filter: str, qos: int = 1):
        """Subscribe now if connected, and again on every connect."""
        with self._lock:
            self._subscriptions[topic_filter] = qos
        if self.connected:
            self._client.subscribe(topic_filter, qos)

    def unsubscribe(self, topic_filter: str):
        """Stop subscribing to *topic_filter*, now if connected and on every later connect."""
        with self._lock:
            known = self._subscriptions.pop(topic_filter, None) is not None
        if known and self.connected:
            self._client.unsubscribe(topic_filter)

    @property
    def subscriptions(self) -> dict[str, int]:
        with self._lock:
            return dict(self._subscriptions)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int | None:
        """Hand a QoS 1 message to paho; its mid, or None if paho refused it at once."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (0, 4):  # 4 = MQTT_ERR_NO_CONN: paho keeps it and sends it on reconnect
            self.last_error = f"publish refused by the client: rc {info.rc}"
            return None
        return info.mid

    def describe(self) -> str:
        if self.connected:
            return f"connected to {self.settings.address}"
        text = f"not connected to {self.settings.address}"
        if self.last_error:
            text += f" ({self.last_error})"
        if self.next_attempt_at:
            text += f", next attempt in {max(0, self.next_attempt_at - time.time()):.0f} s"
        return text

    # -- paho callbacks (network thread) ----------------------------------------
    def _pre_connect(self, client, userdata):
        self._opened = False
        if self._will is not None:
            try:
                topic, payload = self._will()
            except Exception as e:  # noqa: BLE001 - never the will set before: its number may have left
                client.will_clear()
                if not self._willless:
                    log.error("cannot make the Last Will; no connection until it can be made: %s", e)
                self._willless = True
                self.last_error = "no Last Will (its number cannot be written)"
                return
            if self._willless:
                log.warning("the Last Will can be made again; connecting")
            self._willless = False
            client.will_set(topic, payload, qos=1, retain=True)

    def _socket_open(self, client, userdata, sock):
        self._opened = True
        if self._willless:  # paho sends the CONNECT next: the broker sees the socket end instead
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.on_socket_open()

    def _connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self.last_error = f"broker refused the connection: {reason_code}"
            log.warning("%s: %s", self.settings.address, self.last_error)
            return
        self.connected = True
        self.connected_since = time.time()
        self.next_attempt_at = None
        self.last_error = ""
        self.connections += 1
        self._backoff.reset()
        for topic_filter, qos in self.subscriptions.items():
            client.subscribe(topic_filter, qos)
        log.info("connected to %s", self.settings.address)
        self.on_connected()

    def _wait_next(self, client):
        delay = self._backoff.next()
        client.reconnect_delay_set(delay, delay)
        self.next_attempt_at = time.time() + delay

    def _connect_fail(self, client, userdata):
        self.last_error = self.last_error if self._willless else "cannot reach the broker"
        self._wait_next(client)
        if not self._opened:
            self.on_never_opened()

    def _disconnect(self, client, userdata, flags, reason_code, properties):
        was = self.connected
        self.connected = False
        if reason_code.is_failure or reason_code.value != 0:
            self.last_error = f"disconnected: {reason_code}"
        self._wait_next(client)
        if was:
            log.info("disconnected from %s: %s", self.settings.address, reason_code)
        self.on_disconnected(str(reason_code))

    def _message(self, client, userdata, message):
        self.on_message(message.topic, bytes(message.payload), bool(message.retain))

    def _publish(self, client, userdata, mid, reason_code, properties):
        self.on_published(mid, reason_code.value if reason_code.is_failure else 0)
