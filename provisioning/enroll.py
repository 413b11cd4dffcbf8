"""Enrolling this device with the centre: ``pishkhan provision enroll``.

1. The claim code is read and its check character checked here, before any
   network (:mod:`pishkhan.claimcode`).
2. The device makes its own ECDSA P-256 key and a CSR (:mod:`pishkhan.tls`).
   The key is kept as ``tls/device.key.pending`` (mode 0600) until the
   enrolment ends, so a retry after a power cut sends the same key and the
   centre answers the same (enrolment is idempotent per claim and key). The
   private key is never sent and never logged.
3. It posts the claim, the CSR and the hardware serial
   (:mod:`provisioning.hardware_serial`) to ``SERVER/v1/enroll`` over HTTPS
   with requests, trusting the centre's CA file alone (``--ca``, default
   ``/etc/pishkhan/centre-ca.pem``; the system's CAs are not used).
4. It checks the answer (the certificate is for its own key, names the
   device id, and is signed by the CA the answer names) and writes, each file
   whole: ``tls/centre-ca.pem``, ``tls/device.key`` (0600) and
   ``tls/device.pem`` under the state folder — owned by the service user
   ``pishkhan`` when run as root — and the drop-in
   ``/etc/pishkhan/pishkhan.d/enrolment.toml`` (0640; device id, office,
   MQTT over TLS with the certificate, the enrolment server). The
   technician's own ``pishkhan.toml`` is not touched.
5. In the store (before the drop-in, which marks the device enrolled: a
   power cut before it leaves the enrolment to be done again): the issuer and command keys are trusted
   (:func:`pishkhan.boards.trust.trust_key`), the province's signed schedule
   installed (:func:`pishkhan.schedule.installed.install_schedule`), and
   ``device.enrolled`` recorded in the audit log with the time.
6. The claim file, if the claim came from one, is erased.

A failure is :exc:`EnrolmentFailed` with a ``reason`` and its exit code
(:data:`provisioning.enroll_messages.EXIT_CODES`).
"""

from __future__ import annotations

import errno
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

from pishkhan import claimcode
from pishkhan import tls
from pishkhan.enrolment import ENROLL_PATH, MAX_ANSWER_BYTES, REFUSALS
from pishkhan.exc import PishkhanError
from provisioning import enroll_messages as msg

log = logging.getLogger("pishkhan.provision.enroll")

DEFAULT_CA = Path("/etc/pishkhan/centre-ca.pem")
DEFAULT_CONFIG = Path("/etc/pishkhan/pishkhan.toml")
SERVICE_USER = "pishkhan"
DROP_IN = "enrolment.toml"
#: Reasons worth trying again with ``--wait``.
RETRY = ("no_network", "server_error")


class EnrolmentFailed(PishkhanError):
    """Enrolment did not happen: :attr:`reason`, the two sentences, and :attr:`exit_code`."""

    def __init__(self, *, reason: str, message_fa: str, message_en: str, detail: str = ""):
        super().__init__(f"{message_en} / {message_fa}" + (f" ({detail})" if detail else ""))
        self.reason = reason
        self.message_fa = message_fa
        self.message_en = message_en
        self.detail = detail

    @property
    def exit_code(self) -> int:
        return msg.EXIT_CODES.get(self.reason, msg.EXIT_CODES["refused"])

    @classmethod
    def local(cls, reason: str, detail: str = "", *, words: str = "") -> "EnrolmentFailed":
        """A failure found on the device; *words* picks a finer wording of *reason* from ``msg.LOCAL``."""
        fa, en = msg.LOCAL[words or reason]
        return cls(reason=reason, message_fa=fa.format(detail=detail), message_en=en.format(detail=detail),
                   detail=detail if "{detail}" not in en else "")


@dataclass(frozen=True)
class Places:
    """Where enrolment writes: the main config file (read, never written) and the state folder."""

    config: Path
    state_dir: Path

    @property
    def tls_dir(self) -> Path:
        return self.state_dir / "tls"

    @property
    def key(self) -> Path:
        return self.tls_dir / "device.key"

    @property
    def pending_key(self) -> Path:
        return self.tls_dir / "device.key.pending"

    @property
    def cert(self) -> Path:
        return self.tls_dir / "device.pem"

    @property
    def ca(self) -> Path:
        return self.tls_dir / "centre-ca.pem"

    @property
    def drop_in(self) -> Path:
        from pishkhan.config import drop_in_dir

        return drop_in_dir(self.config) / DROP_IN

    def enrolled(self) -> bool:
        return self.drop_in.is_file() and self.cert.is_file() and self.key.is_file()


