"""The wall's model as plain Python: a real store file written by "another
process" (a second connection, as the counter panel and staff are), a clock
and a monotonic clock the test moves by hand, real board pages; no window."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time

import pytest
from queue_helpers import START, Clock

from display import wall_strings as S
from display.model import HIGHLIGHT_SECONDS, RECENT_ROWS, RENDER_FAILED, WallModel
from display.screen_power import FakePower, ScreenPowerController
from pishkhan.boards.installed import install_board, set_unavailable
from pishkhan.boards.notices import active_notices, post_notice, remove_notice
from pishkhan.boards.signing import verification_code
from pishkhan.boards.trust import trust_key
from pishkhan.queue.core import Queue
from pishkhan.releases import running_version
from pishkhan.render import board_pages
from pishkhan.store.database import Store
from pishkhan.text import jalali
from pishkhan.text.persian import to_persian_digits

#: The board area of a 1920x1080 wall.
BOARD = (1320, 870)


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float):
        self.t += seconds


class Office:
    """The other processes: the panel calling, staff installing and posting
    (the sample board, version 1, is installed)."""

    def __init__(self, config, clock, issuer_key, doc):
        self.store = Store(config.store_path, clock=clock)
        self.key = issuer_key
        trust_key(self.store, issuer_key.public, label="test issuer", actor="test")
        self.board = self.install(doc)
        self.queue = Queue(self.store, config)
        for n in (1, 2, 3):
            self.queue.open_counter(n, actor="test")

    def install(self, doc):
        return install_board(self.store, self.key.sign(doc), source="cli", actor="test")


@pytest.fixture
def clock():
    return Clock(START)


@pytest.fixture
def ticks():
    return Ticks()


@pytest.fixture
def office(config, clock, issuer_key, sample_doc):
    o = Office(config, clock, issuer_key, sample_doc)
    yield o
    o.store.close()


@pytest.fixture
def make_wall(config, clock, ticks, tmp_path):
    """A wall model on its own connection to the office's store file."""
    made = []

    def make(*, pages_dir=tmp_path / "pages"):
        store = Store(config.store_path, clock=clock)
        model = WallModel(store, config, board_size=BOARD, pages_dir=pages_dir, clock=clock, monotonic=ticks)
        made.append(model)
        return model

    yield make
    for model in made:
        model.pages.close()
        model.store.close()


def settle(model, done, *, timeout=60.0, updates=None) -> list[str]:
    """Poll as the app does until *done(model)*; returns the page reasons seen
    (and appends every update to *updates* when given)."""
    reasons, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        update = model.poll()
        if updates is not None:
            updates.append(update)
        if update.pages:
            reasons.append(update.pages)
        if done(model):
            return reasons
        time.sleep(0.02)
    raise AssertionError(f"the wall did not settle; on show: {model.page_set}, failure: {model.failure}, "
                         f"cache errors: {model.pages.errors}")


def complete(model, version) -> bool:
    ps = model.page_set
    return ps is not None and ps.version == version and len(ps.pages) == ps.count > 0


def page_version(page) -> str | None:
    """The board version a laid-out page carries (in its footer)."""
    import re

    from pishkhan.text.persian import to_latin_digits

    for block in page.texts("footer:version"):
        found = re.search(r"[0-9]+(?:\+[0-9]+)*", to_latin_digits(block.text))
        if found:
            return found.group(0)
    return None


# -- calls --------------------------------------------------------------------------
def test_calls_before_start_are_shown_but_not_new(office, make_wall, ticks):
    for code in ("ID-01", "ID-01", "VEH-01"):
        office.queue.issue(code)
    first = office.queue.call_next(1)
    wall = make_wall()
    wall.seed_calls()
    assert wall.latest_number == first.display_label == to_persian_digits(first.label)
    assert wall.latest_counter == "باجه ۱"
    assert wall.recent_rows() == [""] * RECENT_ROWS
    assert not wall.highlighted
    update = wall.poll()   # nothing committed since: nothing read, nothing new
    assert not update.calls and update.new_calls == []


