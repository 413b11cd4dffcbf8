"""``pishkhan provision check``: what is missing or wrong on a device, each with its fix.

Each check is a small object (:class:`Check`): a *name*, what it checks, and
``run(config=, machine=)`` giving an :class:`Outcome` — passed or not, a
:class:`Severity`, a :class:`Reason` from one enumeration and a *detail*
dict. Everything the checks read of the device goes through a
:class:`~provisioning.machine.Machine`; the sentences (Persian and English,
what is wrong and the fix) come from :mod:`provisioning.check_strings`.

**Severity.** ``blocker``: the office cannot open (Persian text would be
broken, no font, no touchscreen, no printer, not enrolled or an expired
certificate, a full disk, under-voltage now). ``warning``: the office opens,
but something needs attention (no network to the centre, the clock not yet
synchronised, the certificate expiring within :data:`EXPIRY_WARNING_DAYS`
days, SD card errors, the TV missing, little disk left).

**Can the office open?** Yes when no blocker failed (:attr:`Report.can_open`).
A check that raises is itself a failed warning (``check_crashed``), never a
crash of the whole run.

The checks, in order: :data:`CHECKS`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum

from provisioning import check_strings as strings
from provisioning.machine import Machine

#: Days before expiry from which the device certificate is a warning.
EXPIRY_WARNING_DAYS = 14
#: Free disk below which the office cannot open, and below which it is a warning.
DISK_BLOCKER_BYTES = 100 * 1024 * 1024
DISK_WARNING_BYTES = 1024 * 1024 * 1024
#: Seconds a TLS handshake to the broker may take.
BROKER_TIMEOUT = 5.0
#: The user the services run as (``User=`` of every unit in systemd/).
SERVICE_USER = "pishkhan"
#: The groups the service user needs, and how bad it is to lack each.
GROUPS = {"video": "blocker", "render": "blocker", "input": "blocker", "lp": "blocker",
          "gpio": "warning", "audio": "warning", "dialout": "warning"}
#: Kernel log lines that say the SD card (or another MMC device) failed.
SD_ERROR = re.compile(r"mmc\d+: .*(error|timeout|timed out|fail)|mmcblk\d+.*(I/O error|error -\d+)|"
                      r"I/O error, dev mmcblk|EXT4-fs error \(device mmcblk", re.IGNORECASE)


class Severity(StrEnum):
    BLOCKER = "blocker"
    WARNING = "warning"


class Reason(StrEnum):
    """Why a check ended as it did; one enumeration for every check."""

    OK = "ok"
    NOT_MEASURED = "not_measured"
    CHECK_CRASHED = "check_crashed"
    RAQM_MISSING = "raqm_missing"
    FRIBIDI_MISSING = "fribidi_missing"
    FONT_MISSING = "font_missing"
    SERVICE_USER_MISSING = "service_user_missing"
    GROUPS_MISSING = "groups_missing"
    PRINTER_NOT_CONFIGURED = "printer_not_configured"
    PRINTER_BAD_URI = "printer_bad_uri"
    PRINTER_UNREACHABLE = "printer_unreachable"
    PRINTER_PAPER_OUT = "printer_paper_out"
    PRINTER_COVER_OPEN = "printer_cover_open"
    PRINTER_PAPER_NEAR_END = "printer_paper_near_end"
    PRINTER_STATUS_UNKNOWN = "printer_status_unknown"
    DRM_UNAVAILABLE = "drm_unavailable"
    NO_SCREEN = "no_screen"
    SCREEN_MISSING = "screen_missing"
    SCREEN_DISCONNECTED = "screen_disconnected"
    SCREEN_NOT_CONFIGURED = "screen_not_configured"
    SAME_OUTPUT = "same_output"
    CLOCK_NOT_SYNCED = "clock_not_synced"
    CLOCK_UNKNOWN = "clock_unknown"
    NOT_ENROLLED = "not_enrolled"
    CERTIFICATE_MISSING = "certificate_missing"
    KEY_MISSING = "key_missing"
    CERTIFICATE_UNREADABLE = "certificate_unreadable"
    KEY_MISMATCH = "key_mismatch"
    CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_EXPIRING = "certificate_expiring"
    MQTT_DISABLED = "mqtt_disabled"
    BROKER_NOT_TLS = "broker_not_tls"
    BROKER_UNREACHABLE = "broker_unreachable"
    BROKER_TLS_REFUSED = "broker_tls_refused"
    BROKER_CERTIFICATE_REVOKED = "broker_certificate_revoked"
    BROKER_CA_UNREADABLE = "broker_ca_unreadable"
    DISK_FULL = "disk_full"
    DISK_LOW = "disk_low"
    SD_ERRORS = "sd_errors"
    FS_ERRORS = "fs_errors"
    KERNEL_LOG_UNREADABLE = "kernel_log_unreadable"
    UNDER_VOLTAGE = "under_voltage"
    UNDER_VOLTAGE_OCCURRED = "under_voltage_occurred"


@dataclass(frozen=True)
class Outcome:
    """What one check found: passed or not, how bad, why, and the readings behind it."""

    ok: bool
    severity: Severity
    reason: Reason
    detail: dict = field(default_factory=dict)


def passed(severity: Severity, reason: Reason = Reason.OK, **detail) -> Outcome:
    return Outcome(True, severity, reason, detail)


def failed(severity: Severity, reason: Reason, **detail) -> Outcome:
    return Outcome(False, severity, reason, detail)


def setting(config, dotted: str, default=""):
    """A setting's value, or *default* when this version of the configuration has no such key."""
    from pishkhan.exc import ConfigError

    try:
        return config.get(dotted)
    except ConfigError:
        return default


