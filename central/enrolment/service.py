"""Enrolment and renewal: the centre's rules, without HTTP.

**Enrolment** (:meth:`Enrolment.enroll`) takes a claim code, a CSR and the
hardware serial the device reports. The code must read (check character)
and name a claim that is neither expired nor used; the CSR's signature must
hold. The centre then chooses the device id — the claim's office id, a dash
and 8 random hex digits (``23-1234-5f0c9a1e``): unique without asking the
device, and telling ops at a glance which office a device serves; a new SD
card for the same office gets a new id — and, in one transaction of the
fleet database, registers the device under the claim's office
(:func:`central.registry.register`), signs its certificate
(:meth:`central.ca.CertificateAuthority.sign_device`), marks the claim used
by this key, records the certificate (``how = enrolled``) and logs
``enrolled``.

The same claim with the same key again (a device that lost the answer)
gets the same answer (logged ``enrolment_repeated``); with another key,
``claim_used``.

**Renewal** (:meth:`Enrolment.renew`) takes the device's current
certificate, a CSR for its new key and the current key's signature over the
CSR's bytes. The certificate must be this CA's, unexpired and not revoked,
the signature must hold, the device must still be registered, and the
certificate must be due (fewer than ``RENEW_WHEN_LEFT_DAYS`` days left, two
days' slack; else ``not_due``); the new
certificate names the same device (``how = renewed``, logged ``renewed``).

Every refusal is :exc:`EnrolmentRefused` with a ``reason`` from
:data:`pishkhan.enrolment.REASONS`, logged (``enrolment_refused`` or
``renewal_refused``) with the client's address; every refused attempt counts
against the address (:class:`~central.enrolment.limits.AttemptLimit`).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path

from cryptography import x509

from central import certificates, registry
from central.ca import CertificateAuthority, CertificateRefused, cert_pem, load_csr
from central.enrolment import claims
from central.enrolment.limits import AttemptLimit
from central.errors import EnrolmentRefused
from pishkhan import claimcode, tls
from pishkhan.enrolment import RENEW_WHEN_LEFT_DAYS
from pishkhan.tls import common_name, public_fingerprint, signature_holds

MAX_SERIAL = 200
#: A renewal is refused while more than RENEW_WHEN_LEFT_DAYS and this many days remain (a device's clock may be
#: ahead).
NOT_DUE_SLACK_DAYS = 2
_SERIAL = re.compile(r"[0-9A-Za-z._:-]{0,%d}" % MAX_SERIAL, re.ASCII)


class _Joined:
    """A fleet database whose ``write`` joins the caller's open transaction (cursor *c*)."""

    def __init__(self, c):
        self._c = c

    def write(self, fn):
        return fn(self._c)


def _text(body: dict, key: str, *, limit: int, required: bool = True) -> str:
    value = body.get(key, None if required else "")
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        raise EnrolmentRefused(f"{key}: expected text of 1-{limit} characters", reason="bad_request")
    return value