def test_a_call_from_another_process_is_new_highlighted_and_listed(office, make_wall, ticks):
    wall = make_wall()
    wall.seed_calls()
    assert wall.latest_number == "" and wall.latest_counter == S.NO_CALLS
    tickets = [office.queue.issue("ID-01") for _ in range(8)]
    assert not wall.poll().calls                  # issuing changes no call on the wall
    a1 = office.queue.call_next(3)
    update = wall.poll()
    assert update.calls and [c.ticket.label for c in update.new_calls] == [a1.label] == [tickets[0].label]
    assert update.detected_at > 0
    assert wall.latest_number == to_persian_digits("A001") and wall.latest_counter == "باجه ۳"
    assert wall.highlighted
    ticks.advance(HIGHLIGHT_SECONDS - 0.1)
    assert wall.highlighted
    ticks.advance(0.2)
    assert not wall.highlighted

    # A burst between two polls: all new, oldest first; the latest on top, the rest listed.
    counters = (1, 3, 1, 3, 3, 1)
    called = [office.queue.call_next(n) for n in counters]
    update = wall.poll()
    assert [c.ticket.label for c in update.new_calls] == [t.label for t in called]
    assert wall.calls_shown == 7 and wall.highlighted
    assert wall.latest_number == called[-1].display_label
    assert wall.recent_rows() == [S.RECENT_ROW.format(number=t.display_label, counter=to_persian_digits(str(n)))
                                  for t, n in zip(called[-2::-1], counters[-2::-1])]


def test_a_recall_is_new_again(office, make_wall):
    office.queue.issue("ID-01")
    t = office.queue.call_next(1)
    wall = make_wall()
    wall.seed_calls()
    office.queue.recall(1)
    update = wall.poll()
    assert [(c.ticket.label, c.recall) for c in update.new_calls] == [(t.label, 1)]


# -- pages, rotation, blank, footer ----------------------------------------------------
def test_pages_rotate_unless_blank_and_the_footer_names_the_board(office, make_wall, sample_doc, ticks, config):
    installed = office.board
    wall = make_wall()
    wall.pages.refresh()                    # the worker's job, done here
    update = wall.poll()
    assert update.pages == "first" and update.ticker
    ps = wall.page_set
    assert ps.version == "1" and ps.verified and ps.count == len(ps.pages) > 2
    assert wall.board_version() == "1" and wall.board_problem() is None
    assert wall.version_text == S.BOARD_VERSION.format(version="۱", code=installed.verification_code)
    assert wall.hours_text.startswith(S.HOURS_TODAY.format(hours=""))

    seconds = config.get("display.seconds_per_page")
    assert not wall.rotate()
    ticks.advance(seconds - 0.5)
    assert not wall.rotate() and wall.page_index == 0
    ticks.advance(0.5)
    assert wall.rotate() and wall.page_index == 1
    assert wall.set_blank(True) and not wall.set_blank(True)
    ticks.advance(seconds * 3)
    assert not wall.rotate() and wall.page_index == 1   # a blank screen does not turn pages
    assert wall.set_blank(False)
    assert wall.rotate() and wall.page_index == 2
    for _ in range(ps.count - 2):
        ticks.advance(seconds)
        assert wall.rotate()
    assert wall.page_index == 0                          # round again


def test_no_board_says_so(config, make_wall):
    wall = make_wall(pages_dir=None)
    wall.pages.refresh()
    assert wall.poll().pages == "first"
    assert wall.page_set.version is None and not wall.page_set.verified and len(wall.page_set.pages) == 1
    assert wall.version_text == S.NO_BOARD and wall.board_version() is None
    assert wall.store.audit_entries(action="display.board_shown") == []  # no verified board: no fact for the gate


def test_a_new_board_or_a_staff_mark_is_noticed_and_shown(office, make_wall, sample_doc):
    wall = make_wall()
    wall.pages.start()                       # the real worker thread
    assert settle(wall, lambda m: complete(m, "1")) == ["first"]
    newer = copy.deepcopy(sample_doc)
    newer["version"] = 2
    code = office.install(newer).verification_code
    assert settle(wall, lambda m: complete(m, "2")) == ["board_changed"]
    assert wall.version_text == S.BOARD_VERSION.format(version="۲", code=code)
    shown = wall.store.audit_entries(action="display.board_shown")  # the update's health gate reads it: once
    assert [(e["subject"], e["detail"]["software_version"]) for e in shown] == [("1", running_version())]
    key = wall.page_set.key
    set_unavailable(office.store, "ID-01", "سامانه قطع است", actor="test")
    assert settle(wall, lambda m: m.page_set.key != key) == ["board_changed"]
    assert wall.page_set.version == "2"