def service_owner() -> tuple[int, int] | None:
    """``(uid, gid)`` of the service user when running as root and it exists; else None (keep ours)."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return None
    return user.pw_uid, user.pw_gid


class Enroller:
    """Enrols the device at *server* (``https://HOST:PORT``) trusting *ca_file* alone.

    :param serial: a :class:`~provisioning.hardware_serial.HardwareSerial`.
    :param places: where the configuration and state live.
    :param owner: ``(uid, gid)`` the secrets and store are given (default: :func:`service_owner`).
    """

    def __init__(self, *, server: str, ca_file, serial, places: Places, owner=None, timeout: float = 20.0):
        self.server = server.rstrip("/")
        self.ca_file = Path(ca_file)
        self.serial = serial
        self.places = places
        self.owner = owner if owner is not None else service_owner()
        self.timeout = timeout

    # -- the whole job ---------------------------------------------------------------------
    def enroll(self, claim: str, *, wait: bool = False, sleep=time.sleep, backoff=(2.0, 300.0), say=print) -> dict:
        """Enrol with *claim*; returns the centre's answer once everything is written."""
        code = self._read_claim(claim)
        if not self.ca_file.is_file():
            raise EnrolmentFailed.local("server_certificate", str(self.ca_file), words="ca_missing")
        key = self._pending_key()
        delay = backoff[0]
        while True:
            try:
                answer = self.request(code, key)
                break
            except EnrolmentFailed as e:
                if e.reason == "key_reused":  # a copied card's key: the next attempt makes this device its own
                    self.places.pending_key.unlink(missing_ok=True)
                if not wait or e.reason not in RETRY:
                    raise
                pause = delay * random.uniform(0.8, 1.2)
                say(msg.WAITING.format(seconds=pause) + " / " + msg.WAITING_EN.format(seconds=pause))
                sleep(pause)
                delay = min(backoff[1], delay * 2)
        self.install(answer, key)
        return answer

    @staticmethod
    def _read_claim(claim: str) -> str:
        try:
            return claimcode.normalise(claim)
        except claimcode.CodeUnreadable as e:
            words = "claim_mistyped" if e.reason == "mistyped" else "claim_malformed"
            raise EnrolmentFailed.local("claim_invalid", str(e), words=words) from None

    def _pending_key(self):
        """The key this enrolment sends, kept (0600) until it ends so that a retry sends the same one."""
        self._make_tls_dir()
        pending = self.places.pending_key
        if pending.is_file():
            try:
                return tls.load_key(pending.read_bytes())
            except (ValueError, TypeError):
                log.warning("%s is unreadable; making a new key", pending)
        key = tls.new_key()
        tls.write_file(pending, tls.key_pem(key), mode=0o600, owner=self.owner)
        return key

    def _make_tls_dir(self):
        """The key folder, 0750 and the service user's — itself, never what a symbolic link there points at
        (the state folder is the service user's: root's enrolment must not chmod or chown for it)."""
        folder = self.places.tls_dir
        try:
            folder.mkdir(mode=0o750, parents=True, exist_ok=True)
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as e:
            what = "is not a folder (a symbolic link?)" if e.errno in (errno.ELOOP, errno.ENOTDIR) else \
                (e.strerror or str(e))
            raise EnrolmentFailed.local("local", f"{folder}: {what}") from None
        try:
            os.fchmod(fd, 0o750)
            if self.owner:
                os.fchown(fd, *self.owner)
        except OSError as e:
            raise EnrolmentFailed.local("local", f"{folder}: {e.strerror or e}") from None
        finally:
            os.close(fd)

    # -- the request ---------------------------------------------------------------------
    def request(self, code: str, key) -> dict:
        """Post the claim, a CSR for *key* and the serial; the centre's answer, or :exc:`EnrolmentFailed`."""
        import requests

        body = {"claim": claimcode.grouped(code), "csr": tls.make_csr(key).decode("ascii"),
                "hardware_serial": self.serial.read()}
        try:
            with requests.Session() as session:
                session.trust_env = False  # no proxy or CA bundle from the environment: the pin alone
                response = session.post(self.server + ENROLL_PATH, json=body, verify=str(self.ca_file),
                                        timeout=self.timeout, stream=True, allow_redirects=False)
                data = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
        except requests.exceptions.SSLError as e:
            raise EnrolmentFailed.local("server_certificate", _short(e)) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
            raise EnrolmentFailed.local("no_network", _short(e)) from None
        except requests.exceptions.RequestException as e:
            raise EnrolmentFailed.local("refused", _short(e)) from None
        if len(data) > MAX_ANSWER_BYTES:
            raise EnrolmentFailed.local("refused", "the answer is too large")
        value = _json(data)
        if response.status_code != 200:
            reason = value.get("reason") if isinstance(value, dict) else None
            if reason not in REFUSALS:
                raise EnrolmentFailed.local("refused", f"HTTP {response.status_code}")
            _status, fa, en = REFUSALS[reason]  # our own wording: the server's text is not shown raw
            raise EnrolmentFailed(reason=reason, message_fa=fa, message_en=en)
        if not isinstance(value, dict):
            raise EnrolmentFailed.local("refused", "the answer is not a JSON object")
        return value

    # -- writing it all ------------------------------------------------------------------
    def install(self, answer: dict, key) -> None:
        """Check *answer* and write the secrets, the drop-in and the store (see the module's docstring)."""
        from cryptography import x509

        checked = _check_answer(answer, key)
        p = self.places
        drop_in = self._drop_in(answer).encode("utf-8", "strict")  # checked whole before anything is written
        try:
            # what was checked, written anew: not the answer's text, which may carry more than that one certificate
            ca = x509.load_pem_x509_certificate(answer["ca_certificate"].encode("ascii"))
            tls.write_file(p.ca, tls.cert_pem(ca), mode=0o644, owner=self.owner)
            tls.install_pair(p.key, p.cert, key=tls.key_pem(key), cert=tls.cert_pem(checked), owner=self.owner)
        except OSError as e:
            raise EnrolmentFailed.local("local", f"{e.filename or ''}: {e.strerror or e}") from None
        # the store before the drop-in: the drop-in makes the device enrolled (the boot unit stops), so a power
        # cut before it leaves the whole enrolment to be done again (the same key, the same answer)
        self._store(answer, checked)
        try:
            p.drop_in.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
            if self.owner:  # root's folder, readable by the service user's group
                os.chown(p.drop_in.parent, 0, self.owner[1])
            tls.write_file(p.drop_in, drop_in, mode=0o640,
                           owner=(0, self.owner[1]) if self.owner else None)
        except OSError as e:
            raise EnrolmentFailed.local("local", f"{e.filename or ''}: {e.strerror or e}") from None
        p.pending_key.unlink(missing_ok=True)

    def _drop_in(self, answer: dict) -> str:
        """The drop-in's text, once it is known to read back as exactly what is meant (else refused)."""
        import tomllib

        from pishkhan import config as config_module

        office, p = answer["office"], self.places
        meant = {"device": {"id": answer["device_id"]},
                 "office": {"office_id": office["office_id"], "province": answer["province"]}}
        meant["office"] |= {k: office[k] for k in ("name", "licence") if office.get(k)}
        meant["mqtt"] = {"enabled": True, "url": answer["broker_url"], "tls": True, "ca_file": str(p.ca),
                         "cert_file": str(p.cert), "key_file": str(p.key), "username": "", "password_file": ""}
        meant["enrolment"] = {"server": answer.get("renew_url") or self.server}
        lines = ["# Written by `pishkhan provision enroll`; it owns this file whole and rewrites it on enrolment.",
                 "# Put your own settings in pishkhan.toml: a setting here wins over the same one there."]
        for section, values in meant.items():
            lines += ["", f"[{section}]", *(f"{k} = {config_module.toml_value(v)}" for k, v in values.items())]
        text = "\n".join(lines) + "\n"
        try:
            read_back = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError) as e:
            raise EnrolmentFailed.local("refused", f"the configuration would not read back: {e}") from None
        if read_back != meant:
            raise EnrolmentFailed.local("refused", "the configuration would not read back as the centre's answer")
        return text

    def _store(self, answer: dict, cert) -> None:
        from pishkhan.boards.signing import PublicKey
        from pishkhan.boards.trust import trust_key
        from pishkhan.config import load_config
        from pishkhan.exc import ScheduleError
        from pishkhan.schedule.installed import install_schedule
        from pishkhan.store.database import open_store

        try:
            config = load_config(self.places.config)
        except PishkhanError as e:
            raise EnrolmentFailed.local("local", str(e)) from None
        try:
            store = open_store(config)
        except PishkhanError as e:
            raise EnrolmentFailed.local("local", str(e)) from None
        try:
            for item in answer.get("issuer_keys") or []:
                trust_key(store, PublicKey.from_pem(item["pem"], source="issuer key from the centre"),
                          scope=item["scope"], label="enrolment", actor="enrolment")
            for pem in answer.get("command_keys") or []:
                trust_key(store, PublicKey.from_pem(pem, source="command key from the centre"), scope="command",
                          label="enrolment", actor="enrolment")
            schedule = answer.get("schedule")
            if isinstance(schedule, dict):
                try:
                    install_schedule(store, schedule, source="centre", actor="enrolment",
                                     province=answer["province"], office=answer["office"]["office_id"])
                except ScheduleError as e:  # an older or the same version is already there: fine
                    log.warning("the schedule from the centre was not installed: %s", e)
            store.audit("enrolment", "device.enrolled", answer["device_id"], server=self.server,
                        office=answer["office"]["office_id"], province=answer["province"],
                        certificate=format(cert.serial_number, "x"), not_after=cert.not_valid_after_utc.isoformat())
        except PishkhanError as e:
            raise EnrolmentFailed.local("refused", str(e)) from None
        finally:
            store.close()
        self._give_store_away(config.store_path)

    def _give_store_away(self, store_path: Path):
        """The store made by root belongs to the service user."""
        if not self.owner:
            return
        for path in _store_files(store_path):
            if path.exists() and not path.is_symlink():
                os.chown(path, *self.owner, follow_symlinks=False)