# -- the checks --------------------------------------------------------------------------------

class Check:
    """One thing to check: :attr:`name`, :attr:`what` it checks, the :attr:`severity` of failing."""

    name = ""
    what = ""
    severity = Severity.BLOCKER

    def run(self, *, config, machine: Machine) -> Outcome:
        raise NotImplementedError

    def passed(self, reason: Reason = Reason.OK, **detail) -> Outcome:
        return passed(self.severity, reason, **detail)

    def failed(self, reason: Reason, **detail) -> Outcome:
        return failed(self.severity, reason, **detail)


class ShapingCheck(Check):
    name, what = "shaping", "Pillow shapes Persian with libraqm and libfribidi"

    def run(self, *, config, machine):
        features = machine.shaping()
        if not features.get("raqm"):
            return self.failed(Reason.RAQM_MISSING)
        if not features.get("fribidi"):
            return self.failed(Reason.FRIBIDI_MISSING)
        return self.passed()


class FontCheck(Check):
    name, what = "fonts", "Vazirmatn is where the renderer looks (pishkhan.text.fonts)"

    def run(self, *, config, machine):
        path = machine.font()
        return self.passed(path=path) if path else self.failed(Reason.FONT_MISSING)


class GroupsCheck(Check):
    name, what = "groups", f"the service user is in {', '.join(GROUPS)}"

    def run(self, *, config, machine):
        user = machine.user(SERVICE_USER)
        if not user.exists:
            return self.failed(Reason.SERVICE_USER_MISSING, user=SERVICE_USER)
        missing = [g for g in GROUPS if g not in user.groups]
        if not missing:
            return self.passed(user=SERVICE_USER)
        severity = Severity.BLOCKER if any(GROUPS[g] == "blocker" for g in missing) else Severity.WARNING
        absent = sorted(set(missing) - machine.system_groups())
        return failed(severity, Reason.GROUPS_MISSING, user=SERVICE_USER, missing=" ".join(missing),
                      missing_comma=",".join(missing), not_on_system=" ".join(absent))


class PrinterCheck(Check):
    name, what = "printer", "the configured printer (printer.uri) answers and can print"
    _STATES = {"offline": (Severity.BLOCKER, Reason.PRINTER_UNREACHABLE),
               "paper_out": (Severity.BLOCKER, Reason.PRINTER_PAPER_OUT),
               "cover_open": (Severity.BLOCKER, Reason.PRINTER_COVER_OPEN),
               "paper_near_end": (Severity.WARNING, Reason.PRINTER_PAPER_NEAR_END)}

    def run(self, *, config, machine):
        from pishkhan.exc import PrinterError

        uri = config.printer.uri
        if uri == "fake" or uri.startswith("file:"):
            return failed(Severity.WARNING, Reason.PRINTER_NOT_CONFIGURED, uri=uri)
        try:
            state = machine.printer_state(uri)
        except PrinterError as e:
            return self.failed(Reason.PRINTER_BAD_URI, uri=uri, error=str(e))
        if state in ("ok", "busy"):  # busy: the kiosk holds it, so it is there
            return self.passed(uri=uri, state=state)
        if state not in self._STATES:  # there, but it reports no paper or cover state
            return self.passed(Reason.PRINTER_STATUS_UNKNOWN, uri=uri, state=state)
        severity, reason = self._STATES[state]
        return failed(severity, reason, uri=uri, state=state)


