"""The dashboard shows each device's certificate and enrolment: the office page says when, from which
address and by which claim's office its device enrolled, its renewals, refused enrolments for its office and
its revocation; the fleet lists mark a revoked or expired device — against a real uvicorn over HTTP, the rows
written by the functions the enrolment service and `devices revoke` use (central/certificates.py,
central/revocation.py)."""

from __future__ import annotations

import datetime as dt
import json

import dashboard_fleet as F
import pytest
from dashboard_client import logged_in

from central import certificates, revocation
from central.ca import CertificateAuthority, make_csr, new_device_key
from central.db import open_db
from central.web import certificates as shown
from central.web import strings
from central.web.app import create_app

NOW = F.NOW.astimezone(dt.timezone.utc)
ENROLLED_AT = NOW - dt.timedelta(days=40)


def issue(db, ca, device_id: str, *, how: str = "enrolled", at: dt.datetime = ENROLLED_AT, days: int = 90):
    cert = ca.sign_device(make_csr(new_device_key()), device_id=device_id, now=at, days=days)
    db.write(lambda c: certificates.record_issued(c, cert, device_id=device_id, how=how, now=at))
    return cert


def enrolment_story(db, ca):
    """dev-2301 enrolled by a claim of office 23-2301 (after one refused try), then renewed; dev-2302 enrolled,
    then revoked; dev-2303's certificate expired; dev-1101 expiring; dev-2304 has none."""
    def log(kind, at, **kw):
        db.write(lambda c: certificates.log(c, kind, now=at, **kw))

    log("enrolment_refused", ENROLLED_AT - dt.timedelta(minutes=5), office_id="23-2301", reason="claim_used",
        address="10.23.0.9", detail={"claim": "ABCD-…"})
    issue(db, ca, "dev-2301")
    log("enrolled", ENROLLED_AT, device_id="dev-2301", office_id="23-2301", address="10.23.0.7",
        detail={"claim_office": "23-2301", "serial": "…"})
    issue(db, ca, "dev-2301", how="renewed", at=NOW - dt.timedelta(days=1))
    log("renewed", NOW - dt.timedelta(days=1), device_id="dev-2301", office_id="23-2301", address="10.23.0.7")
    issue(db, ca, "dev-2302")
    log("enrolled", ENROLLED_AT, device_id="dev-2302", office_id="23-2302", address="10.23.0.8")
    revocation.revoke(db, ca, device_id="dev-2302", reason="دستگاه دزدیده شد (stolen)",
                      now=NOW - dt.timedelta(hours=2))
    issue(db, ca, "dev-2303", at=NOW - dt.timedelta(days=100))
    issue(db, ca, "dev-1101", at=NOW - dt.timedelta(days=85))
    # another office's refusal: not shown on dev-2301's page
    log("enrolment_refused", NOW, office_id="11-1101", reason="claim_expired", address="10.11.0.1")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("certificate-page")
    db = open_db(str(base / "fleet.db"))
    data = F.build(db)
    ca = CertificateAuthority.create(base / "ca", now=ENROLLED_AT - dt.timedelta(days=1))
    enrolment_story(db, ca)
    with logged_in(db, create_app(data["fleet"], now=lambda: F.NOW)) as (_url, clients):
        yield {"db": db, "clients": clients}
    db.close()


def get(site, user: str, path: str) -> str:
    status, _, body = site["clients"][user].get(path)
    assert status == 200, (user, path, status)
    return body.decode()


def test_the_office_page_says_when_and_how_its_device_enrolled(site):
    office = json.loads(get(site, "ops23", "/api/device/dev-2301"))
    cert, enrolment = office["certificate"], office["enrolment"]
    assert cert["state"] == "valid" and cert["how"] == "renewed" and len(cert["certificates"]) == 2
    assert enrolment["enrolled"]["address"] == "10.23.0.7" and enrolment["enrolled"]["office_id"] == "23-2301"
    assert [e["kind"] for e in enrolment["log"]] == ["renewed", "enrolled", "enrolment_refused"]
    assert enrolment["log"][2]["reason"] == "claim_used"  # a refused try for its office, before it had a device id
    html = get(site, "ops23", "/device/dev-2301")
    assert 'id="certificate" data-state="valid"' in html and strings.CERT_STATES["valid"] in html
    assert 'id="enrolled"' in html and "10.23.0.7" in html
    for kind in ("renewed", "enrolled", "enrolment_refused"):
        assert f'data-kind="{kind}"' in html and strings.ENROLMENT_KINDS[kind] in html
    assert "claim_expired" not in html and "10.11.0.1" not in html  # another office's refusal


def test_a_revoked_device_shows_when_and_why(site):
    office = json.loads(get(site, "admin", "/api/device/dev-2302"))
    assert office["certificate"]["state"] == "revoked"
    assert office["certificate"]["revoked_reason"] == "دستگاه دزدیده شد (stolen)"
    assert [e["kind"] for e in office["enrolment"]["log"]] == ["revoked", "enrolled"]
    html = get(site, "admin", "/device/dev-2302")
    assert 'data-state="revoked"' in html and "دستگاه دزدیده شد (stolen)" in html
    assert strings.ENROLMENT_KINDS["revoked"] in html


