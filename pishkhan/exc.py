"""Every error Pishkhan raises, in one hierarchy.

Catch :exc:`PishkhanError` for all of them, or a subclass for one kind.
Messages say what was wrong and what was expected.
"""


class PishkhanError(Exception):
    """Base of every Pishkhan error."""


#: Why something was refused: code -> (Persian, English). The one list of refusal
#: reasons; a :exc:`Refused` carries one of these codes, and the MQTT ``reported``
#: payload sends it (docs/mqtt.md, Refusal reasons).
REASONS: dict[str, tuple[str, str]] = {
    "malformed": ("سند خوانا نیست", "not a readable document: not strict JSON, not an envelope, unknown fields"),
    "forged": ("امضا با کلیدی مورد اعتماد تأیید نمی‌شود",
               "the signature does not verify against a key this device trusts (a stranger's key, or changed "
               "after signing)"),
    "untrusted_key": ("کلید امضاکننده در فهرست کلیدهای مورد اعتماد این دستگاه نیست",
                      "signed by a key this device does not trust (a stranger's key, or none trusted yet)"),
    "invalid": ("سند با قالب خود نمی‌خواند", "breaks its kind's schema (a version out of bounds included)"),
    "wrong_scope": ("سند یا کلید آن برای این دفتر نیست",
                    "for another scope, province or office, or signed by a key that may not sign that scope"),
    "older": ("نسخه از نسخه نصب‌شده جدیدتر نیست", "the version is not newer than the installed one"),
    "replayed": ("همین سند پیش‌تر نصب شده است", "these exact signed bytes are installed already"),
    "too_far": ("نسخه بیش از اندازه از نسخه نصب‌شده بالاتر است",
                "the version jumps further above the installed one than a document may"),
    "not_a_file": ("فایل خوانده نشد", "not a regular file that may be read (on the stick, in time, in size)"),
    "not_accepted": ("این نوع سند از شبکه پذیرفته نمی‌شود", "this kind of document is not taken from the network"),
    "refused": ("پذیرفته نشد", "any other refusal (a trust list revoking the key that signed it)"),
    # commands from the centre (pishkhan.protocol.commands), besides malformed, forged, replayed:
    "unsigned": ("فرمان امضا نشده است", "not a signed envelope at all"),
    "wrong_device": ("فرمان برای دستگاه دیگری است", "addressed to another device"),
    "expired": ("زمان فرمان گذشته است", "past its expiry, or living longer than a command may"),
    "not_yet_valid": ("زمان صدور فرمان در آینده است", "issued further in the future than the clocks may differ"),
    "unknown": ("چنین فرمانی نیست", "no command of that name"),
    "bad_args": ("ورودی‌های فرمان نادرست است", "arguments that command does not take"),
    # a command accepted that could not be carried out (edge_agent.commands):
    "no_snapshot": ("عکسی از نمایشگر نیست", "the wall display has recorded no snapshot, or it cannot be read"),
    "snapshot_too_large": ("عکس نمایشگر بزرگ است", "the snapshot is larger than a result may carry"),
    "snapshot_corrupt": ("عکس نمایشگر خراب است", "the snapshot does not match its recorded hash"),
    "failed": ("اجرای فرمان ناموفق بود", "the command ran and failed"),
    # a ticket refused by the queue (pishkhan.queue.core):
    "closed": ("دفتر بسته است", "the office is closed now"),
    "cutoff": ("نوبت‌دهی امروز به پایان رسیده است", "too close to closing time for a new ticket"),
    "no_counter": ("باجه‌ای باز نیست", "no counter is open for the service"),
    # a customer's rating refused (pishkhan.queue.ratings), besides invalid (a score not 1-5):
    "already_rated": ("برای این نوبت پیش‌تر امتیاز داده شده است", "this ticket number was rated already today"),
    "not_served": ("خدمت این نوبت هنوز انجام نشده است", "the ticket exists today but was not served yet"),
    "unknown_ticket": ("چنین نوبتی امروز صادر نشده است", "no ticket with that number was issued today"),
    # fleet updates (pishkhan.releases, the root updater); ``expired`` above also means a release document past
    # its expiry:
    "downgrade": ("نسخهٔ بسته از نسخهٔ در حال اجرا پایین‌تر است",
                  "the package is older than the running version and no national rollback flag allows it"),
    "too_old": ("نسخهٔ در حال اجرا برای این به‌روزرسانی خیلی قدیمی است",
                "the running version is below the release's min_version_to_upgrade_from"),
    "wrong_hash": ("بستهٔ دریافتی با سند نمی‌خواند", "the package's SHA-256 or size differs from the document's"),
    "wrong_architecture": ("بسته برای معماری دیگری است", "the package is built for another architecture"),
    "unhealthy": ("نسخهٔ تازه سالم بالا نیامد", "the new version did not come up healthy in time (the health gate)"),
    "interrupted": ("به‌روزرسانی نیمه‌کاره ماند", "a power cut or a kill stopped an update half-way"),
    "no_rollback_package": ("بستهٔ بازگشت نگه داشته نشده است",
                            "no kept package of the running version: never install without a way back"),
    "download_failed": ("دریافت بسته ناموفق بود", "the package could not be downloaded"),
    "install_failed": ("نصب بسته ناموفق بود", "dpkg could not install the package"),
    # circulars (pishkhan.circulars); ``wrong_hash`` and ``download_failed`` above also name an attachment's:
    "too_large": ("از اندازهٔ مجاز بزرگ‌تر است",
                  "past a bound: a file's size, the number of circulars, the folder's size or the free disk"),
    # the device's own disk (a USB import, the agent's outbox):
    "disk_full": ("حافظهٔ دستگاه پر است", "the device's disk is full: nothing was written"),
}


