"""The centre's publishing: signed documents to the fleet, signed commands to one device.

:func:`publish_document` sends one document **retained at QoS 1 over MQTT 5**
and returns only when the broker has acknowledged it: the PUBACK's reason
code is the answer. A code of 0x80 or more (0x87 not authorised: the ACL
denies this user that topic) raises :exc:`~pishkhan.exc.PublishRefused`.
Note that the broker answers 0x10 "no matching subscribers" for a message
nobody receives now; for a retained document that is success (it is kept).

Where a document goes (:func:`topic_for`) follows its scope:

==================  ===========================  ==================================
``--scope``         topic                        the document's own scope
==================  ===========================  ==================================
``national``        ``all/{kind}``               national
``province:CODE``   ``province/CODE/{kind}``     province CODE
``device:ID``       ``dev/ID/{kind}``            an office (the device's own office)
``office:ID``       ``dev/DEVICE/{kind}``        office ID; needs ``device=``
==================  ===========================  ==================================

A ``release`` (:mod:`central.releases`) may also be for one device: at
``device:ID`` its scope is ``device:ID`` itself. Its form is checked by
:func:`central.releases.document.check`, and a release with ``rollback`` or
``urgent`` set must be signed by a key listed as ``national`` (``wrong_scope``
otherwise, as devices refuse it).

Trust lists are national only. :func:`prepare` signs a document (or keeps a
signed envelope as it is) and checks it before the broker sees anything, so a
mistake or a forgery is caught before the fleet sees it (devices check
everything again). It raises :exc:`NotPublished` with a :attr:`~NotPublished.reason`
from :data:`REASONS`:

- ``not_an_object``, ``not_signed`` (no envelope and no ``--key``),
  ``wrong_format`` (not the kind's format), ``wrong_scope`` (not the scope
  ``--scope`` asks for; a device's document needs an office scope),
  ``invalid`` (breaks the kind's schema);
- ``signature_invalid``: the envelope does not verify against the centre's
  trust list (:class:`central.trust.TrustList`, the file ``central monitor
  --trust`` reads): a key not in it, or a document changed after signing;
- ``key_not_allowed``: it verifies, but the key's scope in the trust list
  does not cover the document's scope (:meth:`TrustList.verify`, the
  devices' own rule). A trust list is signed only by a key listed with scope
  ``national`` (devices take a trust list from no other key, not even ``any``).

There is no mode without the trust list: a document is checked whether it is
signed here (``--key``) or came signed. Commands are not checked against it:
the trust list holds no command keys (:meth:`TrustList.load` refuses them),
and :func:`send_command` signs each command itself.

:func:`send_command` subscribes to the device's ``result`` first, sends the
signed command (not retained), and waits for the result with its id.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from central.errors import NotPublished
from central.releases.document import scope_key as release_scope_key
from central.trust import KeyNotAllowed, TrustList
from pishkhan.boards.document import scope_key_of
from pishkhan.boards.signing import ENVELOPE
from pishkhan.exc import CentralError, PishkhanError, PublishRefused, SignatureInvalid
from pishkhan.protocol.topics import DEFAULT_ROOT, Topics

KINDS = ("board", "schedule", "holidays", "trust", "release", "circulars")
FORMATS = {"board": "pishkhan.board/1", "schedule": "pishkhan.schedule/1", "holidays": "pishkhan.holidays/1",
           "trust": "pishkhan.trust/1", "release": "pishkhan.release/1", "circulars": "pishkhan.circulars/1"}
NAMES = {"board": "board", "schedule": "schedule", "holidays": "holiday list", "trust": "trust list",
         "release": "release document", "circulars": "circulars index"}
#: A release document's flags only a national key may set (docs/updates.md).
NATIONAL_ONLY = ("rollback", "urgent")
#: Why :func:`prepare` refused to publish a document (see the module's docstring).
REASONS = NotPublished.reasons
#: The only key scope a trust list may be signed with (devices: edge_agent/sync.py).
TRUST_SIGNER = "national"


@dataclass(frozen=True)
class Broker:
    """Where the centre's tools connect, and as whom."""

    host: str = "localhost"
    port: int = 1883
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    root: str = DEFAULT_ROOT

    @classmethod
    def from_args(cls, url: str = "mqtt://localhost:1883", *, username=None, password_file=None, ca_file=None,
                  root: str = DEFAULT_ROOT) -> "Broker":
        parts = urlsplit(url or "mqtt://localhost:1883")
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or parts.path not in ("", "/"):
            raise CentralError(f"--broker must look like mqtt://HOST:PORT or mqtts://HOST:PORT, got {url!r}")
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError:
            raise CentralError(f"--broker: the port must be a number 1-65535, got {url!r}") from None
        password = None
        if password_file:
            try:
                password = Path(password_file).read_text(encoding="utf-8").splitlines()[0]
            except (OSError, IndexError) as e:
                raise CentralError(f"--password-file {password_file}: cannot read a password from it ({e})") from None
        if password is not None and not username:
            raise CentralError("--password-file needs --username")
        return cls(parts.hostname, port, parts.scheme == "mqtts", username or None, password, ca_file, root)

    @property
    def topics(self) -> Topics:
        return Topics(self.root)

    @property
    def address(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


class Connection:
    """One MQTT 5 connection of a centre tool, its network loop running."""

    def __init__(self, broker: Broker, *, timeout: float = 10.0, client_id: str | None = None):
        import paho.mqtt.client as mqtt

        self.broker = broker
        self.timeout = timeout
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                   client_id=client_id or f"centre-{secrets.token_hex(4)}", protocol=mqtt.MQTTv5)
        if broker.username:
            self._client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            self._client.tls_set(ca_certs=broker.ca_file)
        self._cond = threading.Condition()
        self._connack = None
        self._acks: dict[int, object] = {}
        self._subacks: dict[int, list] = {}
        self.messages: list[tuple[str, bytes]] = []
        self._client.on_connect = self._on_connect
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.on_disconnect = self._on_disconnect
        try:
            self._client.connect(broker.host, broker.port, 30, clean_start=True)
        except OSError as e:
            raise CentralError(f"cannot reach the broker at {broker.address}: {e.strerror or e}") from None
        self._client.loop_start()
        code = self._wait(lambda: self._connack is not None, "the broker's CONNACK")
        if code.is_failure:
            self.close()
            raise CentralError(f"the broker at {broker.address} refused the connection"
                               f"{' for user ' + broker.username if broker.username else ''}: "
                               f"{code} (reason code 0x{code.value:02x})")

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        with self._cond:
            self._connack = reason_code
            self._cond.notify_all()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        with self._cond:
            if self._connack is None:
                self._connack = reason_code
            self._cond.notify_all()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self._cond:
            self._acks[mid] = reason_code
            self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        with self._cond:
            self._subacks[mid] = list(reason_codes)
            self._cond.notify_all()

    def _on_message(self, client, userdata, message):
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload)))
            self._cond.notify_all()

    def _wait(self, predicate, what: str, timeout: float | None = None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CentralError(f"no answer from the broker at {self.broker.address}: waited "
                                       f"{self.timeout if timeout is None else timeout:g} s for {what}")
                self._cond.wait(min(left, 0.2))
        return self._connack if what == "the broker's CONNACK" else None

    def publish(self, topic: str, payload: bytes, *, retain: bool) -> int:
        """Publish at QoS 1; the PUBACK's reason code, or :exc:`PublishRefused` when it is a refusal."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != 0:
            raise CentralError(f"could not hand the message for {topic} to the MQTT client (error {info.rc})")
        self._wait(lambda: info.mid in self._acks, f"the PUBACK of {topic}")
        code = self._acks.pop(info.mid)
        if code.value >= 0x80:
            raise PublishRefused(f"the broker refused the publish to {topic}"
                                 f"{' by user ' + self.broker.username if self.broker.username else ''}: "
                                 f"{code} (reason code 0x{code.value:02x})",
                                 reason="_".join(str(code).lower().split()), mqtt_code=code.value)
        return code.value

    def subscribe(self, topic_filter: str):
        result, mid = self._client.subscribe(topic_filter, 1)
        if result != 0:
            raise CentralError(f"could not subscribe to {topic_filter} (error {result})")
        self._wait(lambda: mid in self._subacks, f"the SUBACK of {topic_filter}")
        code = self._subacks.pop(mid)[0]
        if code.value >= 0x80:
            raise CentralError(f"the broker refused the subscription to {topic_filter}: {code} "
                               f"(reason code 0x{code.value:02x})")

    def wait_message(self, predicate, timeout: float):
        """The first received ``(topic, payload)`` for which *predicate* is true, or None after *timeout*."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for item in self.messages:
                    if predicate(*item):
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 0.2))

    def close(self):
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- documents -------------------------------------------------------------------------
def topic_for(topics: Topics, kind: str, scope: str, *, device: str | None = None) -> tuple[str, str | None]:
    """``(topic, the document scope it must have)`` for *kind* published at *scope*.

    The second is a scope key (``national``, ``province:23``, ``office:X``), or
    None for ``device:ID`` (any office scope: the device knows its office).
    """
    if kind not in KINDS:
        raise CentralError(f"unknown document kind {kind!r}; known: {', '.join(KINDS)}")
    level, _, value = str(scope).partition(":")
    if kind == "trust" and scope != "national":
        raise CentralError(f"a trust list is national only (all/trust), not {scope!r}")
    try:
        if scope == "national":
            return topics.national(kind), "national"
        if level == "province" and value:
            return topics.province(value, kind), f"province:{value}"
        if level == "device" and value:  # a release may be for one device; other kinds: its office
            return topics.device_document(value, kind), (f"device:{value}" if kind == "release" else None)
        if level == "office" and value:
            if not device:
                raise CentralError(f"--scope office:{value} needs --device DEVICE: an office is reached through "
                                   "its device's own topics")
            return topics.device_document(device, kind), f"office:{value}"
    except CentralError:
        raise
    except Exception as e:  # ProtocolError: a kind with no topic at that scope, a bad id
        raise CentralError(f"cannot publish a {kind} at scope {scope}: {e}") from None
    raise CentralError(f"--scope must be national, province:CODE, office:ID or device:ID, got {scope!r}")


