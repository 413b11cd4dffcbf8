"""The broker's ACL (pishkhan.protocol.topics.mosquitto_acl) with MQTT 5 clients: a device reaches only its own topics."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from pishkhan.protocol.topics import Topics

T = Topics()


def publish_code(client, topic, payload=b"{}", timeout=5.0) -> int:
    """The PUBACK reason code the broker gave this QoS 1 publish."""
    done = threading.Event()
    codes = {}
    previous = client.on_publish

    def on_publish(c, userdata, mid, reason_code, properties):
        codes[mid] = reason_code.value
        done.set()
    client.on_publish = on_publish
    try:
        info = client.publish(topic, payload, qos=1)
        assert done.wait(timeout), f"no PUBACK for {topic}"
        return codes[info.mid]
    finally:
        client.on_publish = previous


def subscribe_codes(client, topic_filter, timeout=5.0) -> list[int]:
    done = threading.Event()
    got = []

    def on_subscribe(c, userdata, mid, reason_codes, properties):
        got.extend(rc.value for rc in reason_codes)
        done.set()
    client.on_subscribe = on_subscribe
    client.subscribe(topic_filter, 1)
    assert done.wait(timeout)
    return got


@pytest.mark.parametrize("topic", [T.event("dev-0002"), T.status("dev-0002"), T.cmd("dev-0001"),
                                   T.national("board"), T.province("23", "schedule"), "pishkhan/v1/other"])
def test_a_device_cannot_publish_outside_its_own_streams(mqtt_broker, topic):
    device = mqtt_broker.client("dev-0001", protocol="5")
    code = publish_code(device, topic)
    assert code == 0x87, f"{topic}: PUBACK reason 0x{code:02x}, expected 0x87 not authorized"


def test_a_device_publishes_its_own_streams_and_the_centre_receives(mqtt_broker):
    capture = mqtt_broker.capture()
    device = mqtt_broker.client("dev-0001", protocol="5")
    for stream in ("status", "telemetry", "event", "report", "reported", "result"):
        assert publish_code(device, T.device("dev-0001", stream)) < 0x80, stream
    assert capture.wait(lambda c: len(c.messages) == 6, 5)


def test_a_device_cannot_read_another_devices_topics(mqtt_broker):
    device = mqtt_broker.client("dev-0001", protocol="5")
    received = []
    device.on_message = lambda c, u, m: received.append(m.topic)
    # Mosquitto 2.0 may grant these subscriptions; what counts is that nothing of dev-0002 arrives
    for topic_filter in (T.cmd("dev-0002"), T.status("dev-0002"), "pishkhan/v1/dev/#", "pishkhan/v1/#"):
        assert len(subscribe_codes(device, topic_filter)) == 1
    assert subscribe_codes(device, T.cmd("dev-0001")) == [1]
    assert subscribe_codes(device, "pishkhan/v1/all/#") == [1]
    assert subscribe_codes(device, "pishkhan/v1/province/+/#") == [1]

    centre = mqtt_broker.client("centre", protocol="5")
    for topic in (T.cmd("dev-0002"), T.status("dev-0002"), T.device_document("dev-0002", "board"),
                  T.event("dev-0002"), T.cmd("dev-0001"), T.national("board"), T.province("23", "board")):
        assert publish_code(centre, topic) < 0x80
    other = mqtt_broker.client("dev-0002", protocol="5")
    assert publish_code(other, T.event("dev-0002")) < 0x80
    # the last message is the marker: once it is here, everything before it would have been
    assert publish_code(centre, T.device_document("dev-0001", "settings")) < 0x80
    deadline = threading.Event()
    for _ in range(50):
        if T.device_document("dev-0001", "settings") in received:
            break
        deadline.wait(0.1)
    assert sorted(set(received)) == sorted({T.cmd("dev-0001"), T.national("board"), T.province("23", "board"),
                                            T.device_document("dev-0001", "settings")})


def test_wrong_password_and_unknown_user_are_refused(mqtt_broker):
    for user, password in (("dev-0001", "not-the-password"), ("dev-9999", "x")):
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{user}-bad", protocol=mqtt.MQTTv5)
        client.username_pw_set(user, password)
        result = {}
        done = threading.Event()

        def on_connect(c, userdata, flags, reason_code, properties):
            result["code"] = reason_code.value
            done.set()
        client.on_connect = on_connect
        client.connect(mqtt_broker.host, mqtt_broker.port)
        client.loop_start()
        try:
            assert done.wait(5)
            assert result["code"] in (0x86, 0x87), hex(result["code"])  # bad user name or password / not authorized
        finally:
            client.loop_stop()