def test_the_ticker_shows_staff_notices_then_the_boards_own(office, make_wall, sample_doc):
    doc = newer_board(sample_doc, 2)
    doc["notices"] = ["تعطیلی رسمی: پنجشنبه", "فردا دفتر از ساعت ۹ باز است"]
    office.install(doc)
    wall = make_wall()
    wall.pages.refresh()
    assert wall.poll().pages == "first"
    assert wall.ticker == S.TICKER_SEPARATOR.join(doc["notices"])
    post_notice(office.store, "فردا دفتر از ساعت ۹ باز است", actor="test")   # the same as the board's
    post_notice(office.store, "سامانه ثبت احوال قطع است", actor="test")
    update = wall.poll()
    assert update.ticker
    assert wall.ticker.split(S.TICKER_SEPARATOR) == ["فردا دفتر از ساعت ۹ باز است", "سامانه ثبت احوال قطع است",
                                                     "تعطیلی رسمی: پنجشنبه"]
    assert not wall.poll().ticker
    for n in active_notices(office.store):
        remove_notice(office.store, n.id, actor="test")
    assert wall.poll().ticker and wall.ticker == S.TICKER_SEPARATOR.join(doc["notices"])


def test_the_clock_to_the_minute_and_a_new_day(make_wall, clock):
    clock.set(dt.datetime(2026, 11, 30, 20, 29, 10, tzinfo=dt.timezone.utc))   # 23:59 in Tehran
    wall = make_wall(pages_dir=None)
    assert wall.tick_clock()                         # the first reading is a new date
    assert wall.clock_text == jalali.format_time(clock()) and wall.date_text == jalali.format_date(
        jalali.today(clock()))
    before = wall.date_text
    clock.advance(seconds=30)
    assert not wall.tick_clock() and wall.date_text == before
    wall.pages._wake.clear()
    clock.advance(seconds=30)                        # midnight in Tehran
    assert wall.tick_clock() and wall.date_text != before
    assert wall.pages._wake.is_set()                 # a new day may bring a board into effect


# -- a board that installs can always be shown ------------------------------
@pytest.fixture
def failing_draw(monkeypatch):
    """Make the page drawer raise for pages of the board versions (and page numbers) listed."""
    real = board_pages.draw_page
    failing: dict[str, int] = {}     # version -> first page number that fails

    def draw_page(page, **kw):
        version = page_version(page)
        if version in failing and page.number >= failing[version]:
            raise RuntimeError(f"planted failure drawing page {page.number} of board {version}")
        return real(page, **kw)

    monkeypatch.setattr(board_pages, "draw_page", draw_page)
    return failing


def newer_board(doc, version):
    newer = copy.deepcopy(doc)
    newer["version"] = version
    newer["categories"][0]["services"][0]["government_fee"] += 1_000 * version
    return newer


def board_refusals(store) -> list[dict]:
    """The facts of installed boards refused when loaded (pishkhan.boards.installed)."""
    return [r for r in store.state_history() if r["component"].startswith("board:") and r["state"] == "refused"]


def failure_facts(store) -> list[dict]:
    return [r for r in store.state_history("display") if r["reason"] == RENDER_FAILED]


def test_a_board_whose_first_page_cannot_be_drawn_leaves_the_old_board(office, make_wall, sample_doc,
                                                                        failing_draw):
    wall = make_wall()
    wall.pages.start()
    settle(wall, lambda m: complete(m, "1"))
    old = wall.page_set
    failing_draw["2"] = 1
    office.install(newer_board(sample_doc, 2))
    updates = []
    reasons = settle(wall, lambda m: m.failure is not None, updates=updates)
    assert reasons == [] and wall.page_set is old            # the old board's pages stay, untouched
    assert len(old.pages) == old.count and wall.board_version() == "1"
    assert wall.version_text == S.BOARD_VERSION.format(version="۱", code=old.verification_code)
    assert wall.failure.version == "2" and "planted failure drawing page 1 of board 2" in wall.failure.error
    [fact] = failure_facts(wall.store)
    assert fact["state"] == "error"
    assert fact["detail"] == {"board": "1", "failed_board": "2", "error": wall.failure.error}
    updates += [wall.poll() for _ in range(3)]
    assert [u.failure for u in updates].count(True) == 1     # reported once

    # The screen power's records say so too, until a board draws again.
    power = ScreenPowerController.from_config(wall.store, wall.config, [FakePower()], clock=wall.clock,
                                              board_version=wall.board_version,
                                              board_problem=wall.board_problem)
    assert power.tick() == "on"
    last = wall.store.last_state("display")
    assert (last["state"], last["reason"]) == ("on", RENDER_FAILED)
    assert last["detail"]["board"] == "1" and last["detail"]["failed_board"] == "2"
    office.install(newer_board(sample_doc, 3))
    assert settle(wall, lambda m: complete(m, "3")) == ["board_changed"]
    assert wall.failure is None and wall.board_problem() is None
    power.record()
    last = wall.store.last_state("display")
    assert (last["state"], last["reason"], last["detail"]["board"]) == ("on", "schedule: open hours", "3")
    assert "failed_board" not in last["detail"]


