"""A simulated office that streams its facts: a real store and outbox on a fake clock, for the centre's checks.

The office's day is built minute by minute as ``tests/compliance/test_day.py``
builds one: each minute the agent beats (``uptime``) and the fact stream
(``edge_agent.facts``) writes what is new to the outbox; the test then hands
the outbox's messages to the centre's :class:`central.fleet.Fleet` with the
receive time it chooses.
"""

from __future__ import annotations

import datetime as dt

from pishkhan.compliance.judge import judge_day
from pishkhan.compliance.uptime import beat
from pishkhan.hardware.clock import FakeClock
from pishkhan.protocol.payloads import format_time
from pishkhan.protocol.topics import Topics
from pishkhan.schedule.hours import Hours
from pishkhan.store.database import Store
from pishkhan.text.jalali import TEHRAN

from edge_agent.facts import FactStream
from edge_agent.outbox import Outbox
from edge_agent.publish import Publisher

DAY = dt.date(2026, 11, 28)


def at(hh, mm, day=DAY):
    return dt.datetime.combine(day, dt.time(hh, mm), TEHRAN)


class OneShift(Hours):
    """07:30-14:30 every day."""

    def periods(self, day):
        return [(at(7, 30, day), at(14, 30, day))]


class FactOffice:
    """One device: store, outbox, publisher and fact stream, all on one fake clock."""

    def __init__(self, directory, *, device: str = "dev-0001", start: dt.datetime | None = None):
        self.device = device
        self.clock = FakeClock(start or at(6, 50), synced=True, boot_id="boot-1")
        self.store = Store(directory / "pishkhan.db", clock=self.clock.now, boot=self.clock)
        self.outbox = Outbox(directory / "outbox.db", clock=lambda: self.clock.now().timestamp(),
                             boot_clock=self.clock.mono, boot="boot-1")
        self.publisher = Publisher(self.outbox, Topics(), device, validate=True)
        self.facts = FactStream(store=self.store, publisher=self.publisher, device_id=device)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def fact(self, component, state, reason="", **detail):
        self.store.record_state(component, state, reason, **detail)

    def run_until(self, hh, mm, *, agent: bool = True, day: dt.date = DAY):
        """Minutes pass; with *agent*, it beats and streams at the start of each (else it is stopped)."""
        target = at(hh, mm, day)
        while self.clock.now() < target:
            if agent:
                beat(self.store, "agent")
                self.facts.tick()
            self.clock.advance(minutes=1)

    def birth(self, will_seq: int | None = None) -> int:
        will_seq = will_seq or self.outbox.reserve_seq()
        self.publisher.birth(agent_version="t", software_version="t", boot_id=self.clock.boot_id(),
                             started_at=self.now(), will_seq=will_seq, protocol="5", board=None, schedule=None,
                             clock={"synchronized": True, "source": "fake"})
        return will_seq

    def offline(self, reason: str, seq: int | None = None) -> int:
        return self.publisher.offline(reason=reason, boot_id=self.clock.boot_id(), seq=seq)

    def report(self, hours=None, day=DAY) -> dict:
        """The day's report as the agent makes it (the judge over the store), sent through the outbox."""
        report = judge_day(self.store, hours or OneShift(), day)
        self.publisher.report(day.isoformat(), report)
        return report

    def edited_report(self, minutes: int, hours=None, day=DAY) -> dict:
        """The day's report with *minutes* moved from serving to closed (they still add up, but are not the
        centre's judgement), sent through the outbox as a device could."""
        report = judge_day(self.store, hours or OneShift(), day)
        report["serving_minutes"] -= minutes
        report["closed_minutes"] += minutes
        self.publisher.report(day.isoformat(), report)
        return report

    def take(self, stream: str | None = None) -> list[tuple[str, bytes]]:
        """The outbox's messages (of *stream*, or all), in sending order, removed as if acknowledged."""
        pending = [p for p in self.outbox.pending(100_000) if stream is None or p.stream == stream]
        self.outbox.ack([p.id for p in pending])
        return [(p.topic, p.payload) for p in pending]

    def deliver(self, fleet, when: dt.datetime | None = None, *, stream: str | None = None):
        """Hand the outbox's messages to *fleet*, received at *when* (default: the office's now)."""
        received = format_time(when or self.now())
        counts = fleet.ingest([(t, p, received) for t, p in self.take(stream)])
        assert counts.refused == 0, counts.reasons
        return counts

    def close(self):
        self.outbox.close()
        self.store.close()


def ordinary_day(office: FactOffice, fleet=None):
    """07:30 open and serving until 14:30, one counter; delivered to *fleet* every half hour when given."""
    o = office
    o.fact("kiosk", "not_accepting", "closed")
    o.fact("printer", "ok")
    o.fact("counter:1", "closed")
    for hh, mm in ((7, 0), (7, 30)):
        o.run_until(hh, mm)
        if fleet is not None:
            o.deliver(fleet)
    o.fact("counter:1", "open")
    o.fact("kiosk", "accepting")
    for hh in range(8, 15):
        o.run_until(hh, 30)
        if fleet is not None:
            o.deliver(fleet)
    o.fact("counter:1", "closed")
    o.fact("kiosk", "not_accepting", "closed")
    o.run_until(15, 0)
