"""The office queue: numbered tickets per lane, called to counters.

**Numbering.** Every service belongs to a lane (by its board category,
``config.lane_for_category``). A lane numbers tickets with a prefix letter
(``A001``) or inside a range (``101``–``499``). Numbers restart every
business day, which is the Asia/Tehran date of the issue time, so no reset
job is needed. A number is taken and the ticket written in one ``BEGIN
IMMEDIATE`` transaction on a ``synchronous=FULL`` WAL file, and a unique
index on ``(day, lane, number)`` makes a duplicate impossible even across
processes and crashes: a ticket is either committed whole or not at all.

A number printed once is never printed again the same day, even when the
store file was restored from an older copy (which forgets the tickets issued
since): every issued number is also kept in a high-water mark outside the
store, ``<store stem>.numbering.hwm`` beside it (see
:mod:`pishkhan.queue.numbering`; one small JSON file per store, per day and
lane, written with fsync and an atomic rename), and the next number is one
more than the larger of the store's highest and the mark's. The mark is
written after the ticket commits and before :meth:`Queue.issue` returns it,
so before it can be printed: a crash in between leaves only an unprinted
ticket unmarked, and no number is skipped. Before the commit the mark's
folder is checked to take the write, so a full disk or a read-only folder
fails the issue with nothing committed or printed; should the mark still
fail after the commit, the ticket is cancelled (never printed) and the
error raised. A damaged mark is refused rather than guessed. A restored store resumes after the mark:
``A001``–``A005`` issued, the file restored from a copy taken after
``A002``, the next ticket is ``A006``. The mark's fsync and rename about
double a ticket's write (``bench/store_guard.py``; docs/performance.md).

**States.** ``waiting`` → ``called`` → (``serving``) → ``done``; or
``no_show`` (recalled too often), ``cancelled``, ``transferred`` (the
ticket moves to another lane as a new row that keeps its label and its
arrival time, so it queues where it would have stood). Every change is a
row in ``ticket_events`` with its time. No personal data is kept.

**Calling.** A counter serves its lanes in the configured order: the first
lane with someone waiting is served. Inside a lane the oldest arrival goes
first, except that a waiting priority ticket goes first once
``queue.normal_per_priority`` normal tickets were called since the last
priority one (before the day's first priority call, a priority ticket goes
first at once). So at most N normal tickets are called between two priority
ones while priority tickets wait.

**Recall and no-show.** :meth:`Queue.recall` announces the called ticket
again and counts it. When it has been recalled
``queue.no_show_after_recalls`` times, the next recall marks it ``no_show``
instead of announcing it.

**Wait estimate.** The queue as it stands is replayed forward, with each
lane's learned mean service time, over the counters open now: see
:mod:`pishkhan.queue.estimate` (a function of what one snapshot of the store
holds). A ticket done teaches its lane's mean (:func:`~pishkhan.queue.estimate.learn`).

**Cut-off.** No ticket is issued when the office is closed, when no open
counter serves the lane, or when now + the estimate is later than closing
time minus ``hours.cutoff_margin_minutes``. The refusal
(:exc:`~pishkhan.exc.OfficeClosed`) says why and when the office next opens.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, fields

from pishkhan.text import jalali
from pishkhan.queue import strings as text
from pishkhan.queue.numbering import HighWaterMark, mark_path
from pishkhan.exc import ConfigError, OfficeClosed, PishkhanError, QueueError
from pishkhan.schedule.hours import hours_from_config
from pishkhan.text.persian import to_persian_digits
from pishkhan.store.database import iso, parse_iso
from pishkhan.queue.estimate import (ARRIVAL_WINDOW, EWMA_ALPHA, HORIZON_MINUTES,  # noqa: F401 (part of the API)
                                     Estimate, OpenCounter, estimate_wait, learn)

STATES = ("waiting", "called", "serving", "done", "no_show", "cancelled", "transferred")
ACTIVE = ("called", "serving")
FINAL = ("done", "no_show", "cancelled", "transferred")


@dataclass(frozen=True, kw_only=True)
class Ticket:
    """One ticket as stored (times are UTC ISO strings).

    Each field is a column of ``tickets`` of the same name; :meth:`to_json`
    gives them in this order, with ``display_label`` after ``label``.
    """

    id: int
    day: str
    lane: str
    number: int
    label: str
    service_code: str
    service_title: str
    priority: bool
    state: str
    issued_at: str
    arrived_at: str = ""
    counter: int | None
    recalls: int
    people_ahead: int
    wait_minutes: int
    called_at: str | None = None
    finished_at: str | None = None
    print_state: str
    print_error: str = ""
    origin_id: int | None = field(default=None, metadata={"json": False})

    @property
    def display_label(self) -> str:
        """The label with Persian digits, e.g. «A۰۱۲»."""
        return to_persian_digits(self.label)

    def to_json(self) -> dict:
        out = {}
        for f in fields(self):
            if f.metadata.get("json", True):
                out[f.name] = getattr(self, f.name)
            if f.name == "label":
                out["display_label"] = self.display_label
        return out


@dataclass(frozen=True)
class Call:
    """A ticket called (``recall`` 0) or recalled (1, 2, …) to a counter."""

    ticket: Ticket
    counter: int
    at: str
    recall: int
    id: int


_TICKET_FIELDS = tuple(f.name for f in fields(Ticket))


def _ticket(row) -> Ticket:
    values = {name: row[name] for name in _TICKET_FIELDS}
    values["priority"] = bool(values["priority"])
    return Ticket(**values)


def format_label(lane, number: int) -> str:
    """``A012`` for a prefix lane, ``123`` for a range lane."""
    return f"{lane.prefix}{number:03d}" if lane.prefix else str(number)


class Queue:
    """The queue of one office, on the shared store.

    :param store: the :class:`~pishkhan.store.database.Store` (its clock is the queue's clock).
    :param config: the :class:`~pishkhan.config.Config` (lanes, counters, queue settings).
    :param hours: an :class:`~pishkhan.schedule.hours.Hours`; default the installed schedule, else the configuration's hours.
    :param board: the effective board, or a callable returning it; default the
        board installed in *store* for this office, read at each issue.

    One Queue may be used from several threads: each operation is one of
    the store's units of work (:meth:`~pishkhan.store.database.Store.read`
    or :meth:`~pishkhan.store.database.Store.write`).
    """

    def __init__(self, store, config, *, hours=None, board=None):
        self.store = store
        self.config = config
        self.hours = hours if hours is not None else hours_from_config(config, store=store)
        if board is None:
            self._board = self._installed_board
            self._board_cache = (None, None)
        elif callable(board):
            self._board = board
        else:
            self._board = lambda: board
        self._lanes = {lane.code: lane for lane in config.lanes}
        self.mark = HighWaterMark(mark_path(store.path))

    def board(self):
        """The effective board tickets are issued against (None: no board installed)."""
        return self._board()

    def _installed_board(self):
        from pishkhan.boards.installed import board_signature, effective_for_config

        day = jalali.today(self.store.now())
        key = board_signature(self.store, day)  # cheap: re-read the board only when it may differ
        if self._board_cache[0] != key:
            self._board_cache = (key, effective_for_config(self.store, self.config, day))
        return self._board_cache[1]

    # -- helpers ------------------------------------------------------------
    def _today(self) -> str:
        return jalali.today(self.store.now()).isoformat()

    def _lane(self, code: str):
        try:
            return self._lanes[code]
        except KeyError:
            raise QueueError(f"unknown lane {code!r}; configured lanes: {sorted(self._lanes)}") from None

    def _event(self, c, ticket_id: int, event: str, *, counter=None, actor: str = "", **detail):
        c.execute("INSERT INTO ticket_events(ticket_id, at, event, counter, actor, detail) VALUES (?,?,?,?,?,?)",
                  (ticket_id, self.store.now_iso(), event, counter, actor,
                   json.dumps(detail, ensure_ascii=False, default=str)))

    def _get(self, c, ticket_id: int) -> Ticket:
        row = c.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise QueueError(f"there is no ticket with id {ticket_id}")
        return _ticket(row)

    def _service(self, service_code: str):
        board = self.board()
        if board is None:
            raise QueueError("no tariff board is installed, so no service can be given a ticket "
                             "(install one with `pishkhan board install FILE`)")
        service = board.service(service_code)
        if service is None:
            raise QueueError(f"unknown service {service_code!r}: it is not on the current board")
        if service.unavailable:
            raise QueueError(f"service {service_code} is marked unavailable by staff: {service.unavailable}")
        return service

    def _counter_cfg(self, n: int):
        try:
            return self.config.counter(n)
        except ConfigError as e:
            raise QueueError(str(e)) from None

    # -- hours and cut-off ------------------------------------------------------
    def _closing(self, now: dt.datetime) -> dt.datetime | None:
        """When the office closes, joining periods that touch (None: open two days on)."""
        end = self.hours.closes_at(now)
        horizon = now + dt.timedelta(days=2)
        while end is not None:
            if end >= horizon:
                return None
            following = self.hours.closes_at(end)
            if following is None:
                return end
            end = following
        return None

    def _refuse(self, reason: str, now: dt.datetime):
        if reason == "no_counter":
            raise OfficeClosed(text.NO_COUNTER, reason=reason, next_open=None)
        next_open = self.hours.next_open(now)
        message = text.CLOSED if reason == "closed" else text.CUTOFF
        raise OfficeClosed(message.format(next_open=self.hours.describe_next_open(now)),
                           reason=reason, next_open=next_open)

    def _check_cutoff(self, now: dt.datetime, minutes: int):
        closing = self._closing(now)
        if closing is None:
            return
        margin = dt.timedelta(minutes=self.config.hours.cutoff_margin_minutes)
        if now + dt.timedelta(minutes=minutes) > closing - margin:
            self._refuse("cutoff", now)

    def accepting(self) -> tuple[bool, str, dt.datetime | None]:
        """Whether a ticket can be issued now for some lane: ``(ok, reason, next_open)``.

        ``reason`` is ``""`` when accepting, else ``"closed"``, ``"no_counter"``
        (no counter open) or ``"cutoff"`` (every lane's wait runs past closing).
        """
        now = self.store.now()
        if not self.hours.is_open(now):
            return False, "closed", self.hours.next_open(now)
        open_now = self.open_counters()
        lanes = [code for code in self._lanes
                 if any(code in self.config.counter(n).lanes for n in open_now)]
        if not lanes:
            return False, "no_counter", None
        for code in lanes:
            try:
                minutes = self.store.read(lambda c: self._estimate_lane(c, code, False)).minutes
                self._check_cutoff(now, minutes)
                return True, "", None
            except OfficeClosed:
                continue
        return False, "cutoff", self.hours.next_open(now)

    # -- estimates -------------------------------------------------------------
    def service_minutes(self, lane: str) -> float:
        """The lane's current mean service time in minutes."""
        return self.store.read(lambda c: self._service_minutes(c, lane))

    def _service_minutes(self, c, lane: str) -> float:
        row = c.execute("SELECT service_minutes FROM lane_stats WHERE lane = ?", (lane,)).fetchone()
        return row[0] if row else float(self.config.queue.default_service_minutes)

    def _estimate_lane(self, c, lane: str, priority: bool) -> Estimate:
        """What :func:`~pishkhan.queue.estimate.estimate_wait` needs, read on *c*, and its answer."""
        day = self._today()
        waiting = dict(c.execute("SELECT lane, COUNT(*) FROM tickets WHERE day = ? AND state = 'waiting' "
                                 "GROUP BY lane", (day,)).fetchall())
        if priority:
            waiting[lane] = c.execute("SELECT COUNT(*) FROM tickets WHERE day = ? AND lane = ? AND "
                                      "state = 'waiting' AND priority = 1", (day, lane)).fetchone()[0]
        counters = []
        for n in self._open_counter_numbers(c):
            current = self._current(c, n)
            counters.append(OpenCounter(n, tuple(self.config.counter(n).lanes), current.lane if current else None))
        if not any(lane in counter.lanes for counter in counters):
            return Estimate(waiting.get(lane, 0), -1)
        since = iso(self.store.now() - dt.timedelta(minutes=ARRIVAL_WINDOW))
        arrivals = dict(c.execute("SELECT lane, COUNT(*) FROM tickets WHERE day = ? AND origin_id IS NULL "
                                  "AND issued_at >= ? GROUP BY lane", (day, since)).fetchall())
        return estimate_wait(lane, waiting=waiting, counters=counters, arrivals=arrivals,
                             service_minutes={code: self._service_minutes(c, code) for code in self._lanes})

    def estimate(self, service_code: str, *, priority: bool = False) -> Estimate:
        """People ahead and estimated minutes for a ticket taken now (-1 minutes: no counter open)."""
        lane = self.config.lane_for_category(self._service(service_code).category).code
        return self.store.read(lambda c: self._estimate_lane(c, lane, priority))

    def waiting(self, lane: str | None = None) -> int:
        """Tickets waiting today, in one lane or all."""
        if lane is None:
            return self.store.query_one("SELECT COUNT(*) FROM tickets WHERE day = ? AND state = 'waiting'",
                                        (self._today(),))[0]
        return self.store.query_one("SELECT COUNT(*) FROM tickets WHERE day = ? AND lane = ? AND state = 'waiting'",
                                    (self._today(), lane))[0]

    # -- issuing -----------------------------------------------------------------
    def issue(self, service_code: str, *, priority: bool = False) -> Ticket:
        """Take the next number for *service_code* and commit the ticket.

        Raises :exc:`OfficeClosed` (``reason`` ``closed``, ``cutoff`` or
        ``no_counter``, with ``next_open``) or :exc:`QueueError` (unknown or
        unavailable service, lane's range used up). Nothing is written then.
        """
        if priority and not self.config.office.allow_priority:
            raise QueueError("priority tickets are turned off (office.allow_priority = false)")
        service = self._service(service_code)
        lane = self.config.lane_for_category(service.category)
        now = self.store.now()
        if not self.hours.is_open(now):
            self._refuse("closed", now)
        day = jalali.today(now).isoformat()

        def work(c):
            estimate = self._estimate_lane(c, lane.code, bool(priority))
            if estimate.minutes < 0:
                self._refuse("no_counter", now)
            self._check_cutoff(now, estimate.minutes)
            last = c.execute("SELECT MAX(number) FROM tickets WHERE day = ? AND lane = ? AND origin_id IS NULL",
                             (day, lane.code)).fetchone()[0]
            marked = self.mark.last(day, lane.code)
            if marked is not None and (last is None or marked > last):
                last = marked  # the store was restored from an older copy: never print a number again
            if lane.range:
                first, final = lane.range
                number = first if last is None else last + 1
                if number > final:
                    raise QueueError(f"lane {lane.code} has used every number of its range "
                                     f"{first}-{final} today; widen the range in the configuration")
            else:
                number = 1 if last is None else last + 1
            at = iso(now)
            cur = c.execute(
                "INSERT INTO tickets(day, lane, number, label, service_code, service_title, priority, state, "
                "issued_at, arrived_at, people_ahead, wait_minutes) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (day, lane.code, number, format_label(lane, number), service.code, service.title,
                 int(bool(priority)), "waiting", at, at, estimate.people_ahead, estimate.minutes))
            self._event(c, cur.lastrowid, "waiting", service=service.code)
            self.mark.check_writable()  # a full disk or read-only folder: nothing commits
            return self._get(c, cur.lastrowid)

        ticket = self.store.write(work)
        try:
            self.mark.raise_to(ticket.day, ticket.lane, ticket.number)  # before anyone can print it
        except PishkhanError:
            try:
                self.store.write(lambda c: self._finish(c, ticket, "cancelled", actor="system",
                                                        reason="numbering_mark_failed"))
            except PishkhanError:
                pass  # the first error says more; the ticket was not printed
            raise
        return ticket

    # -- counters ----------------------------------------------------------------
    def _open_counter_numbers(self, c) -> list[int]:
        configured = {counter.number for counter in self.config.counters}
        return [r[0] for r in c.execute("SELECT number FROM counters WHERE open = 1 ORDER BY number")
                if r[0] in configured]

    def open_counters(self) -> list[int]:
        """Numbers of the counters open now, in order."""
        return self.store.read(lambda c: self._open_counter_numbers(c))

    def _set_counter(self, n: int, is_open: bool, actor: str):
        self._counter_cfg(n)
        state = "open" if is_open else "closed"

        def work(c):
            row = c.execute("SELECT open FROM counters WHERE number = ?", (n,)).fetchone()
            if row is None or bool(row[0]) != is_open:
                c.execute("INSERT INTO counters(number, open, since) VALUES (?,?,?) ON CONFLICT(number) "
                          "DO UPDATE SET open = excluded.open, since = excluded.since",
                          (n, int(is_open), self.store.now_iso()))
                self.store.audit(actor, f"counter.{'open' if is_open else 'close'}", f"counter:{n}")
            self.store.record_state(f"counter:{n}", state)

        return self.store.write(work)

    def open_counter(self, n: int, *, actor: str):
        """Open counter *n* for calls (recorded in the state log and audit log)."""
        self._set_counter(n, True, actor)

    def close_counter(self, n: int, *, actor: str):
        """Close counter *n*; its current ticket, if any, stays with it until finished."""
        self._set_counter(n, False, actor)

    def _current(self, c, n: int) -> Ticket | None:
        row = c.execute("SELECT * FROM tickets WHERE counter = ? AND day = ? AND state IN ('called','serving') "
                        "ORDER BY called_at DESC, id DESC LIMIT 1", (n, self._today())).fetchone()
        return _ticket(row) if row else None

    def current_ticket(self, counter: int) -> Ticket | None:
        """The ticket called or being served at *counter*, or None."""
        return self.store.read(lambda c: self._current(c, counter))

    def _finish(self, c, ticket: Ticket, state: str, *, actor: str = "", **detail) -> Ticket:
        now = self.store.now()
        c.execute("UPDATE tickets SET state = ?, finished_at = ? WHERE id = ?", (state, iso(now), ticket.id))
        self._event(c, ticket.id, state, counter=ticket.counter, actor=actor, **detail)
        if state == "done" and ticket.called_at:
            self._learn(c, ticket.lane, (now - parse_iso(ticket.called_at)).total_seconds() / 60)
        return self._get(c, ticket.id)

    def _learn(self, c, lane: str, minutes: float):
        new = learn(self._service_minutes(c, lane), minutes)
        c.execute("INSERT INTO lane_stats(lane, service_minutes, samples, updated_at) VALUES (?,?,1,?) "
                  "ON CONFLICT(lane) DO UPDATE SET service_minutes = excluded.service_minutes, "
                  "samples = samples + 1, updated_at = excluded.updated_at", (lane, new, self.store.now_iso()))

    def _pick(self, c, lane: str):
        day = self._today()
        oldest = c.execute("SELECT * FROM tickets WHERE day = ? AND lane = ? AND state = 'waiting' "
                           "ORDER BY arrived_at, id LIMIT 1", (day, lane)).fetchone()
        if oldest is None or oldest["priority"]:
            return oldest
        first_priority = c.execute("SELECT * FROM tickets WHERE day = ? AND lane = ? AND state = 'waiting' "
                                   "AND priority = 1 ORDER BY arrived_at, id LIMIT 1", (day, lane)).fetchone()
        if first_priority is None:
            return oldest
        limit = int(self.config.queue.normal_per_priority)
        recent = c.execute("SELECT t.priority FROM calls k JOIN tickets t ON t.id = k.ticket_id "
                           "WHERE t.day = ? AND t.lane = ? AND k.recall = 0 ORDER BY k.id DESC",
                           (day, lane)).fetchall()
        normals_since = 0
        for row in recent:
            if row[0]:
                break
            normals_since += 1
        else:
            return first_priority  # no priority called yet today: it goes first
        return first_priority if normals_since >= limit else oldest

    def call_next(self, counter: int) -> Ticket | None:
        """Finish the counter's current ticket and call the next one (None: nobody waits).

        Raises :exc:`QueueError` when the counter is closed.
        """
        cfg = self._counter_cfg(counter)

        def work(c):
            if counter not in self._open_counter_numbers(c):
                raise QueueError(f"counter {counter} is closed; open it first (`pishkhan counter open {counter}`)")
            current = self._current(c, counter)
            if current is not None:
                self._finish(c, current, "done")
            for lane in cfg.lanes:
                row = self._pick(c, lane)
                if row is not None:
                    break
            else:
                return None
            at = self.store.now_iso()
            c.execute("UPDATE tickets SET state = 'called', counter = ?, called_at = COALESCE(called_at, ?) "
                      "WHERE id = ?", (counter, at, row["id"]))
            c.execute("INSERT INTO calls(ticket_id, counter, at, recall) VALUES (?,?,?,0)", (row["id"], counter, at))
            self._event(c, row["id"], "called", counter=counter)
            return self._get(c, row["id"])

        return self.store.write(work)

    def _need_current(self, c, counter: int, states=ACTIVE) -> Ticket:
        current = self._current(c, counter)
        if current is None or current.state not in states:
            raise QueueError(f"counter {counter} has no {' or '.join(states)} ticket")
        return current

    def recall(self, counter: int) -> Ticket:
        """Announce the counter's called ticket again, or mark it ``no_show``
        once it was recalled ``queue.no_show_after_recalls`` times."""
        self._counter_cfg(counter)

        def work(c):
            ticket = self._need_current(c, counter, ("called",))
            if ticket.recalls >= int(self.config.queue.no_show_after_recalls):
                return self._finish(c, ticket, "no_show", recalls=ticket.recalls)
            n = ticket.recalls + 1
            c.execute("UPDATE tickets SET recalls = ? WHERE id = ?", (n, ticket.id))
            c.execute("INSERT INTO calls(ticket_id, counter, at, recall) VALUES (?,?,?,?)",
                      (ticket.id, counter, self.store.now_iso(), n))
            self._event(c, ticket.id, "recalled", counter=counter, recall=n)
            return self._get(c, ticket.id)

        return self.store.write(work)

    def serve(self, counter: int) -> Ticket:
        """Mark the counter's called ticket as being served (the customer came)."""

        def work(c):
            ticket = self._need_current(c, counter, ("called",))
            c.execute("UPDATE tickets SET state = 'serving' WHERE id = ?", (ticket.id,))
            self._event(c, ticket.id, "serving", counter=counter)
            return self._get(c, ticket.id)

        return self.store.write(work)

    def finish(self, counter: int) -> Ticket | None:
        """Mark the counter's current ticket done; None when it had none."""

        def work(c):
            current = self._current(c, counter)
            return self._finish(c, current, "done") if current else None

        return self.store.write(work)

    def no_show(self, counter: int) -> Ticket:
        """Mark the counter's called ticket as a no-show."""

        def work(c):
            ticket = self._need_current(c, counter, ("called",))
            return self._finish(c, ticket, "no_show", recalls=ticket.recalls)

        return self.store.write(work)

    def cancel(self, ticket_id: int, *, actor: str) -> Ticket:
        """Cancel a waiting or called ticket."""

        def work(c):
            ticket = self._get(c, ticket_id)
            if ticket.state not in ("waiting", "called"):
                raise QueueError(f"ticket {ticket.label} is {ticket.state}; only a waiting or called ticket "
                                 "can be cancelled")
            done = self._finish(c, ticket, "cancelled", actor=actor)
            self.store.audit(actor, "ticket.cancel", ticket.label, ticket_id=ticket.id, day=ticket.day)
            return done

        return self.store.write(work)

    def transfer(self, ticket_id: int, lane: str, *, actor: str) -> Ticket:
        """Move a ticket to *lane*; it keeps its label and original arrival time.

        The old row becomes ``transferred``; the returned ticket is the new
        row, ``waiting`` in *lane*.
        """
        target = self._lane(lane)

        def work(c):
            ticket = self._get(c, ticket_id)
            if ticket.state not in ("waiting",) + ACTIVE:
                raise QueueError(f"ticket {ticket.label} is {ticket.state}; only a waiting, called or "
                                 "serving ticket can be transferred")
            if ticket.lane == target.code:
                raise QueueError(f"ticket {ticket.label} is already in lane {lane}")
            self._finish(c, ticket, "transferred", actor=actor, to_lane=target.code)
            cur = c.execute(
                "INSERT INTO tickets(day, lane, number, label, service_code, service_title, priority, state, "
                "issued_at, arrived_at, origin_id, people_ahead, wait_minutes, print_state) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (ticket.day, target.code, ticket.number, ticket.label, ticket.service_code, ticket.service_title,
                 int(ticket.priority), "waiting", self.store.now_iso(), ticket.arrived_at, ticket.id,
                 ticket.people_ahead, ticket.wait_minutes, ticket.print_state))
            self._event(c, cur.lastrowid, "waiting", actor=actor, from_lane=ticket.lane, origin=ticket.id)
            self.store.audit(actor, "ticket.transfer", ticket.label, ticket_id=ticket.id, day=ticket.day,
                             from_lane=ticket.lane, to_lane=target.code)
            return self._get(c, cur.lastrowid)

        return self.store.write(work)

    def end_of_day(self, *, actor: str) -> int:
        """Close the day: waiting and called tickets become ``cancelled``,
        those being served ``done``, and every counter closes. Returns the
        number of tickets closed (of today and any earlier day left open)."""

        def work(c):
            rows = c.execute("SELECT * FROM tickets WHERE day <= ? AND state IN ('waiting','called','serving')",
                             (self._today(),)).fetchall()
            for row in rows:
                ticket = _ticket(row)
                self._finish(c, ticket, "done" if ticket.state == "serving" else "cancelled",
                             actor=actor, reason="end_of_day")
            for n in self._open_counter_numbers(c):
                self._set_counter(n, False, actor)
            self.store.audit(actor, "queue.end_of_day", self._today(), closed=len(rows))
            return len(rows)

        return self.store.write(work)

    # -- reading -------------------------------------------------------------------
    def ticket(self, ticket_id: int) -> Ticket:
        return self.store.read(lambda c: self._get(c, ticket_id))

    def last_ticket(self) -> Ticket | None:
        """The most recently issued ticket (any lane, any day)."""
        row = self.store.query_one("SELECT * FROM tickets WHERE origin_id IS NULL ORDER BY id DESC LIMIT 1")
        return _ticket(row) if row else None

    def tickets(self, *, day: str | None = None, state: str | None = None) -> list[Ticket]:
        """Tickets of *day* (default today), in issue order, optionally of one state."""
        sql, params = "SELECT * FROM tickets WHERE day = ?", [day or self._today()]
        if state:
            sql += " AND state = ?"
            params.append(state)
        return [_ticket(r) for r in self.store.query(sql + " ORDER BY id", params)]

    def events(self, ticket_id: int) -> list[dict]:
        """Every recorded change of one ticket, oldest first."""
        rows = self.store.query("SELECT * FROM ticket_events WHERE ticket_id = ? ORDER BY id", (ticket_id,))
        return [dict(r) | {"detail": json.loads(r["detail"])} for r in rows]

    def recent_calls(self, limit: int = 6) -> list[Call]:
        """Today's latest calls and recalls, newest first."""
        rows = self.store.query("SELECT k.id AS call_id, k.counter AS call_counter, k.at AS call_at, k.recall, t.* "
                                "FROM calls k JOIN tickets t ON t.id = k.ticket_id WHERE t.day = ? "
                                "ORDER BY k.id DESC LIMIT ?", (self._today(), limit))
        return [Call(_ticket(r), r["call_counter"], r["call_at"], r["recall"], r["call_id"]) for r in rows]

    def record_print(self, ticket_id: int, *, state: str, error: str = ""):
        """Record how printing *ticket_id* went: ``"ok"`` or the printer state."""

        def work(c):
            self._get(c, ticket_id)
            c.execute("UPDATE tickets SET print_state = ?, print_error = ? WHERE id = ?", (state, error, ticket_id))
            self._event(c, ticket_id, "printed" if state == "ok" else "print_failed", printer=state, error=error)

        return self.store.write(work)

    def unprinted(self) -> list[Ticket]:
        """Today's tickets still waiting whose print did not succeed (pending or failed)."""
        rows = self.store.query("SELECT * FROM tickets WHERE day = ? AND origin_id IS NULL AND state = 'waiting' "
                                "AND print_state != 'ok' ORDER BY id", (self._today(),))
        return [_ticket(r) for r in rows]

    def status(self) -> dict:
        """A snapshot for staff: waiting per lane, open counters and their tickets."""
        return {
            "day": self._today(),
            "waiting": {code: self.waiting(code) for code in self._lanes},
            "counters": [{"number": cfg.number, "lanes": list(cfg.lanes),
                          "open": cfg.number in self.open_counters(),
                          "ticket": (t.label if (t := self.current_ticket(cfg.number)) else None)}
                         for cfg in self.config.counters],
            "service_minutes": {code: round(self.service_minutes(code), 2) for code in self._lanes},
        }