def prepare(kind: str, data, *, key=None, expected_scope: str | None, device_level: bool = False,
            trust: TrustList) -> dict:
    """The signed envelope to publish: *data* signed with *key*, or *data* itself when already signed.

    Either way it must verify against *trust*, the centre's trust list, with a
    key allowed for the document's scope; :exc:`NotPublished` says why not.
    """
    if not isinstance(trust, TrustList):
        raise CentralError("--trust: `central publish` needs the centre's trust list (a file of PEM public keys, "
                           "each after a 'Scope:' line); a document is published only if it verifies against it")
    if not isinstance(data, dict):
        raise NotPublished(f"a {kind} document is a JSON object, got {type(data).__name__}", reason="not_an_object")
    if data.get("format") == ENVELOPE:
        envelope = data
        document = data.get("payload")
        if not isinstance(document, dict):
            raise NotPublished("the signed envelope has no payload object", reason="not_an_object")
    else:
        if key is None:
            raise NotPublished(f"the {kind} is not signed: give --key KEY to sign it", reason="not_signed")
        document = data
        envelope = None
    if document.get("format") != FORMATS[kind]:
        raise NotPublished(f"a {kind} document has format {FORMATS[kind]!r}, this one {document.get('format')!r}",
                           reason="wrong_format")
    if kind == "trust":
        scope = TRUST_SIGNER
    else:
        scope = release_scope_key(document.get("scope")) if kind == "release" else scope_key_of(document.get("scope"))
        if expected_scope is not None and scope != expected_scope:
            raise NotPublished(f"the {kind} is for {scope}, but --scope publishes it for {expected_scope}",
                               reason="wrong_scope")
        if device_level and (scope is None or not scope.startswith("office:")) and kind != "release":
            raise NotPublished(f"a {kind} sent to one device must have an office scope, this one is for {scope}",
                               reason="wrong_scope")
        _check_document(kind, document)
    if envelope is None:
        envelope = key.sign(document)
    _check_signature(kind, envelope, scope=scope, trust=trust)
    if kind == "release":
        _check_national_flags(envelope, trust=trust)
    return envelope