class ScreenCheck(Check):
    """The screen on the output ``[section] output`` names (a DRM connector, ``HDMI-A-1``).

    ``""`` says the office has no such screen: a warning (the office works with
    one screen), but no screen at all is a blocker. A configuration without the
    setting (made before it existed) lets the kiosk take any connected screen,
    and says nothing of the TV.
    """

    EXAMPLES = {"kiosk": "DSI-1", "display": "HDMI-A-1"}

    def __init__(self, *, name: str, section: str, required: bool):
        self.name, self.section, self.required = name, section, required
        self.what = f"the screen on [{section}] output is connected (/sys/class/drm)"
        self.severity = Severity.BLOCKER if required else Severity.WARNING

    def run(self, *, config, machine):
        output = setting(config, f"{self.section}.output", None)
        other = setting(config, f"{'display' if self.section == 'kiosk' else 'kiosk'}.output", None)
        where = {"section": self.section, "example": self.EXAMPLES[self.section]}
        if output == "":
            if other == "":
                return failed(Severity.BLOCKER, Reason.NO_SCREEN, **where, present="-")
            return failed(Severity.WARNING, Reason.SCREEN_NOT_CONFIGURED, **where)
        if output is None and not self.required:
            return failed(Severity.WARNING, Reason.SCREEN_NOT_CONFIGURED, **where)
        connectors = machine.drm_connectors()
        if connectors is None:
            return self.failed(Reason.DRM_UNAVAILABLE, **where)
        connected = sorted(name for name, status in connectors.items() if status == "connected")
        present = ", ".join(sorted(connectors)) or "-"
        if output is None:
            if not connected:
                return self.failed(Reason.NO_SCREEN, **where, present=present)
            return self.passed(**where, output=connected[0])
        if output == other and not self.required:
            return self.failed(Reason.SAME_OUTPUT, **where, output=output)
        if output not in connectors:
            return self.failed(Reason.SCREEN_MISSING, **where, output=output, present=present)
        if connectors[output] != "connected":
            return self.failed(Reason.SCREEN_DISCONNECTED, **where, output=output, status=connectors[output])
        return self.passed(**where, output=output)


class ClockCheck(Check):
    name, what, severity = "clock", "the wall clock is synchronised (NTP)", Severity.WARNING

    def run(self, *, config, machine):
        if config.hardware.clock == "trusted":
            return self.passed(source="trusted (hardware.clock)")
        synced = machine.clock_synced()
        if synced is None:
            return self.failed(Reason.CLOCK_UNKNOWN)
        return self.passed(source="kernel") if synced else self.failed(Reason.CLOCK_NOT_SYNCED)


