"""The broker's ACL (pishkhan.protocol.topics.mosquitto_acl) with MQTT 5 clients: a device reaches only its own topics.

And its listeners (pishkhan.protocol.topics.mosquitto_listeners): a device's credentials cannot take another
device's client id, nor log in at the centre's listener.
"""

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
                                   T.national("board"), T.province("23", "schedule"), "pishkhan/v1/other",
                                   T.national("release"), T.device_document("dev-0001", "release")])
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


def connect_code(host, port, user, password, *, client_id, will=None, timeout=5.0):
    """``(client, CONNACK reason code)`` of an MQTT 5 client; the client's loop runs until it is stopped."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    if will:
        client.will_set(*will, qos=1, retain=False)
    result = {}
    done = threading.Event()
    client.user_data_set({"disconnects": []})

    def on_connect(c, userdata, flags, reason_code, properties):
        result["code"] = reason_code.value
        done.set()

    def on_disconnect(c, userdata, flags, reason_code, properties):
        userdata["disconnects"].append(reason_code.value)
    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.reconnect_delay_set(30, 60)  # a client knocked off stays off for the test to see
    client.connect(host, port)
    client.loop_start()
    assert done.wait(timeout), f"no CONNACK for {user}"
    return client, result["code"]


def test_wrong_password_and_unknown_user_are_refused(mqtt_broker):
    for port in (mqtt_broker.device_port, mqtt_broker.port):
        for user, password in (("dev-0001", "not-the-password"), ("dev-9999", "x")):
            client, code = connect_code(mqtt_broker.host, port, user, password, client_id=f"{user}-bad")
            client.loop_stop()
            assert code in (0x86, 0x87), hex(code)  # bad user name or password / not authorized


def test_a_device_cannot_log_in_at_the_centres_listener(mqtt_broker):
    client, code = connect_code(mqtt_broker.host, mqtt_broker.port, "dev-0001", mqtt_broker.passwords["dev-0001"],
                                client_id="dev-0001")
    client.loop_stop()
    assert code in (0x86, 0x87), hex(code)
    client, code = connect_code(mqtt_broker.host, mqtt_broker.device_port, "centre",
                                mqtt_broker.passwords["centre"], client_id="centre-x")
    client.loop_stop()
    assert code in (0x86, 0x87), hex(code)  # nor the centre's accounts at the devices'


def test_a_device_cannot_knock_another_off_by_taking_its_client_id(mqtt_broker):
    """dev-0002's credentials connecting as client id dev-0001: the broker ties the id to the username."""
    capture = mqtt_broker.capture(filters=[T.status("dev-0001")])
    host, port = mqtt_broker.host, mqtt_broker.device_port
    victim, code = connect_code(host, port, "dev-0001", mqtt_broker.passwords["dev-0001"], client_id="dev-0001",
                                will=(T.status("dev-0001"), b'{"state": "offline"}'))
    assert code == 0
    attacker, code = connect_code(host, port, "dev-0002", mqtt_broker.passwords["dev-0002"], client_id="dev-0001")
    try:
        assert code == 0  # let in, but as client dev-0002
        assert not capture.wait(lambda c: c.messages, 3), "the victim's Last Will fired"
        assert victim.user_data_get()["disconnects"] == [] and victim.is_connected()
        assert publish_code(victim, T.device("dev-0001", "telemetry")) < 0x80  # still connected and heard
        assert publish_code(attacker, T.device("dev-0001", "telemetry")) == 0x87  # still only dev-0002
        assert publish_code(attacker, T.device("dev-0002", "telemetry")) < 0x80
    finally:
        for client in (attacker, victim):
            client.disconnect()
            client.loop_stop()