def _check_national_flags(envelope: dict, *, trust: TrustList):
    """Refuse (``wrong_scope``) a release whose ``rollback``/``urgent`` is set by a key not listed as national."""
    document = envelope["payload"]
    flags = [flag for flag in NATIONAL_ONLY if document.get(flag) is True]
    signer_scope = trust.keys[envelope["signature"]["key"]][1]
    if flags and signer_scope != "national":
        raise NotPublished(f"a release with {' and '.join(flags)} is signed only by a national key; key "
                           f"{envelope['signature']['key']} has scope {signer_scope} (devices would refuse it)",
                           reason="wrong_scope")


def _check_signature(kind: str, envelope: dict, *, scope: str, trust: TrustList):
    """Refuse *envelope* unless it verifies against *trust* with a key allowed for *scope*."""
    where = f"the centre's trust list {trust.source}".rstrip()
    name = NAMES[kind]
    try:
        if kind == "release":  # the devices' rule for releases: a national key signs every scope
            from pishkhan.releases.installed import RELEASE

            _payload, signer = trust.verify(envelope, scope_key=scope, may_sign=RELEASE.key_may_sign)
        else:
            _payload, signer = trust.verify(envelope, scope_key=scope)
    except KeyNotAllowed as e:
        if kind == "trust":
            raise NotPublished(f"a trust list is signed only by a key with scope {TRUST_SIGNER} in {where}: {e} "
                               "(devices would refuse it)", reason="key_not_allowed") from None
        raise NotPublished(f"the {name} is signed by a key {where} does not allow for it: {e}",
                           reason="key_not_allowed") from None
    except (SignatureInvalid, PishkhanError) as e:
        raise NotPublished(f"the {name} does not verify against {where}: {e}", reason="signature_invalid") from None
    signer_scope = trust.keys[signer.fingerprint][1]
    if kind == "trust" and signer_scope != TRUST_SIGNER:
        raise NotPublished(f"a trust list is signed only by a key with scope {TRUST_SIGNER} in {where}: key "
                           f"{signer.fingerprint} has scope {signer_scope} (devices would refuse it)",
                           reason="key_not_allowed")


