"""The fact stream: the store's compliance facts, hash-chained, to the centre on ``dev/{id}/facts``.

Every minute, just after the compliance part's heartbeat (:meth:`FactStream.tick`),
the facts not streamed yet — new ``state_log`` rows by id, and each
``uptime`` row's beats since the last one streamed — are chained
(:mod:`pishkhan.compliance.chain`) and written to the outbox as ``facts``
messages of at most :data:`~pishkhan.compliance.chain.LINKS_PER_MESSAGE`
links and about :data:`~pishkhan.compliance.chain.BYTES_PER_MESSAGE` bytes. A long backlog (the first start on a device with history) goes out a
few messages a minute.

The chain's head — its id, the last link's number and hash, the last
``state_log`` id streamed and the latest beat streamed of each boot and
process — lives in the outbox file itself (tables ``fact_chain`` and
``fact_beats``) and is updated in the same transaction that writes the
message (``Outbox.enqueue(also=...)``): after a crash or a power cut the
chain resumes exactly where the last durable message left it, with no link
twice and none missing. A new outbox file starts a new chain (a new id and
genesis), which the centre sees as such; so does a store whose last
streamed ``state_log`` row is gone or has another time (a store moved aside
and started afresh, or an edited row): its rows are streamed from the
first, on a new chain.
"""

from __future__ import annotations

import logging
import secrets

from pishkhan.compliance import chain as fact_chain
from pishkhan.exc import OutboxError

log = logging.getLogger("pishkhan.agent.facts")

TICK_SECONDS = 60
#: Messages written per tick at most (a backlog drains over several minutes, the outbox never flooded).
MESSAGES_PER_TICK = 10

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS fact_chain (id INTEGER PRIMARY KEY CHECK (id = 1), chain TEXT NOT NULL, "
    "n INTEGER NOT NULL, hash TEXT NOT NULL, state_id INTEGER NOT NULL, state_at TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS fact_beats (boot_id TEXT NOT NULL, process TEXT NOT NULL, mono TEXT NOT NULL, "
    "PRIMARY KEY (boot_id, process))",
)


class FactStream:
    """Streams the facts of *store* through *publisher* (whose outbox keeps the chain's head)."""

    def __init__(self, *, store, publisher, device_id: str):
        self._store = store
        self.publisher = publisher
        self.outbox = publisher.outbox
        self.device_id = device_id
        self._load(self.outbox.transact(self._open))

    @property
    def store(self):
        return self._store() if callable(self._store) else self._store

    def _open(self, c, *, fresh: bool = False):
        for statement in _SCHEMA:
            c.execute(statement)
        if fresh:
            c.execute("DELETE FROM fact_chain")
            c.execute("DELETE FROM fact_beats")
        row = c.execute("SELECT chain, n, hash, state_id, state_at FROM fact_chain WHERE id = 1").fetchone()
        if row is None:
            chain = secrets.token_urlsafe(12)
            row = (chain, 0, fact_chain.genesis(self.device_id, chain), 0, "")
            c.execute("INSERT INTO fact_chain VALUES (1, ?, ?, ?, ?, ?)", row)
        return row, {(b, p): m for b, p, m in c.execute("SELECT boot_id, process, mono FROM fact_beats")}

    def _load(self, opened):
        (self.chain, self.n, self.hash, self.state_id, self.state_at), self.beats = opened

    def _store_replaced(self) -> bool:
        """True when the last row streamed is no longer in the store as it was (a new store, or a row edited)."""
        if not self.state_id:
            return False
        row = self.store.query_one("SELECT at FROM state_log WHERE id = ?", (self.state_id,))
        return row is None or row["at"] != self.state_at

    # -- the minute ------------------------------------------------------------
    def tick(self) -> list[int]:
        """Stream every fact not streamed yet (up to :data:`MESSAGES_PER_TICK` messages); their seqs."""
        seqs = []
        if self._store_replaced():
            log.warning("the store's state log is not the one streamed so far (row %d is gone or changed): "
                        "starting a new fact chain", self.state_id)
            self._load(self.outbox.transact(lambda c: self._open(c, fresh=True)))
        for _ in range(MESSAGES_PER_TICK):
            facts, last, beats = self.pending(fact_chain.LINKS_PER_MESSAGE)
            if not facts:
                break
            seqs.append(self._send(facts, last, beats))
        return seqs

    def pending(self, limit: int) -> tuple[list[dict], tuple[int, str], dict]:
        """Up to *limit* facts not streamed yet, and the head they leave: the last state row's (id, at), the beats'.

        The beats first (each would be lost if the next one overwrote its
        ``uptime`` row before it went), then ``state_log`` rows in id order.
        """
        facts, beats, size = [], {}, 0
        for row in self.store.query("SELECT * FROM uptime ORDER BY first_at"):
            key = (row["boot_id"], row["process"])
            new = fact_chain.uptime_beats(row, self.beats.get(key))
            grow = sum(fact_chain.link_size(f) for f in new)
            if new and len(facts) + len(new) <= limit and size + grow <= fact_chain.BYTES_PER_MESSAGE:
                facts += new
                beats[key] = new[-1]["mono"]
                size += grow
        last = (self.state_id, self.state_at)
        for row in self.store.query("SELECT id, at, component, state, reason, detail, boot_id, mono, clock_synced "
                                    "FROM state_log WHERE id > ? ORDER BY id LIMIT ?",
                                    (self.state_id, limit - len(facts))):
            fact = fact_chain.state_fact(row)
            size += fact_chain.link_size(fact)
            if facts and size > fact_chain.BYTES_PER_MESSAGE:
                break
            facts.append(fact)
            last = (row["id"], row["at"])
        return facts, last, beats

    def _send(self, facts: list[dict], last: tuple[int, str], beats: dict) -> int:
        links = fact_chain.chain_links(facts, n=self.n + 1, prev=self.hash)
        head = (links[-1]["n"], links[-1]["hash"], *last)
        expected = self.n

        def record(c):
            moved = c.execute("UPDATE fact_chain SET n = ?, hash = ?, state_id = ?, state_at = ? "
                              "WHERE id = 1 AND n = ?", (*head, expected)).rowcount
            if moved != 1:
                raise OutboxError("the fact chain's head moved under this agent (two agents on one outbox?)")
            c.executemany("INSERT INTO fact_beats VALUES (?,?,?) ON CONFLICT(boot_id, process) "
                          "DO UPDATE SET mono = excluded.mono", [(b, p, m) for (b, p), m in beats.items()])

        seq = self.publisher.facts(self.chain, links, also=record)
        self.n, self.hash, self.state_id, self.state_at = head
        self.beats.update(beats)
        log.debug("facts %d-%d streamed (seq %d)", links[0]["n"], links[-1]["n"], seq)
        return seq


def register(context) -> FactStream:
    """Plug the fact stream in through *context*: every minute, registered after compliance so it follows its beat."""
    part = FactStream(store=lambda: context.store, publisher=context.publisher, device_id=context.device_id)
    context.every(TICK_SECONDS, part.tick, first=0)
    return part
