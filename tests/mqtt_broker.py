"""A real Mosquitto for the tests, on a free port, with passwords and the ACL.

Shared by every test area (the agent's now, the centre's later): the
``mqtt_broker`` fixture in tests/conftest.py gives a started
:class:`MosquittoBroker`, stopped after the test.

- Users: ``centre`` (reads and writes all of ``pishkhan/v1/#``) and the
  devices ``dev-0001`` and ``dev-0002``; :meth:`MosquittoBroker.add_user` adds
  more. Passwords are random; :meth:`password_file` writes one to a file for
  an agent's ``mqtt.password_file``.
- Two listeners, as the project ships them
  (:func:`pishkhan.protocol.topics.mosquitto_listeners`): the centre's on
  :attr:`port` (centre users only) and the devices' on :attr:`device_port`
  (device users only, the client id tied to the username).
  :meth:`port_for` says which a user connects to; :meth:`client`,
  :meth:`capture` and :meth:`agent_settings` choose it.
- ACL from :func:`pishkhan.protocol.topics.mosquitto_acl`: a device writes
  only its own streams and reads only its inbox, ``all/#`` and ``province/+/#``.
- Persistence is on, so retained messages and persistent sessions survive
  :meth:`restart` (a clean stop, as systemd does it).
- ``tls=True`` adds a TLS listener on :attr:`tls_port` with a test CA; a
  client there must show a certificate from that CA, and its common name is
  its username (:meth:`tls_settings` gives an agent's ``[mqtt]`` for it).
- ``ca=`` (a :class:`central.ca.CertificateAuthority`) makes that TLS
  listener the fleet's, as central/broker ships it
  (:func:`pishkhan.protocol.topics.mosquitto_certificate_listener`): the CA's
  certificate as ``cafile``, a ``crlfile`` (:attr:`crl_path`), a server
  certificate from the CA, TLS 1.2+; :meth:`sign` gives a device certificate
  from the CA, :meth:`tls_client` an MQTT client by certificate and
  :meth:`reload` a SIGHUP the broker has read.
- :meth:`capture` subscribes a client that keeps a persistent session and
  reconnects at once, so it misses nothing across broker restarts (MQTT
  3.1.1: Mosquitto 2.0 does not restore MQTT 5 sessions after a restart).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from pishkhan.protocol.topics import (DEFAULT_ROOT, mosquitto_acl, mosquitto_certificate_listener,
                                      mosquitto_listeners)

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
DEVICES = ("dev-0001", "dev-0002")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Capture:
    """Messages received by one subscribing client, with the time each arrived."""

    def __init__(self, client):
        self.client = client
        self.messages: list[tuple[str, bytes, bool, float]] = []
        self._cond = threading.Condition()

    def _add(self, topic, payload, retain):
        with self._cond:
            self.messages.append((topic, bytes(payload), bool(retain), time.time()))
            self._cond.notify_all()

    def wait(self, predicate, timeout: float = 10.0) -> bool:
        """Wait until ``predicate(self)`` is true; returns whether it became so."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.2))
            return True

    def decoded(self, suffix: str | None = None) -> list[dict]:
        """The JSON payloads, optionally only those whose topic ends with */suffix*."""
        with self._cond:
            items = list(self.messages)
        return [json.loads(p) for t, p, _, _ in items if p and (suffix is None or t.endswith("/" + suffix))]

    def topics(self) -> list[str]:
        with self._cond:
            return [t for t, _, _, _ in self.messages]

    def clear(self):
        with self._cond:
            self.messages.clear()

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()


