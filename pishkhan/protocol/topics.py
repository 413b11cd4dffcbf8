"""MQTT topic names shared by the office's agent and the centre's tools.

Every topic starts with the root (``mqtt.topic_root``, default
``pishkhan/v1``; the ``v1`` is the protocol's major version). Under it:

``dev/{device_id}/{stream}``
    What one device publishes, one topic per stream: ``status`` (retained:
    birth, or offline by the Last Will or a clean stop), ``telemetry``,
    ``event``, ``report`` (daily reports), ``reported`` (what config the
    device has applied or refused), ``result`` (command results) and
    ``facts`` (the compliance facts, hash-chained: :mod:`pishkhan.compliance.chain`).
``dev/{device_id}/cmd``
    Commands from the centre to one device.
``all/{kind}``, ``province/{code}/{kind}``, ``dev/{device_id}/{kind}``
    Signed documents from the centre, retained: national, provincial and
    per-device. Kinds: :data:`NATIONAL_DOCUMENTS`, :data:`PROVINCE_DOCUMENTS`,
    :data:`DEVICE_DOCUMENTS`.

A device id, a province code and a kind are single topic levels: no ``/``,
``+``, ``#`` or NUL, and not empty. :func:`mosquitto_acl` writes the broker's
access list from these same names, so the broker and the code cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from pishkhan.exc import ProtocolError

DEFAULT_ROOT = "pishkhan/v1"

#: Streams a device publishes on ``dev/{id}/{stream}``.
DEVICE_STREAMS = ("status", "telemetry", "event", "report", "reported", "result", "facts")
#: Streams whose messages the broker keeps (retained).
RETAINED_STREAMS = ("status",)
#: Signed documents the centre publishes, retained, by scope.
NATIONAL_DOCUMENTS = ("board", "schedule", "holidays", "trust", "release", "circulars")
PROVINCE_DOCUMENTS = ("board", "schedule", "holidays", "release", "circulars")
DEVICE_DOCUMENTS = ("board", "schedule", "settings", "release")
#: What a device reads on its own ``dev/{id}/`` branch.
DEVICE_INBOX = ("cmd",) + DEVICE_DOCUMENTS


def check_level(value: str, what: str) -> str:
    """*value* if it is usable as one topic level, else :exc:`ProtocolError`."""
    if not isinstance(value, str) or not value or any(c in value for c in "/+#\0"):
        raise ProtocolError(f"{what} {value!r} cannot be an MQTT topic level: "
                            "it must be non-empty, without '/', '+', '#' or NUL")
    return value


@dataclass(frozen=True)
class TopicInfo:
    """A parsed topic: ``scope`` is ``dev``, ``all`` or ``province``."""

    scope: str
    kind: str
    device: str | None = None
    province: str | None = None


class Topics:
    """Topic names under one root."""

    def __init__(self, root: str = DEFAULT_ROOT):
        root = root.strip("/")
        if not root or any(c in root for c in "+#\0"):
            raise ProtocolError(f"topic root {root!r} must be non-empty, without '+', '#' or NUL")
        self.root = root

    # -- what a device publishes -------------------------------------------
    def device(self, device_id: str, stream: str) -> str:
        if stream not in DEVICE_STREAMS and stream not in DEVICE_INBOX:
            raise ProtocolError(f"unknown device topic {stream!r}; known: {DEVICE_STREAMS + DEVICE_INBOX}")
        return f"{self.root}/dev/{check_level(device_id, 'device id')}/{stream}"

    def status(self, device_id: str) -> str:
        return self.device(device_id, "status")

    def telemetry(self, device_id: str) -> str:
        return self.device(device_id, "telemetry")

    def event(self, device_id: str) -> str:
        return self.device(device_id, "event")

    def report(self, device_id: str) -> str:
        return self.device(device_id, "report")

    def reported(self, device_id: str) -> str:
        return self.device(device_id, "reported")

    def result(self, device_id: str) -> str:
        return self.device(device_id, "result")

    def facts(self, device_id: str) -> str:
        return self.device(device_id, "facts")

    def cmd(self, device_id: str) -> str:
        return self.device(device_id, "cmd")

    # -- signed documents from the centre ------------------------------------
    def national(self, kind: str) -> str:
        if kind not in NATIONAL_DOCUMENTS:
            raise ProtocolError(f"unknown national document {kind!r}; known: {NATIONAL_DOCUMENTS}")
        return f"{self.root}/all/{kind}"

    def province(self, code: str, kind: str) -> str:
        if kind not in PROVINCE_DOCUMENTS:
            raise ProtocolError(f"unknown province document {kind!r}; known: {PROVINCE_DOCUMENTS}")
        return f"{self.root}/province/{check_level(code, 'province code')}/{kind}"

    def device_document(self, device_id: str, kind: str) -> str:
        if kind not in DEVICE_DOCUMENTS:
            raise ProtocolError(f"unknown device document {kind!r}; known: {DEVICE_DOCUMENTS}")
        return self.device(device_id, kind)

    def inbox(self, device_id: str, province: str | None) -> list[str]:
        """The filters a device subscribes to: its commands and documents, national and its province's."""
        filters = [self.device(device_id, kind) for kind in DEVICE_INBOX]
        filters.append(f"{self.root}/all/#")
        if province:
            filters.append(f"{self.root}/province/{check_level(province, 'province code')}/#")
        return filters

    def all_devices(self, stream: str = "#") -> str:
        """Filter for every device's *stream* (the centre's subscriptions)."""
        return f"{self.root}/dev/+/{stream}" if stream != "#" else f"{self.root}/dev/#"

    # -- parsing -------------------------------------------------------------
    def parse(self, topic: str) -> TopicInfo:
        """Which scope, kind and device or province *topic* names; :exc:`ProtocolError` if none."""
        prefix = self.root + "/"
        parts = topic[len(prefix):].split("/") if topic.startswith(prefix) else []
        if len(parts) == 3 and parts[0] == "dev" and parts[2] in DEVICE_STREAMS + DEVICE_INBOX and parts[1]:
            return TopicInfo("dev", parts[2], device=parts[1])
        if len(parts) == 2 and parts[0] == "all" and parts[1] in NATIONAL_DOCUMENTS:
            return TopicInfo("all", parts[1])
        if len(parts) == 3 and parts[0] == "province" and parts[2] in PROVINCE_DOCUMENTS and parts[1]:
            return TopicInfo("province", parts[2], province=parts[1])
        raise ProtocolError(f"{topic!r} is not a Pishkhan topic under {self.root!r}")


