"""Config sync: signed documents from the centre, installed through the one install path.

The agent subscribes to the documents of its three scopes (all retained by
the broker, see docs/mqtt.md): ``all/{board,schedule,holidays,trust}``,
``province/{code}/{board,schedule,holidays}`` and
``dev/{id}/{board,schedule,settings}``. Each message, in this order:

1. An empty payload (a retained document cleared) is ignored.
2. If this topic already carried these exact bytes (SHA-256, kept in the
   store's ``sync_documents``), it is ignored: a retained document comes
   again on every reconnect and after every restart, and a replayed copy is
   the same bytes. It was applied or refused, and reported, the first time.
3. The payload is parsed with the strict loader
   (:func:`pishkhan.boards.jsonlimits.load_json`, source ``mqtt:TOPIC``), so
   every size, depth, duplicate-key and number check applies.
4. The document's own scope must be the topic's: national on ``all/``, the
   province on ``province/{code}/``, this office on ``dev/{id}/``; its kind
   (``format``) must be the topic's kind.
5. Boards go to :func:`~pishkhan.boards.installed.install_board`, schedules
   and holiday lists to :func:`~pishkhan.schedule.installed.install_schedule`
   (source ``centre``, actor ``centre``): signature, schema, key scope,
   province and office, version — all checked there, stored, audited. A
   document refused as not newer whose exact signed bytes are installed
   already (from a USB stick, or before a crash) counts as applied.
6. Trust lists (``pishkhan.trust/1`` on ``all/trust`` only) must be signed
   by a key this device trusts with scope ``national`` (not ``any``, not a
   province's, not a command key) and carry a version above the last one
   applied, so an old list cannot bring back a revoked key. They add keys
   (scope ``national``, ``province:CODE``, ``office:CODE`` or ``command``) and
   revoke keys by fingerprint, each audited; a list that would revoke the key
   that signed it is refused.
7. Settings documents are refused, all of them (reason ``not_accepted``):
   the device's settings live in its configuration file, which the centre
   does not change remotely (docs/mqtt.md says why).

Every refusal is audited (``sync.refused``, besides the install path's own
``board.refused``/``schedule.refused``). Then one ``reported`` message: what is applied now (the effective board, the
schedules and holiday lists in effect, the trust list's version) and, for a
refusal, ``refused`` with the kind, topic, reason code and message. Reason
codes: ``malformed`` (not strict JSON, not an envelope, unknown fields),
``forged`` (signature does not verify against a trusted key), ``invalid``
(breaks the document's schema), ``wrong_scope`` (scope or kind not the
topic's, another province or office, a key not allowed that scope),
``older`` (version not newer than the installed one), ``refused`` (any other
refusal of the install path) and ``not_accepted`` (settings).
"""

from __future__ import annotations

import hashlib
import logging

from pishkhan.boards.document import scope_key_of
from pishkhan.boards.jsonlimits import load_json
from pishkhan.exc import (BoardError, BoardInvalid, KeyFileError, PishkhanError, ProtocolError, ScheduleError,
                          ScheduleInvalid, SignatureInvalid)
from pishkhan.protocol.topics import DEVICE_DOCUMENTS

log = logging.getLogger("pishkhan.agent.sync")

TRUST_FORMAT = "pishkhan.trust/1"
SETTINGS_FORMAT = "pishkhan.settings/1"
#: Scopes a trust list may give a key over the network (``any`` only by hand, on the device).
TRUST_SCOPES = ("national", "province:", "office:", "command")
_TRUST_KEYS = {"format", "issuer", "version", "add", "revoke"}
_TRUST_VERSION = "sync.trust_version"
#: Which document format each topic kind carries.
FORMATS = {"board": "pishkhan.board/1", "schedule": "pishkhan.schedule/1", "holidays": "pishkhan.holidays/1",
           "trust": TRUST_FORMAT, "settings": SETTINGS_FORMAT}


