"""Attacks on the rollout controller by devices that lie (the threat model: the centre trusts a device no
more than the office owner holding it): only the devices a rollout reaches, and in its canary stage only its
canaries, count towards halting or promoting it."""

from __future__ import annotations

import datetime as dt

import pytest
from rollout_helpers import NOW, Devices, build_deb, keys_and_trust

from central import registry
from central.db import open_db
from central.fleet import Fleet
from central.releases.pool import Pool
from central.releases.rollouts import MemoryPublisher, Rollouts, is_canary
from central.trust import TrustList


@pytest.fixture
def site(request, tmp_path):
    """20 devices in province 23, 10 in province 05; a province-23 rollout at 30 % canaries, on a moved clock.
    On SQLite; on PostgreSQL for a test that asks (``indirect``: there writers do not queue for one lock)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        import psycopg

        base, name = request.getfixturevalue("postgres_url"), f"attack_{abs(hash(request.node.nodeid)) % 10**9}"
        with psycopg.connect(base, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name}")
            c.execute(f"CREATE DATABASE {name}")
        db = open_db(base.rsplit("/", 1)[0] + f"/{name}")
    else:
        db = open_db(str(tmp_path / "fleet.db"))
    ring, trust_file = keys_and_trust(tmp_path)
    clock = [NOW]
    rollouts = Rollouts(db, publisher=MemoryPublisher(trust=TrustList.load(trust_file)), pool=Pool(tmp_path / "pool"),
                        clock=lambda: clock[0])
    for i in range(20):
        registry.register(db, device_id=f"pi-{i:04d}", office_id=f"OFF-{i}", province="23")
    for i in range(10):
        registry.register(db, device_id=f"px-{i:04d}", office_id=f"OFX-{i}", province="05")
    r = rollouts.start(build_deb(tmp_path, "0.9.0"), scope="province:23", key=ring.load("tehran"),
                       canary_percent=30, soak_seconds=3600, halt_threshold=10)
    inside = [f"pi-{i:04d}" for i in range(20)]
    yield {"db": db, "rollouts": rollouts, "rollout": r, "clock": clock, "key": ring.load("tehran"),
           "canaries": [d for d in inside if is_canary(d, 30)], "others": [d for d in inside if not is_canary(d, 30)],
           "outside": [f"px-{i:04d}" for i in range(10)], "devices": Devices(Fleet(db), lambda: clock[0])}
    db.close()


def test_a_device_of_another_province_cannot_halt_a_province_rollout(site):
    s = site
    assert s["canaries"] and s["others"]
    s["devices"].step(s["canaries"][0], s["rollout"], "healthy")
    for d in s["outside"][:3]:
        s["devices"].step(d, s["rollout"], "rolled_back", reason="unhealthy")
    assert [d.action for d in s["rollouts"].advance(key=s["key"])] == ["waiting"]
    assert s["rollouts"].get(s["rollout"].rollout).stage == "canary"


def test_a_device_that_is_not_a_canary_cannot_halt_the_canary_stage(site):
    s = site
    s["devices"].step(s["canaries"][0], s["rollout"], "healthy")
    s["devices"].reported(s["others"][0], {"rollout": s["rollout"].rollout, "state": "refused", "reason": "unhealthy"})
    s["devices"].step(s["others"][1], s["rollout"], "rolled_back", reason="unhealthy")
    assert [d.action for d in s["rollouts"].advance(key=s["key"])] == ["waiting"]


def test_devices_outside_the_canaries_cannot_promote_a_rollout_no_canary_passed(site):
    s = site
    s["devices"].step(s["canaries"][0], s["rollout"], "installing")
    for d in s["others"][:5] + s["outside"][:5]:
        s["devices"].step(d, s["rollout"], "healthy")
    s["clock"][0] += dt.timedelta(minutes=61)
    decisions = s["rollouts"].advance(key=s["key"])
    assert [(d.action, d.reason) for d in decisions] == [("waiting", "no_healthy_canary")]
    assert decisions[0].detail["touched"] == 1


def test_a_real_canary_rolling_back_still_halts(site):
    s = site
    s["devices"].step(s["canaries"][0], s["rollout"], "rolled_back", reason="unhealthy")
    assert [d.action for d in s["rollouts"].advance(key=s["key"])] == ["halted"]


@pytest.mark.parametrize("site", ["sqlite", "postgresql"], indirect=True)
def test_the_controller_and_a_manual_halt_at_once_publish_one_story(site, tmp_path):
    """The controller promotes while ops halts the same rollout: both may not publish the same next version (devices
    would split between them) and the record must say what the retained document says."""
    import threading

    from central.trust import TrustList as _TL

    s = site
    for d in s["canaries"]:
        s["devices"].step(d, s["rollout"], "healthy")
    s["clock"][0] += dt.timedelta(minutes=61)
    published, entered, go = [], threading.Event(), threading.Event()
    base = s["rollouts"].publisher

    class Slow:
        """The broker, slow on the controller's publish: ops acts meanwhile."""

        def publish(self, document, **kw):
            if threading.current_thread().name == "controller" and not entered.is_set():
                entered.set()
                go.wait(5)
            published.append((document["version"], document["halted"], document["canary_percent"]))
            return base.publish(document, **kw)

    s["rollouts"].publisher = Slow()
    ops = Rollouts(s["db"], publisher=Slow(), pool=None, clock=lambda: s["clock"][0])
    errors = []
    controller = threading.Thread(target=lambda: s["rollouts"].advance(key=s["key"]), name="controller")
    controller.start()
    assert entered.wait(5)

    def halt():
        try:
            ops.halt(s["rollout"].rollout, key=s["key"])
        except Exception as e:  # noqa: BLE001 - refused as changed meanwhile is an honest answer
            errors.append(e)
    halter = threading.Thread(target=halt)
    halter.start()
    halter.join(0.5)
    go.set()
    controller.join(10)
    halter.join(10)
    versions = [v for v, _, _ in published]
    assert len(versions) == len(set(versions)), f"two documents of one version published: {published}"
    retained = base.retained[s["rollout"].topics[0]]["payload"]
    stage = s["rollouts"].get(s["rollout"].rollout).stage
    assert (stage == "halted") == retained["halted"], (stage, published)
    assert retained["version"] == max(versions)


