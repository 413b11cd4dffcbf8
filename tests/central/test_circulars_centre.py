"""Circulars at the centre: the PDF pool and its HTTPS route, ``central publish circular`` over a real
Mosquitto with its ACL, the index refused before the broker when a device would refuse it, the offices' receipt
and acknowledgement events (hostile ones refused and counted), the ``/circulars`` page and the
``circular_unacknowledged`` alert — on SQLite and PostgreSQL (central/circulars, docs/circulars.md)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from enrolment_helpers import make_ca
from rollout_helpers import keys_and_trust
from services import free_port

from central import registry
from central.alerts import Alerting
from central.circulars import CircularNotPublished as Refused
from central.circulars.pool import PdfPool
from central.circulars.publisher import Circulars, MemoryPublisher
from central.circulars.view import circulars_view, unacknowledged_since
from central.db import open_db
from central.errors import NotPublished
from central.fleet import Fleet
from central.trust import TrustList
from pishkhan.boards.signing import verify
from pishkhan.protocol import payloads

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.timezone.utc)
TITLE = "بخشنامهٔ ساعت کار دفاتر پیشخوان"
SUMMARY = "ساعت کار دفاتر در روزهای پنجشنبه تا ساعت ۱۳ است."


def make_pdf(folder: Path, name: str = "circular.pdf", *, seed: int = 0) -> Path:
    """A real one-page PDF (Pillow)."""
    from PIL import Image

    path = folder / name
    Image.new("RGB", (120, 80), (255, 255 - seed % 200, 255)).save(path, "PDF")
    return path


# -- the pool and its route over HTTPS ----------------------------------------------------------------------
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


def test_the_circulars_pool_takes_only_pdfs_and_the_enrolment_server_serves_their_exact_bytes(tmp_path):
    from central.enrolment.server import create_app
    from central.enrolment.service import Enrolment

    pool = PdfPool(tmp_path / "circulars")
    pdf = make_pdf(tmp_path)
    attachment = pool.add(pdf)
    assert attachment.sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert pool.add(pdf) == attachment and pool.file(attachment.sha256).read_bytes() == pdf.read_bytes()
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"PK\x03\x04 a zip called .pdf")
    huge = tmp_path / "huge.pdf"
    with open(huge, "wb") as f:  # sparse: 20 MiB and one byte, beginning as a PDF does
        f.write(b"%PDF-1.4\n")
        f.truncate(20 * 1024 * 1024 + 1)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    for path, reason in ((fake, "not_a_pdf"), (huge, "too_large"), (empty, "not_a_pdf"),
                         (tmp_path / "missing.pdf", "unreadable")):
        with pytest.raises(Refused) as e:
            pool.add(path)
        assert e.value.reason == reason, path
    assert sorted(p.name for p in pool.directory.iterdir()) == [attachment.file_name]  # nothing half-added

    ca, cert, key = make_ca(tmp_path)
    (tmp_path / "secret.txt").write_text("not for devices")
    (pool.directory / ("A" * 64 + ".pdf")).write_bytes(b"upper-case name")
    (pool.directory / (attachment.sha256 + ".pdf.part")).write_bytes(b"not for devices: a half file")
    (pool.directory / ("x" + attachment.sha256 + ".pdf")).write_bytes(b"not for devices: another name")
    db = open_db(str(tmp_path / "fleet.db"))
    service = Enrolment(db, ca=ca, broker_url="mqtts://broker.test:8883", renew_url="https://127.0.0.1:1")
    app = create_app(service, pool=tmp_path / "releases", circulars=pool.directory)
    with https(app, cert, key) as url, requests.Session() as http:
        path = f"{url}/{attachment.path}"
        got = http.get(path, verify=str(ca.cert_file), timeout=10, allow_redirects=False)
        assert got.status_code == 200 and got.content == pdf.read_bytes()
        assert got.headers["content-type"] == "application/pdf" and "immutable" in got.headers["cache-control"]
        head = http.head(path, verify=str(ca.cert_file), timeout=10)
        assert head.status_code == 200 and int(head.headers["content-length"]) == attachment.size
        tricks = ["/circulars/pool/", "/circulars/pool/..%2Fsecret.txt", "/circulars/pool/%2e%2e/secret.txt",
                  f"/circulars/pool/{'A' * 64}.pdf", f"/circulars/pool/{attachment.sha256[:63]}.pdf",
                  f"/circulars/pool/{attachment.sha256}.pdf/", f"/circulars/pool/{attachment.sha256}.PDF",
                  f"/circulars/pool/.{attachment.sha256}.pdf", f"/circulars/pool/{'0' * 64}.pdf",
                  f"/releases/pool/{attachment.sha256}.pdf", f"/circulars/pool/{attachment.sha256}.deb",
                  "/circulars/secret.txt", f"/circulars/pool/{attachment.sha256}.pdf.part",
                  f"/circulars/pool/x{attachment.sha256}.pdf"]
        for trick in tricks:
            answer = http.get(url + trick, verify=str(ca.cert_file), timeout=10, allow_redirects=False)
            assert answer.status_code == 404, (trick, answer.status_code)
            assert b"not for devices" not in answer.content and b"upper-case" not in answer.content
        assert http.post(path, verify=str(ca.cert_file), timeout=10).status_code == 405
        assert http.delete(path, verify=str(ca.cert_file), timeout=10).status_code == 405
    db.close()


# -- publish over a real broker ----------------------------------------------------------------------------
def central(*args, broker) -> subprocess.CompletedProcess:
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    extra = ["--broker", f"mqtt://{broker.host}:{broker.port_for('centre')}", "--username", "centre",
             "--password-file", str(broker.password_file("centre"))]
    return subprocess.run([sys.executable, "-m", "cli.main", "central", "publish", "circular", *args, *extra],
                          capture_output=True, text=True, timeout=60, env=environ, cwd=ROOT)


def test_publish_circular_pools_signs_and_retains_the_provinces_growing_index(mqtt_broker, tmp_path):
    from pishkhan.circulars.document import parse_circulars

    ring, trust_file = keys_and_trust(tmp_path)
    first, second = make_pdf(tmp_path, "a.pdf", seed=1), make_pdf(tmp_path, "b.pdf", seed=2)
    common = ["--scope", "province:23", "--key", "tehran", "--keys-dir", str(ring.directory), "--trust",
              str(trust_file), "--db", str(tmp_path / "fleet.db"), "--circulars-pool", str(tmp_path / "pool")]
    done = central(str(first), "--number", "۱۴۰۵/۱۲۳", "--title", TITLE, "--summary", SUMMARY, "--kind",
                   "instruction", "--issued-on", "1405-09-16", "--effective-on", "۱۴۰۵-۰۹-۲۰", "--urgent", *common,
                   broker=mqtt_broker)
    assert done.returncode == 0, done.stderr
    assert "index v1" in done.stdout
    # another fleet database (a second centre host, a fresh one): the index the devices hold goes on
    fresh = [*common[:-4], "--db", str(tmp_path / "fresh.db"), *common[-2:]]
    done = central(str(second), "--number", "1405/124", "--title", "فهرست تعرفهٔ تازه", "--summary", "تعرفه‌ها",
                   "--supersedes", "1405/123", "--kind", "tariff_list", *fresh, broker=mqtt_broker)
    assert done.returncode == 0, done.stderr
    assert "index v2" in done.stdout
    refused = central(str(tmp_path / "fleet.db"), "--number", "1405/125", "--title", "t", "--summary", "s", *common,
                      broker=mqtt_broker)
    assert refused.returncode == 1 and "not_a_pdf" in refused.stderr, refused.stderr
    # an office reads the index retained on its province's topic, through the shipped ACL
    seen = mqtt_broker.capture(user="dev-0001", filters=["pishkhan/v1/province/23/circulars"])
    assert seen.wait(lambda c: c.messages, 10)
    topic, payload, retained, _ = seen.messages[0]
    document, _ = verify(json.loads(payload), [ring.load("tehran").public])
    assert retained and document["version"] == 2 and document["scope"] == {"level": "province", "province": "23"}
    parsed = parse_circulars(document)  # the device's own parser takes it
    assert [e["number"] for e in document["circulars"]] == ["1405/123", "1405/124"]
    a, b = document["circulars"]
    assert (a["kind"], a["title"], a["issued_on"], a["effective_on"], a["urgent"]) == \
        ("instruction", TITLE, "1405-09-16", "1405-09-20", True)
    assert b["supersedes"] == ["1405/123"] and b["issued_on"] == b["effective_on"]
    sha = hashlib.sha256(first.read_bytes()).hexdigest()
    assert a["attachment"] == {"sha256": sha, "size": first.stat().st_size, "media_type": "application/pdf",
                               "path": f"circulars/pool/{sha}.pdf"}
    assert (tmp_path / "pool" / f"{sha}.pdf").read_bytes() == first.read_bytes()
    assert parsed is not None
    with open_db(str(tmp_path / "fresh.db")) as db:  # the first circular taken from the retained index
        rows = db.query("SELECT number, index_version, superseded_by FROM circulars ORDER BY number")
        assert [(r["number"], r["index_version"], r["superseded_by"]) for r in rows] == \
            [("1405/123", 1, "1405/124"), ("1405/124", 2, "")]
        assert [r["version"] for r in db.query("SELECT version FROM circular_indexes ORDER BY version")] == [2]


# -- refused before the broker ----------------------------------------------------------------------------
@pytest.fixture
def centre(fleet_db, tmp_path):
    ring, trust_file = keys_and_trust(tmp_path)
    clock = [NOW]
    publisher = MemoryPublisher(trust=TrustList.load(trust_file))
    circulars = Circulars(fleet_db, pool=PdfPool(tmp_path / "pool"), publisher=publisher, clock=lambda: clock[0])
    return {"db": fleet_db, "circulars": circulars, "publisher": publisher, "ring": ring, "clock": clock,
            "pdf": make_pdf(tmp_path), "trust": TrustList.load(trust_file)}


def publish(s, number, *, scope="national", key="national", **extra):
    fields = {"kind": "circular", "title": TITLE, "summary": SUMMARY} | extra
    return s["circulars"].publish(s["pdf"], number=number, scope=scope, key=s["ring"].load(key), **fields)


def test_an_index_devices_would_refuse_is_refused_before_the_broker_and_the_index_stays_bounded(centre, monkeypatch,
                                                                                                 tmp_path):
    s = centre
    publish(s, "1405/1")
    cases = [(dict(number="1405/2", key="tehran"), NotPublished, "key_not_allowed"),  # a province key, nationally
             (dict(number="1405/2", scope="province:11", key="tehran"), NotPublished, "key_not_allowed"),
             (dict(number="1405/1"), Refused, "duplicate_number"),
             (dict(number="1405/2", supersedes=["1404/9"]), Refused, "unknown_supersedes"),
             (dict(number="1405/2", issued_on="1405-09-20", effective_on="1405-09-16"), Refused, "bad_field"),
             (dict(number="1405/2", issued_on="1405-13-01"), Refused, "bad_field"),
             (dict(number="/1405"), Refused, "bad_field"),
             (dict(number="1405/2", title="x" * 201), Refused, "bad_field"),
             (dict(number="1405/2", title="a\u202eb"), Refused, "bad_field"),
             (dict(number="1405/2", kind="memo"), Refused, "bad_field"),
             (dict(number="1405/2", scope="province:99"), Refused, "bad_scope")]
    for case, error, reason in cases:
        with pytest.raises(error) as e:
            publish(s, **case)
        assert e.value.reason == reason, case
    assert [r["version"] for r in s["db"].query("SELECT version FROM circular_indexes")] == [1]
    assert len(s["publisher"].retained_envelopes["pishkhan/v1/all/circulars"]["payload"]["circulars"]) == 1
    monkeypatch.setattr("central.circulars.index.MAX_ENTRIES", 3)
    publish(s, "1405/2", supersedes=["1405/1"])
    publish(s, "1405/3")
    done = publish(s, "1405/4")
    document, _ = s["trust"].verify(s["publisher"].retained_envelopes["pishkhan/v1/all/circulars"], scope_key="national")
    assert done["version"] == document["version"] == 4
    assert [e["number"] for e in document["circulars"]] == ["1405/2", "1405/3", "1405/4"]  # the superseded one left
    assert len(s["db"].query("SELECT number FROM circulars")) == 4  # the centre's record keeps every circular
    other = open_db(str(tmp_path / "other.db"))  # a fleet database that never saw them: the retained index goes on
    done = Circulars(other, pool=PdfPool(tmp_path / "pool"), publisher=s["publisher"], clock=lambda: NOW).publish(
        s["pdf"], number="1405/5", kind="circular", title=TITLE, summary=SUMMARY, scope="national",
        key=s["ring"].load("national"), supersedes=["1405/3"])
    assert (done["version"], done["entries"]) == (5, 3)
    rows = other.query("SELECT number, superseded_by FROM circulars ORDER BY number")
    assert [(r["number"], r["superseded_by"]) for r in rows] == \
        [("1405/2", ""), ("1405/3", "1405/5"), ("1405/4", ""), ("1405/5", "")]
    other.close()


# -- offices report; the page and the alert count them -----------------------------------------------------
class Office:
    """A registered device sending its circular events through the monitor's own ingest."""

    def __init__(self, fleet, device, clock):
        self.fleet, self.device, self.clock, self.seq = fleet, device, clock, 0

    def event(self, name, detail):
        self.seq += 1
        at = self.clock[0].timestamp()
        message = payloads.event(device=self.device, seq=self.seq, sent_at=at, event=name, detail=detail)
        return self.fleet.ingest([(self.fleet.topics.device(self.device, "event"), payloads.encode(message),
                                   payloads.format_time(at))])

    def received(self, scope, number, **extra):
        return self.event("circular_received", {"scope": scope, "number": number, "sha256": "a" * 64,
                                                "at": payloads.format_time(self.clock[0].timestamp())} | extra)

    def acknowledged(self, scope, number, by="staff", **extra):
        return self.event("circular_acknowledged", {"scope": scope, "number": number, "sha256": "a" * 64,
                                                    "at": payloads.format_time(self.clock[0].timestamp()),
                                                    "by": by} | extra)