def _store_files(store_path: Path) -> tuple[Path, ...]:
    return store_path, Path(f"{store_path}-wal"), Path(f"{store_path}-shm")


def _check_answer(answer: dict, key):
    """The answer's certificate, once it is for *key*, names the device and is the CA's; else :exc:`EnrolmentFailed`."""
    from cryptography import x509

    from pishkhan.config import SETTINGS

    def bad(what):
        return EnrolmentFailed.local("refused", what)

    rules = {s.name: s.kind for s in SETTINGS}
    try:
        device_id, office, province = answer["device_id"], answer["office"], answer["province"]
        checks = [("device.id", device_id), ("office.office_id", office["office_id"]),
                  ("office.province", province), ("mqtt.url", answer["broker_url"])]
        checks += [("office.name", office["name"])] if office.get("name") else []
        checks += [("office.licence", office["licence"])] if office.get("licence") else []
        checks += [("enrolment.server", answer["renew_url"])] if answer.get("renew_url") is not None else []
        for name, value in checks:
            problems = rules[name].check(value, name)
            if problems:
                raise bad(problems[0])
        if not str(answer["broker_url"]).startswith("mqtts://"):
            raise bad("the broker URL is not mqtts://")
        scopes = ("national", f"province:{province}", f"office:{office['office_id']}")
        for item in answer.get("issuer_keys") or []:  # never "any", never another office's or province's
            if item["scope"] not in scopes or not isinstance(item["pem"], str):
                raise bad(f"an issuer key for a scope not this office's: {str(item['scope'])[:80]!r}")
        cert = x509.load_pem_x509_certificate(answer["certificate"].encode("ascii"))
        ca = x509.load_pem_x509_certificate(answer["ca_certificate"].encode("ascii"))
    except EnrolmentFailed:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise bad(f"missing or malformed field ({type(e).__name__}: {e})") from None
    if tls.public_fingerprint(cert.public_key()) != tls.public_fingerprint(key.public_key()):
        raise bad("the certificate is not for this device's key")
    if tls.common_name(cert) != device_id:
        raise bad("the certificate names another device")
    try:
        cert.verify_directly_issued_by(ca)
    except Exception:  # noqa: BLE001 — any failure: not signed by that CA
        raise bad("the certificate is not signed by the centre's CA") from None
    return cert


def _json(data: bytes):
    from pishkhan.protocol.payloads import decode
    from pishkhan.exc import ProtocolError

    try:
        return decode(data)
    except ProtocolError:
        return None


def _short(e: Exception) -> str:
    return str(e)[:300]
