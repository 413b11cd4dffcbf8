"""The monitor's writer: the one thread that turns received messages into committed rows.

The MQTT side (:mod:`central.monitor`) hands each message over with
:meth:`Writer.put` and acknowledges it only when the writer says it is done
with it (:attr:`Writer.on_done`): written and committed, or refused and
counted. Nothing is acknowledged that is not in the database or counted as
refused, so a crash at any moment loses nothing at the broker.

- Batches: up to *batch_size* messages, lingering up to *batch_ms* for more
  while they keep coming (a quiet queue ends the batch at once: the
  broker's in-flight window is waiting for these acknowledgements). Device
  messages go to :meth:`central.fleet.Fleet.ingest` in one transaction; the
  centre's documents to :class:`central.official_record.OfficialRecord`,
  one transaction each.
- One message never stops the writer: a message the fleet refuses, a
  document that does not verify, or any exception raised while handling
  one (a fault found by splitting its batch until it is alone) is refused,
  counted by reason (:attr:`Writer.refusals`), logged and acknowledged.
- A database that is down is waited for (0.5 s, doubling to 30 s) with the
  batch in hand, acknowledging nothing.
- :meth:`Writer.problems` says when the thread is dead or stuck (one attempt
  at a write running longer than *stuck_after* seconds).
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from typing import NamedTuple

from central.official_record import DocumentRefused
from pishkhan.protocol.payloads import format_time

log = logging.getLogger("pishkhan.central.monitor")

#: Reasons of refusals found by the writer itself (beyond the fleet's and the documents').
FAULT, UNSTORABLE = "fault", "unstorable"
#: What :meth:`Writer.problems` reports.
WRITER_DEAD, WRITER_STUCK = "writer_dead", "writer_stuck"


class Message(NamedTuple):
    """A message as the MQTT side hands it over; *ack* is what it needs back to acknowledge it."""

    topic: str
    payload: bytes
    received_at: float
    ack: object = None


class Writer:
    """Writes :class:`Message` s into the fleet database through *fleet* and *official*.

    :param fleet: a :class:`central.fleet.Fleet`.
    :param official: a :class:`central.official_record.OfficialRecord` on the same database.
    :param on_done: called with the list of messages done (committed or refused), in the writer's thread.
    """

    def __init__(self, fleet, official, *, on_done, batch_size: int = 1000, batch_ms: int = 100,
                 stuck_after: float = 120.0):
        self.fleet = fleet
        self.official = official
        self.db = fleet.db
        self.on_done = on_done
        self.batch_size = batch_size
        self.batch_ms = batch_ms
        self.stuck_after = stuck_after
        self.received = 0
        self.refused = 0
        self.documents = 0
        self.refusals: collections.Counter = collections.Counter()
        self.pending = 0
        self.lag_seconds = 0.0  # the last batch: from its oldest message's arrival to its commit
        self.last_message_at: float | None = None  # when the newest message done arrived (Unix seconds)
        self._idle = threading.Condition()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._busy_since: float | None = None
        self._stopping = threading.Event()
        self.error = ""

    # -- the MQTT side's calls -------------------------------------------------------
    def put(self, message: Message):
        with self._idle:
            self.pending += 1
        self._queue.put(message)

    def start(self):
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="monitor-writer", daemon=True)
        self._thread.start()

    def finish_soon(self):
        """Write what is queued, then end the thread; do not wait for it."""
        if not self._stopping.is_set():
            self._stopping.set()
            self._queue.put(None)

    def finish(self, timeout: float = 60.0):
        """Write what is queued, then end the thread."""
        self.finish_soon()
        if self._thread:
            self._thread.join(timeout)

    def alive(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    def problems(self) -> list[tuple[str, str]]:
        """``(reason, sentence)`` for what is wrong with the writer now (``writer_dead``, ``writer_stuck``);
        empty when it is alive and not stuck."""
        if not self.alive():
            return [(WRITER_DEAD, f"the writer thread is dead{': ' + self.error if self.error else ''}")]
        busy = self._busy_since
        if busy is not None and time.monotonic() - busy > self.stuck_after:
            return [(WRITER_STUCK, f"the writer has been on one write for {time.monotonic() - busy:.0f} s")]
        return []

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every message put so far is done."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self.pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.1))
        return True

    # -- the thread ------------------------------------------------------------------
    def _run(self):
        try:
            while True:
                batch, last = self._next_batch()
                if batch:
                    self._busy_since = time.monotonic()
                    done = self._write(batch)
                    self._busy_since = None
                    if done:
                        self.lag_seconds = max(0.0, time.time() - min(m.received_at for m in done))
                        self.last_message_at = max(self.last_message_at or 0.0, *(m.received_at for m in done))
                    if done:
                        self.on_done(done)
                    with self._idle:
                        self.pending -= len(batch)
                        self._idle.notify_all()
                if last:
                    return
        except BaseException as e:  # a fault of the writer itself, not of one message: the process must end
            self.error = f"{type(e).__name__}: {e}"
            log.critical("the monitor's writer thread failed; nothing more is written or acknowledged", exc_info=True)

    def _next_batch(self) -> tuple[list, bool]:
        first = self._queue.get()
        if first is None:
            return [], True
        batch = [first]
        deadline = time.monotonic() + self.batch_ms / 1000
        quiet = min(self.batch_ms, 5) / 1000
        while len(batch) < self.batch_size:
            left = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=min(left, quiet)) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    def _write(self, batch: list) -> list:
        """Handle *batch*; the messages done (all but those given up on while stopping)."""
        devices, done = [], []
        for message in batch:
            if "/dev/" in message.topic:
                devices.append(message)
            elif self._document(message):
                done.append(message)
        if devices and self._ingest(devices):
            done += devices
        return done

    def _refuse(self, reason: str, count: int = 1):
        self.received += count
        self.refused += count
        self.refusals[reason] += count

    # -- the fleet's messages ------------------------------------------------------------
    def _ingest(self, messages) -> bool:
        """Write *messages*; a batch that fails while the database works is split until the message at fault
        is alone, and that one is refused. False if given up on (stopping, database down)."""
        rows = [(m.topic, m.payload, format_time(m.received_at)) for m in messages]
        counts = self._attempt(lambda: self.fleet.ingest(rows), len(messages))
        if counts is _REFUSE:
            if len(messages) == 1:
                self._refuse(UNSTORABLE)
                log.error("refused a message on %s that the fleet database will not store: %s",
                          messages[0].topic, self._last_error)
                return True
            half = len(messages) // 2
            first = self._ingest(messages[:half])
            return self._ingest(messages[half:]) and first
        if counts is _GIVE_UP:
            return False
        self.received += len(messages)
        self.refused += counts.refused
        for reason, n in counts.reasons.items():
            self.refusals[reason] += n
        return True

    # -- the centre's documents -----------------------------------------------------------
    def _document(self, message) -> bool:
        if not message.payload:
            self.received += 1
            return True  # a retained document cleared
        try:
            row = self.official.check(message.topic, message.payload)
        except DocumentRefused as e:
            self._refuse(e.reason)
            log.warning("refused a document on %s (%s): %s", message.topic, e.reason, e)
            return True
        except Exception as e:  # noqa: BLE001 - any fault of one document is that document's refusal
            self._refuse(FAULT)
            log.error("refused a document on %s that could not be checked: %s: %s", message.topic,
                      type(e).__name__, e)
            return True
        written = self._attempt(lambda: self.official.record(row, received_at=format_time(message.received_at)), 1)
        if written is _GIVE_UP:
            return False
        if written is _REFUSE:
            self._refuse(UNSTORABLE)
            log.error("refused a document on %s that the fleet database will not store: %s", message.topic,
                      self._last_error)
            return True
        self.received += 1
        self.documents += 1
        log.info("official %s for %s: version %s (%s)", row["kind"], row["scope_key"], row["version"],
                 row["verification_code"])
        return True

    # -- the database ------------------------------------------------------------------
    _last_error = ""

    def _attempt(self, write, count: int):
        """``write()``'s result; :data:`_REFUSE` if it fails while the database works; :data:`_GIVE_UP`
        if the database stays down while stopping. A database that is down is waited for."""
        wait = 0.5
        while True:
            self._busy_since = time.monotonic()
            try:
                return write()
            except Exception as e:  # noqa: BLE001 - FleetDBError, a driver's own (OverflowError …), any fault
                self._last_error = f"{type(e).__name__}: {e}"
                if self._database_works():
                    return _REFUSE
                if self._stopping.is_set() and wait > 8:
                    log.error("giving up on %d messages, not acknowledged: %s", count, e)
                    return _GIVE_UP
                log.error("cannot write %d messages, trying again in %.1f s: %s", count, wait, e)
                time.sleep(wait)
                wait = min(wait * 2, 30)

    def _database_works(self) -> bool:
        try:
            self.db.write(lambda c: c.execute("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001
            return False


_REFUSE, _GIVE_UP = object(), object()
