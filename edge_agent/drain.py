"""The outbox writer: hands the outbox's messages to the MQTT session and
deletes each one the broker acknowledges.

One thread owns the draining. At most ``window`` messages are in paho's
hands at a time (``mqtt.inflight_window``), handed only while connected.
paho resends its in-flight messages itself after a reconnect (same mid), so
they stay counted in flight until acknowledged; after a restart of the
process everything still in the outbox is sent again. A publish the broker
refuses (PUBACK reason code >= 0x80, MQTT 5 only) stays in the outbox, is
counted, and is tried again on the next connection; the stream's later
messages go on meanwhile. Every ``enforce_every`` seconds the outbox's age
bound is applied.

A full disk is not a fault of the writer: acknowledgements that cannot be
written are kept in memory (those messages are not handed again) and written
when there is room; :attr:`Drainer.full` says so, and the log says it once
when it begins and once when it ends.
"""

from __future__ import annotations

import collections
import logging
import threading
import time

from pishkhan.exc import OutboxError, OutboxFull

log = logging.getLogger("pishkhan.agent.drain")


class Drainer:
    """Drains *outbox* into *session* (None: keep everything, send nothing)."""

    def __init__(self, outbox, session, *, window: int, poll: float = 0.5, enforce_every: float = 60.0,
                 stale_after: float = 30.0):
        self.outbox = outbox
        self.session = session
        self.window = window
        self.poll = poll
        self.enforce_every = enforce_every
        self.stale_after = stale_after
        self._acks: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight: dict[int, int] = {}  # mid -> outbox id
        self._refused: set[int] = set()
        self._unrecorded: list[int] = []  # acknowledged, the deletion not yet written (a full disk)
        self.full = False
        self.refused = 0
        self.acked = 0
        self.handed = 0
        self.error = ""
        self.heartbeat = time.monotonic()
        self._thread: threading.Thread | None = None
        self._next_enforce = 0.0
        if hasattr(outbox, "busy"):  # the outbox's bounds never drop what paho holds (edge_agent/outbox.py)
            outbox.busy = lambda: list(self._inflight.values()) + self._unrecorded

    # -- called from other threads -------------------------------------------
    def wake(self):
        self._wake.set()

    def on_published(self, mid: int, code: int):
        self._acks.append((mid, code))
        self._wake.set()

    def on_connected(self):
        self._refused.clear()  # try refused messages again on the new connection
        self._wake.set()

    # -- life cycle ------------------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self._run, name="outbox-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0):
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def healthy(self) -> bool:
        """The thread runs and finished a pass over the outbox within ``stale_after`` seconds."""
        return self.alive() and not self.error and time.monotonic() - self.heartbeat < self.stale_after

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    # -- the thread ---------------------------------------------------------------
    def _run(self):
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            self._wake.clear()
            try:
                if self.step():
                    self._full(False)
                self.error = ""
                self.heartbeat = time.monotonic()
            except OutboxFull as e:  # the writer is well; it waits for room (a restart would not make any)
                self.error = ""
                self._full(True, e)
                self.heartbeat = time.monotonic()
                self._stop.wait(1.0)
            except OutboxError as e:
                if str(e) != self.error:
                    log.error("outbox: %s", e)
                self.error = str(e)
                self._stop.wait(1.0)

    def _full(self, full: bool, error=None):
        if full != self.full:
            if full:
                log.error("outbox: the disk is full: acknowledgements wait in memory (%s)", error)
            else:
                log.warning("outbox: room on the disk again; the acknowledgements are written")
        self.full = full

    def step(self) -> bool:
        """One pass: record acks, hand more messages, apply the age bound when due; True if it wrote."""
        done, wrote = [], False
        while self._acks:
            mid, code = self._acks.popleft()
            id_ = self._inflight.pop(mid, None)
            if id_ is None:
                continue
            if code >= 0x80:
                self._refused.add(id_)
                self.refused += 1
                log.warning("broker refused outbox message %d (reason code 0x%02x); kept for the next connection",
                            id_, code)
            else:
                done.append(id_)
        full = None
        if done or self._unrecorded:
            self._unrecorded.extend(done)
            try:
                self.outbox.ack(self._unrecorded)
            except OutboxFull as e:  # kept for the next pass; sending goes on
                full = e
            else:
                self.acked += len(self._unrecorded)
                self._unrecorded, wrote = [], True
        session = self.session
        if session is not None and session.connected:
            room = self.window - len(self._inflight)
            if room > 0:
                busy = set(self._inflight.values()) | self._refused | set(self._unrecorded)
                for message in self.outbox.pending(room, exclude=busy):
                    mid = session.publish(message.topic, message.payload, retain=message.retain)
                    if mid is None:
                        break
                    self._inflight[mid] = message.id
                    self.handed += 1
        now = time.monotonic()
        if now >= self._next_enforce:
            self._next_enforce = now + self.enforce_every
            self.outbox.enforce()
            wrote = True
        if full is not None:
            raise full
        return wrote

    def stats(self) -> dict:
        """The outbox's figures with what is in flight and refused, for telemetry."""
        return self.outbox.stats() | {"in_flight": self.in_flight, "refused": self.refused}