class Enrolment:
    """The enrolment service over fleet database *db* and CA *ca*.

    :param keys_dir: the centre's key folder (:class:`central.keys.KeyRing`):
        its issuer and command public keys are handed to devices; None: none.
    :param broker_url: the ``mqtts://`` URL devices connect to.
    :param renew_url: where devices renew (this server's base URL).
    :param clock: returns the aware time now.
    """

    def __init__(self, db, *, ca: CertificateAuthority, broker_url: str, renew_url: str, keys_dir=None,
                 clock=lambda: dt.datetime.now(dt.timezone.utc), limit: AttemptLimit | None = None):
        self.db = db
        self.ca = ca
        self.broker_url = broker_url
        self.renew_url = renew_url
        self.keys_dir = Path(keys_dir) if keys_dir else None
        self.clock = clock
        self.limit = limit or AttemptLimit(db, clock=clock)

    # -- enrolment ---------------------------------------------------------------------
    def enroll(self, body: dict, *, address: str) -> dict:
        """The answer for a device enrolling with *body*; :exc:`EnrolmentRefused` saying why not."""
        return self._guarded("enrolment_refused", address, lambda now: self._enroll(body, address, now))

    def _enroll(self, body: dict, address: str, now: dt.datetime) -> dict:
        code, csr_pem = _text(body, "claim", limit=64), _text(body, "csr", limit=16_384)
        serial = _text(body, "hardware_serial", limit=MAX_SERIAL, required=False)
        if not _SERIAL.fullmatch(serial):  # NUL breaks PostgreSQL; bidi and control characters mislead ops
            raise EnrolmentRefused(f"hardware_serial: expected up to {MAX_SERIAL} letters, digits, '.', '_', ':' "
                                   "or '-'", reason="bad_request")
        try:
            normalised = claimcode.normalise(code)
        except claimcode.CodeUnreadable as e:
            raise EnrolmentRefused(str(e), reason="claim_invalid") from None
        try:
            csr = load_csr(csr_pem)
        except CertificateRefused as e:
            raise EnrolmentRefused(f"{e} ({e.reason})", reason="bad_csr") from None
        fingerprint = public_fingerprint(csr.public_key())

        def work(c):
            claim = claims.find_in(c, normalised, lock=self.db.dialect != "?")
            if claim is None:
                raise EnrolmentRefused("no claim has this code", reason="claim_invalid")
            if claim.used_at:
                if claim.key_fingerprint != fingerprint:
                    raise EnrolmentRefused(f"claim {claim.claim_id} was used by device {claim.device_id}",
                                           reason="claim_used", office_id=claim.office_id)
                certificates.log(c, "enrolment_repeated", device_id=claim.device_id, office_id=claim.office_id,
                                 address=address, now=now, detail={"claim": claim.claim_id})
                return claim, claim.device_id, claim.certificate
            if claim.state(now) == "expired":
                raise EnrolmentRefused(f"claim {claim.claim_id} expired at {claim.expires_at}",
                                       reason="claim_expired", office_id=claim.office_id)
            if self.db.dialect != "?":  # PostgreSQL: two copied cards at once take this key's check in turn
                c.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (f"pishkhan-enrol-key:{fingerprint}",))
            other = c.execute("SELECT device_id FROM enrolment_claims WHERE key_fingerprint = ? AND used_at IS NOT NULL",
                              (fingerprint,)).fetchone()
            if other:  # a cloned SD card, or a key taken from another device
                raise EnrolmentRefused(f"this key is already device {other[0]}'s", reason="key_reused",
                                       office_id=claim.office_id)
            device_id = f"{claim.office_id}-{secrets.token_hex(4)}"
            try:
                registry.register(_Joined(c), device_id=device_id, office_id=claim.office_id,
                                  province=claim.province, office_name=claim.office_name, now=now)
            except registry.RegistryRefused as e:
                raise EnrolmentRefused(str(e), reason="not_registered", office_id=claim.office_id) from None
            # the device is on the dashboard from its enrolment on, "never seen" until its birth
            c.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES (?,?,?,?) "
                      "ON CONFLICT (device_id) DO NOTHING",
                      (device_id, claim.province, claim.office_id, claim.office_name))
            cert = self.ca.sign_device(csr_pem, device_id=device_id, now=now)
            pem = cert_pem(cert).decode("ascii")
            if not claims.use_in(c, normalised, device_id=device_id, key_fingerprint=fingerprint,
                                 hardware_serial=serial, certificate=pem, now=now):
                raise EnrolmentRefused(f"claim {claim.claim_id} was used meanwhile", reason="claim_used",
                                       office_id=claim.office_id)  # the transaction rolls back the rest
            certificates.record_issued(c, cert, device_id=device_id, how="enrolled", now=now)
            certificates.log(c, "enrolled", device_id=device_id, office_id=claim.office_id, address=address, now=now,
                             detail={"claim": claim.claim_id, "hardware_serial": serial,
                                     "serial": format(cert.serial_number, "x"), "key": fingerprint})
            return claim, device_id, pem

        claim, device_id, pem = self.db.write(work)
        return self.answer(claim, device_id=device_id, certificate=pem)

    def answer(self, claim: claims.Claim, *, device_id: str, certificate: str) -> dict:
        """What an enrolled device receives (docs/enrolment.md)."""
        return {"device_id": device_id,
                "office": {"name": claim.office_name, "licence": claim.licence, "office_id": claim.office_id},
                "province": claim.province, "broker_url": self.broker_url, "certificate": certificate,
                "ca_certificate": cert_pem(self.ca.certificate).decode("ascii"),
                "issuer_keys": self._keys("issuer", claim), "command_keys": [k["pem"] for k in
                                                                             self._keys("command", claim)],
                "schedule": self._schedule(claim.province), "renew_url": self.renew_url}

    def _keys(self, kind: str, claim: claims.Claim) -> list[dict]:
        if self.keys_dir is None:
            return []
        from central.keys import KeyRing

        wanted = {"issuer": ("national", f"province:{claim.province}", f"office:{claim.office_id}"),
                  "command": ("command",)}[kind]
        out = []
        for info in KeyRing(self.keys_dir).list():
            public = info.path.with_suffix(".pub")
            if info.kind == kind and info.scope in wanted and public.is_file():
                out.append({"pem": public.read_text(encoding="ascii"), "scope": info.scope})
        return out

    def _schedule(self, province: str):
        from central import codec

        for scope in (f"province:{province}", "national"):
            row = self.db.query_one("SELECT envelope FROM official WHERE kind = 'schedule' AND scope_key = ? "
                                    "ORDER BY version DESC LIMIT 1", (scope,))
            if row:
                return codec.loads(row["envelope"])
        return None

    # -- renewal -----------------------------------------------------------------------
    def renew(self, body: dict, *, address: str) -> dict:
        """``{"certificate"}``: a new certificate for the device *body* proves to be; else :exc:`EnrolmentRefused`."""
        return self._guarded("renewal_refused", address, lambda now: self._renew(body, address, now))

    def _renew(self, body: dict, address: str, now: dt.datetime) -> dict:
        current_pem = _text(body, "certificate", limit=16_384)
        csr_pem = _text(body, "csr", limit=16_384)
        signature = _text(body, "signature", limit=1024)
        try:
            current = x509.load_pem_x509_certificate(current_pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise EnrolmentRefused("the certificate is not a PEM certificate", reason="not_ours") from None
        if not self.ca.verify_issued(current):
            raise EnrolmentRefused("the certificate was not issued by this CA", reason="not_ours")
        device_id = common_name(current)
        if not current.not_valid_before_utc <= now < current.not_valid_after_utc:
            raise EnrolmentRefused(f"the certificate is valid from {current.not_valid_before_utc} to "
                                   f"{current.not_valid_after_utc}", reason="expired", device_id=device_id)
        if not signature_holds(current.public_key(), csr_pem.encode("utf-8"), signature):
            raise EnrolmentRefused("the signature over the CSR is not the current key's", reason="bad_signature",
                                   device_id=device_id)
        try:
            load_csr(csr_pem)
        except CertificateRefused as e:
            raise EnrolmentRefused(f"{e} ({e.reason})", reason="bad_csr", device_id=device_id) from None

        def work(c):
            if self.db.dialect != "?":  # PostgreSQL: a revocation now waits for this renewal, or this for it
                c.execute("SELECT serial FROM certificates WHERE device_id = ? FOR UPDATE", (device_id,)).fetchall()
            if certificates.is_revoked_in(c, current):
                raise EnrolmentRefused(f"certificate {format(current.serial_number, 'x')} is revoked",
                                       reason="revoked", device_id=device_id)
            identity = registry.identity(c, device_id)
            if identity is None:
                raise EnrolmentRefused(f"device {device_id} is not in the registry", reason="not_registered",
                                       device_id=device_id)
            left = tls.days_left(current, now=now)
            if left > RENEW_WHEN_LEFT_DAYS + NOT_DUE_SLACK_DAYS:  # each renewal is a row, and a CRL entry one day
                raise EnrolmentRefused(f"the certificate has {left:.0f} days left; renew when fewer than "
                                       f"{RENEW_WHEN_LEFT_DAYS} remain", reason="not_due", device_id=device_id)
            cert = self.ca.sign_device(csr_pem, device_id=device_id, now=now)
            certificates.record_issued(c, cert, device_id=device_id, how="renewed", now=now)
            certificates.log(c, "renewed", device_id=device_id, office_id=identity[1], address=address, now=now,
                             detail={"serial": format(cert.serial_number, "x"),
                                     "previous": format(current.serial_number, "x")})
            return cert_pem(cert).decode("ascii")

        return {"certificate": self.db.write(work)}

    # -- both --------------------------------------------------------------------------
    def refuse_unread(self, method: str, *, reason: str, address: str, message: str = "") -> str:
        """A request refused before it was read (*reason* ``too_large``, ``bad_request``): counted against the
        address and logged like the others. Returns the reason to answer (``rate_limited`` while locked)."""
        kind = "enrolment_refused" if method == "enroll" else "renewal_refused"
        now = self.clock()
        if self.limit.begin(address) > 0:
            reason = "rate_limited"
        self.db.write(lambda c: certificates.log(c, kind, reason=reason, address=address, now=now,
                                                 detail={"message": message[:300]}))
        return reason

    def _guarded(self, refused_kind: str, address: str, attempt) -> dict:
        """Run *attempt(now)* under the address's limit; log and re-raise a refusal."""
        now = self.clock()
        locked = self.limit.begin(address)
        try:
            if locked > 0:
                raise EnrolmentRefused(f"too many refused attempts from {address}; locked for {locked:.0f} s",
                                       reason="rate_limited")
            answer = attempt(now)
        except EnrolmentRefused as e:
            self.db.write(lambda c: certificates.log(c, refused_kind, device_id=e.device_id, office_id=e.office_id,
                                                     reason=e.reason, address=address, now=now,
                                                     detail={"message": str(e)}))
            raise
        self.limit.succeeded(address)
        return answer
