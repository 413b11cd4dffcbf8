"""The MQTT session: settings checked with the key named, reconnects with jitter, subscriptions renewed, refusals kept."""

from __future__ import annotations

import random
import threading

import pytest
from agent_helpers import wait_until

from edge_agent.drain import Drainer
from edge_agent.outbox import Outbox
from edge_agent.session import Backoff, MqttSettings, Session
from pishkhan.exc import ConfigError
from pishkhan.protocol.topics import Topics

T = Topics()


def test_defaults_are_valid(make_config):
    s = MqttSettings.from_config(make_config())
    assert (s.host, s.port, s.protocol, s.tls, s.client_id, s.inflight_window) == ("localhost", 1883, "5", False,
                                                                                  "dev-0001", 20)
    assert s.topic_root == "pishkhan/v1" and s.password is None


def test_url_sets_host_port_and_tls(make_config):
    s = MqttSettings.from_config(make_config(mqtt={"url": "mqtts://broker.example.ir"}))
    assert (s.host, s.port, s.tls) == ("broker.example.ir", 8883, True)
    s = MqttSettings.from_config(make_config(mqtt={"url": "mqtt://10.0.0.5:1884"}))
    assert (s.host, s.port, s.tls) == ("10.0.0.5", 1884, False)


@pytest.mark.parametrize("mqtt, named", [
    ({"protocol": "4"}, "mqtt.protocol"),
    ({"url": "http://x"}, "mqtt.url"),
    ({"url": "mqtt://user:pw@x:1883"}, "mqtt.url"),
    ({"port": 70000}, "mqtt.port"),
    ({"password_file": "/nonexistent/pw", "username": "dev-0001"}, "mqtt.password_file"),
    ({"password_file": "PW"}, "mqtt.username"),
    ({"ca_file": "/nonexistent/ca.pem", "tls": True}, "mqtt.ca_file"),
    ({"cert_file": "CERT", "tls": True}, "mqtt.cert_file and mqtt.key_file"),
    ({"ca_file": "CERT"}, "mqtt.tls"),
    ({"keepalive": 1}, "mqtt.keepalive"),
    ({"reconnect_min_seconds": 10.0, "reconnect_max_seconds": 5.0}, "mqtt.reconnect_min_seconds"),
    ({"inflight_window": 0}, "mqtt.inflight_window"),
    ({"topic_root": "pishkhan/#"}, "mqtt.topic_root"),
])
def test_bad_settings_name_the_key(make_config, tmp_path, mqtt, named):
    existing = tmp_path / "file.pem"
    existing.write_text("x\n")
    mqtt = {k: (str(existing) if v in ("CERT", "PW") else v) for k, v in mqtt.items()}
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        MqttSettings.from_config(make_config(mqtt=mqtt))


def test_config_file_rejects_unknown_mqtt_keys(make_config):
    with pytest.raises(ConfigError, match="mqtt.hots: unknown setting"):
        make_config(mqtt={"hots": "x"})


def test_password_is_the_first_line_of_its_file(make_config, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("s3cret \nignored\n")
    s = MqttSettings.from_config(make_config(mqtt={"username": "dev-0001", "password_file": str(pw)}))
    assert s.password == "s3cret"


def test_backoff_grows_to_the_maximum_with_jitter():
    waits = [Backoff(1.0, 120.0, rng=random.Random(seed)) for seed in range(20)]
    series = [[b.next() for _ in range(10)] for b in waits]
    for s in series:
        assert all(1.0 <= w <= 120.0 for w in s)
        assert s[-1] >= 60.0  # capped at 120, at least half of it
    # jitter: devices do not all wait the same
    assert len({round(s[5], 3) for s in series}) == 20
    b = waits[0]
    b.reset()
    assert b.next() == 1.0


def _session(mqtt_broker, make_config, **callbacks):
    cfg = make_config(mqtt=mqtt_broker.agent_settings("dev-0001"))
    return Session(MqttSettings.from_config(cfg), **callbacks)


def test_subscriptions_are_renewed_after_the_broker_restarts(mqtt_broker, make_config):
    got = []
    connected = threading.Event()
    session = _session(mqtt_broker, make_config, on_message=lambda t, p, r: got.append((t, p)),
                       on_connected=connected.set)
    session.subscribe(T.cmd("dev-0001"))
    session.start()
    try:
        assert connected.wait(10)
        centre = mqtt_broker.client("centre")
        centre.publish(T.cmd("dev-0001"), b"one", qos=1).wait_for_publish(5)
        assert wait_until(lambda: (T.cmd("dev-0001"), b"one") in got, 5)
        connected.clear()
        mqtt_broker.restart()
        assert connected.wait(15), session.describe()
        assert session.connections == 2
        assert wait_until(lambda: centre.is_connected(), 10)
        # the SUBSCRIBE made in on_connect may reach the broker after this publish: send until it arrives
        # (with a clean session and no renewal it never would)
        for _ in range(20):
            centre.publish(T.cmd("dev-0001"), b"two", qos=1).wait_for_publish(5)
            if wait_until(lambda: (T.cmd("dev-0001"), b"two") in got, 0.5):
                break
        assert (T.cmd("dev-0001"), b"two") in got
    finally:
        session.stop()
    assert not session.network_alive()


def test_a_refused_publish_stays_in_the_outbox_and_the_stream_goes_on(mqtt_broker, make_config, tmp_path):
    outbox = Outbox(tmp_path / "outbox.db")
    holder = {}
    session = _session(mqtt_broker, make_config, on_published=lambda mid, code: holder["d"].on_published(mid, code))
    drainer = Drainer(outbox, session, window=5, poll=0.05)
    holder["d"] = drainer
    capture = mqtt_broker.capture()
    bad = outbox.enqueue("event", T.event("dev-0002"), lambda s, a: b'{"not": "mine"}')
    good = outbox.enqueue("event", T.event("dev-0001"), lambda s, a: b'{"mine": true}')
    session.start()
    drainer.start()
    try:
        assert wait_until(lambda: drainer.refused == 1 and not outbox.waiting(good), 10)
        assert outbox.waiting(bad) and outbox.depth() == 1
        assert capture.wait(lambda c: c.topics() == [T.event("dev-0001")], 5)
        assert drainer.stats()["refused"] == 1
    finally:
        drainer.stop()
        session.stop()
        outbox.close()


def test_a_window_bounds_what_paho_holds(mqtt_broker, make_config, tmp_path):
    outbox = Outbox(tmp_path / "outbox.db")
    for i in range(100):
        outbox.enqueue("event", T.event("dev-0001"), lambda s, a: b"{}")
    mqtt_broker.stop()
    session = _session(mqtt_broker, make_config)
    drainer = Drainer(outbox, session, window=7)
    session.connected = True  # as if connected, the moment before the link drops: at most 7 go to paho
    drainer.step()
    assert drainer.in_flight == 7 and len(session._client._out_messages) == 7
    drainer.step()
    assert drainer.in_flight == 7 and outbox.depth() == 100
    outbox.close()