def test_the_releases_page_and_metrics_survive_hostile_rows(site):
    """Rows no ingest would store (an old version's, a hand edit): the page escapes them, the metrics stay parseable,
    nothing raises."""
    from prometheus_client.parser import text_string_to_metric_families
    from test_releases import dashboard

    s = site
    db, r = s["db"], s["rollout"]
    evil = '<script>alert(1)</script>"}\n\u202e'
    d = s["canaries"][0]
    db.execute("INSERT INTO release_devices(rollout, device_id, province, state, step, reason, detail, first_at, at, "
               "received_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
               (r.rollout, d, "23", "rolled_back", "rolled_back", evil, evil * 500, "x", evil, "x"))
    db.execute("INSERT INTO release_devices(rollout, device_id, province, state, first_at, at, received_at) "
               "VALUES (?,?,?,?,?,?,?)", (r.rollout, s["canaries"][1], "23", evil, "x", "x", "x"))
    db.execute("INSERT INTO device_release(device_id, running_version, state, at, received_at) VALUES (?,?,?,?,?)",
               (d, evil, evil, "x", "x"))
    db.execute("INSERT INTO devices(device_id, province, software_version) VALUES (?,?,?)", (d, "23", evil)) \
        if not db.query_one("SELECT 1 FROM devices WHERE device_id = ?", (d,)) else \
        db.execute("UPDATE devices SET software_version = ? WHERE device_id = ?", (evil, d))
    db.execute("UPDATE rollouts SET halted_detail = ?, stage = 'halted', halted_reason = ?", ('{"message": 5', evil))
    client = dashboard(db)
    page = client.get("/releases")
    assert page.status_code == 200 and "<script>alert(1)" not in page.text
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    assert "pishkhan_rollout_devices" in families


