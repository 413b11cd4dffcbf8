"""Every error the centre raises, in one place, each with the reason codes it may carry.

The centre's errors derive from :mod:`pishkhan.exc` (:exc:`~pishkhan.exc.CentralError`,
:exc:`~pishkhan.exc.ProtocolError`, :exc:`~pishkhan.exc.PishkhanError`), so one
``except PishkhanError`` catches them too. A refusal's :attr:`reason` is a code
from the tuple its class declares (``reasons``); callers branch on it, never on
the message. The modules that raise them re-export them under the old names
(``central.ca.CertificateRefused``, ``central.ca.REASONS``, …).

One error stays out on purpose: ``central.web.auth.Locked`` is Starlette's
``AuthenticationError``, the web framework's signal to refuse a request, not
one of ours.
"""

from __future__ import annotations

from pishkhan.enrolment import REASONS as ENROLMENT_REASONS
from pishkhan.exc import CentralError, PishkhanError, ProtocolError, SignatureInvalid


class FleetDBError(PishkhanError):
    """The fleet database could not be opened or used."""


class UserError(PishkhanError):
    """A user could not be added or a password is not acceptable."""


class _Refusal(CentralError):
    """A centre refusal whose :attr:`reason` is one of its class's :attr:`reasons`."""

    reasons: tuple[str, ...] = ()

    def __init__(self, message: str, *, reason: str):
        assert reason in self.reasons, reason
        super().__init__(message)
        self.reason = reason


class CertificateRefused(_Refusal):
    """The CA refused; :attr:`reason` is one of :attr:`reasons`."""

    #: Why a certificate was refused or could not be made.
    reasons = ("bad_csr", "weak_key", "bad_device_id", "no_ca", "ca_exists", "unknown_serial")


class RevocationRefused(_Refusal):
    """A revocation was refused or not finished; :attr:`reason` is one of :attr:`reasons`."""

    #: Why a revocation was refused or could not be finished.
    reasons = ("unknown_device", "bad_reason", "crl_unwritable", "reload_failed", "disconnect_failed")


class RegistryRefused(_Refusal):
    """The registry refused a change; :attr:`reason` is one of :attr:`reasons`."""

    #: Why the registry refused.
    reasons = ("bad_device_id", "bad_office_id", "bad_province", "bad_office_name", "already_registered",
               "not_registered", "unknown_province")


class NotPublished(CentralError):
    """A document refused before the broker saw it: :attr:`reason` is one of :attr:`reasons`."""

    #: Why ``central.publish.prepare`` refused to publish a document.
    reasons = ("not_an_object", "not_signed", "wrong_format", "wrong_scope", "invalid", "signature_invalid",
               "key_not_allowed")

    def __init__(self, message: str, *, reason: str):
        if reason not in self.reasons:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(f"not published ({reason}): {message}")
        self.reason = reason


class EnrolmentRefused(CentralError):
    """A refused enrolment or renewal: :attr:`reason` is one of :data:`pishkhan.enrolment.REASONS`."""

    def __init__(self, message: str, *, reason: str, device_id: str = "", office_id: str = ""):
        assert reason in ENROLMENT_REASONS, reason
        super().__init__(message)
        self.reason = reason
        self.device_id = device_id
        self.office_id = office_id


class CodeRefused(CentralError):
    """A verification code the centre cannot have made; :attr:`reason` is a ``central.official.CodeRefusal``."""

    def __init__(self, message: str, *, reason):
        super().__init__(message)
        self.reason = reason


class PayloadRefused(ProtocolError):
    """A payload the centre does not read: :attr:`reason` is one of ``central.codec.REASONS``."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message, reason=reason)


class DocumentRefused(ProtocolError):
    """A document not recorded as official: :attr:`reason` is one of ``central.official_record.REASONS``."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class KeyNotAllowed(SignatureInvalid):
    """A signature that verifies, by a key whose scope does not cover the document's."""


class PoolRefused(CentralError):
    """A package the pool will not take; :attr:`reason` is one of :attr:`reasons`."""

    reasons = ("not_a_package", "too_large", "unreadable")

    def __init__(self, message: str, *, reason: str):
        assert reason in self.reasons, reason
        super().__init__(message)
        self.reason = reason


class RolloutError(CentralError):
    """A rollout operation refused; :attr:`reason` is one of :attr:`reasons`."""

    reasons = ("unknown_rollout", "not_active", "no_device", "bad_option")

    def __init__(self, message: str, *, reason: str):
        assert reason in self.reasons, reason
        super().__init__(message)
        self.reason = reason


class ListRefused(_Refusal):
    """A device-list request that cannot be answered (central.device_list); :attr:`reason` is one of
    :attr:`reasons`."""

    reasons = ("bad_sort", "bad_status", "bad_board", "bad_state", "bad_page")


class ActionRefused(_Refusal):
    """A remote action not sent (central.remote); :attr:`reason` is one of :attr:`reasons`."""

    reasons = ("not_national", "unknown_action", "unknown_device", "not_configured")


class NoAnswer(CentralError):
    """A remote action's command was sent but no result came in time (central.remote)."""


class HistoryRefused(_Refusal):
    """A period or ranking that cannot be answered (central.history); :attr:`reason` is one of :attr:`reasons`."""

    reasons = ("reversed", "too_long", "rank_by", "header")


class AlertRefused(_Refusal):
    """An alert rule, filter or acknowledgement was refused (central.alerts); :attr:`reason` is one of
    :attr:`reasons`."""

    reasons = ("bad_kind", "bad_severity", "bad_minutes", "bad_threshold", "unknown_alert", "not_open",
               "bad_filter", "unknown_province")


class CircularNotPublished(CentralError):
    """A circular not pooled or not published (central.circulars): :attr:`reason` is one of :attr:`reasons`."""

    reasons = ("not_a_pdf", "too_large", "unreadable", "bad_field", "bad_scope", "duplicate_number", "invalid",
               "unknown_supersedes")

    def __init__(self, message: str, *, reason: str):
        if reason not in self.reasons:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(f"not published ({reason}): {message}")
        self.reason = reason