def test_offices_receipts_and_acknowledgements_are_counted_by_province_and_hostile_ones_refused(centre):
    s, db = centre, centre["db"]
    for i in range(3):
        registry.register(db, device_id=f"t-{i}", office_id=f"T{i}", province="23", office_name=f"دفتر تهران {i}")
    for i in range(2):
        registry.register(db, device_id=f"b-{i}", office_id=f"B{i}", province="11", office_name=f"دفتر تبریز {i}")
    s["clock"][0] = NOW - dt.timedelta(days=5)
    publish(s, "1405/10")
    s["clock"][0] = NOW - dt.timedelta(days=1)
    publish(s, "1405/11", scope="province:23", key="tehran")
    fleet, clock = Fleet(db), [NOW - dt.timedelta(days=4)]
    office = {d: Office(fleet, d, clock) for d in ("t-0", "t-1", "t-2", "b-0", "b-1")}
    for d in ("t-0", "t-1", "b-0"):
        assert office[d].received("national", "1405/10").accepted == 1
    assert office["t-0"].acknowledged("national", "1405/10", by="خانم احمدی").accepted == 1
    clock[0] = NOW - dt.timedelta(days=2)
    assert office["t-0"].acknowledged("national", "1405/10", by="someone else").accepted == 1  # the first stands
    assert office["b-0"].acknowledged("national", "1405/10").accepted == 1
    assert office["t-1"].received("province:23", "1405/11").accepted == 1
    hostile = [("b-1", "circular_received", {"scope": "province:23", "number": "1405/11"}, "wrong_device"),
               ("t-2", "circular_received", {"scope": "national", "number": "../../etc"}, "schema"),
               ("t-2", "circular_received", {"scope": "province:2x", "number": "1405/10"}, "schema"),
               ("t-2", "circular_acknowledged", {"scope": "national", "number": "1405/10", "by": "x" * 61}, "schema"),
               ("t-2", "circular_received", {"scope": "national", "number": "1405/10", "by": "me"}, "schema"),
               ("t-2", "circular_received", {"scope": "national", "number": "1405/10", "office": "T0"}, "schema"),
               ("t-2", "circular_received", {"scope": "national", "number": "1405/10", "sha256": "XYZ"}, "schema"),
               ("t-2", "circular_received", {"scope": "national", "number": "1405/10",
                                             "at": "2020-01-01T00:00:00Z"}, "time"),
               ("t-2", "circular_received", {"scope": "national", "number": 1405}, "schema")]
    for device, name, detail, reason in hostile:
        detail = {"sha256": "a" * 64, "at": payloads.format_time(clock[0].timestamp())} | detail
        counts = office[device].event(name, detail)
        assert (counts.accepted, counts.refused, counts.reasons) == (0, 1, {reason: 1}), (detail, counts)
    # kept per office, not as events
    assert not db.query("SELECT * FROM events WHERE kind IN ('circular_received', 'circular_acknowledged')")
    rows = db.query("SELECT device_id, scope, number, acknowledged_by FROM circular_offices ORDER BY device_id, number")
    assert [(r["device_id"], r["number"], r["acknowledged_by"]) for r in rows] == \
        [("b-0", "1405/10", "staff"), ("t-0", "1405/10", "خانم احمدی"), ("t-1", "1405/10", ""),
         ("t-1", "1405/11", "")]

    flood = Office(fleet, "b-0", clock)  # a new office receives a whole index at once: over the day's event budget
    flood.seq = 100
    batch = []
    for n in range(150):
        flood.seq += 1
        message = payloads.event(device="b-0", seq=flood.seq, sent_at=clock[0].timestamp(), event="circular_received",
                                 detail={"scope": "national", "number": f"1404/{n}", "sha256": "b" * 64,
                                         "at": payloads.format_time(clock[0].timestamp())})
        batch.append((fleet.topics.device("b-0", "event"), payloads.encode(message),
                      payloads.format_time(clock[0].timestamp())))
    assert fleet.ingest(batch).accepted == 150
    db.execute("DELETE FROM circular_offices WHERE device_id = 'b-0' AND number <> '1405/10'")

    view = circulars_view(db, now=NOW)
    by = {(c["number"], p["province"]): p for c in view["circulars"] for p in c["provinces"]}
    assert [c["number"] for c in view["circulars"]] == ["1405/11", "1405/10"]
    tehran, tabriz = by[("1405/10", "23")], by[("1405/10", "11")]
    assert (tehran["in_scope"], tehran["received"], tehran["acknowledged"], tehran["overdue"]) == (3, 2, 1, 2)
    assert [d["device_id"] for d in tehran["late"]] == ["t-1", "t-2"]
    assert (tabriz["in_scope"], tabriz["received"], tabriz["acknowledged"], tabriz["overdue"]) == (2, 1, 1, 1)
    assert list(by) == [("1405/11", "23"), ("1405/10", "11"), ("1405/10", "23")]  # a province's only in its own
    fresh = by[("1405/11", "23")]
    assert (fresh["received"], fresh["overdue"], fresh["late"]) == (1, 0, [])  # published a day ago: not yet due
    assert circulars_view(db, now=NOW, days=0)["circulars"][0]["overdue"] == 3
    tabriz_only = circulars_view(db, now=NOW, province="11")
    assert [(c["number"], [p["province"] for p in c["provinces"]]) for c in tabriz_only["circulars"]] == \
        [("1405/10", ["11"])]

    assert unacknowledged_since(db, now=NOW) == {"t-1": "2026-12-05T10:00:00Z", "t-2": "2026-12-05T10:00:00Z",
                                                 "b-1": "2026-12-05T10:00:00Z"}
    alerting = Alerting(db)
    alerting.rules.add(kind="circular_unacknowledged", severity="warning", minutes=0, threshold=3, now=NOW)
    opened = alerting.evaluate(now=NOW)
    # t-2 was never heard from (refused messages only): the alerts judge devices the centre has heard of
    assert sorted(c.alert["device_id"] for c in opened if c.event == "opened") == ["b-1", "t-1"]
    clock[0] = NOW
    office["t-1"].acknowledged("national", "1405/10")
    resolved = alerting.evaluate(now=NOW + dt.timedelta(minutes=1))
    assert [(c.event, c.alert["device_id"]) for c in resolved] == [("resolved", "t-1")]