class Refused(PishkhanError):
    """Something refused; :attr:`reason` is a code of :data:`REASONS`, the message says why in full.

    Callers branch on :attr:`reason`, never on the message.
    """

    def __init__(self, message: str, *, reason: str):
        if reason not in REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}; add it to pishkhan.exc.REASONS")
        super().__init__(message)
        self.reason = reason

    @property
    def sentence(self) -> tuple[str, str]:
        """The reason in words: (Persian, English)."""
        return REASONS[self.reason]


class ConfigError(PishkhanError):
    """The configuration file is missing, unreadable or has a bad value."""


class PinRefused(PishkhanError):
    """A staff PIN that the keypad cannot type or that is too easy to guess."""


class BoardError(PishkhanError):
    """A board cannot be used."""


class BoardInvalid(BoardError, Refused):
    """A board document breaks the schema; ``errors`` lists every problem (reason ``invalid``)."""

    def __init__(self, errors: list[str], *, reason: str = "invalid"):
        self.errors = list(errors)
        head = f"board is invalid ({len(self.errors)} error{'s' if len(self.errors) != 1 else ''})"
        super().__init__(head + ":\n  " + "\n  ".join(self.errors), reason=reason)


class ScheduleError(PishkhanError):
    """A working-hours schedule or holiday list cannot be used."""


class ScheduleInvalid(ScheduleError, Refused):
    """A schedule or holiday-list document breaks the schema; ``errors`` lists every problem (reason ``invalid``)."""

    def __init__(self, errors: list[str], *, what: str = "schedule", reason: str = "invalid"):
        self.errors = list(errors)
        head = f"{what} is invalid ({len(self.errors)} error{'s' if len(self.errors) != 1 else ''})"
        super().__init__(head + ":\n  " + "\n  ".join(self.errors), reason=reason)


class ScheduleRefused(ScheduleError, Refused):
    """A valid, signed schedule or holiday list that may not be installed (old version, wrong scope)."""


class SignatureInvalid(BoardError, ScheduleError, Refused):
    """A signed document's signature does not verify against a trusted key (reason ``forged``), its key is
    not trusted at all (``untrusted_key``), or it is not a signed envelope at all (``malformed``)."""

    def __init__(self, message: str, *, reason: str = "forged"):
        super().__init__(message, reason=reason)


class BoardRefused(BoardError, Refused):
    """A valid, signed board that may not be installed (old version, wrong scope)."""


class TrustListRefused(Refused):
    """A signed trust list that may not be applied (old version, a key it may not add, its signer revoked)."""


class ReleaseRefused(Refused):
    """A release document (``pishkhan.release/1``) or an update it asks for, refused (:mod:`pishkhan.releases`)."""


class CircularRefused(Refused):
    """A circulars index (``pishkhan.circulars/1``), one of its entries or an attachment, refused
    (:mod:`pishkhan.circulars`)."""


class PdfRefused(Refused):
    """A kept PDF that cannot be shown (:mod:`pishkhan.render.pdf`): ``not_a_file``, ``wrong_hash`` or ``malformed``."""


class BoardFileError(BoardError, Refused):
    """A board file that may not be read: not a regular file on the stick, too large, unreadable or too slow."""

    def __init__(self, message: str):
        super().__init__(message, reason="not_a_file")
        self.errors = [message]


