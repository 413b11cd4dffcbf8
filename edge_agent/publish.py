"""What producers call to send something to the centre: each call builds the
message (:mod:`pishkhan.protocol.payloads`) and writes it to the outbox,
which gives it its sequence number. The call returns that number once the
message is durable; it leaves when the broker is reachable."""

from __future__ import annotations

from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics


class Publisher:
    """Writes this device's messages into *outbox*.

    :param validate: check each message against its JSON Schema before
        writing it (tests and tools; the agent leaves it off to stay small).
    """

    def __init__(self, outbox, topics: Topics, device_id: str, *, validate: bool = False):
        self.outbox = outbox
        self.topics = topics
        self.device_id = device_id
        self.validate = validate

    def _put(self, stream: str, builder, *, retain=False, key=None, coalesce=None, seq=None, also=None,
             **body) -> int:
        def build(number, sent_at):
            message = payloads.in_epoch(builder(device=self.device_id, seq=number, sent_at=sent_at, **body),
                                        getattr(self.outbox, "epoch", ""))
            if self.validate:
                payloads.validate(message)
            return payloads.encode(message)
        return self.outbox.enqueue(stream, self.topics.device(self.device_id, stream), build,
                                   retain=retain, key=key, coalesce=coalesce, seq=seq, also=also)

    def birth(self, **body) -> int:
        """A birth; the Last Will number it announces (``will_seq``) is accounted for with it."""
        return self._put("status", payloads.birth, retain=True,
                         also=lambda c: self.outbox.forget_will(c, body["will_seq"]), **body)

    def offline(self, *, reason: str, boot_id: str, seq: int | None = None) -> int:
        """A clean offline; a reserved Last Will number *seq* is spent on it."""
        also = None if seq is None else (lambda c: self.outbox.forget_will(c, seq))
        return self._put("status", payloads.offline, retain=True, seq=seq, also=also, reason=reason, boot_id=boot_id)

    def spent_will(self, seq: int, *, boot_id: str) -> int:
        """A Last Will number that reached a broker and that no birth announced, sent by the device itself:
        the will's own bytes (the broker may send them too: the same message twice, never two under one
        number). Retained, on ``status``, ahead of the next birth."""
        payload, reserved_at = self.outbox.will_payload(seq)

        def build(number, sent_at):
            if payload is not None:
                return payload
            message = payloads.offline(device=self.device_id, seq=number, reason="lost", boot_id=boot_id,
                                       sent_at=payloads.format_time(reserved_at) if reserved_at else sent_at)
            return payloads.encode(payloads.in_epoch(message, getattr(self.outbox, "epoch", "")))
        return self.outbox.enqueue("status", self.topics.device(self.device_id, "status"), build, retain=True,
                                   seq=seq, also=lambda c: self.outbox.forget_will(c, seq))

    def telemetry(self, *, agent: dict, readings: dict | None = None, coalesce: str = "telemetry",
                  full: bool | None = None, will_seq: int | None = None) -> int:
        """Telemetry; *will_seq*: a Last Will number no birth announced, spent on this message instead."""
        also = None if will_seq is None else (lambda c: self.outbox.forget_will(c, will_seq))
        return self._put("telemetry", payloads.telemetry, coalesce=coalesce, seq=will_seq, also=also, agent=agent,
                         readings=readings, full=full)

    def event(self, event: str, *, at=None, detail: dict | None = None, key: str | None = None) -> int:
        return self._put("event", payloads.event, key=key, event=event, at=at, detail=detail)

    def report(self, date: str, report: dict, *, key: str | None = None) -> int:
        return self._put("report", payloads.report, key=key, date=date, report=report)

    def facts(self, chain: str, links: list[dict], *, also=None) -> int:
        """Links of the fact chain; *also* records the chain's new head in the same outbox transaction."""
        return self._put("facts", payloads.facts, also=also, chain=chain, links=links)

    def reported(self, applied: dict, refused: list | None = None) -> int:
        return self._put("reported", payloads.reported, applied=applied, refused=refused)

    def result(self, correlation_id: str, command: str, ok: bool, *, reason: str | None = None,
               detail: dict | None = None, key: str | None = None) -> int:
        return self._put("result", payloads.result, key=key, correlation_id=correlation_id, command=command,
                         ok=ok, reason=reason, detail=detail)