class MosquittoBroker:
    """One Mosquitto process in *directory*."""

    def __init__(self, directory, *, root: str = DEFAULT_ROOT, centre_users=("centre",), devices=DEVICES,
                 tls: bool = False, ca=None):
        self.ca = ca
        tls = tls or ca is not None
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.host = "127.0.0.1"
        self.port = free_port()  # the centre's listener
        self.device_port = free_port()  # the devices' listener
        self.centre_users = tuple(centre_users)
        self.passwords: dict[str, str] = {}
        self.proc: subprocess.Popen | None = None
        self._clients: list = []
        self.acl_path = self.dir / "acl"
        self.acl_path.write_text(mosquitto_acl(root, centre_users=centre_users))
        self.passwd_path = self.dir / "passwd"  # the devices'
        self.centre_passwd_path = self.dir / "centre-passwd"
        (self.dir / "data").mkdir(exist_ok=True)
        for user in tuple(centre_users) + tuple(devices):
            self.add_user(user)
        self.conf_path = self.dir / "mosquitto.conf"
        self.log_path = self.dir / "mosquitto.log"
        self.pid_path = self.dir / "mosquitto.pid"
        self.conf_path.write_text("\n".join([
            *mosquitto_listeners(devices=(self.host, self.device_port), centre=(self.host, self.port),
                                 device_passwords=self.passwd_path, centre_passwords=self.centre_passwd_path,
                                 acl_file=self.acl_path),
            "persistence true",
            f"persistence_location {self.dir / 'data'}/",
            "max_queued_messages 1000000",
            "max_inflight_messages 100",
            # Started as root, Mosquitto would drop to user mosquitto and could not read these files.
            "user root",
            f"log_dest file {self.log_path}",
            "log_type error", "log_type warning", "log_type notice", "log_type information",
            f"pid_file {self.pid_path}",
            "",
        ] + (self._tls_listener() if tls else [])))

    # -- TLS -----------------------------------------------------------------------
    def _tls_listener(self) -> list[str]:
        self.tls_dir = self.dir / "tls"
        self.tls_dir.mkdir(exist_ok=True)
        self.tls_port = free_port()
        if self.ca is not None:
            return self._fleet_listener()
        self._ca_key, self._ca_cert = _make_cert("Pishkhan test CA", None, ca=True)
        (self.tls_dir / "ca.pem").write_bytes(_pem(self._ca_cert))
        key, cert = _make_cert("127.0.0.1", (self._ca_key, self._ca_cert), server=True)
        (self.tls_dir / "server.pem").write_bytes(_pem(cert))
        (self.tls_dir / "server.key").write_bytes(_pem_key(key))
        return [f"listener {self.tls_port} {self.host}",
                f"cafile {self.tls_dir / 'ca.pem'}",
                f"certfile {self.tls_dir / 'server.pem'}",
                f"keyfile {self.tls_dir / 'server.key'}",
                "require_certificate true",
                "use_identity_as_username true", "use_username_as_clientid true",
                "allow_anonymous false", f"acl_file {self.acl_path}", ""]

    def _fleet_listener(self) -> list[str]:
        from central.ca import cert_pem, key_pem

        cert, key = self.ca.issue_server([self.host, "localhost"])
        (self.tls_dir / "server.pem").write_bytes(cert_pem(cert))
        (self.tls_dir / "server.key").write_bytes(key_pem(key))
        self.crl_path = self.tls_dir / "crl.pem"
        self.ca.write_crl((), path=self.crl_path)
        device_acl = self.dir / "devices.acl"  # as shipped: no centre account on the devices' listener
        device_acl.write_text(mosquitto_acl(self.root, centre_users=()))
        return mosquitto_certificate_listener(
            address=self.host, port=self.tls_port, cafile=self.ca.cert_file, crlfile=self.crl_path,
            certfile=self.tls_dir / "server.pem", keyfile=self.tls_dir / "server.key", acl_file=device_acl)

    @property
    def ca_file(self) -> Path:
        return self.ca.cert_file if self.ca is not None else self.tls_dir / "ca.pem"

    def sign(self, device: str, *, now=None, days: int | None = None):
        """A certificate for *device* from the fleet CA: ``(certificate, cert_path, key_path)``."""
        from central.ca import DEVICE_DAYS, cert_pem, key_pem, make_csr, new_device_key

        key = new_device_key()
        cert = self.ca.sign_device(make_csr(key), device_id=device, days=days or DEVICE_DAYS, now=now)
        stem = f"{device}-{secrets.token_hex(3)}"
        cert_path, key_path = self.tls_dir / f"{stem}.pem", self.tls_dir / f"{stem}.key"
        cert_path.write_bytes(cert_pem(cert))
        key_path.write_bytes(key_pem(key))
        return cert, cert_path, key_path

    def reload(self, timeout: float = 5.0):
        """SIGHUP, and wait until the broker says it reloaded its configuration."""
        before = self.log().count("Reloading config")
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self.log().count("Reloading config") <= before:
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not reload within {timeout} s:\n{self.log()}")
            time.sleep(0.02)

    def handshake(self, cert_path, key_path, *, port: int | None = None, timeout: float = 5.0) -> str:
        """``"accepted"`` when the broker answers an MQTT CONNECT over TLS with this certificate by a CONNACK
        of success; else what refused it: the TLS alert's name (``"SSLV3_ALERT_CERTIFICATE_REVOKED"``,
        ``"TLSV1_ALERT_UNKNOWN_CA"``, …), ``"connack N"`` or the socket error's class."""
        import ssl

        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(str(cert_path), str(key_path))
        # TLS 1.2 (the listener's lowest): the server's verdict on the client's certificate comes within the
        # handshake. With TLS 1.3 it comes after, as an alert that a write racing the server's close can turn
        # into a bare EOF.
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        connect = bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 0])  # MQTT 3.1.1, empty client id
        try:
            with socket.create_connection((self.host, port or self.tls_port), timeout=timeout) as raw, \
                    context.wrap_socket(raw, server_hostname=self.host) as tls:
                tls.sendall(connect)
                answer = tls.recv(4)
        except ssl.SSLError as e:
            return e.reason or type(e).__name__
        except OSError as e:
            return type(e).__name__
        if len(answer) == 4 and answer[0] == 0x20 and answer[3] == 0:
            return "accepted"
        return f"connack {answer.hex()}"

    def tls_client(self, cert_path, key_path, *, port: int | None = None, timeout: float = 5.0):
        """An MQTT 5 paho client by certificate on the TLS listener (or *port*), connected and looping;
        raises the TLS or connection error, or ``ConnectionRefusedError`` with the CONNACK reason."""
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv5)
        client.tls_set(ca_certs=str(self.ca_file), certfile=str(cert_path), keyfile=str(key_path))
        answer, connected = {}, threading.Event()

        def on_connect(c, userdata, flags, reason_code, properties):
            answer.setdefault("reason", reason_code)
            connected.set()

        def on_disconnect(c, userdata, flags, reason_code, properties):
            # TLS 1.3: the server checks the client's certificate after the client's side of the handshake,
            # so a refused certificate arrives as an alert on the first read, a disconnection here.
            answer.setdefault("reason", reason_code)
            connected.set()

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        self._clients.append(client)
        client.connect(self.host, port or self.tls_port, 30)  # the TLS handshake: its errors are raised here
        client.loop_start()
        if not connected.wait(timeout):
            raise TimeoutError(f"no CONNACK within {timeout} s:\n{self.log()[-2000:]}")
        if answer["reason"].is_failure:
            client.disconnect()
            client.loop_stop()
            raise ConnectionRefusedError(str(answer["reason"]))
        return client

    def client_cert(self, name: str, *, ca=None) -> tuple[Path, Path]:
        """A client certificate and key with common name *name*, from the test CA (or *ca*; from the
        fleet CA when the broker has one and *ca* is not given)."""
        if ca is None and self.ca is not None:
            return self.sign(name)[1:]
        key, cert = _make_cert(name, ca or (self._ca_key, self._ca_cert))
        cert_path, key_path = self.tls_dir / f"{name}.pem", self.tls_dir / f"{name}.key"
        cert_path.write_bytes(_pem(cert))
        key_path.write_bytes(_pem_key(key))
        return cert_path, key_path

    def tls_settings(self, device: str, **extra) -> dict:
        """The ``[mqtt]`` section for an agent of *device* on the TLS listener, by client certificate."""
        cert, key = self.client_cert(device)
        return {"url": f"mqtts://{self.host}:{self.tls_port}", "ca_file": str(self.ca_file), "tls": True,
                "cert_file": str(cert), "key_file": str(key), "topic_root": self.root,
                "reconnect_min_seconds": 0.2, "reconnect_max_seconds": 1.0} | extra

    # -- users -------------------------------------------------------------------
    def port_for(self, user: str) -> int:
        """The listener *user* connects to: the centre's for a centre user, else the devices'."""
        return self.port if user in self.centre_users else self.device_port

    def add_user(self, name: str, password: str | None = None) -> str:
        """Add *name* to its listener's password file (the centre's for a centre user)."""
        password = password or secrets.token_urlsafe(12)
        path = self.centre_passwd_path if name in self.centre_users else self.passwd_path
        args = [MOSQUITTO_PASSWD, "-b"] + ([] if path.exists() else ["-c"])
        subprocess.run(args + [str(path), name, password], check=True, capture_output=True)
        os.chmod(path, 0o600)
        self.passwords[name] = password
        if self.running:
            self.proc.send_signal(signal.SIGHUP)  # reload passwords and ACL
            time.sleep(0.2)
        return password

    def add_users(self, names, password: str | None = None) -> str:
        """Add many device users with one password at once (for simulated fleets); returns the password.

        Writes Mosquitto's ``$6$`` entries (SHA-512 of password + salt) directly:
        ``mosquitto_passwd`` once per user is far too slow for ten thousand.
        """
        import base64
        import hashlib

        password = password or secrets.token_urlsafe(12)
        lines = []
        for name in names:
            salt = os.urandom(12)
            digest = hashlib.sha512(password.encode() + salt).digest()
            lines.append(f"{name}:$6${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}\n")
            self.passwords[name] = password
        with open(self.passwd_path, "a") as f:
            f.writelines(lines)
        os.chmod(self.passwd_path, 0o600)
        if self.running:
            self.proc.send_signal(signal.SIGHUP)
            time.sleep(0.2)
        return password

    def password_file(self, name: str) -> Path:
        path = self.dir / f"{name}.password"
        path.write_text(self.passwords[name] + "\n")
        os.chmod(path, 0o600)
        return path

    def agent_settings(self, device: str, **extra) -> dict:
        """The ``[mqtt]`` section for an agent of *device* talking to this broker."""
        return {"host": self.host, "port": self.device_port, "username": device,
                "password_file": str(self.password_file(device)), "topic_root": self.root,
                "reconnect_min_seconds": 0.2, "reconnect_max_seconds": 1.0} | extra

    # -- process -------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0):
        """Start the broker on its port; waits while the port is briefly held by someone else
        (a restart on the same port can find it taken by a client's ephemeral port for a moment)."""
        if self.running:
            return
        deadline = time.monotonic() + timeout
        while True:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf_path)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    for port in (self.device_port, self.port):
                        with socket.create_connection((self.host, port), timeout=0.2):
                            pass
                    return
                except OSError:
                    time.sleep(0.05)
            else:
                raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s:\n{self.log()}")
            err = self.proc.stderr.read().decode(errors="replace")
            self.proc.stderr.close()
            self.proc = None
            if "Address already in use" not in err + self.log()[-300:] or time.monotonic() >= deadline:
                raise RuntimeError(f"mosquitto exited: {err}\n{self.log()}")
            time.sleep(0.3)

    def stop(self, timeout: float = 10.0):
        """A clean stop (SIGTERM): Mosquitto saves its persistence file."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self):
        for client in self._clients:
            try:
                client.disconnect()
                client.loop_stop()
            except Exception:  # noqa: BLE001
                pass
        self._clients.clear()
        self.stop()

    # -- clients -------------------------------------------------------------------
    def client(self, user: str, *, protocol: str = "5", client_id: str | None = None, persistent: bool = False,
               connect: bool = True, timeout: float = 10.0):
        """A paho client logged in as *user*, its network loop running; reconnects within 0.1-0.5 s.

        *persistent*: MQTT 5 session kept an hour (or clean_session false on 3.1.1).
        """
        import paho.mqtt.client as mqtt
        from paho.mqtt.properties import Properties
        from paho.mqtt.packettypes import PacketTypes

        v5 = protocol == "5"
        client_id = client_id or f"{user}-test-{secrets.token_hex(3)}"
        kwargs = {} if v5 else {"clean_session": not persistent}
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                             protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, **kwargs)
        client.username_pw_set(user, self.passwords[user])
        client.reconnect_delay_set(0.1, 0.5)
        connected = threading.Event()
        client.user_data_set({"connected": connected, "subscriptions": []})

        def on_connect(c, userdata, flags, reason_code, properties):
            if not reason_code.is_failure:
                for topic_filter in userdata["subscriptions"]:
                    c.subscribe(topic_filter, 1)
                connected.set()

        def on_disconnect(c, userdata, flags, reason_code, properties):
            connected.clear()

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        if connect:
            connect_kwargs = {}
            if v5:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = 3600 if persistent else 0
                connect_kwargs = {"clean_start": not persistent, "properties": props}
            client.connect(self.host, self.port_for(user), 30, **connect_kwargs)
            client.loop_start()
            if not connected.wait(timeout):
                raise RuntimeError(f"{user} could not connect to the test broker:\n{self.log()}")
        self._clients.append(client)
        return client

    def capture(self, user: str = "centre", filters=None, *, protocol: str = "3.1.1") -> Capture:
        """A subscriber of *filters* (default: everything under the root) that misses nothing across restarts.

        MQTT 3.1.1 with clean_session false by default: Mosquitto 2.0.11 restores
        such a session from its persistence file after a restart, but not an
        MQTT 5 session (messages published before the subscriber is back are lost).
        """
        filters = list(filters or [f"{self.root}/#"])
        client = self.client(user, protocol=protocol, persistent=True, connect=False)
        capture = Capture(client)
        client.user_data_get()["subscriptions"].extend(filters)
        client.on_message = lambda c, u, m: capture._add(m.topic, m.payload, m.retain)
        granted = threading.Event()
        client.on_subscribe = lambda c, u, mid, codes, props: granted.set()
        import paho.mqtt.client as mqtt
        from paho.mqtt.properties import Properties
        from paho.mqtt.packettypes import PacketTypes
        kwargs = {}
        if protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            kwargs = {"clean_start": mqtt.MQTT_CLEAN_START_FIRST_ONLY, "properties": props}
        client.connect(self.host, self.port_for(user), 30, **kwargs)
        client.loop_start()
        if not granted.wait(10):
            raise RuntimeError(f"capture for {user} could not subscribe:\n{self.log()}")
        return capture


try:
    import pytest
except ImportError:  # used from bench/ without pytest
    pytest = None

if pytest is not None:
    @pytest.fixture
    def mqtt_broker(tmp_path):
        """A started :class:`MosquittoBroker` for this test (import this fixture into a conftest)."""
        if not Path(MOSQUITTO).exists():
            pytest.fail("mosquitto is not installed: run `bash scripts/install-system.sh test`")
        broker = MosquittoBroker(tmp_path / "broker")
        broker.start()
        yield broker
        broker.close()


def _make_cert(common_name: str, issuer, *, ca: bool = False, server: bool = False):
    """An EC key and a certificate for *common_name*, signed by *issuer* ``(key, cert)`` or self-signed."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer_key, issuer_cert = issuer if issuer else (key, None)
    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer_cert.subject if issuer_cert else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(common_name)), x509.DNSName("localhost")]), critical=False)
    return key, builder.sign(issuer_key, hashes.SHA256())


def _pem(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