class ImportRefused(Refused):
    """A board from the USB stick was refused; :attr:`reason` is the install path's code, :attr:`kind` the staff
    screen's words for it: signature, version, scope, invalid, file (not a regular file on the stick, too large,
    unreadable), disk (the device's disk is full, reason ``disk_full``) or error (anything unforeseen, reason
    ``refused``)."""

    def __init__(self, message: str, *, kind: str, reason: str = "refused"):
        super().__init__(message, reason=reason)
        self.kind = kind


class LayeringError(BoardError):
    """An office or province board tried to change what it may not."""


class CodeUnreadable(PishkhanError, ValueError):
    """Not a claim code (``pishkhan.claimcode``): :attr:`reason` is ``malformed`` (length, characters) or
    ``mistyped`` (check character)."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class RenewalFailed(PishkhanError):
    """A device certificate's renewal did not happen (``edge_agent/renewal.py``): :attr:`reason` is the centre's
    refusal code, or ``no_network``, ``server_certificate``, ``bad_answer``, ``local``."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class KeyFileError(PishkhanError):
    """A key file is missing or is not an Ed25519 key."""


class StoreError(PishkhanError):
    """The local store cannot be opened or used."""


class StoreLocked(StoreError):
    """Another program held the store's write lock longer than the store waits."""


class StoreCorrupt(StoreError):
    """The store file is damaged or is not a SQLite file."""


class StoreFull(StoreError):
    """The disk holding the store is full: nothing was written."""


class StoreReadOnly(StoreError):
    """The store file (or its folder, or its disk) cannot be written."""


class StoreUnreadable(StoreError):
    """A file the store needs cannot be read: the store, its folder, or one of Pishkhan's own files.

    :attr:`path` names it; :attr:`reason` is ``"permission_denied"`` or
    ``"unreadable"`` (any other error of the system). The store itself is not
    damaged: the permissions are to be fixed, the file is never to be moved away.
    """

    def __init__(self, message: str, *, path, reason: str):
        super().__init__(message)
        self.path = path
        self.reason = reason


class StoreConstraint(StoreError):
    """The schema refused a change (a unique number, an append-only table)."""


class SchemaTooNew(StoreError):
    """The store file was written by a newer version of Pishkhan."""


class RenderError(PishkhanError):
    """A page cannot be rendered correctly."""


class MissingGlyph(RenderError):
    """The font has no glyph for a character that would be drawn."""


class QueueError(PishkhanError):
    """A queue operation is not possible in the queue's current state."""


class RatingRefused(QueueError, Refused):
    """A customer's rating is not taken; :attr:`reason` is ``already_rated``, ``not_served``,
    ``unknown_ticket`` or ``invalid`` (pishkhan.queue.ratings)."""


class OfficeClosed(QueueError, Refused):
    """No ticket can be issued now; :attr:`reason` (``closed``, ``cutoff``, ``no_counter``) and
    :attr:`next_open` say why and when."""

    def __init__(self, message: str, *, reason: str, next_open=None):
        super().__init__(message, reason=reason)
        self.next_open = next_open


class PrinterError(PishkhanError):
    """The printer could not print; ``state`` names the printer state."""

    def __init__(self, message: str, *, state: str = "error"):
        super().__init__(message)
        self.state = state


class ProtocolError(PishkhanError):
    """An MQTT message does not follow the protocol in docs/mqtt.md.

    :attr:`reason` is a code from :data:`pishkhan.protocol.payloads.REFUSALS`
    (``malformed`` unless told); callers branch on it, never on the sentence.
    """

    def __init__(self, message: str, *, reason: str = "malformed"):
        super().__init__(message)
        self.reason = reason


class CommandRefused(Refused):
    """A command the device will not run; :attr:`reason` is the code, the message says why."""

    def __init__(self, reason: str, message: str, *, command_id: str | None = None):
        super().__init__(f"{reason}: {message}", reason=reason)
        self.command_id = command_id


class CommandFailed(Refused):
    """A command that was accepted but could not be carried out; :attr:`reason` is the code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message, reason=reason)


class AgentError(PishkhanError):
    """The MQTT agent cannot start or run."""


class OutboxError(AgentError):
    """The agent's durable outbox cannot be opened or cannot take a message."""


class OutboxFull(OutboxError):
    """The disk holding the outbox is full: nothing was written (what is there stays)."""


class CentralError(PishkhanError):
    """A centre tool (``pishkhan central …``) could not do its job: broker, keys, documents."""


class PublishRefused(CentralError):
    """The broker refused a publish: :attr:`reason` is the MQTT 5 reason's name in snake case
    (``not_authorized``, ``quota_exceeded``, …), :attr:`mqtt_code` its number."""

    def __init__(self, message: str, *, reason: str, mqtt_code: int):
        super().__init__(message)
        self.reason = reason
        self.mqtt_code = mqtt_code
