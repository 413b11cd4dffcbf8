"""Recording the centre's signed documents as official: what the monitor does with ``all/#`` and ``province/+/#``.

A retained board, schedule, holiday list or release document on a national or provincial
topic becomes a row of ``official`` (kind, scope, version, verification
code, effective date, issuer, the envelope as verified) only if, in order:

1. the topic is ``all/{kind}`` or ``province/{P}/{kind}`` of a kind the
   centre records (``board``, ``schedule``, ``holidays``, ``release``; a trust list on
   ``all/trust`` is refused as ``not_recorded``);
2. the payload passes the monitor's strict loader (:func:`central.codec.decode`,
   with the document bounds: 4 MiB, 16 levels);
3. it verifies against the centre's trust list with a key whose scope
   covers the topic's scope (:meth:`central.trust.TrustList.verify`, the
   devices' own rule) — there is no unverified mode;
4. the signed payload is a valid document of the topic's kind whose scope is
   the topic's.

Anything else raises :exc:`DocumentRefused` with a :attr:`reason` from
:data:`REASONS`, and nothing is written. The same (kind, scope, version) is
recorded once. Questions about the recorded documents (the newest board of a
scope, what a code names) are answered by :mod:`central.official`.
"""

from __future__ import annotations

from central import codec
from central.trust import KeyNotAllowed, TrustList
from central.errors import DocumentRefused
from pishkhan.exc import PishkhanError, ProtocolError, SignatureInvalid
from pishkhan.protocol.topics import Topics

#: Why a document was not recorded: the loader's reasons, then these.
REASONS = codec.REASONS + ("not_a_document_topic", "not_recorded", "untrusted", "key_not_allowed", "invalid", "wrong_kind",
                           "wrong_scope")
KINDS = ("board", "schedule", "holidays", "release")


class OfficialRecord:
    """Checks the centre's documents and records the ones that pass in *db*'s ``official`` table."""

    def __init__(self, db, *, trust: TrustList, topics: Topics | None = None):
        if not isinstance(trust, TrustList):
            raise TypeError("trust: the centre's TrustList is required")
        self.db = db
        self.trust = trust
        self.topics = topics or Topics()

    def check(self, topic: str, payload: bytes) -> dict:
        """The ``official`` row for the document on *topic*; :exc:`DocumentRefused` saying why not."""
        from pishkhan.boards.signing import verification_code

        try:
            info = self.topics.parse(topic)
        except ProtocolError as e:
            raise DocumentRefused(str(e), reason="not_a_document_topic") from None
        if info.scope not in ("all", "province"):
            raise DocumentRefused(f"{topic}: not a national or provincial document", reason="not_a_document_topic")
        if info.kind not in KINDS:
            raise DocumentRefused(f"{topic}: the centre records boards, schedules, holiday lists and releases, not "
                                  f"{info.kind} documents", reason="not_recorded")
        expected = "national" if info.scope == "all" else f"province:{info.province}"
        try:
            envelope = codec.decode(payload, max_bytes=codec.MAX_DOCUMENT_BYTES)
        except codec.PayloadRefused as e:
            raise DocumentRefused(f"{topic}: {e}", reason=e.reason) from None
        try:
            document, _key = self.trust.verify(envelope, scope_key=expected)
        except KeyNotAllowed as e:
            raise DocumentRefused(f"{topic}: {e}", reason="key_not_allowed") from None
        except (SignatureInvalid, PishkhanError) as e:
            raise DocumentRefused(f"{topic}: {e}", reason="untrusted") from None
        if info.kind == "release":
            return _release_row(topic, envelope, document, expected)
        try:
            if info.kind == "board":
                from pishkhan.boards.document import parse_board
                parsed = parse_board(document)
            else:
                from pishkhan.schedule.document import parse_document
                parsed = parse_document(document)
        except PishkhanError as e:
            raise DocumentRefused(f"{topic}: {e}", reason="invalid") from None
        if getattr(parsed, "kind", info.kind) != info.kind:
            raise DocumentRefused(f"{topic}: a {info.kind} topic carries a {parsed.kind} document", reason="wrong_kind")
        if parsed.scope.key != expected:
            raise DocumentRefused(f"{topic}: the document's scope is {parsed.scope.key}, the topic's {expected}",
                                  reason="wrong_scope")
        return {"kind": info.kind, "scope_key": parsed.scope.key, "version": int(parsed.version),
                "verification_code": verification_code(envelope),
                "effective_from": parsed.effective_from.isoformat(), "issuer": parsed.issuer,
                "envelope": codec.dumps(envelope)}

    def record(self, row: dict, *, received_at: str) -> None:
        """Write a :meth:`check`-ed *row*, received at *received_at*; a version already recorded is kept."""
        self.db.write(lambda c: c.execute(
            "INSERT INTO official(scope_key, kind, version, verification_code, effective_from, issuer, "
            "published_at, envelope) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (kind, scope_key, version) DO NOTHING",
            (row["scope_key"], row["kind"], row["version"], row["verification_code"], row["effective_from"],
             row["issuer"], received_at, row["envelope"])))


def _release_row(topic: str, envelope: dict, document: dict, expected: str) -> dict:
    """The ``official`` row of a verified release document (:mod:`central.releases.document`)."""
    from central.errors import NotPublished
    from central.releases.document import check, scope_key
    from pishkhan.boards.signing import verification_code

    try:
        check(document)
    except NotPublished as e:
        raise DocumentRefused(f"{topic}: {e}", reason="invalid") from None
    if scope_key(document["scope"]) != expected:
        raise DocumentRefused(f"{topic}: the release's scope is {scope_key(document['scope'])}, the topic's "
                              f"{expected}", reason="wrong_scope")
    return {"kind": "release", "scope_key": expected, "version": document["version"],
            "verification_code": verification_code(envelope), "effective_from": document["not_before"][:10],
            "issuer": document["issuer"], "envelope": codec.dumps(envelope)}