def mosquitto_acl(root: str = DEFAULT_ROOT, *, centre_users=("centre",)) -> str:
    """A Mosquitto ``acl_file``: each device (username = device id) writes only
    its own streams and reads only its own inbox, national and provincial
    documents; *centre_users* read and write everything under *root*.

    Patterns use ``%u`` (the authenticated username), not ``%c``: the client
    id is whatever the client claims, so a ``%c`` pattern would let one
    device's credentials reach another device's topics by choosing its id.
    """
    root = Topics(root).root
    lines = ["# Pishkhan broker ACL (written by pishkhan.protocol.topics.mosquitto_acl).", ""]
    for user in centre_users:
        lines += [f"user {user}", f"topic readwrite {root}/#", ""]
    lines.append("# Every device: username = device id.")
    lines += [f"pattern write {root}/dev/%u/{stream}" for stream in DEVICE_STREAMS]
    lines += [f"pattern read {root}/dev/%u/{kind}" for kind in DEVICE_INBOX]
    lines += [f"pattern read {root}/all/#", f"pattern read {root}/province/+/#", ""]
    return "\n".join(lines)


#: The largest MQTT packet the broker takes from anyone: twice the largest message sent (a signed document of
#: 4 MiB, pishkhan.boards.jsonlimits; a device's snapshot result of about 3 MiB), so each side's own bound refuses
#: what lies between with its reason.
MAX_PACKET_BYTES = 8 * 1024 * 1024


