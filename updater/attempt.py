"""One update attempt: its id, what it moves from and to, and each step written to the journal (then the kill
switch may end the process, as a power cut would)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from updater.journal import DETAIL_MAX, Journal, Row, utc_now
from updater.killswitch import KillSwitch


@dataclass
class Attempt:
    journal: Journal
    kill: KillSwitch
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    rollout: str = ""
    document_code: str = ""
    from_version: str = ""
    to_version: str = ""

    @classmethod
    def resume(cls, rows: list[Row], *, journal: Journal, kill: KillSwitch) -> "Attempt":
        """The attempt *rows* belong to, to record further steps of."""
        last = rows[-1]
        return cls(journal, kill, id=last.attempt, rollout=last.rollout, document_code=last.document_code,
                   from_version=last.from_version, to_version=last.to_version)

    def step(self, step: str, *, reason: str = "", detail: str = "") -> Row:
        row = self.journal.record(attempt=self.id, step=step, rollout=self.rollout, document_code=self.document_code,
                                  from_version=self.from_version, to_version=self.to_version, reason=reason,
                                  detail=detail)
        print(f"pishkhan-update: {step}" + (f" ({reason})" if reason else "") + (f": {detail[:300]}" if detail else ""),
              flush=True)
        self.kill.after(step)
        return row


def failure_detail(health, log: str) -> str:
    """The detail of an unhealthy/rolled_back row: the failed checks and the logs' tail, as JSON ≤ 4,000 chars."""
    failed = health.failed[:10] if health is not None else []
    doc = {"failed": failed, "log": log}
    text = json.dumps(doc, ensure_ascii=False)
    while len(text) > DETAIL_MAX and doc["log"]:
        doc["log"] = "…" + doc["log"][-(max(0, len(doc["log"]) - (len(text) - DETAIL_MAX) - 50)):]
        if len(doc["log"]) <= 1:
            doc["log"] = ""
        text = json.dumps(doc, ensure_ascii=False)
    while len(text) > DETAIL_MAX and doc["failed"]:
        doc["failed"] = doc["failed"][:-1]
        text = json.dumps(doc, ensure_ascii=False)
    return text


class Clock:
    """Real time (the suite's fake advances on sleep)."""

    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)
    now = staticmethod(utc_now)