def test_one_canary_saying_healthy_before_the_others_started_does_not_promote(site):
    """Published at 18:30, soaked by 19:30, before any window opens: one canary (its owner lying, or one that ran the
    version already) saying healthy must not send the release to the whole scope."""
    s = site
    assert len(s["canaries"]) >= 3
    s["devices"].reported(s["canaries"][0], {"rollout": s["rollout"].rollout, "state": "healthy"})
    s["clock"][0] += dt.timedelta(minutes=61)
    assert [(d.action, d.reason) for d in s["rollouts"].advance(key=s["key"])] == [("waiting", "no_healthy_canary")]
    for d in s["canaries"][1:(len(s["canaries"]) + 1) // 2]:
        s["devices"].step(d, s["rollout"], "healthy")
    assert [d.action for d in s["rollouts"].advance(key=s["key"])] == ["promoted"]


def test_a_package_download_longer_than_the_connection_deadline_is_served_whole(tmp_path, monkeypatch):
    """The enrolment server cuts every connection open over CONNECTION_SECONDS (30 s: idle TLS, half a request). A
    55 MB package takes minutes on an office line: a connection whose pool request is whole may take its time."""
    import hashlib
    import os
    import threading
    import time

    import uvicorn
    from enrolment_helpers import make_ca
    from services import free_port, wait_for_port

    from central.enrolment import server
    from updater.download import Downloader, HttpsTransport

    monkeypatch.setattr(server, "CONNECTION_SECONDS", 0.3)
    ca, cert, key = make_ca(tmp_path / "tls")
    data = os.urandom(8 << 20)
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "pool").mkdir()
    (tmp_path / "pool" / f"{sha}.deb").write_bytes(data)
    port = free_port()
    web = uvicorn.Server(server.uvicorn_config(server.pool_app(tmp_path / "pool"), host="127.0.0.1", port=port,
                                              tls_cert=cert, tls_key=key, log_level="warning"))
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    wait_for_port(port)

    class Slow(HttpsTransport):
        """An office line: the device reads slower than the server sends."""

        def open(self, url):
            stream = super().open(url)
            read = stream.read
            stream.read = lambda n: (time.sleep(0.01), read(n))[1]
            return stream
    try:
        got = Downloader(Slow(ca_file=ca.cert_file)).fetch(f"https://127.0.0.1:{port}/releases/pool/{sha}.deb",
                                                           tmp_path / "p.deb", size=len(data), sha256=sha)
        assert got.stat().st_size == len(data)
    finally:
        web.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("site", ["sqlite", "postgresql"], indirect=True)
def test_a_new_rollout_published_while_the_controller_halts_the_last_one_gets_its_own_version(site, tmp_path):
    """Ops publishes the next release of a scope while the controller halts the rollout running there: two documents
    of one version of the scope would split the devices between them."""
    import threading

    s = site
    s["devices"].step(s["canaries"][0], s["rollout"], "rolled_back", reason="unhealthy")
    published, entered, go = [], threading.Event(), threading.Event()
    base = s["rollouts"].publisher

    class Slow:
        def publish(self, document, **kw):
            if threading.current_thread().name == "controller" and not entered.is_set():
                entered.set()
                go.wait(5)
            published.append((document["version"], document["rollout"], document["halted"]))
            return base.publish(document, **kw)

    s["rollouts"].publisher = Slow()
    ops = Rollouts(s["db"], publisher=Slow(), pool=s["rollouts"].pool, clock=lambda: s["clock"][0])
    controller = threading.Thread(target=lambda: s["rollouts"].advance(key=s["key"]), name="controller")
    controller.start()
    assert entered.wait(5)
    deb = build_deb(tmp_path, "0.9.1")
    starter = threading.Thread(target=lambda: ops.start(deb, scope="province:23", key=s["key"], canary_percent=30))
    starter.start()
    starter.join(0.5)
    go.set()
    controller.join(10)
    starter.join(10)
    versions = [v for v, _, _ in published]
    assert len(published) == 2 and len(set(versions)) == 2, published
    retained = base.retained[s["rollout"].topics[0]]["payload"]
    assert retained["version"] == max(versions) and retained["rollout"] != s["rollout"].rollout, published
