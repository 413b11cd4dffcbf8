"""``pishkhan central publish circular``: pool the PDF, build the scope's next index, sign, check, publish, record.

:meth:`Circulars.publish` does it in this order, in one transaction of the fleet database (on PostgreSQL the
scope is locked for it, so two operators publishing to one scope at once make two versions, never one twice):

1. the PDF goes into the pool (:class:`~central.circulars.pool.PdfPool`; not a PDF, empty or over 20 MiB:
   :exc:`~central.circulars.CircularNotPublished` with its reason, and nothing else happens);
2. the entry is built and checked (:func:`central.circulars.index.entry`); a ``--supersedes`` number the centre
   never published in that scope or nationally is refused (``unknown_supersedes``);
3. the scope's next index is the newest one the centre published of that scope — or the index the broker holds
   retained for it, when that verifies and is newer (a fresh fleet database, another centre host): its circulars
   are then recorded as published — plus the entry (:func:`central.circulars.index.next_index`), version + 1;
4. it is signed and checked as every document is (:func:`central.publish.prepare`: the centre's trust list, the
   key's scope, the device's own parser), then published retained at QoS 1 (:class:`BrokerPublisher`);
5. the index and the circular are recorded (``circular_indexes``, ``circulars``): the dashboard's list of
   circulars and the next index's starting point. A refusal or a failed publish leaves no record.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from central import codec
from central.circulars import CircularNotPublished
from central.circulars import index as circular_index
from central.circulars.pool import PdfPool


def topic_of(topics, scope: str) -> tuple[str, str]:
    """``(topic, scope key)`` of *scope*'s index: ``all/circulars`` or ``province/CODE/circulars``, retained."""
    from central.publish import topic_for
    from pishkhan.exc import CentralError
    from pishkhan.protocol.topics import check_level

    try:
        return topic_for(topics, "circulars", scope)
    except CentralError:  # a topics module from before circulars were a document kind
        if scope == "national":
            return f"{topics.root}/all/circulars", scope
        return f"{topics.root}/province/{check_level(scope.partition(':')[2], 'province code')}/circulars", scope


def _verified(envelope, *, scope: str, trust) -> dict | None:
    """The payload of a retained *envelope* if it is a circulars index of *scope* that verifies, else None."""
    from central.trust import KeyNotAllowed
    from pishkhan.exc import PishkhanError

    try:
        payload, _ = trust.verify(envelope, scope_key=scope)
        if circular_index.scope_key(payload["scope"]) != scope:
            return None
        circular_index.check_with_device_parser(payload)
    except (KeyNotAllowed, PishkhanError, KeyError, TypeError, ValueError):
        return None
    return payload if payload.get("format") == circular_index.FORMAT else None


class BrokerPublisher:
    """Signs, checks and publishes an index retained through the broker (central/publish.py's one path)."""

    #: How long to wait for the scope's retained index (the broker sends it at once after the subscription).
    RETAINED_WAIT = 1.0

    def __init__(self, broker, *, trust, timeout: float = 10.0):
        self.broker, self.trust, self.timeout = broker, trust, timeout

    def retained(self, scope: str) -> dict | None:
        """The index the broker holds retained for *scope* (what the devices have), verified; None if none."""
        from central.publish import Connection

        topic, _ = topic_of(self.broker.topics, scope)
        with Connection(self.broker, timeout=self.timeout) as conn:
            conn.subscribe(topic)
            found = conn.wait_message(lambda t, _p: t == topic, self.RETAINED_WAIT)
        if found is None:
            return None
        try:
            envelope = codec.decode(found[1], max_bytes=codec.MAX_DOCUMENT_BYTES)
        except codec.PayloadRefused:
            return None
        return _verified(envelope, scope=scope, trust=self.trust)

    def publish(self, document: dict, *, scope: str, key) -> dict:
        from central.publish import Connection, encode, prepare

        topic, expected = topic_of(self.broker.topics, scope)
        envelope = prepare("circulars", document, key=key, expected_scope=expected, trust=self.trust)
        with Connection(self.broker, timeout=self.timeout) as conn:
            code = conn.publish(topic, encode(envelope), retain=True)
        return {"topic": topic, "envelope": envelope, "reason_code": code}


