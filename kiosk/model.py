"""What the kiosk knows, read from the store: board, notices, queue state.

The screens read a :class:`KioskModel`; it never draws anything. It records
the kiosk's state in the state log whenever it changes (``accepting``,
``not_accepting`` with the reason, ``out_of_service`` with the reason), so
the agent can judge working-hours compliance.
"""

from __future__ import annotations

import logging

from pishkhan.text import jalali
from pishkhan.boards.installed import effective_for_config
from pishkhan.exc import PishkhanError
from pishkhan.schedule.hours import hours_from_config
from pishkhan.boards.notices import active_notices

log = logging.getLogger(__name__)


class KioskModel:
    """The kiosk's view of the device.

    :param store: the device store (None when it could not be opened).
    :param config: the configuration.
    :param printer: a :mod:`pishkhan.hardware.printer` printer (None: tickets are not printed).
    :param store_error: why the store could not be opened, for the out-of-service screen.
    """

    def __init__(self, store, *, config, printer=None, store_error: str = ""):
        self.store = store
        self.config = config
        self.printer = printer
        self.hours = hours_from_config(config, store=store)
        self.board = None
        self.notices: list = []
        self.problem = store_error  # non-empty: out of service
        self.queue = None
        if store is not None:
            from pishkhan.queue.core import Queue

            self.queue = Queue(store, config, hours=self.hours, board=lambda: self.board)
        self.reload()

    # -- reading ------------------------------------------------------------------
    def reload(self) -> None:
        """Read the board and notices again; sets :attr:`problem` when unusable."""
        if self.store is None:
            self.record("out_of_service", "store")
            return
        try:
            self.board = effective_for_config(self.store, self.config, jalali.today(self.store.now()))
            self.notices = active_notices(self.store)
        except (PishkhanError, ValueError, KeyError) as e:
            log.exception("the store or board cannot be read")
            self.board, self.problem, reason = None, f"store: {e}", "store"
        else:
            self.problem, reason = ("", "") if self.board is not None else ("no_board", "no_board")
        if self.problem:
            self.record("out_of_service", reason)

    @property
    def out_of_service(self) -> bool:
        return bool(self.problem)

    # -- the circulars library (staff and inspector screens) ---------------------------
    @property
    def library(self):
        """The office's circulars library (:class:`pishkhan.circulars.library.Library`), made when first asked."""
        if getattr(self, "_library", None) is None:
            from pishkhan.circulars.library import Library

            self._library = Library(self.store, self.config.state_dir / "circulars")
        return self._library

    @property
    def pdf_pages(self):
        """The page renderer of circular attachments, cached in ``<state>/circulars/pages``."""
        if getattr(self, "_pdf_pages", None) is None:
            from pishkhan.render.pdf import PageRenderer

            self._pdf_pages = PageRenderer(self.config.state_dir / "circulars" / "pages")
        return self._pdf_pages

    def notice_texts(self) -> list[str]:
        board_notices = list(self.board.notices) if self.board else []
        return [n.text for n in self.notices] + board_notices

    def status(self) -> tuple[bool, str, object]:
        """``(accepting, reason, next_open)``; recorded in the state log."""
        if self.out_of_service:
            return False, "out_of_service", None
        try:
            ok, reason, next_open = self.queue.accepting()
        except PishkhanError as e:
            log.exception("queue state unreadable")
            self.problem = f"store: {e}"
            self.record("out_of_service", "store")
            return False, "out_of_service", None
        self.record("accepting" if ok else "not_accepting", reason)
        return ok, reason, next_open

    def record(self, state: str, reason: str = "") -> None:
        if self.store is None:
            return
        try:
            self.store.record_state("kiosk", state, reason)
        except PishkhanError:
            log.exception("cannot record the kiosk state")

    def waiting(self) -> int:
        try:
            return self.queue.waiting() if self.queue else 0
        except PishkhanError:
            return 0

    def estimate(self, code: str, *, priority: bool = False):
        """The queue's :class:`~pishkhan.queue.core.Estimate` for *code*, or None."""
        try:
            return self.queue.estimate(code, priority=priority)
        except PishkhanError:
            return None

    def describe_today(self, lang: str = "fa") -> str:
        return self.hours.describe_day(jalali.today(self.store.now() if self.store else None), lang)

    def describe_next_open(self, lang: str = "fa") -> str:
        return self.hours.describe_next_open(self.store.now() if self.store else jalali.now(), lang)

    def service(self, code: str):
        """The board's service with this *code*, or None (no board, or not on it)."""
        return self.board.service(code) if self.board else None

    def complaints(self):
        """The complaint channel the board names (:class:`~pishkhan.boards.document.Complaints`), or None."""
        return self.board.complaints if self.board is not None else None

    def rating_open(self) -> bool:
        """Whether the start screen offers rating: a ticket was served today (False when the store fails)."""
        if self.store is None:
            return False
        try:
            from pishkhan.queue.ratings import Ratings

            return Ratings(self.store).served_today()
        except PishkhanError:
            log.exception("cannot read whether a ticket was served")
            return False

    def currency(self) -> str:
        return self.config.office.currency_unit

    # -- issuing ------------------------------------------------------------------
    def issue(self, code: str, *, priority: bool = False):
        """Commit a ticket for *code*; raises OfficeClosed / QueueError."""
        return self.queue.issue(code, priority=priority)

    def print_ticket(self, ticket):
        """Print a committed *ticket*; returns ``(printed, printer_state, error)``.

        Never raises: a printer failure is recorded by the issuing module and
        reported to the customer as "please note your number".
        """
        if self.printer is None:
            return False, "none", "no printer configured"
        try:
            from pishkhan.queue import issuing

            result = issuing.print_ticket(self.queue, self.printer, ticket, config=self.config)
            return bool(result.printed), result.printer_state, result.error or ""
        except Exception as e:  # the kiosk goes on whatever the printer does
            log.exception("printing ticket %s failed", ticket.label)
            self.record_printer_failure(ticket, str(e))
            return False, getattr(e, "state", "error"), str(e)

    def record_printer_failure(self, ticket, error: str) -> None:
        try:
            self.store.record_state("printer", "error", error[:200])
        except PishkhanError:
            pass