class Refusal(PishkhanError):
    """A document this device will not apply: :attr:`reason` is the code, the message says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def classify(error: Exception) -> str:
    """The reason code for an error of the install path."""
    text = str(error)
    if isinstance(error, SignatureInvalid):
        return "forged"
    if isinstance(error, (BoardInvalid, ScheduleInvalid)):
        return "invalid"
    if "is not newer than" in text:
        return "older"
    if " may sign only " in text or "this office is" in text:
        return "wrong_scope"
    return "refused"


class ConfigSync:
    """Installs the centre's documents for *agent* and reports what is in force."""

    def __init__(self, agent):
        self.agent = agent
        self.config = agent.config
        self.province = agent.config.get("office.province")
        self.office = agent.config.get("office.office_id")

    @property
    def store(self):
        return self.agent.store

    def filters(self) -> list[str]:
        topics, root = self.agent.topics, self.agent.topics.root
        found = [topics.device_document(self.agent.device_id, kind) for kind in DEVICE_DOCUMENTS]
        found.append(f"{root}/all/#")
        if self.province:
            found.append(f"{root}/province/{self.province}/#")
        return found

    def attach(self):
        for topic_filter in self.filters():
            self.agent.subscribe(topic_filter, self.handle)

    # -- one message ---------------------------------------------------------------
    def handle(self, topic: str, payload: bytes, retained: bool = False) -> str | None:
        """Apply or refuse one document; returns ``applied``, ``refused``, or None when ignored."""
        if not payload:
            return None
        try:
            info = self.agent.topics.parse(topic)
        except ProtocolError:
            log.warning("ignoring a message on %s: not a document topic", topic)
            return None
        if info.kind not in FORMATS:
            return None
        digest = hashlib.sha256(bytes(payload)).hexdigest()
        if self._seen(topic, digest):
            log.debug("%s: document %s handled before, ignored", topic, digest[:12])
            return None
        try:
            applied = self._apply(topic, info, payload)
        except Refusal as refusal:
            self._remember(topic, digest, info.kind, "refused", refusal.reason, str(refusal))
            self.store.audit("centre", "sync.refused", topic, kind=info.kind, reason=refusal.reason,
                             message=str(refusal)[:1000], sha256=digest)
            log.warning("refused the %s on %s: %s: %s", info.kind, topic, refusal.reason, refusal)
            self.report(refused=[{"kind": info.kind, "topic": topic, "reason": refusal.reason,
                                  "message": str(refusal)[:1000], "sha256": digest}])
            return "refused"
        self._remember(topic, digest, info.kind, "applied", "", applied)
        log.info("applied the %s on %s: %s", info.kind, topic, applied)
        self.report()
        return "applied"

    def _apply(self, topic, info, payload) -> str:
        try:
            envelope = load_json(payload, source=f"mqtt:{topic}")
        except BoardInvalid as e:
            raise Refusal("malformed", str(e)) from None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
            raise Refusal("malformed", "a document is a signed envelope: an object with format, payload "
                                       "and signature")
        document = envelope["payload"]
        expected = FORMATS[info.kind]
        if document.get("format") != expected:
            raise Refusal("wrong_scope", f"topic {topic} carries {expected} documents, "
                                         f"this one is {document.get('format')!r}")
        if info.kind == "settings":
            raise Refusal("not_accepted", "this device takes no settings from the network: its settings are in "
                                          "its configuration file (see docs/mqtt.md, Settings documents)")
        if info.kind == "trust":
            return self._apply_trust(envelope, document)
        self._check_scope(topic, info, document)
        try:
            if info.kind == "board":
                from pishkhan.boards.installed import install_board

                done = install_board(self.store, envelope, source="centre", actor="centre",
                                     province=self.province, office=self.office)
                return f"board {done.board.scope.key} v{done.board.version} {done.verification_code}"
            from pishkhan.schedule.installed import install_schedule

            done = install_schedule(self.store, envelope, source="centre", actor="centre",
                                    province=self.province, office=self.office)
            return f"{done.kind} {done.document.scope.key} v{done.document.version} {done.verification_code}"
        except (BoardError, ScheduleError) as e:
            reason = classify(e)
            if reason == "older" and self._installed_already(info.kind, envelope):
                return f"{info.kind} already installed (the same signed document)"
            raise Refusal(reason, str(e)) from None

    def _installed_already(self, kind, envelope) -> bool:
        """Whether these exact signed bytes are installed (from a USB stick, or before a crash mid-handling)."""
        from pishkhan.boards.signing import verification_code

        try:
            code = verification_code(envelope)
        except PishkhanError:
            return False
        table = "boards" if kind == "board" else "schedule_documents"
        return self.store.query_one(f"SELECT 1 FROM {table} WHERE verification_code = ?", (code,)) is not None

    def _check_scope(self, topic, info, document):
        scope = scope_key_of(document.get("scope"))
        if scope is None:
            return  # the install path names what is wrong with the scope
        if info.scope == "all":
            wanted = "national"
        elif info.scope == "province":
            wanted = f"province:{info.province}"
        else:
            wanted = f"office:{self.office}"
        if scope != wanted:
            raise Refusal("wrong_scope", f"topic {topic} carries {wanted} documents, this one is for {scope}")

    # -- trust lists ---------------------------------------------------------------
    def _apply_trust(self, envelope, document) -> str:
        from pishkhan.boards.signing import PublicKey, verify
        from pishkhan.boards.trust import distrust_key, trust_key, trusted_keys

        national = {fp: key for fp, (key, scope) in trusted_keys(self.store).items() if scope == "national"}
        try:
            _, signer = verify(envelope, national)
        except SignatureInvalid as e:
            raise Refusal("forged", f"{e} (a trust list must be signed by a key trusted with scope "
                                    "\"national\")") from None
        extra = set(document) - _TRUST_KEYS
        if extra:
            raise Refusal("malformed", f"trust list: unknown fields {sorted(extra)}; known: {sorted(_TRUST_KEYS)}")
        version, add, revoke = document.get("version"), document.get("add", []), document.get("revoke", [])
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise Refusal("invalid", f"trust list: version must be a positive integer, got {version!r}")
        if not isinstance(add, list) or not isinstance(revoke, list) or not (add or revoke):
            raise Refusal("invalid", "trust list: add (a list of {pem, scope, label}) and revoke (a list of "
                                     "fingerprints) must be lists, and not both empty")
        installed = self.store.get_setting(_TRUST_VERSION, 0)
        if version <= installed:
            raise Refusal("older", f"trust list version {version} is not newer than the applied version "
                                   f"{installed}; the trust list stays")
        keys = []
        for i, entry in enumerate(add):
            if not isinstance(entry, dict) or set(entry) - {"pem", "scope", "label"} or "pem" not in entry:
                raise Refusal("invalid", f"trust list: add[{i}] must be an object with pem, scope and label")
            scope, label = entry.get("scope"), entry.get("label", "")
            if not isinstance(scope, str) or not (scope in ("national", "command") or
                                                  scope.startswith(("province:", "office:"))):
                raise Refusal("invalid", f"trust list: add[{i}].scope must be national, province:CODE, "
                                         f"office:CODE or command, got {scope!r}")
            if not isinstance(label, str) or len(label) > 120:
                raise Refusal("invalid", f"trust list: add[{i}].label must be text of at most 120 characters")
            try:
                keys.append((PublicKey.from_pem(str(entry["pem"]), source=f"trust list add[{i}]"), scope, label))
            except KeyFileError as e:
                raise Refusal("invalid", str(e)) from None
        for i, fp in enumerate(revoke):
            if not isinstance(fp, str) or not fp:
                raise Refusal("invalid", f"trust list: revoke[{i}] must be a key fingerprint, got {fp!r}")
            if fp == signer.fingerprint:
                raise Refusal("refused", f"trust list revokes {fp}, the key that signed it; revoke it with a "
                                         "list signed by another national key")
        for key, scope, label in keys:
            try:
                trust_key(self.store, key, scope=scope, label=label, actor="centre")
            except KeyFileError as e:
                raise Refusal("invalid", str(e)) from None
        revoked = [fp for fp in revoke if distrust_key(self.store, fp, actor="centre")]
        self.store.set_setting(_TRUST_VERSION, version)
        self.store.audit("centre", "trust.update", str(version), key=signer.fingerprint,
                         added=[k.fingerprint for k, _, _ in keys], revoked=revoked)
        self._forget_forged()
        return f"trust v{version}: +{len(keys)} -{len(revoked)}"

    def _forget_forged(self):
        """After a trust change, documents refused as forged may verify now: handle them again when they come."""
        self.store.execute("DELETE FROM sync_documents WHERE reason = 'forged'")
        session = self.agent.session
        if session is not None:
            for topic_filter in self.filters():
                session.subscribe(topic_filter, 1)  # the broker sends the retained documents again

    # -- memory ----------------------------------------------------------------------
    def _seen(self, topic, digest) -> bool:
        return self.store.query_one("SELECT 1 FROM sync_documents WHERE topic = ? AND sha256 = ?",
                                    (topic, digest)) is not None

    def _remember(self, topic, digest, kind, outcome, reason, message):
        self.store.execute(
            "INSERT OR REPLACE INTO sync_documents(topic, sha256, kind, outcome, reason, message, handled_at) "
            "VALUES (?,?,?,?,?,?,?)", (topic, digest, kind, outcome, reason, str(message)[:1000],
                                       self.store.now_iso()))

    # -- reported state ----------------------------------------------------------------
    def applied(self) -> dict:
        """What is in force now: board, schedules and holiday lists, trust list version."""
        from pishkhan.schedule.installed import in_effect

        schedules = {}
        try:
            for doc in in_effect(self.store, province=self.province, office=self.office):
                schedules.setdefault(doc.kind, []).append(
                    {"scope": doc.document.scope.key, "version": doc.document.version,
                     "verification_code": doc.verification_code,
                     "effective_from": doc.document.effective_from.isoformat()})
        except PishkhanError as e:
            log.warning("cannot read the installed schedules for the report: %s", e)
        return {"board": self.agent.board_state(), "schedule": schedules.get("schedule", []),
                "holidays": schedules.get("holidays", []),
                "trust": {"version": self.store.get_setting(_TRUST_VERSION, 0)}}

    def report(self, refused: list | None = None) -> int:
        return self.agent.publisher.reported(self.applied(), refused)


def attach(agent) -> ConfigSync:
    """Plug config sync into *agent* (called from :func:`edge_agent.agent.run_agent`)."""
    sync = ConfigSync(agent)
    sync.attach()
    agent.config_sync = sync
    return sync


#: The name ``add_parts`` (edge_agent.agent) plugs a part in by.
register = attach
