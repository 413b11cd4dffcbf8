"""The fact chain: a device's compliance facts, in order, each bound to the one before it.

The judge (:mod:`.judge`) reads two kinds of fact from the store: state
changes (``state_log``) and heartbeats (``uptime``). The agent streams both
to the centre on ``dev/{id}/facts`` so the centre can judge the day itself
(``central.verification``). This module is the one definition of what is
streamed and how it is chained, used by the agent and the centre alike.

**A fact** is a small JSON object, one of two kinds:

- ``state``: one ``state_log`` row as stored — ``id``, ``at`` (the wall
  time text), ``component``, ``state``, ``reason``, ``detail`` (the stored
  JSON text), ``boot`` (boot id), ``mono`` (seconds since boot, as the text
  of the stored number, or null) and ``synced`` (bool);
- ``beat``: one heartbeat of a process — ``process``, ``boot``, ``at``,
  ``mono``, ``synced``: the first and every later beat of a boot's
  ``uptime`` row, as the agent sees it change each minute.

Text fields are clipped to :data:`LIMITS`, and control and bidi characters
in them (not in ``detail``, which is JSON text) replaced by U+FFFD, before
chaining, so a stored row of any content gives a fact the schema accepts
(numbers are text, so the encoding of a fact is exact on both sides,
whatever a JSON library does with floats).

**The chain.** Link *n* (from 1) is ``{"n", "prev", "fact"}``; its hash is
SHA-256 over the :func:`canonical` encoding of that object (hex), and
``prev`` is the hash of link *n − 1*, or for link 1 the :func:`genesis` of
the chain: SHA-256 over ``{"genesis": "pishkhan.facts/1", "device", "chain"}``.
``chain`` is an id the agent draws once when it starts a chain (a new
outbox file starts a new one); with the device id in the genesis, a chain
cannot be moved to another device. A fact removed after it was streamed is
a missing *n* at the centre; a fact changed after it was streamed gives
another hash for the same *n* (a resend) or a ``prev`` that does not match
(every later link).

**The canonical encoding**: JSON, keys sorted, no spaces, UTF-8 (not
``\\u`` escapes), only objects, strings, integers, booleans and null — a
float is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3

from pishkhan.exc import ProtocolError

CHAIN_VERSION = "pishkhan.facts/1"
#: Longest text of each fact field; longer values are clipped before chaining.
LIMITS = {"at": 40, "component": 64, "state": 64, "reason": 200, "detail": 2000, "boot": 64, "process": 32,
          "mono": 32}
#: Most links in one ``facts`` message, and about the most bytes of their facts (one fact is at most ~2.5 kB).
LINKS_PER_MESSAGE = 200
BYTES_PER_MESSAGE = 32_000
#: What a link adds to its fact's encoding: ``n``, the 64-digit ``prev``, keys and punctuation.
LINK_OVERHEAD = 100


def canonical(value) -> bytes:
    """*value* in the chain's canonical encoding; :exc:`ProtocolError` for a float or another type."""
    _check(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _check(value):
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ProtocolError(f"canonical encoding: key {k!r} is not text")
            _check(v)
        return
    if isinstance(value, list):
        for v in value:
            _check(v)
        return
    raise ProtocolError(f"canonical encoding: {type(value).__name__} is not allowed (numbers are integers or text)")


def sha256(value) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def genesis(device: str, chain: str) -> str:
    """The ``prev`` of a chain's first link."""
    return sha256({"genesis": CHAIN_VERSION, "device": device, "chain": chain})


def link_hash(n: int, prev: str, fact: dict) -> str:
    return sha256({"n": n, "prev": prev, "fact": fact})


def link_size(fact: dict) -> int:
    """About how many bytes *fact* takes in a ``facts`` message."""
    return len(canonical(fact)) + LINK_OVERHEAD


def chain_links(facts: list[dict], *, n: int, prev: str) -> list[dict]:
    """*facts* as links numbered from *n*, the first chained to *prev*; each with its ``hash`` (not sent)."""
    out = []
    for fact in facts:
        h = link_hash(n, prev, fact)
        out.append({"n": n, "prev": prev, "fact": fact, "hash": h})
        n, prev = n + 1, h
    return out


# -- facts from stored rows ----------------------------------------------------
#: Characters a fact's text may not carry (controls, bidi controls): each becomes U+FFFD before chaining.
_UNSAFE = re.compile("[\u0000-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _text(value, field: str) -> str:
    text = str(value)[:LIMITS[field]]
    return text if field == "detail" else _UNSAFE.sub("\ufffd", text)


def _mono(value) -> str | None:
    return None if value is None else _text(repr(float(value)), "mono")


def state_fact(row) -> dict:
    """The fact of one ``state_log`` row (a mapping with its columns)."""
    return {"kind": "state", "id": int(row["id"]), "at": _text(row["at"], "at"),
            "component": _text(row["component"], "component"), "state": _text(row["state"], "state"),
            "reason": _text(row["reason"], "reason"), "detail": _text(row["detail"], "detail"),
            "boot": _text(row["boot_id"], "boot"), "mono": _mono(row["mono"]), "synced": bool(row["clock_synced"])}


def beat_fact(*, process, boot_id, at, mono, synced) -> dict:
    """The fact of one heartbeat."""
    return {"kind": "beat", "process": _text(process, "process"), "boot": _text(boot_id, "boot"),
            "at": _text(at, "at"), "mono": _mono(mono), "synced": bool(synced)}


def uptime_beats(row, known_mono: str | None) -> list[dict]:
    """The beats of one ``uptime`` row not streamed yet, given the ``mono`` of the latest one streamed."""
    first = beat_fact(process=row["process"], boot_id=row["boot_id"], at=row["first_at"], mono=row["first_mono"],
                      synced=row["first_synced"])
    last = beat_fact(process=row["process"], boot_id=row["boot_id"], at=row["last_at"], mono=row["last_mono"],
                     synced=row["last_synced"])
    if known_mono is None:
        return [first] if last["mono"] == first["mono"] else [first, last]
    return [last] if float(last["mono"]) > float(known_mono) else []


# -- the facts as a store the judge reads ------------------------------------------
class FactStore:
    """Streamed facts in an in-memory SQLite shaped as the judge reads a store (``state_log``, ``uptime``).

    :meth:`add` takes facts in chain order; ``query`` is all the judge asks
    of a store. A fact whose time or number cannot be read is counted in
    :attr:`unreadable` and left out.
    """

    def __init__(self):
        self._conn = sqlite3.connect(":memory:")
        self._conn.row_factory = sqlite3.Row
        self._conn.executescript(
            "CREATE TABLE state_log (id INTEGER PRIMARY KEY, at TEXT NOT NULL, component TEXT NOT NULL, "
            "state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '{}', "
            "boot_id TEXT NOT NULL DEFAULT '', mono REAL, clock_synced INTEGER NOT NULL DEFAULT 1);"
            "CREATE TABLE uptime (boot_id TEXT NOT NULL, process TEXT NOT NULL, first_at TEXT NOT NULL, "
            "first_mono REAL NOT NULL, first_synced INTEGER NOT NULL, last_at TEXT NOT NULL, "
            "last_mono REAL NOT NULL, last_synced INTEGER NOT NULL, PRIMARY KEY (boot_id, process));")
        self.unreadable = 0
        self.beats: list[tuple[str, str, float, bool]] = []  # (boot, at, mono, synced) of every beat added

    def add(self, fact: dict):
        from pishkhan.store.database import parse_iso

        try:
            parse_iso(fact["at"])
            mono = None if fact.get("mono") is None else float(fact["mono"])
        except (KeyError, TypeError, ValueError):
            self.unreadable += 1
            return
        synced = int(bool(fact.get("synced")))
        if fact.get("kind") == "state":
            self._conn.execute("INSERT INTO state_log(at, component, state, reason, detail, boot_id, mono, "
                               "clock_synced) VALUES (?,?,?,?,?,?,?,?)",
                               (fact["at"], fact["component"], fact["state"], fact["reason"], fact["detail"],
                                fact["boot"], mono, synced))
        elif fact.get("kind") == "beat" and mono is not None:
            self.beats.append((fact["boot"], fact["at"], mono, bool(synced)))
            self._conn.execute(
                "INSERT INTO uptime VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(boot_id, process) DO UPDATE SET "
                "first_at = CASE WHEN excluded.first_mono < first_mono THEN excluded.first_at ELSE first_at END, "
                "first_synced = CASE WHEN excluded.first_mono < first_mono THEN excluded.first_synced "
                "ELSE first_synced END, first_mono = MIN(first_mono, excluded.first_mono), "
                "last_at = CASE WHEN excluded.last_mono > last_mono THEN excluded.last_at ELSE last_at END, "
                "last_synced = CASE WHEN excluded.last_mono > last_mono THEN excluded.last_synced "
                "ELSE last_synced END, last_mono = MAX(last_mono, excluded.last_mono)",
                (fact["boot"], fact["process"], fact["at"], mono, synced, fact["at"], mono, synced))
        else:
            self.unreadable += 1

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params=()):
        return self._conn.execute(sql, params).fetchone()

    def close(self):
        self._conn.close()

    def beat_times(self) -> list:
        """Every beat added, in trusted time (re-dated as the judge re-dates; a beat of an untrusted boot left out)."""
        from pishkhan.compliance.timeline import _anchors, _place

        anchors = _anchors(self)
        placed = (_place(at, mono, synced, boot, anchors) for boot, at, mono, synced in self.beats)
        return sorted(p[0] for p in placed if p is not None)
