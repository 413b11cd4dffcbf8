"""A real `pishkhan agent` process against a real Mosquitto: status, will, clean stop, the outbox across outages."""

from __future__ import annotations

from pathlib import Path

from agent_helpers import outbox_path, wait_until

from edge_agent.outbox import Outbox
from edge_agent.publish import Publisher
from pishkhan.boards.installed import install_board
from pishkhan.boards.trust import trust_key
from pishkhan.config import load_config
from pishkhan.hardware.clock import SystemClock
from pishkhan.protocol.payloads import problems
from pishkhan.protocol.topics import Topics
from pishkhan.store.database import Store

#: What an agent logs once it is up, its SIGTERM handler set (edge_agent.agent.Agent.start).
STARTED = "agent started for device"

TOPICS = Topics()


def statuses(capture, state=None):
    return [m for m in capture.decoded("status") if state is None or m["state"] == state]


def assert_all_valid(capture):
    messages = capture.decoded()
    assert messages
    for message in messages:
        assert problems(message) == [], message


def first_occurrences(values):
    seen, order = set(), []
    for v in values:
        if v not in seen:
            seen.add(v)
            order.append(v)
    return order


def test_retained_birth_then_will_on_sigkill(mqtt_broker, agent_config, start_agent, issuer_key, sample_doc):
    config = agent_config("dev-0001")
    with Store(load_config(config).store_path) as store:
        trust_key(store, issuer_key.public, label="test issuer", actor="test")
        installed = install_board(store, issuer_key.sign(sample_doc), source="cli", actor="test")
    capture = mqtt_broker.capture()
    agent = start_agent(config)
    assert capture.wait(lambda c: statuses(c, "online"), 20), agent.log()
    birth = statuses(capture, "online")[0]
    assert birth["device"] == "dev-0001" and birth["reason"] == "connected"
    assert birth["boot_id"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert birth["board"]["verification_code"] == installed.verification_code
    assert birth["board"]["version"] == str(sample_doc["version"])
    assert birth["protocol"] == "5" and birth["schedule"] is None
    assert birth["clock"] == {"synchronized": SystemClock().synced(), "source": "adjtimex"}  # hardware.clock = "system"
    assert birth["will_seq"] != birth["seq"]

    late = mqtt_broker.capture(filters=[TOPICS.status("dev-0001")])
    assert late.wait(lambda c: c.messages, 5)
    topic, payload, retained, _ = late.messages[0]
    assert retained and late.decoded()[0] == birth

    agent.kill()
    assert capture.wait(lambda c: statuses(c, "offline"), 10), mqtt_broker.log()
    will = statuses(capture, "offline")[0]
    assert will["reason"] == "lost" and will["seq"] == birth["will_seq"] and will["boot_id"] == birth["boot_id"]
    after = mqtt_broker.capture(filters=[TOPICS.status("dev-0001")])
    assert after.wait(lambda c: c.messages, 5)
    assert after.messages[0][2] and after.decoded()[0]["reason"] == "lost"
    assert_all_valid(capture)


def test_clean_stop_publishes_offline_itself(mqtt_broker, agent_config, start_agent):
    config = agent_config("dev-0002")
    capture = mqtt_broker.capture()
    agent = start_agent(config)
    assert capture.wait(lambda c: statuses(c, "online"), 20), agent.log()
    birth = statuses(capture, "online")[0]
    assert agent.terminate() == 0, agent.log()
    assert capture.wait(lambda c: statuses(c, "offline"), 10)
    offline = statuses(capture, "offline")
    assert [m["reason"] for m in offline] == ["stopped"]
    assert offline[0]["seq"] == birth["will_seq"]
    # the broker dropped the will: nothing more arrives
    assert not capture.wait(lambda c: len(statuses(c, "offline")) > 1, 1.5)
    retained = mqtt_broker.capture(filters=[TOPICS.status("dev-0002")])
    assert retained.wait(lambda c: c.messages, 5) and retained.decoded()[0]["reason"] == "stopped"
    assert_all_valid(capture)


def test_boots_offline_and_sends_telemetry_once_the_broker_comes(mqtt_broker, agent_config, start_agent):
    config = agent_config("dev-0001", telemetry_seconds=1)
    capture = mqtt_broker.capture()
    mqtt_broker.stop()
    agent = start_agent(config)
    outbox = Outbox(outbox_path(config))
    assert wait_until(lambda: outbox.streams().get("telemetry", 0) >= 2, 15), agent.log()
    mqtt_broker.start()
    assert capture.wait(lambda c: statuses(c, "online") and len(c.decoded("telemetry")) >= 3, 20), agent.log()
    telemetry = capture.decoded("telemetry")
    figures = telemetry[-1]["agent"]
    assert set(figures["outbox"]) >= {"depth", "bytes", "oldest_age_s", "in_flight", "dropped", "refused"}
    assert figures["uptime_s"] > 0
    assert wait_until(lambda: outbox.depth() <= 1, 10)
    assert agent.terminate() == 0
    assert_all_valid(capture)


def test_events_made_while_the_broker_is_down_all_arrive_in_order(mqtt_broker, agent_config, start_agent):
    config = agent_config("dev-0001")
    capture = mqtt_broker.capture()
    agent = start_agent(config)
    assert capture.wait(lambda c: statuses(c, "online"), 20), agent.log()
    mqtt_broker.stop()
    publisher = Publisher(Outbox(outbox_path(config)), TOPICS, "dev-0001", validate=True)
    made = [publisher.event("test.offline", detail={"i": i}) for i in range(200)]
    assert made == sorted(made) and len(set(made)) == 200
    mqtt_broker.start()

    def arrived(c):
        return {m["seq"] for m in c.decoded("event")} >= set(made)
    assert capture.wait(arrived, 30), agent.log()
    got = [m["seq"] for m in capture.decoded("event") if m["event"] == "test.offline"]
    assert first_occurrences(got) == made
    assert [m["detail"]["i"] for m in capture.decoded("event")][:200] == list(range(200))
    # a new birth after the reconnect, with the next will's number
    births = list({m["seq"]: m for m in statuses(capture, "online")}.values())  # a retained one may come twice
    assert len(births) == 2 and births[1]["will_seq"] != births[0]["will_seq"]
    assert agent.terminate() == 0
    assert_all_valid(capture)


def test_agent_killed_while_draining_loses_nothing(mqtt_broker, agent_config, start_agent):
    config = agent_config("dev-0001", inflight_window=20)
    publisher = Publisher(Outbox(outbox_path(config)), TOPICS, "dev-0001")
    made = [publisher.event("test.drain", detail={"i": i}) for i in range(3000)]
    capture = mqtt_broker.capture()

    def seen(c):
        return {m["seq"] for m in c.decoded("event")}
    kills = 0
    for target in (200, 900, 1800):
        agent = start_agent(config)
        assert capture.wait(lambda c: len(seen(c)) >= target, 40), agent.log()
        agent.kill()
        kills += 1
    started = agent.log().count(STARTED)  # the agents share one log
    agent = start_agent(config)
    assert capture.wait(lambda c: seen(c) >= set(made), 60), agent.log()
    # the killed agents may have drained it all: the last is SIGTERMed only once it is up (its handler set)
    assert wait_until(lambda: agent.log().count(STARTED) > started, 30), agent.log()
    assert agent.terminate() == 0
    got = [m["seq"] for m in capture.decoded("event")]
    assert set(made) <= set(got)
    assert first_occurrences(got) == made  # in order, duplicates only as resends
    assert len(statuses(capture, "offline")) >= kills
    assert Outbox(outbox_path(config)).streams().get("event", 0) == 0
    assert_all_valid(capture)


def test_mqtt_311_works_too(mqtt_broker, agent_config, start_agent):
    config = agent_config("dev-0002", protocol="3.1.1")
    capture = mqtt_broker.capture()
    agent = start_agent(config)
    assert capture.wait(lambda c: statuses(c, "online"), 20), agent.log()
    assert statuses(capture, "online")[0]["protocol"] == "3.1.1"
    agent.kill()
    assert capture.wait(lambda c: statuses(c, "offline"), 10)
    offline = statuses(capture, "offline")[0]
    assert offline["reason"] == "lost" and offline["seq"] == statuses(capture, "online")[0]["will_seq"]
    assert_all_valid(capture)
