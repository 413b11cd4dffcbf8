"""What the wall shows, read from the store, without a window.

:class:`WallModel` holds everything on the wall as plain values and the rules
that change them; :mod:`display.widgets` only draws it and :mod:`display.app`
drives it from Kivy's clock. The rules:

- **Calls.** The newest call is "now serving" (its number, then its counter);
  the :data:`RECENT_ROWS` calls before it are listed under it. A call is new
  when its id is above the last one seen; new calls are handed over oldest
  first (to be shown, then announced) and the latest call stays highlighted
  :data:`HIGHLIGHT_SECONDS` after the last new one. The calls are read again
  only after another process committed something (``PRAGMA data_version``,
  :meth:`Store.changed`), which is cheap to ask 30 times a second.
- **Board pages.** The pages of the effective board are drawn on the page
  cache's worker thread (:class:`~display.page_cache.PageCache`) and taken
  over on the UI thread by :meth:`WallModel.poll`. The first set taken is
  shown with the reason ``first``, later ones with ``board_changed``. The
  pages rotate every ``display.seconds_per_page`` seconds when there are two
  or more and the screen is not blank. The board is looked at again when its
  fingerprint changes (:func:`~display.page_cache.board_signature`) or the date
  does.
- **A board that cannot be drawn.** Whatever the render of a board raises,
  the wall keeps showing the last board pages it could draw: the set on show
  stays; when the set on show is the failing board's own (its first pages
  were drawn) or nothing is on show yet, the last complete set kept on disk
  comes back (reason ``render_failed``), or, with none, the "no valid board"
  page. The failure is logged and recorded in the state log as a fact of the
  ``display`` component (state ``error``, reason ``board_render_failed``, with
  the board on show, the board that failed and the error), and
  :meth:`WallModel.board_problem` gives it to the screen power's records until
  a board is drawn again.
- **Footer.** Today's opening hours; the version and verification code of the
  verified board on show, or :data:`~display.wall_strings.NO_BOARD`.
- **Ticker.** The active notices of the store, then the board's own notices
  that are not among them, joined by
  :data:`~display.wall_strings.TICKER_SEPARATOR`.
- **Staff line.** While a circular received by the office awaits a staff
  member's acknowledgement (:meth:`~pishkhan.circulars.library.Library.unread_count`),
  a small muted line under the recent calls says so
  (:data:`~display.wall_strings.NEW_CIRCULAR`), never the circular itself;
  read again with the footer and after another process's commit.
- **Header.** The clock to the minute and the Jalali date; a new date
  refreshes the footer and asks for the pages (a board may come into effect).
- **Blank.** While the screen is blanked locally the pages do not rotate and
  the clock is not read.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from pishkhan.boards.notices import active_notices
from pishkhan.exc import PishkhanError
from pishkhan.queue.core import Queue
from pishkhan.schedule.hours import hours_from_config
from pishkhan.text import jalali
from pishkhan.text.persian import to_persian_digits

from display import wall_strings as S
from display.page_cache import PageCache, PageSet
from pishkhan.boards.installed import board_signature

log = logging.getLogger(__name__)

#: Calls listed under the latest one.
RECENT_ROWS = 5
#: The latest call stays highlighted this long (seconds).
HIGHLIGHT_SECONDS = 6.0
#: The state log's reason for a board that could not be drawn.
RENDER_FAILED = "board_render_failed"


@dataclass(frozen=True)
class RenderFailure:
    """A board whose pages could not be drawn."""

    #: The failing board's version label (None: it failed before the board was known).
    version: str | None
    #: Its render key (see :func:`~display.page_cache.render_key`), or None.
    key: str | None
    #: ``Type: message`` of what the render raised.
    error: str


@dataclass
class WallUpdate:
    """What one :meth:`WallModel.poll` changed."""

    #: Why a new page set is on show (``first``, ``board_changed``, ``render_failed``), or None.
    pages: str | None = None
    #: The calls on show changed.
    calls: bool = False
    #: Calls not seen before, oldest first.
    new_calls: list = field(default_factory=list)
    #: The ticker's text changed.
    ticker: bool = False
    #: A board failed to draw since the last poll.
    failure: bool = False
    #: When the commit that led to this update was noticed (``time.time()``), or 0.
    detected_at: float = 0.0
    #: Today's hours changed (a schedule was installed): the footer needs drawing.
    footer: bool = False
    #: The store could not be read, first time for this problem: what it said.
    store_error: str | None = None


class WallModel:
    """The wall's state and rules.

    :param store: the open store.
    :param config: the configuration.
    :param board_size: pixel size of the board area.
    :param pages_dir: where the page cache keeps the last set (None: nowhere).
    :param render: a renderer for the page cache (default: the board renderer).
    :param clock: returns the aware current time.
    :param monotonic: seconds for highlighting and rotation.
    """

    def __init__(self, store, config, *, board_size, pages_dir=None, render=None, clock=jalali.now,
                 monotonic=time.monotonic):
        self.store = store
        self.config = config
        self.clock = clock
        self.monotonic = monotonic
        self.queue = Queue(store, config)
        self.hours = hours_from_config(config, store=store)
        self.pages = PageCache(store, config, size=board_size, render=render, directory=pages_dir,
                               on_ready=self._pages_ready, on_error=self._render_failed)
        #: The calls on show, newest first (at most ``RECENT_ROWS + 1``).
        self.calls: list = []
        self.last_call_id: int | None = None
        self.calls_shown = 0
        self.highlight_until = 0.0
        #: The page set on show, the page on show and since when (monotonic).
        self.page_set: PageSet | None = None
        self.page_index = 0
        self.page_shown_at = 0.0
        self.blank = False
        self.board_sig = None
        self.clock_text = ""
        self.date_text = ""
        self.hours_text = ""
        self.version_text = ""
        self.staff_text = ""
        self.ticker = ""
        #: The board that could not be drawn, until one is drawn again.
        self.failure: RenderFailure | None = None
        self._pending: tuple[PageSet, bool] | None = None
        self._failure_news = False
        self._lock = threading.Lock()
        #: The store's last error while polling ("" while it reads), and when to try again.
        self.store_problem = ""
        self.store_retry_at = float("inf")

    # -- calls ------------------------------------------------------------------
    def seed_calls(self) -> None:
        """Show the calls made before the wall started (none of them is new)."""
        calls = self.queue.recent_calls(RECENT_ROWS + 1)
        self.last_call_id = calls[0].id if calls else 0
        self.calls = calls

    @property
    def latest_number(self) -> str:
        return self.calls[0].ticket.display_label if self.calls else ""

    @property
    def latest_counter(self) -> str:
        if not self.calls:
            return S.NO_CALLS
        return S.COUNTER.format(counter=to_persian_digits(str(self.calls[0].counter)))

    def recent_rows(self) -> list[str]:
        """The :data:`RECENT_ROWS` lines under the latest call ("" for an empty row)."""
        rows = [S.RECENT_ROW.format(number=c.ticket.display_label, counter=to_persian_digits(str(c.counter)))
                for c in self.calls[1:RECENT_ROWS + 1]]
        return rows + [""] * (RECENT_ROWS - len(rows))

    @property
    def highlighted(self) -> bool:
        return self.monotonic() < self.highlight_until

    # -- polling ----------------------------------------------------------------
    def poll(self) -> WallUpdate:
        """Take a finished page set; after another process's commit, read the calls,
        the board's fingerprint and the notices."""
        update = WallUpdate(pages=self.take_pages())
        with self._lock:
            update.failure, self._failure_news = self._failure_news, False
        if update.pages is not None:
            update.ticker = True  # the footer was refreshed
        try:
            self._poll_store(update)
        except PishkhanError as e:  # what is shown stays; read again in a second
            if str(e) != self.store_problem:
                log.warning("the wall cannot read the store: %s", e)
                update.store_error = str(e)
            self.store_problem = str(e)
            self.store_retry_at = self.monotonic() + 1.0
        return update

    def _poll_store(self, update: WallUpdate) -> None:
        if not self.store.changed() and self.monotonic() < self.store_retry_at:
            return
        self.store_retry_at = float("inf")
        update.detected_at = time.time()
        calls = self.queue.recent_calls(RECENT_ROWS + 1)
        newest = calls[0].id if calls else 0
        if newest != self.last_call_id:
            fresh = sorted((c for c in calls if c.id > (self.last_call_id or 0)), key=lambda c: c.id)
            self.last_call_id = newest
            self.calls = calls
            update.calls, update.new_calls = True, fresh
            if fresh:
                self.highlight_until = self.monotonic() + HIGHLIGHT_SECONDS
                self.calls_shown += len(fresh)
        sig = board_signature(self.store)
        if sig != self.board_sig:
            self.board_sig = sig
            self.pages.request()
        ticker = self.ticker_source()
        if ticker != self.ticker:
            self.ticker = ticker
            update.ticker = True
        hours = S.HOURS_TODAY.format(hours=self.hours.describe_day(jalali.today(self.clock())))
        if hours != self.hours_text:  # a schedule installed meanwhile
            self.hours_text = hours
            update.footer = True
        staff = self.staff_source()
        if staff != self.staff_text:  # a circular received or acknowledged
            self.staff_text = staff
            update.footer = True
        self.store_problem = ""

    # -- board pages --------------------------------------------------------------
    def take_pages(self) -> str | None:
        """Put the page set the worker finished on show; returns why, or None."""
        with self._lock:
            item, self._pending = self._pending, None
            if item is None:
                return None
            page_set, fallback = item
            if not fallback and self.failure is not None and page_set.key != self.failure.key:
                self.failure = None  # a board was drawn again
        first = self.page_set is None
        self.page_set = page_set
        self.page_index = 0
        self.page_shown_at = self.monotonic()
        self.refresh_footer()
        self._record_board_shown(page_set)
        return "first" if first else "render_failed" if fallback else "board_changed"

    def _record_board_shown(self, page_set) -> None:
        """The first verified board this process puts up is a fact (audit ``display.board_shown``): an update's
        health gate reads that the new version drew one (pishkhan.releases.verify)."""
        if getattr(self, "_board_shown_recorded", False) or not page_set.verified:
            return
        try:
            from pishkhan.releases import running_version

            self.store.audit("display", "display.board_shown", str(page_set.version or ""),
                             verification_code=page_set.verification_code or "", software_version=running_version())
            self._board_shown_recorded = True
        except Exception:  # noqa: BLE001 - the wall goes on; the health gate says it saw no board
            log.exception("cannot record the board shown")

    def rotate(self) -> bool:
        """Move to the next page when it is time; True when the page changed."""
        ps = self.page_set
        if self.blank or ps is None or len(ps.pages) < 2:
            return False
        if self.monotonic() - self.page_shown_at < self.config.display.seconds_per_page:
            return False
        self.page_index = (self.page_index + 1) % len(ps.pages)
        self.page_shown_at = self.monotonic()
        return True

    def board_version(self) -> str | None:
        """The version of the verified board on show, or None."""
        ps = self.page_set
        return ps.version if ps is not None and ps.verified else None

    def board_problem(self) -> dict | None:
        """For the display's state records: why the installed board is not the one on show."""
        f = self.failure
        if f is None:
            return None
        return {"reason": RENDER_FAILED, "failed_board": f.version, "error": f.error}

    def _pages_ready(self, page_set: PageSet) -> None:
        """From the page worker thread: a new set is ready."""
        with self._lock:
            self._pending = (page_set, False)

    def _render_failed(self, error: BaseException, attempt) -> None:
        """From the page worker thread: drawing a board raised *error*."""
        try:
            self._handle_failure(error, attempt)
        except Exception:  # the page worker must live on whatever happens here
            log.exception("handling a board render failure failed")

    def _handle_failure(self, error: BaseException, attempt) -> None:
        key, version = attempt if attempt else (None, None)
        failure = RenderFailure(version, key, f"{type(error).__name__}: {error}"[:500])
        with self._lock:
            shown = self._pending[0] if self._pending else self.page_set
        fallback = None
        if shown is None or (key is not None and shown.key == key):
            fallback = self._last_drawable()
        new = failure != self.failure  # a repeat of the same failure is not recorded again
        if new:
            on_show = fallback or shown
            board = on_show.version if on_show is not None and on_show.verified else None
            log.error("board %s cannot be drawn (%s); the wall shows %s", version or "?", failure.error,
                      f"board {board}" if board else "no board")
            try:
                self.store.record_state("display", "error", RENDER_FAILED, board=board, failed_board=version,
                                        error=failure.error)
            except Exception:
                log.exception("cannot record the board render failure")
        with self._lock:
            if fallback is not None:
                self._pending = (fallback, True)
            self.failure = failure
            self._failure_news = self._failure_news or new

    def _last_drawable(self) -> PageSet | None:
        """The last complete set kept on disk, else the "no valid board" page."""
        try:
            return self.pages.last_saved() or self.pages.no_board_pages()
        except Exception:
            log.exception("no page can be drawn at all")
            return None

    # -- header, footer, ticker ------------------------------------------------------
    def tick_clock(self) -> bool:
        """Read the clock; True when the date changed (footer refreshed, pages asked for)."""
        now = self.clock()
        self.clock_text = jalali.format_time(now)  # minutes: one redraw a minute, not every second
        date = jalali.format_date(jalali.today(now))
        if date == self.date_text:
            return False
        self.date_text = date
        self.refresh_footer()
        self.pages.request()  # a new day may bring a board into effect
        return True

    def refresh_footer(self) -> None:
        """Today's hours, the board's version and code, the ticker."""
        self.hours_text = S.HOURS_TODAY.format(hours=self.hours.describe_day(jalali.today(self.clock())))
        ps = self.page_set
        if ps is not None and ps.verified:
            self.version_text = S.BOARD_VERSION.format(version=to_persian_digits(ps.version or ""),
                                                       code=ps.verification_code or "")
        else:
            self.version_text = S.NO_BOARD
        self.staff_text = self.staff_source()
        self.ticker = self.ticker_source()

    def staff_source(self) -> str:
        """The staff line: :data:`~display.wall_strings.NEW_CIRCULAR` while a circular awaits staff, else ""."""
        from pishkhan.circulars.library import Library

        try:
            unread = Library(self.store, self.config.state_dir / "circulars").unread_count()
        except PishkhanError:
            log.exception("cannot count the unread circulars")
            return ""
        return S.NEW_CIRCULAR if unread > 0 else ""

    def ticker_source(self) -> str:
        texts = [n.text for n in active_notices(self.store)]
        for t in (self.page_set.notices if self.page_set is not None else ()):
            if t not in texts:
                texts.append(t)
        return S.TICKER_SEPARATOR.join(texts)

    # -- screen ---------------------------------------------------------------------
    def set_blank(self, blank: bool) -> bool:
        """Blank or unblank the wall; True when that changed anything."""
        if blank == self.blank:
            return False
        self.blank = blank
        return True
