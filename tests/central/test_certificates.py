"""central/certificates.py: issued, revoked and logged certificates in the fleet database."""

import datetime as dt

import pytest

from central import certificates as certs
from central.ca import CertificateAuthority, make_csr, new_device_key
from central.db import open_db

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def setup(tmp_path):
    ca = CertificateAuthority.create(tmp_path / "ca", now=NOW)
    db = open_db(str(tmp_path / "fleet.db"))
    yield ca, db
    db.close()


def test_a_device_certificate_goes_from_valid_to_expiring_expired_and_revoked(setup):
    ca, db = setup
    cert = ca.sign_device(make_csr(new_device_key()), device_id="dev-2301", now=NOW)
    db.write(lambda c: certs.record_issued(c, cert, device_id="dev-2301", how="enrolled", now=NOW))
    state = lambda at: db.read(lambda c: certs.state_in(c, "dev-2301", now=at)).state  # noqa: E731
    assert state(NOW) == "valid"
    assert state(NOW + dt.timedelta(days=80)) == "expiring"
    assert state(NOW + dt.timedelta(days=91)) == "expired"
    assert db.read(lambda c: certs.state_in(c, "dev-9999")).state == "none"
    assert db.write(lambda c: certs.revoke_in(c, "dev-2301", reason="stolen", now=NOW)) == [f"{cert.serial_number:x}"]
    assert state(NOW) == "revoked"
    assert db.read(lambda c: certs.is_revoked_in(c, cert))
    revoked = db.read(certs.revoked_in)
    assert [r.serial for r in revoked] == [cert.serial_number]
    ca.write_crl(revoked, now=NOW)
    assert db.write(lambda c: certs.revoke_in(c, "dev-2301", reason="again")) == []


def test_the_log_bounds_what_it_keeps(setup):
    _, db = setup
    db.write(lambda c: certs.log(c, "enrolment_refused", reason="claim_used", address="x" * 5000,
                                 detail={"note": "y" * 10000}, now=NOW))
    row = db.query("SELECT * FROM enrolment_log")[0]
    assert row["kind"] == "enrolment_refused" and len(row["address"]) == 300 and len(row["detail"]) <= 4000
    assert __import__("json").loads(row["detail"]) == {"truncated": 10012}


@pytest.mark.parametrize("not_after, state", [("2027-01-31T00:00:00", "valid"), ("2026-12-01T00:00:00", "expired"),
                                              ("not a time", "expired"), ("9999-12-31T23:59:59+14:00", "expired")])
def test_a_stored_end_is_read_as_every_stored_time_is(setup, not_after, state):
    """Naive is UTC; unreadable or out of the stored years counts as ended (central.status.parse_time)."""
    _, db = setup
    db.write(lambda c: c.execute("INSERT INTO certificates(serial, device_id, fingerprint, not_before, not_after, "
                                 "issued_at, how) VALUES ('ab', 'dev-1', 'f', '', ?, '', 'enrolled')", (not_after,)))
    assert db.read(lambda c: certs.state_in(c, "dev-1", now=NOW)).state == state
