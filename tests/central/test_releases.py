"""Fleet updates at the centre: the pool, publishing a signed release document retained, the pool over HTTPS,
the rollout controller (promote after a healthy soak, halt itself on rollbacks), hostile update events, the
Releases page and the metrics (central/releases, docs/updates.md)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from enrolment_helpers import make_ca
from release_helpers import NOW, Devices, build_deb, keys_and_trust
from services import free_port

from central import registry
from central.db import open_db
from central.errors import NotPublished
from central.fleet import Fleet
from central.releases.pool import Pool
from central.releases.rollouts import MemoryPublisher, Rollouts, is_canary
from central.trust import TrustList
from pishkhan.boards.signing import verify
from pishkhan.protocol.topics import Topics

ROOT = Path(__file__).resolve().parents[2]
TOPICS = Topics()


def central(*args, broker) -> subprocess.CompletedProcess:
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    extra = ["--broker", f"mqtt://{broker.host}:{broker.port_for('centre')}", "--username", "centre",
             "--password-file", str(broker.password_file("centre"))]
    return subprocess.run([sys.executable, "-m", "cli.main", "central", "release", *args, *extra],
                          capture_output=True, text=True, timeout=60, env=environ, cwd=ROOT)


# -- publish: the pool and the retained signed document --------------------------------------------
def test_publish_pools_the_package_and_publishes_a_retained_signed_document(mqtt_broker, tmp_path):
    ring, trust_file = keys_and_trust(tmp_path)
    deb = build_deb(tmp_path, "0.9.0+20261207", payload=os.urandom(2048))
    db_file, pool = tmp_path / "fleet.db", tmp_path / "pool"
    done = central("publish", str(deb), "--scope", "province:23", "--key", "tehran", "--keys-dir",
                   str(ring.directory), "--trust", str(trust_file), "--db", str(db_file), "--pool", str(pool),
                   "--canary", "5%", "--soak", "30m", "--halt-threshold", "20%", broker=mqtt_broker)
    assert done.returncode == 0, done.stderr
    sha = hashlib.sha256(deb.read_bytes()).hexdigest()
    assert (pool / f"{sha}.deb").read_bytes() == deb.read_bytes()
    index = json.loads((pool / "index.json").read_text())["packages"]
    assert [(p["sha256"], p["version"], p["architecture"]) for p in index] == [(sha, "0.9.0+20261207", "arm64")]
    # a device reads it, retained, on its province's topic (the broker's ACL, as shipped, lets it)
    seen = mqtt_broker.capture(user="dev-0001", filters=[TOPICS.province("23", "release")])
    assert seen.wait(lambda c: c.messages, 10)
    topic, payload, retained, _ = seen.messages[0]
    envelope = json.loads(payload)
    assert topic == "pishkhan/v1/province/23/release" and retained
    document, signer = verify(envelope, [ring.load("tehran").public])
    assert document["format"] == "pishkhan.release/1" and document["scope"] == {"level": "province",
                                                                                "province": "23"}
    assert document["package"] == {"name": "pishkhan", "version": "0.9.0+20261207", "architecture": "arm64",
                                   "sha256": sha, "size": deb.stat().st_size,
                                   "path": f"releases/pool/{sha}.deb"}
    assert (document["version"], document["canary_percent"], document["halted"]) == (1, 5, False)
    with open_db(str(db_file)) as db:
        row = db.query_one("SELECT * FROM rollouts")
        assert (row["stage"], row["soak_seconds"], float(row["halt_threshold"])) == ("canary", 1800, 20.0)
        assert row["rollout"] == document["rollout"]
    status = subprocess.run([sys.executable, "-m", "cli.main", "central", "release", "status", "--json", "--db",
                             str(db_file)], capture_output=True, text=True, cwd=ROOT, timeout=60,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert json.loads(status.stdout)[0]["stage"] == "canary", status.stderr
    halted = central("halt", document["rollout"], "--why", "kiosk slow", "--key", "tehran", "--keys-dir",
                     str(ring.directory), "--trust", str(trust_file), "--db", str(db_file), broker=mqtt_broker)
    assert halted.returncode == 0, halted.stderr
    late = mqtt_broker.capture(user="dev-0001", filters=[TOPICS.province("23", "release")])
    assert late.wait(lambda c: c.messages, 10)
    document, _ = verify(json.loads(late.messages[0][1]), [ring.load("tehran").public])
    assert (document["version"], document["halted"]) == (2, True)


def test_publish_refuses_what_devices_would_refuse(tmp_path):
    ring, trust_file = keys_and_trust(tmp_path)
    db = open_db(str(tmp_path / "fleet.db"))
    publisher = MemoryPublisher(trust=TrustList.load(trust_file))
    rollouts = Rollouts(db, publisher=publisher, pool=Pool(tmp_path / "pool"), clock=lambda: NOW)
    deb = build_deb(tmp_path, "0.7.0")
    with pytest.raises(NotPublished) as e:  # rollback (and urgent) only with a national key
        rollouts.start(deb, scope="province:23", key=ring.load("tehran"), rollback=True)
    assert e.value.reason == "wrong_scope"
    with pytest.raises(NotPublished) as e:  # a province key for the nation
        rollouts.start(deb, scope="national", key=ring.load("tehran"))
    assert e.value.reason == "key_not_allowed"
    with pytest.raises(NotPublished) as e:
        rollouts.start(deb, scope="national", key=ring.load("national"), canary_percent=5.001)
    assert e.value.reason == "invalid"
    assert not publisher.retained and not db.query("SELECT * FROM rollouts")
    db.close()


# -- the pool over HTTPS ---------------------------------------------------------------------------
@contextlib.contextmanager
def https(app, cert, key):
    import uvicorn

    from central.enrolment.server import uvicorn_config

    port = free_port()
    server = uvicorn.Server(uvicorn_config(app, host="127.0.0.1", port=port, tls_cert=cert, tls_key=key,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = server.force_exit = True
        thread.join(10)


def test_the_enrolment_server_serves_the_pool_exact_bytes_and_nothing_else(tmp_path):
    from central.enrolment.server import create_app
    from central.enrolment.service import Enrolment

    ca, cert, key = make_ca(tmp_path)
    pool = Pool(tmp_path / "pool")
    package = pool.add(build_deb(tmp_path, "0.9.0", payload=os.urandom(100_000)))
    (tmp_path / "secret.txt").write_text("not for devices")
    (tmp_path / "pool" / ("A" * 64 + ".deb")).write_bytes(b"upper-case name")
    db = open_db(str(tmp_path / "fleet.db"))
    service = Enrolment(db, ca=ca, broker_url="mqtts://broker.test:8883", renew_url="https://127.0.0.1:1")
    with https(create_app(service, pool=tmp_path / "pool"), cert, key) as url, requests.Session() as http:
        got = http.get(f"{url}/releases/pool/{package.sha256}.deb", verify=str(ca.cert_file), timeout=10)
        assert got.status_code == 200 and got.content == pool.file(package.sha256).read_bytes()
        assert hashlib.sha256(got.content).hexdigest() == package.sha256
        head = http.head(f"{url}/releases/pool/{package.sha256}.deb", verify=str(ca.cert_file), timeout=10)
        assert head.status_code == 200 and int(head.headers["content-length"]) == package.size and not head.content
        ranged = http.get(f"{url}/releases/pool/{package.sha256}.deb", headers={"Range": "bytes=10-19"},
                              verify=str(ca.cert_file), timeout=10)
        assert ranged.status_code == 206 and ranged.content == got.content[10:20]
        tricks = ["/releases/pool/index.json", "/releases/pool/", "/releases/pool/..%2Fsecret.txt",
                  "/releases/pool/%2e%2e/secret.txt", "/releases/pool/../secret.txt", "/releases/secret.txt",
                  f"/releases/pool/{'A' * 64}.deb", f"/releases/pool/{package.sha256[:63]}.deb",
                  f"/releases/pool/{package.sha256}.deb/", f"/releases/pool/{package.sha256}.deb%00",
                  f"/releases/pool/{package.sha256}.DEB", f"/releases/pool/.{package.sha256}.deb",
                  f"/releases/pool/{'0' * 64}.deb", f"/releases/pool/{package.sha256}.deb.tmp"]
        for path in tricks:
            answer = http.get(url + path, verify=str(ca.cert_file), timeout=10)
            assert answer.status_code == 404, (path, answer.status_code)
            assert b"not for devices" not in answer.content and b"upper-case" not in answer.content
        posted = http.post(f"{url}/releases/pool/{package.sha256}.deb", verify=str(ca.cert_file), timeout=10)
        assert posted.status_code == 405
    db.close()


# -- the controller -------------------------------------------------------------------------------
@pytest.fixture
def rollout_site(fleet_db, tmp_path):
    """40 registered devices in province 23, a national rollout at 40 % canaries, on a moved clock."""
    ring, trust_file = keys_and_trust(tmp_path)
    clock = [NOW]
    publisher = MemoryPublisher(trust=TrustList.load(trust_file))
    rollouts = Rollouts(fleet_db, publisher=publisher, pool=Pool(tmp_path / "pool"), clock=lambda: clock[0])
    for i in range(40):
        registry.register(fleet_db, device_id=f"pi-{i:04d}", office_id=f"OFF-{i}", province="23")
    r = rollouts.start(build_deb(tmp_path, "0.9.0"), scope="national", key=ring.load("national"),
                       canary_percent=40, soak_seconds=3600, halt_threshold=10)
    canaries = [f"pi-{i:04d}" for i in range(40) if is_canary(f"pi-{i:04d}", 40)]
    assert len(canaries) >= 6
    return {"db": fleet_db, "rollouts": rollouts, "rollout": r, "clock": clock, "publisher": publisher,
            "key": ring.load("national"), "canaries": canaries, "trust": TrustList.load(trust_file),
            "devices": Devices(Fleet(fleet_db), lambda: clock[0])}


def retained(site) -> dict:
    envelope = site["publisher"].retained["pishkhan/v1/all/release"]
    payload, _ = site["trust"].verify(envelope, scope_key="national")
    return payload


def test_the_controller_promotes_after_a_healthy_soak(rollout_site):
    s = rollout_site
    r, devices = s["rollout"], s["devices"]
    for d in s["canaries"][:3]:
        for step in ("requested", "downloading", "installing", "installed", "healthy"):
            assert devices.step(d, r, step).accepted == 1
    devices.step(s["canaries"][3], r, "installing")
    assert [d.action for d in s["rollouts"].advance(key=s["key"])] == ["waiting"]  # still soaking
    assert retained(s)["canary_percent"] == 40
    s["clock"][0] += dt.timedelta(minutes=61)
    decisions = s["rollouts"].advance(key=s["key"])
    assert [(d.action, d.reason) for d in decisions] == [("promoted", "soaked")]
    document = retained(s)
    assert (document["version"], document["canary_percent"], document["halted"]) == (2, 100, False)
    assert s["rollouts"].get(r.rollout).stage == "promoted"
    assert [f["action"] for f in s["rollouts"].log(r.rollout)] == ["published", "promoted"]
    s["clock"][0] += dt.timedelta(minutes=61)
    assert [d.action for d in s["rollouts"].advance(key=s["key"])] == ["completed"]


def test_the_controller_halts_itself_on_rollbacks_and_the_page_says_why(rollout_site):
    s = rollout_site
    r, devices = s["rollout"], s["devices"]
    for d in s["canaries"][:4]:
        devices.step(d, r, "installing")
        devices.step(d, r, "healthy")
    devices.step(s["canaries"][4], r, "installing")
    devices.step(s["canaries"][4], r, "rolled_back", reason="unhealthy",
                 detail="pishkhan-kiosk.service: failed\nImportError: no module named kiosk")
    decisions = s["rollouts"].advance(key=s["key"])  # 1 of 5 = 20 % > 10 %: within the soak
    assert [(d.action, d.reason) for d in decisions] == [("halted", "failures_over_threshold")]
    document = retained(s)
    assert (document["version"], document["halted"], document["canary_percent"]) == (2, True, 40)
    stored = s["rollouts"].get(r.rollout)
    assert stored.stage == "halted" and stored.halted_reason == "failures_over_threshold"
    assert s["rollouts"].advance(key=s["key"]) == []  # a halted rollout is not moved again
    page = dashboard(s["db"]).get("/releases")
    assert page.status_code == 200
    assert "failures_over_threshold" in page.text and "1 of 5 updated devices" in page.text
    assert s["canaries"][4] in page.text and "ImportError: no module named kiosk" in page.text
    data = dashboard(s["db"]).get("/api/releases").json()
    shown = data["rollouts"][0]
    assert shown["progress"]["healthy"] == 4 and shown["progress"]["rolled_back"] == 1
    assert shown["failed_devices"][0]["reason"] == "unhealthy"


def test_a_device_gone_offline_mid_update_counts_against_the_rollout(rollout_site):
    s = rollout_site
    r, devices = s["rollout"], s["devices"]
    for d in s["canaries"][:5]:
        devices.step(d, r, "healthy")
    devices.step(s["canaries"][5], r, "installing")
    s["clock"][0] += dt.timedelta(minutes=1)
    devices.offline(s["canaries"][5])
    decisions = s["rollouts"].advance(key=s["key"])  # 1 of 6 offline during its update: 16.7 % > 10 %
    assert decisions[0].action == "halted" and decisions[0].detail["offline"] == 1


def test_an_older_step_delivered_late_changes_nothing(rollout_site):
    s = rollout_site
    r, devices, device = s["rollout"], s["devices"], s["canaries"][0]
    devices.step(device, r, "healthy")
    s["clock"][0] -= dt.timedelta(minutes=5)  # sent earlier, out of the outbox later
    assert devices.step(device, r, "installing").accepted == 1
    assert s["db"].query("SELECT state, step FROM release_devices") == [{"state": "healthy", "step": "healthy"}]


# -- what devices send ----------------------------------------------------------------------------
HOSTILE = [
    ({"step": "exploded"}, "schema"),                                       # a step outside the enumeration
    ({"step": "healthy", "rollout": "R" * 33}, "schema"),                    # too long for a rollout id
    ({"step": "healthy", "rollout": "R-1/../x"}, "schema"),
    ({"step": "healthy", "rollout": 5}, "schema"),                           # the wrong type
    ({"step": ["healthy"]}, "schema"),
    ({"step": "healthy", "to_version": "1.0 <script>"}, "schema"),
    ({"step": "healthy", "reason": "Not A Code"}, "schema"),
    ({"step": "healthy", "detail": "x" * 2001}, "schema"),                   # longer than the wire allows
    ({"step": "healthy", "detail": "ok\u202etxt.exe"}, "unsafe_text"),      # a bidi override
    ({"step": "healthy", "owner": "me"}, "schema"),                          # an unknown field
]


@pytest.mark.parametrize("detail, reason", HOSTILE)
def test_a_hostile_update_event_is_refused_logged_and_stores_nothing(tmp_path, caplog, detail, reason):
    db = open_db(str(tmp_path / "fleet.db"))
    registry.register(db, device_id="pi-0001", office_id="OFF-1", province="23")
    devices = Devices(Fleet(db), lambda: NOW)
    with caplog.at_level(logging.WARNING, logger="central.fleet"):
        counts = devices.raw_event("pi-0001", {"rollout": "R-1"} | detail)
    assert counts.refused == 1 and counts.reasons == {reason: 1}, counts
    assert any("refused" in r.getMessage() and reason in r.getMessage() for r in caplog.records)
    assert not db.query("SELECT * FROM release_devices") and not db.query("SELECT * FROM events")
    assert db.query("SELECT reason FROM refusals WHERE device_id = 'pi-0001'") == [{"reason": reason}]
    db.close()


@pytest.mark.parametrize("release", [{"state": "bricked"}, {"state": "healthy", "running_version": ["1"]},
                                     {"state": "healthy", "extra": 1}, "healthy",
                                     {"state": "healthy", "scope": "galaxy:1"}])
def test_a_hostile_reported_release_is_refused(tmp_path, release):
    db = open_db(str(tmp_path / "fleet.db"))
    counts = Devices(Fleet(db), lambda: NOW).reported("pi-0001", release)
    assert counts.refused == 1 and counts.reasons == {"schema": 1}
    assert not db.query("SELECT * FROM device_release")
    db.close()


def test_reported_release_gives_the_version_each_device_runs_by_province(tmp_path):
    from central.releases.progress import versions_by_province

    db = open_db(str(tmp_path / "fleet.db"))
    for i, province in enumerate(("23", "23", "11")):
        registry.register(db, device_id=f"pi-{i}", office_id=f"OFF-{i}", province=province)
    devices = Devices(Fleet(db), lambda: NOW)
    assert devices.reported("pi-0", {"rollout": "R-1", "state": "healthy", "running_version": "0.9.0",
                                     "scope": "national", "package_version": "0.9.0"}).accepted == 1
    devices.reported("pi-1", {"rollout": "R-1", "state": "waiting", "reason": "outside_window",
                              "running_version": "0.8.0", "scope": "national"})
    devices.reported("pi-2", {"state": "up_to_date", "running_version": "0.9.0"})
    assert versions_by_province(db) == {"23": {"0.9.0": 1, "0.8.0": 1}, "11": {"0.9.0": 1}}
    rows = {r["device_id"]: r["state"] for r in db.query("SELECT device_id, state FROM release_devices")}
    assert rows == {"pi-0": "healthy", "pi-1": "pending"}
    db.close()


# -- the page and the metrics ---------------------------------------------------------------------
def dashboard(db):
    from starlette.testclient import TestClient

    from central.users import Users
    from central.web.app import create_app
    from tests_login import login

    users = Users(db)
    if not users.list():
        users.add("admin", "centre-pass-1")
    client = TestClient(create_app(Fleet(db), now=lambda: NOW, metrics_cache_seconds=0))
    login(client, "admin", "centre-pass-1")
    return client


def test_metrics_expose_versions_rollout_progress_and_halts(rollout_site):
    s = rollout_site
    r, devices = s["rollout"], s["devices"]
    devices.reported(s["canaries"][0], {"rollout": r.rollout, "state": "healthy", "running_version": "0.9.0"})
    devices.step(s["canaries"][1], r, "rolled_back", reason="unhealthy")
    s["rollouts"].advance(key=s["key"])
    text = dashboard(s["db"]).get("/metrics").text
    assert 'pishkhan_devices_by_version{province="23",version="0.9.0"} 1.0' in text
    assert f'pishkhan_rollout_devices{{rollout="{r.rollout}",state="healthy"}} 1.0' in text
    assert f'pishkhan_rollout_devices{{rollout="{r.rollout}",state="rolled_back"}} 1.0' in text
    assert f'pishkhan_rollout_devices{{rollout="{r.rollout}",state="pending"}} 38.0' in text
    assert f'pishkhan_rollout_halted{{reason="failures_over_threshold",rollout="{r.rollout}"}} 1.0' in text


# -- the simulator ----------------------------------------------------------------------------------
def test_simulated_devices_act_on_a_release_as_the_design_says(tmp_path):
    import random

    from central.simulate import ReleaseActor, ReleaseBehaviour

    ring, trust_file = keys_and_trust(tmp_path)
    publisher = MemoryPublisher(trust=TrustList.load(trust_file))
    db = open_db(str(tmp_path / "fleet.db"))
    rollouts = Rollouts(db, publisher=publisher, pool=Pool(tmp_path / "pool"), clock=lambda: NOW)
    r = rollouts.start(build_deb(tmp_path, "0.9.0"), scope="national", key=ring.load("national"), canary_percent=50)
    envelope = publisher.retained["pishkhan/v1/all/release"]
    bad = ReleaseBehaviour(bad_versions=("0.9.0",))
    ids = [f"pi-{i:04d}" for i in range(20)]
    plans = {d: ReleaseActor(d, behaviour=bad, rng=random.Random(1)).consider(envelope) for d in ids}
    assert {d for d, plan in plans.items() if plan} == {d for d in ids if is_canary(d, 50)}  # canaries only
    canary = next(d for d, plan in plans.items() if plan)
    assert [step for _, step, _ in plans[canary]][-1] == "rolled_back"
    good = ReleaseActor(canary, behaviour=ReleaseBehaviour(), rng=random.Random(1))
    assert [step for _, step, _ in good.consider(envelope)][-1] == "healthy"
    # a halt calls off a start still to come; the events pass the centre's checks
    actor = ReleaseActor(canary, behaviour=bad, rng=random.Random(1))
    first = actor.consider(envelope)[0]
    rollouts.halt(r.rollout, key=ring.load("national"))
    actor.consider(publisher.retained["pishkhan/v1/all/release"])
    assert not actor.due(first[1], first[2])
    message = actor.event(seq=1, sent_at=NOW.timestamp(), step="rolled_back", fields=plans[canary][-1][2])
    assert Devices(Fleet(db), lambda: NOW).send(canary, "event", message).accepted == 1
    db.close()


@pytest.mark.parametrize("fleet_db", ["sqlite"], indirect=True)
def test_the_releases_page_on_a_phone_says_why_a_rollout_halted(rollout_site, tmp_path):
    import uvicorn

    from central.users import Users
    from central.web.app import create_app
    from services import chromium, wait_for_port

    s = rollout_site
    r, devices = s["rollout"], s["devices"]
    devices.step(s["canaries"][0], r, "healthy")
    devices.step(s["canaries"][1], r, "rolled_back", reason="unhealthy",
                 detail="pishkhan-display.service: failed\n" + "Traceback … " * 60)
    s["rollouts"].advance(key=s["key"])
    Users(s["db"]).add("admin", "centre-pass-1")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Fleet(s["db"]), now=lambda: NOW), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    try:
        with chromium() as driver:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
            driver.get(f"http://127.0.0.1:{port}/login?next=/releases")
            driver.find_element("id", "username").send_keys("admin")
            driver.find_element("id", "password").send_keys("centre-pass-1")
            driver.find_element("id", "login").click()
            from selenium.webdriver.support.ui import WebDriverWait

            WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith("/releases"))
            notice = driver.find_element("css selector", f"#rollout-{r.rollout} .halted")
            assert notice.is_displayed() and notice.get_attribute("data-reason") == "failures_over_threshold"
            assert "1 of 2 updated devices" in notice.text
            assert driver.find_element("css selector", f"tr[data-device='{s['canaries'][1]}']").is_displayed()
            assert driver.execute_script("return getComputedStyle(document.body).direction") == "rtl"
            assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
            driver.save_screenshot(str(tmp_path / "releases-phone.png"))
            if os.environ.get("SHOTS"):
                driver.save_screenshot(os.environ["SHOTS"])
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_monitor_records_a_retained_release_as_official_and_the_next_version_follows_it(tmp_path):
    from central.official_record import OfficialRecord
    from central.publish import encode

    ring, trust_file = keys_and_trust(tmp_path)
    trust = TrustList.load(trust_file)
    publisher = MemoryPublisher(trust=trust)
    db = open_db(str(tmp_path / "fleet.db"))
    rollouts = Rollouts(db, publisher=publisher, pool=Pool(tmp_path / "pool"), clock=lambda: NOW)
    deb = build_deb(tmp_path, "0.9.0")
    rollouts.start(deb, scope="province:23", key=ring.load("tehran"))
    topic = "pishkhan/v1/province/23/release"
    record = OfficialRecord(db, trust=trust)
    row = record.check(topic, encode(publisher.retained[topic]))
    assert (row["kind"], row["scope_key"], row["version"]) == ("release", "province:23", 1)
    record.record(dict(row, version=7), received_at="2026-12-07T18:30:00Z")  # a version this centre did not keep
    assert rollouts.start(deb, scope="province:23", key=ring.load("tehran")).doc_version == 8
    db.close()


def test_sign_pools_the_package_and_writes_a_signed_document_without_a_broker(tmp_path):
    ring, trust_file = keys_and_trust(tmp_path)
    deb = build_deb(tmp_path, "0.9.1")
    done = subprocess.run([sys.executable, "-m", "cli.main", "central", "release", "sign", str(deb), "--scope",
                           "national", "--key", "national", "--keys-dir", str(ring.directory), "--trust",
                           str(trust_file), "--pool", str(tmp_path / "pool"), "--version", "4", "--rollback",
                           "--out", str(tmp_path / "release.json")], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    document, _ = verify(json.loads((tmp_path / "release.json").read_text()), [ring.load("national").public])
    assert (document["version"], document["rollback"], document["canary_percent"]) == (4, True, 100)
    assert (tmp_path / "pool" / f"{document['package']['sha256']}.deb").read_bytes() == deb.read_bytes()