def test_the_fleet_lists_mark_revoked_expired_and_expiring_devices(site):
    devices = {d["device_id"]: d["certificate"] for d in json.loads(get(site, "admin", "/api/devices"))["devices"]}
    assert devices["dev-2301"] == "valid" and devices["dev-2302"] == "revoked"
    assert devices["dev-2303"] == "expired" and devices["dev-1101"] == "expiring" and devices["dev-2304"] == "none"
    html = get(site, "ops23", "/devices")
    assert 'data-certificate="revoked"' in html and 'data-certificate="expired"' in html
    assert 'data-certificate="expiring"' not in html  # dev-1101 is not of province 23
    assert "data-certificate" not in get(site, "ops11", "/devices").replace('data-certificate="expiring"', "")
    assert 'data-certificate="revoked"' in get(site, "admin", "/?province=23")


def test_a_device_with_no_certificate_says_so(site):
    office = json.loads(get(site, "ops23", "/api/device/dev-2304"))
    assert office["certificate"] == {"state": "none", "certificates": []} and office["enrolment"]["log"] == []
    html = get(site, "ops23", "/device/dev-2304")
    assert 'id="no-certificate"' in html and 'id="not-enrolled"' in html


def test_hostile_rows_are_bounded_escaped_and_counted(site, tmp_path):
    """Rows written past every check: a year-9999 end, a bidi reason, markup, a detail that is not JSON."""
    db = open_db(str(tmp_path / "fleet.db"))
    db.write(lambda c: (
        c.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES "
                  "('dev-2309', '23', '23-2309', 'x')"),
        c.execute("INSERT INTO certificates(serial, device_id, fingerprint, not_before, not_after, issued_at, how, "
                  "revoked_at, revoked_reason) VALUES ('ab', 'dev-2309', 'f', 'x', '9999-12-31T23:59:59Z', 'y', "
                  "'<script>', NULL, '')"),
        c.execute("INSERT INTO certificates(serial, device_id, fingerprint, not_before, not_after, issued_at, how, "
                  "revoked_at, revoked_reason) VALUES ('<b>cd</b>', 'dev-2309', 'f', 'x', 'soon', 'y', 'renewed', "
                  "'0001-01-01T00:00:00+23:59', ?)", ("\u202e" + "x" * 5000,)),
        c.execute("INSERT INTO enrolment_log(at, device_id, office_id, kind, reason, address, detail) VALUES "
                  "('9999-12-31T23:59:59-23:59', 'dev-2309', '23-2309', '<img src=x>', '\u202eevil', "
                  "'<b>1.2.3.4</b>', '[[[[')"),
        c.execute("INSERT INTO enrolment_log(at, device_id, office_id, kind, reason, address, detail) VALUES "
                  "('', 'dev-2309', '', 'enrolled', '', '', '{\"a\": NaN}')")))
    from central.stored import Tally

    tally = Tally()
    cert = shown.certificate(db, "dev-2309", now=NOW, tally=tally, province="23")
    log = shown.enrolment(db, "dev-2309", "23-2309", tally=tally, province="23")
    assert sorted(c["state"] for c in cert["certificates"]) == ["revoked", "unknown"]  # year 9999: not a time we read
    assert all(len(c["revoked_reason"]) <= 300 and c["revoked_at"] is None for c in cert["certificates"])
    assert [e["label"] for e in log["log"]] == [None, strings.ENROLMENT_KINDS["enrolled"]]
    assert log["enrolled"]["at"] is None  # shown as unknown
    assert tally.total == 3  # the unreadable end, the detail that is not JSON, the NaN
    db.close()


def test_what_the_pages_read_on_sqlite_and_postgresql(fleet_db, tmp_path):
    ca = CertificateAuthority.create(tmp_path / "ca", now=ENROLLED_AT - dt.timedelta(days=1))
    fleet_db.write(lambda c: c.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES "
                                       "('dev-2301', '23', '23-2301', 'x'), ('dev-2302', '23', '23-2302', 'y')"))
    enrolment_story(fleet_db, ca)
    cert = shown.certificate(fleet_db, "dev-2301", now=NOW)
    assert cert["state"] == "valid" and [c["how"] for c in cert["certificates"]] == ["renewed", "enrolled"]
    log = shown.enrolment(fleet_db, "dev-2301", "23-2301")
    assert [e["kind"] for e in log["log"]] == ["renewed", "enrolled", "enrolment_refused"]
    assert log["enrolled"]["address"] == "10.23.0.7"
    assert shown.states(fleet_db, province="23", now=NOW) == {"dev-2301": "valid", "dev-2302": "revoked"}
    assert shown.states(fleet_db, now=NOW)["dev-2303"] == "expired"


def test_a_retired_device_is_not_offered_for_registering_again(site):
    """A device retired (and revoked) when it was replaced shows as retired, not as a stray to `devices add`."""
    from central import registry

    db = site["db"]
    registry.register(db, device_id="dev-2399", office_id="23-2399", province="23")
    db.write(lambda c: c.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES (?,?,?,?) "
                                 "ON CONFLICT (device_id) DO NOTHING", ("dev-2399", "23", "23-2399", "")))
    registry.retire(db, device_id="dev-2399")
    html = get(site, "admin", "/device/dev-2399")
    assert 'id="retired"' in html and 'id="quarantined"' not in html and "devices add" not in html
    fleet = get(site, "admin", "/")
    assert "dev-2399" in fleet and "devices add dev-2399" not in fleet
    [row] = [d for d in json.loads(get(site, "admin", "/api/fleet"))["quarantine"]["devices"]
             if d["device_id"] == "dev-2399"]
    assert row["retired_at"] and row["command_id"] is None
