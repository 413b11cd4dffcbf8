"""A circular from the centre to an office and back: published at the centre over the real broker, its PDF served
by the enrolment server's route over real HTTPS with the centre's CA pinned, installed, fetched and kept by a
running agent, acknowledged by staff — and both events counted at the centre once, a redelivery changing nothing."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

from enrolment_helpers import make_ca
from rollout_helpers import keys_and_trust
from test_circulars_centre import https, make_pdf

from central import registry
from central.circulars.pool import PdfPool
from central.circulars.publisher import BrokerPublisher, Circulars
from central.circulars.view import circulars_view
from central.db import open_db
from central.fleet import Fleet
from central.publish import Broker
from central.trust import TrustList
from pishkhan.protocol import payloads


def test_a_circular_reaches_an_office_over_broker_and_https_and_its_acknowledgement_is_counted_once(
        tmp_path, mqtt_broker, monkeypatch):
    from tests.agent.agent_helpers import wait_until

    from central.enrolment.server import create_app
    from central.enrolment.service import Enrolment
    from edge_agent import circulars as agent_circulars
    from edge_agent import sync
    from edge_agent.agent import Agent
    from pishkhan.boards.trust import trust_key
    from pishkhan.circulars.library import Library
    from pishkhan.config import parse_config
    from pishkhan.store.database import Store

    ring, trust_file = keys_and_trust(tmp_path)
    ca, cert, key = make_ca(tmp_path / "tls")
    db = open_db(str(tmp_path / "fleet.db"))
    registry.register(db, device_id="dev-0001", office_id="OFF-1", province="23", office_name="دفتر ونک")
    pool = PdfPool(tmp_path / "circulars-pool")
    service = Enrolment(db, ca=ca, broker_url="mqtts://broker.test:8883", renew_url="https://127.0.0.1:1")
    broker = Broker.from_args(f"mqtt://{mqtt_broker.host}:{mqtt_broker.port_for('centre')}", username="centre",
                              password_file=str(mqtt_broker.password_file("centre")))
    monkeypatch.setattr(agent_circulars, "POLL_SECONDS", 0.2)
    with https(create_app(service, circulars=pool.directory), cert, key) as url:
        config = parse_config({"device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
                               "office": {"province": "23", "office_id": "OFF-1"},
                               "update": {"repository": url + "/", "ca_file": str(ca.cert_file)},
                               "mqtt": mqtt_broker.agent_settings("dev-0001", telemetry_seconds=3600)})
        store = Store(config.store_path)
        trust_key(store, ring.load("tehran").public, scope="province:23", actor="test")
        agent = Agent(config, store=store, validate=True)
        sync.register(agent.context)
        agent_circulars.register(agent.context)
        capture = mqtt_broker.capture(filters=["pishkhan/v1/dev/dev-0001/event"])
        thread = threading.Thread(target=agent.run, kwargs={"handle_signals": False}, daemon=True)
        thread.start()
        try:
            assert wait_until(lambda: agent.session.connected, 15)
            pdf = make_pdf(tmp_path, seed=7)
            Circulars(db, pool=pool, publisher=BrokerPublisher(broker, trust=TrustList.load(trust_file))).publish(
                pdf, number="1405/123", kind="circular", title="بخشنامهٔ ساعت کار دفاتر", summary="خلاصه",
                scope="province:23", key=ring.load("tehran"), urgent=True)

            def sent(name):
                return [m for m in capture.messages if json.loads(m[1]).get("event") == name]
            assert capture.wait(lambda c: sent("circular_received"), 20)
            lib = Library(store, tmp_path / "state" / "circulars")
            entry = lib.entry("province:23", "1405/123")
            assert entry.urgent and lib.file(entry).read_bytes() == pdf.read_bytes()
            lib.acknowledge("province:23", "1405/123", who="خانم احمدی", now=store.now())
            assert capture.wait(lambda c: sent("circular_acknowledged"), 15)
        finally:
            agent.stop()
            thread.join(15)
            store.close()
    fleet = Fleet(db)
    at = payloads.format_time(time.time())
    batch = [(topic, payload, at) for topic, payload, *_ in capture.messages]
    counts = fleet.ingest(batch)
    assert counts.refused == 0, counts
    again = fleet.ingest(batch)  # the broker delivering them twice
    assert again.duplicates == len(batch) and again.accepted == 0
    row = db.query_one("SELECT * FROM circular_offices")
    assert (row["device_id"], row["scope"], row["number"], row["acknowledged_by"]) == \
        ("dev-0001", "province:23", "1405/123", "خانم احمدی")
    view = circulars_view(db, now=dt.datetime.now(dt.timezone.utc))
    (province,) = view["circulars"][0]["provinces"]
    assert (province["province"], province["in_scope"], province["received"], province["acknowledged"]) == \
        ("23", 1, 1, 1)
    db.close()
