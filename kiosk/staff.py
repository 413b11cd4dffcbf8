"""What staff can do from the kiosk, each action written to the audit log.

:class:`StaffActions` holds no widgets: the staff screens call it, and so
can tests. Every method audits as ``staff.<action>`` (actor ``staff``)
whether it succeeded or not, and returns a short result or raises a
:exc:`~pishkhan.exc.PishkhanError` whose message the screen shows.
"""

from __future__ import annotations

import logging
import platform

from pishkhan import __version__ as pishkhan_version
from pishkhan.text import jalali
from pishkhan.boards.installed import set_unavailable
from pishkhan.exc import BoardError, ImportRefused, PishkhanError, StoreError, StoreFull
from pishkhan.boards.notices import post_notice, remove_notice
from pishkhan.text.persian import ltr, to_persian_digits

from . import usb_import

ACTOR = "staff"
log = logging.getLogger(__name__)


#: The staff screen's words (``refused_<kind>`` in kiosk/strings.py) for each refusal reason.
_KINDS = {"not_a_file": "file", "forged": "signature", "untrusted_key": "signature", "older": "version", "replayed": "version",
          "too_far": "version", "wrong_scope": "scope", "disk_full": "disk"}


def refusal_kind(error: Exception) -> str:
    """The staff screen's kind of *error*, from its class and :attr:`~pishkhan.exc.Refused.reason`."""
    from pishkhan.exc import SignatureInvalid

    if _disk_full(error):
        return "disk"
    if isinstance(error, OSError):
        return "file"
    if isinstance(error, SignatureInvalid):
        return "signature"
    return _KINDS.get(getattr(error, "reason", None), "invalid")


def _disk_full(error: Exception) -> bool:
    """*error* says the device's own disk is full (the store, or a file written beside it)."""
    import errno

    if isinstance(error, StoreFull) or isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    return (getattr(error, "sqlite_errorname", "") or "").startswith("SQLITE_FULL")  # sqlite3, unwrapped