def mosquitto_listeners(*, devices: tuple[str, int], centre: tuple[str, int], device_passwords, centre_passwords,
                        acl_file) -> list[str]:
    """The Mosquitto listeners, as ``mosquitto.conf`` lines: one for the devices, one for the centre.

    *devices* and *centre* are ``(address, port)``; each listener has its own
    password file (``per_listener_settings true``), so a device's credentials
    are refused at the centre's listener and the centre's accounts are not
    offered to the devices' network. Both use the ACL of :func:`mosquitto_acl`.

    On the devices' listener ``use_username_as_clientid`` ties the client id
    to the username: a device's credentials cannot take another device's
    client id, which Mosquitto would otherwise hand over, disconnecting the
    device that held it and firing its Last Will. The centre's listener does
    not: its tools keep their own client ids (a monitor's persistent session,
    several monitors and ``central publish`` under one login at once). Bind it
    to the centre's own network only.

    ``max_packet_size`` (:data:`MAX_PACKET_BYTES`; Mosquitto has it for every
    listener at once) disconnects a client sending a larger packet: without it
    a device could publish, and retain, up to 256 MB on its own streams, which
    the broker would keep and hand to every monitor that starts.
    """
    return ["per_listener_settings true", f"max_packet_size {MAX_PACKET_BYTES}",
            f"listener {devices[1]} {devices[0]}", "allow_anonymous false", f"password_file {device_passwords}",
            f"acl_file {acl_file}", "use_username_as_clientid true", "",
            *_centre_listener(centre, centre_passwords, acl_file)]


def _centre_listener(centre: tuple[str, int], centre_passwords, acl_file) -> list[str]:
    return [f"listener {centre[1]} {centre[0]}", "allow_anonymous false", f"password_file {centre_passwords}",
            f"acl_file {acl_file}", ""]


def mosquitto_certificate_listener(*, address: str, port: int, cafile, crlfile, certfile, keyfile,
                                   acl_file) -> list[str]:
    """The devices' listener by client certificate, as ``mosquitto.conf`` lines (with ``per_listener_settings``).

    A device shows a certificate from the centre's CA (*cafile*, central/ca.py)
    that is not in *crlfile*; its common name is its username
    (``use_identity_as_username``), so the ACL of :func:`mosquitto_acl`
    (``%u`` patterns) gives it only its own streams and inbox, and
    ``use_username_as_clientid`` ties its client id to that name. TLS 1.2 or
    later. Mosquitto reads *crlfile* at start and again on SIGHUP (for new
    handshakes; a connection already open is not cut: docs/mqtt.md).
    """
    return [f"listener {port} {address}", f"cafile {cafile}", f"crlfile {crlfile}", f"certfile {certfile}",
            f"keyfile {keyfile}", "tls_version tlsv1.2", "require_certificate true", "use_identity_as_username true",
            "use_username_as_clientid true", "allow_anonymous false", f"acl_file {acl_file}", ""]


def mosquitto_certificate_config(*, devices: tuple[str, int], centre: tuple[str, int], cafile, crlfile, certfile,
                                 keyfile, centre_passwords, acl_file, device_acl_file) -> list[str]:
    """A broker whose devices log in by certificate only: the centre's listener (passwords, as in
    :func:`mosquitto_listeners`) and the devices' of :func:`mosquitto_certificate_listener`.

    The devices' listener reads *device_acl_file* (``mosquitto_acl(centre_users=())``: device patterns
    alone): with the centre's ``user`` lines there, a certificate whose name is a centre account's would
    have that account's rights."""
    return ["per_listener_settings true", f"max_packet_size {MAX_PACKET_BYTES}",
            *mosquitto_certificate_listener(address=devices[0], port=devices[1], cafile=cafile, crlfile=crlfile,
                                            certfile=certfile, keyfile=keyfile, acl_file=device_acl_file),
            *_centre_listener(centre, centre_passwords, acl_file)]