def _check_document(kind: str, document: dict):
    """Refuse a document its devices would refuse for its schema (so the fleet never sees it)."""
    from pishkhan.exc import BoardInvalid, ScheduleInvalid

    if kind == "release":
        from central.releases.document import check
        return check(document)
    if kind == "circulars":  # central.circulars: checked with the device's own parser
        from central.circulars import CircularNotPublished
        from central.circulars.index import check_with_device_parser
        try:
            return check_with_device_parser(document)
        except CircularNotPublished as e:
            raise NotPublished(str(e), reason="invalid") from None
    try:
        if kind == "board":
            from pishkhan.boards.document import parse_board
            parse_board(document)
        else:
            from pishkhan.schedule.document import parse_document
            parse_document(document)
    except (BoardInvalid, ScheduleInvalid) as e:
        raise NotPublished(f"the {kind} breaks its schema:\n{e}", reason="invalid") from None


def encode(envelope: dict) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def publish_document(broker: Broker, kind: str, data, *, scope: str, trust: TrustList, key=None,
                     device: str | None = None, timeout: float = 10.0) -> dict:
    """Sign (if needed), check against *trust* and publish one document retained; what was done, with the PUBACK code.

    Nothing is sent unless :func:`prepare` passes it (:exc:`NotPublished`).
    """
    from pishkhan.boards.signing import verification_code

    topic, expected = topic_for(broker.topics, kind, scope, device=device)
    envelope = prepare(kind, data, key=key, expected_scope=expected, device_level=scope.startswith("device:"),
                       trust=trust)
    payload = encode(envelope)
    with Connection(broker, timeout=timeout) as conn:
        code = conn.publish(topic, payload, retain=True)
    document = envelope["payload"]
    return {"kind": kind, "topic": topic, "version": document.get("version"),
            "verification_code": verification_code(envelope), "key": envelope["signature"]["key"],
            "key_scope": trust.keys[envelope["signature"]["key"]][1], "trust": trust.source,
            "bytes": len(payload), "reason_code": code}


def trust_list(*, issuer: str, version: int, add=(), revoke=()) -> dict:
    """A ``pishkhan.trust/1`` document: *add* ``[(PublicKey, scope, label)]``, *revoke* fingerprints."""
    return {"format": FORMATS["trust"], "issuer": issuer, "version": version,
            "add": [{"pem": k.pem(), "scope": s, "label": label} for k, s, label in add],
            "revoke": list(revoke)}


# -- commands ------------------------------------------------------------------------------
def send_command(broker: Broker, device: str, name: str, args: dict | None, *, key, lifetime_s: float = 600,
                 timeout: float = 30.0) -> dict:
    """Send a signed command to *device* and wait up to *timeout* s for its result (the decoded message)."""
    import datetime as dt

    from pishkhan.protocol.commands import make_command

    topics = broker.topics
    envelope = make_command(key, device=device, name=name, args=args or {},
                            lifetime=dt.timedelta(seconds=lifetime_s))
    command_id = envelope["payload"]["id"]

    def matches(topic, payload):
        try:
            return json.loads(payload).get("correlation_id") == command_id
        except (ValueError, AttributeError, RecursionError):  # a device's answer nested past the parser's depth
            return False

    with Connection(broker) as conn:
        conn.subscribe(topics.result(device))
        conn.publish(topics.cmd(device), encode(envelope), retain=False)
        found = conn.wait_message(matches, timeout)
    if found is None:
        raise CentralError(f"no result from {device} for command {name} ({command_id}) within {timeout:g} s")
    return json.loads(found[1])