def test_a_board_that_fails_after_its_first_page_gives_the_old_board_back(office, make_wall, sample_doc,
                                                                          failing_draw):
    wall = make_wall()
    wall.pages.start()
    settle(wall, lambda m: complete(m, "1"))
    old_key, old_count = wall.page_set.key, wall.page_set.count
    failing_draw["2"] = 2                                    # page 1 draws, page 2 does not
    office.install(newer_board(sample_doc, 2))
    reasons = settle(wall, lambda m: m.failure is not None and m.page_set.key == old_key)
    # The new board's first page may have been on show for a moment; then the old board is back, whole.
    assert reasons in (["board_changed", "render_failed"], ["render_failed"])
    ps = wall.page_set
    assert ps.version == "1" and ps.from_disk and len(ps.pages) == ps.count == old_count
    assert wall.board_version() == "1" and "page 2 of board 2" in wall.failure.error
    assert [f["detail"]["failed_board"] for f in failure_facts(wall.store)] == ["2"]
    assert failure_facts(wall.store)[0]["detail"]["board"] == "1"


def test_a_restarted_wall_shows_the_last_board_it_drew_when_the_new_one_fails(office, make_wall, sample_doc,
                                                                              failing_draw):
    first = make_wall()
    first.pages.refresh()                                    # drawn and kept on disk
    assert first.poll().pages == "first" and first.page_set.version == "1"
    failing_draw["2"] = 1
    office.install(newer_board(sample_doc, 2))
    wall = make_wall()                                       # the display restarts
    wall.pages.start()
    assert settle(wall, lambda m: m.page_set is not None and m.failure is not None) == ["first"]
    assert wall.page_set.version == "1" and wall.page_set.from_disk and wall.board_version() == "1"
    assert wall.version_text != S.NO_BOARD
    assert failure_facts(wall.store)[-1]["detail"]["failed_board"] == "2"


def test_with_nothing_older_the_wall_shows_the_no_board_page_and_says_why(office, make_wall, sample_doc,
                                                                           failing_draw):
    failing_draw["1"] = 1
    wall = make_wall()
    wall.pages.start()
    assert settle(wall, lambda m: m.page_set is not None and m.failure is not None) == ["first"]
    assert wall.page_set.version is None and len(wall.page_set.pages) == 1   # the "no valid board" page
    assert wall.version_text == S.NO_BOARD
    [fact] = failure_facts(wall.store)
    assert fact["detail"]["failed_board"] == "1" and fact["detail"]["board"] is None


def install_unchecked(store, key, doc) -> None:
    """Put a signed board into the store as an install would, without validating it
    (validation may refuse it; the wall must cope with whatever is in the store)."""
    envelope = key.sign(doc)
    store.write(lambda c: c.execute(
        "INSERT INTO boards(scope_key, version, effective_from, issuer, key_fingerprint, "
        "verification_code, envelope, source, installed_at) VALUES (?,?,?,?,?,?,?,?,?)",
        ("national", doc["version"], doc["effective_from"], doc["issuer"], key.public.fingerprint,
         verification_code(envelope), json.dumps(envelope, ensure_ascii=False), "cli", store.now_iso())))


@pytest.mark.parametrize("title", ["گواهی\x00عدم سوءپیشینه", "گواهی\x1b[2J\x1b[31mعدم", "\x07\x08\x7f"])
def test_a_hostile_title_never_leaves_the_wall_without_a_board(office, make_wall, sample_doc, title, issuer_key):
    wall = make_wall()
    wall.pages.start()
    settle(wall, lambda m: complete(m, "1"))
    hostile = newer_board(sample_doc, 2)
    hostile["categories"][0]["services"][0]["title"] = title
    install_unchecked(office.store, issuer_key, hostile)
    settle(wall, lambda m: bool(board_refusals(m.store)) or m.failure is not None, timeout=60)
    # refused when loaded (the stored board breaks the rules), so the wall keeps board 1
    assert wall.board_version() == "1" and wall.version_text != S.NO_BOARD
    ps = wall.page_set
    assert len(ps.pages) == ps.count > 0
    assert board_refusals(wall.store) or failure_facts(wall.store), wall.store.state_history()