class StaffActions:
    """Staff actions on the kiosk's model (store, queue, printer, config)."""

    def __init__(self, model, *, actor: str = ACTOR):
        self.model = model
        self.actor = actor

    @property
    def store(self):
        return self.model.store

    @property
    def queue(self):
        return self.model.queue

    def _audit(self, action: str, subject="", **detail):
        self.store.audit(self.actor, f"staff.{action}", str(subject), **detail)

    def _run(self, action: str, subject, fn, **detail):
        """Run *fn*, audit the action with its outcome, re-raise failures."""
        try:
            result = fn()
        except (PishkhanError, OSError) as e:
            self._audit(action, subject, ok=False, error=str(e), **detail)
            if isinstance(e, PishkhanError):
                raise  # its class and reason stay readable
            raise PishkhanError(str(e)) from e
        self._audit(action, subject, ok=True, **detail)
        self.model.reload()
        return result

    # -- counters -------------------------------------------------------------------
    def counters(self) -> list[tuple[int, bool]]:
        open_now = set(self.queue.open_counters())
        return [(c.number, c.number in open_now) for c in self.model.config.counters]

    def set_counter(self, number: int, is_open: bool):
        fn = self.queue.open_counter if is_open else self.queue.close_counter
        return self._run("counter_open" if is_open else "counter_close", f"counter:{number}",
                         lambda: fn(number, actor=self.actor))

    # -- services ----------------------------------------------------------------------
    def set_unavailable(self, code: str, reason: str | None):
        reason = " ".join((reason or "").split()) or None
        return self._run("service_unavailable" if reason else "service_available", code,
                         lambda: set_unavailable(self.store, code, reason, actor=self.actor), reason=reason or "")

    # -- notices -----------------------------------------------------------------------
    def post_notice(self, text: str):
        return self._run("notice_post", "", lambda: post_notice(self.store, text, actor=self.actor), text=text)

    def remove_notice(self, notice_id: int):
        return self._run("notice_remove", notice_id, lambda: remove_notice(self.store, notice_id, actor=self.actor))

    # -- queue -------------------------------------------------------------------------
    def waiting_tickets(self) -> list:
        return self.queue.tickets(state="waiting")

    def recall(self, counter: int):
        return self._run("recall", f"counter:{counter}", lambda: self.queue.recall(counter))

    def cancel(self, ticket_id: int):
        return self._run("cancel", ticket_id, lambda: self.queue.cancel(ticket_id, actor=self.actor))

    def transfer(self, ticket_id: int, lane: str):
        return self._run("transfer", ticket_id, lambda: self.queue.transfer(ticket_id, lane, actor=self.actor),
                         lane=lane)

    def end_of_day(self):
        return self._run("end_of_day", jalali.today(self.store.now()).isoformat(),
                         lambda: self.queue.end_of_day(actor=self.actor))

    def reprint_last(self):
        """Reprint the last ticket: returns the IssueResult, or None when none was issued."""
        from pishkhan.queue.issuing import reprint

        last = self.queue.last_ticket()
        if last is None:
            self._audit("reprint", "", ok=False, error="no ticket issued yet")
            return None
        if self.model.printer is None:
            raise PishkhanError("no printer is configured")
        result = self._run("reprint", last.label, lambda: reprint(self.queue, self.model.printer, last.id,
                                                                   config=self.model.config))
        if not result.printed:
            raise PishkhanError(f"{result.printer_state}: {result.error}")
        return result

    # -- boards ------------------------------------------------------------------------
    def usb_files(self) -> usb_import.Scan:
        """What is on the USB stick (never raises: a failed scan says why in ``problem``)."""
        found = usb_import.scan(self.model.config.kiosk.usb_mount)
        if found.problem or found.skipped or found.truncated:
            log.warning("USB scan of %s: %s, %d left out%s %s", found.mount, found.problem or "ok", found.skipped,
                        ", truncated" if found.truncated else "", found.detail)
        return found

    def import_board(self, path):
        """Install the board in *path*; a refusal raises with the reason, the old board stays (a full disk:
        reason ``disk_full``, even when the refusal's own audit row cannot be written)."""
        try:
            installed = usb_import.import_board(self.store, path, config=self.model.config, actor=self.actor)
        except Exception as e:  # noqa: BLE001 - whatever a stick holds, the staff screen answers, the old board stays
            if not isinstance(e, (BoardError, OSError, StoreFull)) and not _disk_full(e):
                log.exception("importing %s failed", path)
                self._audit_refusal(path, error=f"{type(e).__name__}: {e}")
                raise ImportRefused(f"{type(e).__name__}: {e}", kind="error") from e
            message = e.errors[0] if getattr(e, "errors", None) else str(e)
            code = ("disk_full" if _disk_full(e) else "not_a_file" if isinstance(e, OSError)
                    else getattr(e, "reason", "refused"))
            self._audit_refusal(path, error=str(e), code=code)
            raise ImportRefused(message, kind=refusal_kind(e), reason=code) from e
        try:
            self._audit("board_import", str(path), ok=True, version=installed.board.version,
                        verification_code=installed.verification_code)
        except StoreError as e:  # the board is installed (its own row says so); only the audit row is missing
            log.error("board %s installed but its audit row was not written: %s", installed.board.version, e)
        self.model.reload()
        return installed

    def _audit_refusal(self, path, **detail):
        """The refused import's audit row, if the store takes it (a full disk may not: the refusal stands)."""
        try:
            self._audit("board_import", str(path), ok=False, **detail)
        except Exception as e:  # noqa: BLE001 - the staff screen gets its answer either way
            log.error("cannot audit the refused import of %s: %s", path, e)

    # -- device info -------------------------------------------------------------------
    def device_info(self, lang: str = "fa") -> list[tuple[str, str]]:
        from .strings import number, t

        cfg = self.model.config
        self._audit("device_info")
        board = self.model.board
        if board is not None:
            board_text = t("info_board_value", lang, version=number(board.version_label, lang),
                           code=board.verification_code)
        else:
            board_text = t("info_no_board", lang)
        broker = self.store.get_setting("agent.broker_state") or t("unknown", lang)
        from .strings import CLOSED_REASONS

        ok, reason, _ = self.model.status()
        today = self.model.describe_today(lang)
        why = t(CLOSED_REASONS[reason], lang) if reason in CLOSED_REASONS else reason
        state = t("info_accepting", lang) if ok else f"{t('not_accepting', lang)}: {why}"
        unprinted = len(self.queue.unprinted()) if self.queue else 0
        import kivy

        return [
            (t("info_device", lang), cfg.device_id),
            (t("info_office", lang), f"{cfg.office.name} ({ltr(cfg.office.office_id)})"),
            (t("info_versions", lang), f"pishkhan {pishkhan_version}, kivy {kivy.__version__}, "
                                       f"python {platform.python_version()}"),
            (t("info_broker", lang), str(broker)),
            (t("info_board", lang), board_text),
            (t("info_today", lang), f"{today} — {state}"),
            (t("info_unprinted", lang), str(unprinted) if lang == "en" else to_persian_digits(unprinted)),
        ]