class MemoryPublisher:
    """Signed and checked as for the broker, kept in :attr:`retained` (topic -> envelope)."""

    def __init__(self, *, trust, topics=None):
        from pishkhan.protocol.topics import Topics

        self.trust, self.topics = trust, topics or Topics()
        self.retained_envelopes: dict[str, dict] = {}

    def retained(self, scope: str) -> dict | None:
        envelope = self.retained_envelopes.get(topic_of(self.topics, scope)[0])
        return None if envelope is None else _verified(envelope, scope=scope, trust=self.trust)

    def publish(self, document: dict, *, scope: str, key) -> dict:
        from central.publish import prepare

        topic, expected = topic_of(self.topics, scope)
        envelope = prepare("circulars", document, key=key, expected_scope=expected, trust=self.trust)
        self.retained_envelopes[topic] = envelope
        return {"topic": topic, "envelope": envelope, "reason_code": 0}


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Circulars:
    """Publishes circulars of the centre over *db* (the fleet database), *pool* and *publisher*."""

    def __init__(self, db, *, pool: PdfPool, publisher, clock=None):
        self.db, self.pool, self.publisher = db, pool, publisher
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))

    def publish(self, pdf, *, number: str, kind: str, title: str, summary: str, scope: str, key,
                issuer: str | None = None, issued_on: str | None = None, effective_on: str | None = None,
                supersedes=(), urgent: bool = False) -> dict:
        """Publish the circular *pdf* in *scope*'s next index; what was done (topic, version, entry, code)."""
        from pishkhan.boards.signing import verification_code

        now = self.clock()
        scope_doc = circular_index.scope_document(scope)
        scope_key = circular_index.scope_key(scope_doc)
        attachment = self.pool.add(pdf)
        built = circular_index.entry(number_text=number, kind=kind, title=title, summary=summary,
                                     issuer=issuer or circular_index.default_issuer(scope_doc),
                                     attachment=attachment.to_json(), issued_on=issued_on, effective_on=effective_on,
                                     supersedes=supersedes, urgent=urgent, now=now)
        held = self.publisher.retained(scope_key)  # what the devices have: a newer index than recorded here counts
        done = {}

        def record(c):
            if self.db.dialect == "%s":  # one publisher of a scope at a time (SQLite queues writers anyway)
                c.execute("SELECT pg_advisory_xact_lock(?)",
                          (int(hashlib.sha256(f"circulars:{scope_key}".encode()).hexdigest()[:15], 16),))
            row = c.execute("SELECT version, envelope FROM circular_indexes WHERE scope_key = ? "
                            "ORDER BY version DESC LIMIT 1", (scope_key,)).fetchone()
            previous = codec.decode(row[1].encode("utf-8"), max_bytes=codec.MAX_DOCUMENT_BYTES)["payload"] \
                if row else None
            if held is not None and int(held["version"]) > (int(row[0]) if row else 0):
                previous = held  # published elsewhere, or a fresh fleet database: the devices' index goes on
                self._adopt(c, held, scope_key)
            listed = {e.get("number") for e in (previous or {}).get("circulars") or ()}
            for old in built.get("supersedes") or ():
                if old not in listed and c.execute(
                        "SELECT 1 FROM circulars WHERE number = ? AND scope_key IN (?, 'national')",
                        (old, scope_key)).fetchone() is None:
                    raise CircularNotPublished(f"--supersedes {old}: the centre published no circular {old} in "
                                               f"{scope_key} or nationally", reason="unknown_supersedes")
            version = int(previous["version"]) + 1 if previous else 1
            issuer = (previous or {}).get("issuer") or built["issuer"]
            document = circular_index.next_index(previous, built, scope=scope_doc, version=version, issuer=issuer,
                                                 now=now)
            sent = self.publisher.publish(document, scope=scope_key, key=key)
            code = verification_code(sent["envelope"])
            c.execute("INSERT INTO circular_indexes(scope_key, version, verification_code, topic, published_at, "
                      "envelope) VALUES (?,?,?,?,?,?)", (scope_key, document["version"], code, sent["topic"],
                                                         _iso(now), codec.dumps(sent["envelope"])))
            c.execute("INSERT INTO circulars(scope_key, number, kind, title, issuer, issued_on, effective_on, urgent, "
                      "sha256, size, supersedes, index_version, published_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      (scope_key, built["number"], built["kind"], built["title"], built["issuer"], built["issued_on"],
                       built["effective_on"], 1 if built["urgent"] else 0, attachment.sha256, attachment.size,
                       " ".join(built.get("supersedes") or ()), document["version"], _iso(now)))
            for old in built.get("supersedes") or ():
                c.execute("UPDATE circulars SET superseded_by = ? WHERE number = ? AND scope_key = ? "
                          "AND superseded_by = ''", (built["number"], old, scope_key))
            done.update(topic=sent["topic"], version=document["version"], verification_code=code,
                        entries=len(document["circulars"]), entry=built, scope=scope_key,
                        reason_code=sent["reason_code"])

        self.db.write(record)
        return done

    @staticmethod
    def _adopt(c, index: dict, scope_key: str):
        """Record the circulars of a retained *index* the centre has no record of (published as the index says)."""
        for e in index.get("circulars") or ():
            a = e.get("attachment") or {}
            c.execute("INSERT INTO circulars(scope_key, number, kind, title, issuer, issued_on, effective_on, urgent, "
                      "sha256, size, supersedes, index_version, published_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
                      "ON CONFLICT (scope_key, number) DO NOTHING",
                      (scope_key, e["number"], e["kind"], e["title"], e["issuer"], e["issued_on"], e["effective_on"],
                       1 if e.get("urgent") else 0, a.get("sha256", ""), int(a.get("size") or 0),
                       " ".join(e.get("supersedes") or ()), int(index["version"]), index["issued_at"]))
            for old in e.get("supersedes") or ():
                c.execute("UPDATE circulars SET superseded_by = ? WHERE number = ? AND scope_key = ? AND "
                          "superseded_by = ''", (e["number"], old, scope_key))