def test_the_circulars_page_is_persian_jalali_and_a_province_user_sees_their_province(tmp_path):
    from central.web.app import create_app
    from tests.central.dashboard_client import logged_in

    db = open_db(str(tmp_path / "fleet.db"))
    ring, trust_file = keys_and_trust(tmp_path)
    clock = [NOW - dt.timedelta(days=4)]
    circulars = Circulars(db, pool=PdfPool(tmp_path / "pool"), publisher=MemoryPublisher(
        trust=TrustList.load(trust_file)), clock=lambda: clock[0])
    pdf = make_pdf(tmp_path)
    circulars.publish(pdf, number="1405/10", kind="circular", title=TITLE, summary=SUMMARY, scope="national",
                      key=ring.load("national"), issued_on="1405-09-16", urgent=True)
    circulars.publish(pdf, number="1405/11", kind="regulation", title="آیین‌نامهٔ تهران", summary=SUMMARY,
                      scope="province:23", key=ring.load("tehran"))
    registry.register(db, device_id="t-0", office_id="T0", province="23", office_name="دفتر ونک")
    registry.register(db, device_id="b-0", office_id="B0", province="11", office_name="دفتر تبریز")
    db.execute("INSERT INTO circulars(scope_key, number, kind, title, issuer, issued_on, effective_on, urgent, sha256, "
               "size, supersedes, index_version, published_at) VALUES ('national', '<b>', 'memo', '<script>x</script>', "
               "'', '1405-99-99', 'x', 7, 'zz', -5, '', 1, 'not a time')")  # whatever the table holds: no 500
    app = create_app(Fleet(db), now=lambda: NOW)
    with logged_in(db, app) as (url, c):
        status, _, body = c["admin"].get("/circulars")
        html = body.decode()
        assert status == 200 and 'href="/circulars" class="on"' in html and html.count('class="circular"') == 3
        assert "<script>x" not in html and "&lt;script&gt;x" in html
        assert TITLE in html and "۱۶ آذر ۱۴۰۵" in html and "فوری" in html and "آیین‌نامه" in html
        assert 'href="/device/t-0">دفتر ونک</a>' in html and 'href="/device/b-0">دفتر تبریز</a>' in html
        assert "1405/10" in html and "<script" not in html.split("</header>")[1]
        status, _, body = c["ops11"].get("/api/circulars?province=23")
        data = json.loads(body)
        assert status == 200 and data["province"] == "11"
        assert [x["number"] for x in data["circulars"]] == ["<b>", "1405/10"]
        assert [p["province"] for p in data["circulars"][1]["provinces"]] == ["11"]
        html = c["ops11"].get("/circulars")[2].decode()
        assert "دفتر ونک" not in html and "دفتر تبریز" in html and "آیین‌نامهٔ تهران" not in html
        assert c["admin"].get("/circulars?days=zz&page=x")[0] == 200
    db.close()