class EnrolmentCheck(Check):
    """Enrolled (``[mqtt]`` cert_file, key_file), the certificate readable, matching its
    key, and valid now; expiring within :data:`EXPIRY_WARNING_DAYS` days is a warning."""

    name, what = "enrolment", "the device is enrolled and its certificate is valid"

    def run(self, *, config, machine):
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        cert_file, key_file = config.mqtt.cert_file, config.mqtt.key_file
        if not cert_file or not key_file:
            return self.failed(Reason.NOT_ENROLLED)
        try:
            cert_pem = machine.read_file(cert_file)
        except OSError as e:
            return self.failed(Reason.CERTIFICATE_MISSING, path=cert_file, error=e.strerror or str(e))
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError as e:
            return self.failed(Reason.CERTIFICATE_UNREADABLE, path=cert_file, error=str(e)[:200])
        try:
            key_pem = machine.read_file(key_file)
        except OSError as e:
            return self.failed(Reason.KEY_MISSING, path=key_file, error=e.strerror or str(e))
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError) as e:
            return self.failed(Reason.KEY_MISMATCH, path=key_file, error=str(e)[:200])
        raw = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if key.public_key().public_bytes(*raw) != cert.public_key().public_bytes(*raw):
            return self.failed(Reason.KEY_MISMATCH, path=key_file)
        now = machine.now()
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
        detail = {"subject": cert.subject.rfc4514_string()[:200], "not_before": not_before.isoformat(),
                  "not_after": not_after.isoformat(), "days_left": int((not_after - now).total_seconds() // 86400)}
        if now < not_before:
            return self.failed(Reason.CERTIFICATE_NOT_YET_VALID, **detail)
        if now >= not_after:
            return self.failed(Reason.CERTIFICATE_EXPIRED, **detail)
        if not_after - now < dt.timedelta(days=EXPIRY_WARNING_DAYS):
            return failed(Severity.WARNING, Reason.CERTIFICATE_EXPIRING, **detail)
        return self.passed(**detail)


class BrokerCheck(Check):
    name, what, severity = "broker", "a TLS handshake with the centre's broker succeeds", Severity.WARNING

    def run(self, *, config, machine):
        from pishkhan.config import mqtt_endpoint

        mqtt = config.mqtt
        if not mqtt.enabled:
            return self.failed(Reason.MQTT_DISABLED)
        endpoint = mqtt_endpoint(config)
        where = {"host": endpoint.host, "port": endpoint.port}
        if not endpoint.tls:
            return self.failed(Reason.BROKER_NOT_TLS, **where)
        outcome = machine.tls_handshake(endpoint.host, endpoint.port, ca_file=mqtt.ca_file,
                                        cert_file=mqtt.cert_file, key_file=mqtt.key_file, timeout=BROKER_TIMEOUT)
        reason = {"ok": Reason.OK, "unreachable": Reason.BROKER_UNREACHABLE, "tls_refused": Reason.BROKER_TLS_REFUSED,
                  "revoked": Reason.BROKER_CERTIFICATE_REVOKED, "ca_unreadable": Reason.BROKER_CA_UNREADABLE}.get(outcome.outcome, Reason.BROKER_UNREACHABLE)
        if reason is Reason.OK:
            return self.passed(**where, handshake=outcome.detail)
        return self.failed(reason, **where, error=outcome.detail[:200])


class DiskCheck(Check):
    name, what = "disk", "free space on the disk of the state folder"

    def run(self, *, config, machine):
        usage = machine.disk_usage(str(config.state_dir))
        if usage is None:
            return passed(Severity.WARNING, Reason.NOT_MEASURED, why="statvfs failed")
        free, total = usage
        detail = {"free_mb": free // (1024 * 1024), "total_mb": total // (1024 * 1024), "path": str(config.state_dir)}
        if free < DISK_BLOCKER_BYTES:
            return self.failed(Reason.DISK_FULL, **detail)
        if free < DISK_WARNING_BYTES:
            return failed(Severity.WARNING, Reason.DISK_LOW, **detail)
        return self.passed(**detail)


class SdCardCheck(Check):
    name, what, severity = "sd_card", "no MMC errors in this boot's kernel log, no ext4 errors", Severity.WARNING

    def run(self, *, config, machine):
        errors = machine.fs_errors(str(config.state_dir))
        if errors:
            return self.failed(Reason.FS_ERRORS, count=errors)
        lines = machine.kernel_log()
        if lines is None:
            return self.failed(Reason.KERNEL_LOG_UNREADABLE)
        bad = [line for line in lines if SD_ERROR.search(line)]
        if bad:
            return self.failed(Reason.SD_ERRORS, count=len(bad), example=bad[-1].strip()[:160])
        return self.passed(lines=len(lines))


class PowerCheck(Check):
    name, what = "power", "no under-voltage now or since boot (the firmware's get_throttled)"

    def run(self, *, config, machine):
        flags = machine.throttled()
        if flags is None:
            return self.passed(Reason.NOT_MEASURED, why="no get_throttled: not a Raspberry Pi")
        if flags.get("under_voltage"):
            return self.failed(Reason.UNDER_VOLTAGE, raw=flags.get("raw"))
        if flags.get("under_voltage_occurred"):
            return failed(Severity.WARNING, Reason.UNDER_VOLTAGE_OCCURRED, raw=flags.get("raw"))
        return self.passed(raw=flags.get("raw"))


#: Every check, in the order they run and are shown.
CHECKS: tuple[Check, ...] = (
    ShapingCheck(), FontCheck(), GroupsCheck(), PrinterCheck(),
    ScreenCheck(name="kiosk_screen", section="kiosk", required=True),
    ScreenCheck(name="display_screen", section="display", required=False),
    ClockCheck(), EnrolmentCheck(), BrokerCheck(), DiskCheck(), SdCardCheck(), PowerCheck(),
)


# -- results and the report --------------------------------------------------------------------

@dataclass(frozen=True)
class CheckResult:
    """One check's outcome with its sentences, as shown and as sent to the centre."""

    name: str
    outcome: Outcome

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    @property
    def blocks(self) -> bool:
        return not self.outcome.ok and self.outcome.severity is Severity.BLOCKER

    def texts(self) -> dict:
        fa, en, fix_fa, fix_en = strings.MESSAGES[self.outcome.reason.value]
        title_fa, title_en = strings.TITLES[self.name]
        detail = {k: str(v) for k, v in self.outcome.detail.items()}
        return {"message_fa": f"{title_fa}: {strings.fill(fa, detail)}",
                "message_en": f"{title_en}: {strings.fill(en, detail)}",
                "fix_fa": "" if self.ok else strings.fill(fix_fa, detail),
                "fix_en": "" if self.ok else strings.fill(fix_en, detail)}

    def as_json(self) -> dict:
        o = self.outcome
        return {"name": self.name, "ok": o.ok, "severity": o.severity.value, "reason": o.reason.value,
                **self.texts(), "detail": dict(o.detail)}

    def line(self) -> str:
        """One line: a mark, the Persian and English message, and the fix."""
        mark = "OK  " if self.ok else ("FAIL" if self.blocks else "WARN")
        t = self.texts()
        text = f"{mark} {self.name}: {t['message_fa']} | {t['message_en']}"
        if not self.ok:
            text += strings.FIX.format(fix_fa=t["fix_fa"], fix_en=t["fix_en"])
        return text


@dataclass(frozen=True)
class Report:
    checked_at: dt.datetime
    results: tuple[CheckResult, ...]

    @property
    def can_open(self) -> bool:
        return not any(r.blocks for r in self.results)

    def as_json(self) -> dict:
        return {"can_open": self.can_open, "checked_at": self.checked_at.isoformat(),
                "checks": [r.as_json() for r in self.results]}

    def lines(self) -> list[str]:
        return [r.line() for r in self.results] + [strings.VERDICT[self.can_open]]

    def fact(self) -> dict:
        """The compact fact recorded in the store: what failed, by reason (fits a streamed fact's limits).
        The row's own time stamps it; the same result again in one boot is not written twice."""
        failed_ = {r.name: r.outcome.reason.value for r in self.results if r.blocks}
        warned = {r.name: r.outcome.reason.value for r in self.results if not r.ok and not r.blocks}
        return {"state": "can_open" if self.can_open else "cannot_open",
                "reason": ",".join(sorted(set(failed_.values())))[:200],
                "detail": {"blockers": failed_, "warnings": warned}}


def run_one(check: Check, *, config, machine: Machine) -> CheckResult:
    """Run *check*; an exception becomes a failed warning (``check_crashed``), never a crash."""
    try:
        outcome = check.run(config=config, machine=machine)
    except Exception as e:  # a check that cannot run is a finding, not the end of the report
        outcome = failed(Severity.WARNING, Reason.CHECK_CRASHED, error=f"{type(e).__name__}: {e}"[:200])
    return CheckResult(check.name, outcome)


def run_checks(*, config, machine: Machine, checks=CHECKS) -> Report:
    """Every check of *checks* on *machine*, in order."""
    return Report(machine.now(), tuple(run_one(c, config=config, machine=machine) for c in checks))


#: The component of the facts this check records in the store's state log.
FACT_COMPONENT = "provision_check"


def record_report(report: Report, *, config, open_store=None) -> str | None:
    """Record *report* as a timestamped fact in the device's store; the error in words when it could not.

    Only an existing store is written (a check run as root must not create the
    services' store); nothing raised here stops the check.
    """
    from pishkhan.exc import PishkhanError

    if open_store is None:
        from pishkhan.store.database import open_store
    try:
        if not config.store_path.is_file():
            return f"no store at {config.store_path}"
        with open_store(config) as store:
            fact = report.fact()
            store.record_state(FACT_COMPONENT, fact["state"], fact["reason"], **fact["detail"])
    except (PishkhanError, OSError) as e:
        return str(e)
    return None
