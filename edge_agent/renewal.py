"""Renewing the device certificate before it expires, over the centre's enrolment server.

Every :data:`CHECK_SECONDS` the agent reads its certificate (``mqtt.cert_file``).
When fewer than :data:`RENEW_WHEN_LEFT_DAYS` days remain, a worker thread
(never the main loop: the request may wait on the network) makes a new key
and a CSR, signs the CSR's bytes with the *current* key — proof that the
device asking is the one the certificate names — and posts the current
certificate, the CSR and the signature to ``enrolment.server``/v1/renew,
trusting only the centre's CA (``mqtt.ca_file``). The new key and
certificate are installed as a pair (:func:`pishkhan.tls.install_pair`: a
power cut leaves the old pair or the new one), the MQTT session reconnects
with them, and ``certificate.renewed`` is recorded in the store's audit log.

A failure (no network, a refusal: ``revoked``, ``expired``, …) is logged and
recorded (``certificate.renewal_failed`` with the reason) and tried again at
the next check; it never stops the agent. A revoked or expired device must be
enrolled again (docs/enrolment.md).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from pishkhan import tls
from pishkhan.exc import RenewalFailed
from pishkhan.enrolment import MAX_ANSWER_BYTES, REFUSALS, RENEW_PATH, RENEW_WHEN_LEFT_DAYS

log = logging.getLogger("pishkhan.agent.renewal")

CHECK_SECONDS = 3600


class Renewal:
    """Renews the pair *cert_file*/*key_file* at *server*, trusting *ca_file*.

    :param on_renewed: ``f()`` after the new pair is in place (the agent reconnects).
    :param record: ``f(action, **detail)`` keeps a fact (the agent's store audit log).
    :param clock: returns the aware time now.
    """

    def __init__(self, *, cert_file, key_file, ca_file, server: str, on_renewed=None, record=None, clock=None,
                 timeout: float = 20.0, left_days: float = RENEW_WHEN_LEFT_DAYS):
        import datetime as dt

        self.cert_file, self.key_file, self.ca_file = Path(cert_file), Path(key_file), Path(ca_file)
        self.server = server.rstrip("/")
        self.on_renewed = on_renewed or (lambda: None)
        self.record = record or (lambda action, **detail: None)
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.timeout = timeout
        self.left_days = left_days
        self._busy = threading.Lock()
        self.last_result = ""

    def _current(self):
        from cryptography import x509

        return x509.load_pem_x509_certificate(self.cert_file.read_bytes())

    def due(self) -> bool:
        """Whether the certificate has fewer than :attr:`left_days` days left (an unreadable one: yes)."""
        try:
            return tls.days_left(self._current(), now=self.clock()) < self.left_days
        except (OSError, ValueError):
            return True

    def check(self):
        """On the main loop: start a renewal in a worker thread when due (one at a time)."""
        if self.due() and not self._busy.locked():
            threading.Thread(target=self.run_once, name="cert-renewal", daemon=True).start()

    def run_once(self) -> str:
        """Renew now if due; ``not_due``, ``renewed`` or ``failed:REASON``. Never raises."""
        with self._busy:
            if not self.due():
                self.last_result = "not_due"
                return self.last_result
            try:
                cert = self.renew()
            except RenewalFailed as e:
                log.warning("certificate renewal failed (%s): %s; trying again at the next check", e.reason, e)
                self._record("certificate.renewal_failed", reason=e.reason, message=str(e)[:300])
                self.last_result = f"failed:{e.reason}"
                return self.last_result
            except Exception as e:  # noqa: BLE001 — a renewal never stops the agent
                log.exception("certificate renewal failed")
                self._record("certificate.renewal_failed", reason="local", message=str(e)[:300])
                self.last_result = "failed:local"
                return self.last_result
            self._record("certificate.renewed", serial=format(cert.serial_number, "x"),
                         not_after=cert.not_valid_after_utc.isoformat())
            log.info("certificate renewed; valid until %s", cert.not_valid_after_utc)
            try:
                self.on_renewed()
            except Exception:  # noqa: BLE001
                log.exception("reconnecting with the renewed certificate failed")
            self.last_result = "renewed"
            return self.last_result

    def _record(self, action: str, **detail):
        try:
            self.record(action, **detail)
        except Exception as e:  # noqa: BLE001 — a store that cannot be written does not stop renewal
            log.warning("cannot record %s: %s", action, e)

    def renew(self):
        """One renewal; the new certificate, or :exc:`RenewalFailed`."""
        import requests
        from cryptography import x509

        from pishkhan.exc import ProtocolError
        from pishkhan.protocol.payloads import decode

        try:
            current_pem = self.cert_file.read_bytes()
            current_key = tls.load_key(self.key_file.read_bytes())
        except (OSError, ValueError) as e:
            raise RenewalFailed(f"cannot read the current key or certificate: {e}", reason="local") from None
        key = tls.new_key()
        csr = tls.make_csr(key)
        body = {"certificate": current_pem.decode("ascii"), "csr": csr.decode("ascii"),
                "signature": tls.sign_with(current_key, csr)}
        try:
            with requests.Session() as session:
                session.trust_env = False
                response = session.post(self.server + RENEW_PATH, json=body, verify=str(self.ca_file),
                                        timeout=self.timeout, stream=True, allow_redirects=False)
                data = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
        except requests.exceptions.SSLError as e:
            raise RenewalFailed(f"the server's certificate is not the centre's: {e}", reason="server_certificate") \
                from None
        except requests.exceptions.RequestException as e:
            raise RenewalFailed(f"cannot reach {self.server}: {e}", reason="no_network") from None
        try:
            answer = decode(data[:MAX_ANSWER_BYTES])
        except ProtocolError:
            answer = {}
        if response.status_code != 200:
            reason = answer.get("reason")
            raise RenewalFailed(f"the centre refused: HTTP {response.status_code}",
                                reason=reason if reason in REFUSALS else "bad_answer")
        try:
            cert = x509.load_pem_x509_certificate(str(answer["certificate"]).encode("ascii"))
        except (KeyError, ValueError, UnicodeEncodeError):
            raise RenewalFailed("the answer holds no certificate", reason="bad_answer") from None
        old = x509.load_pem_x509_certificate(current_pem)
        if tls.public_fingerprint(cert.public_key()) != tls.public_fingerprint(key.public_key()) \
                or tls.common_name(cert) != tls.common_name(old):
            raise RenewalFailed("the new certificate is not for this key and device", reason="bad_answer")
        self._check_usable(cert)
        owner = None
        stat = self.key_file.stat()
        if stat.st_uid != 0 or stat.st_gid != 0:
            owner = (stat.st_uid, stat.st_gid)
        tls.install_pair(self.key_file, self.cert_file, key=tls.key_pem(key), cert=tls.cert_pem(cert),
                         owner=owner if _may_chown(owner) else None)
        return cert


    def _check_usable(self, cert):
        """*cert* is the centre's (``ca_file``) and valid now: else :exc:`RenewalFailed` and the old pair stays."""
        import datetime as dt

        from cryptography import x509

        try:
            cert.verify_directly_issued_by(x509.load_pem_x509_certificate(self.ca_file.read_bytes()))
        except Exception:  # noqa: BLE001 — any failure: not the centre's
            raise RenewalFailed("the new certificate is not signed by the centre's CA", reason="bad_answer") \
                from None
        now = self.clock()  # a day's slack before: this device's clock may be behind the centre's
        if not cert.not_valid_before_utc - dt.timedelta(days=1) <= now < cert.not_valid_after_utc:
            raise RenewalFailed(f"the new certificate is valid from {cert.not_valid_before_utc} to "
                                f"{cert.not_valid_after_utc}, not now", reason="bad_answer")


def _may_chown(owner) -> bool:
    import os

    return owner is not None and (os.geteuid() == 0 or owner[0] == os.geteuid())


def settle(config) -> None:
    """Before the session loads the pair: finish or undo a renewal a power cut interrupted."""
    cert, key = config.mqtt.cert_file, config.mqtt.key_file
    if cert and key:
        try:
            tls.settle_pair(Path(key).expanduser(), Path(cert).expanduser())
        except OSError as e:
            log.warning("cannot settle the certificate pair: %s", e)


def register(context) -> Renewal | None:
    """Check the certificate every :data:`CHECK_SECONDS` (first a minute after start) when enrolled.

    The server and the files are the settings at the agent's start (``enrolment.*`` and ``mqtt.*``
    changed by a reload are reported as needing a restart).
    """
    settings = context.settings
    server, cert, key = (settings.enrolment.server, settings.mqtt.cert_file,
                         settings.mqtt.key_file)
    if not (server and cert and key and context.session is not None):
        return None

    def record(action, **detail):
        context.store.audit("agent", action, context.device_id, **detail)

    renewal = Renewal(cert_file=Path(cert).expanduser(), key_file=Path(key).expanduser(),
                      ca_file=Path(settings.mqtt.ca_file).expanduser(), server=server,
                      on_renewed=context.session.reload_certificate, record=record)
    context.every(CHECK_SECONDS, renewal.check, first=60)
    return renewal
