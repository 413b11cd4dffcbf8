"""Config sync: signed documents from the centre, installed through the one install path.

The agent subscribes to the documents of its three scopes (all retained by
the broker, see docs/mqtt.md): ``all/{board,schedule,holidays,trust,release,circulars}``,
``province/{code}/{board,schedule,holidays,release,circulars}`` and
``dev/{id}/{board,schedule,settings,release}``. Each message, in this order:

1. An empty payload (a retained document cleared) is ignored.
2. If this topic already carried these exact bytes (SHA-256, kept in the
   store's ``sync_documents``), it is ignored: a retained document comes
   again on every reconnect and after every restart, and a replayed copy is
   the same bytes. It was applied or refused, and reported, the first time.
3. The payload is parsed with the strict loader
   (:func:`pishkhan.boards.jsonlimits.load_json`, source ``mqtt:TOPIC``), so
   every size, depth, duplicate-key and number check applies.
4. The document's own scope must be the topic's: national on ``all/``, the
   province on ``province/{code}/``, this office on ``dev/{id}/`` (a release
   document there may instead name this device); its kind (``format``) must
   be the topic's kind.
5. Boards, schedules, holiday lists, release documents
   (:func:`~pishkhan.releases.installed.install_release`; a device's own
   document must name this device), circulars indexes
   (:func:`~pishkhan.circulars.installed.install_circulars`; their
   attachments are fetched by :mod:`edge_agent.circulars`) and trust lists (``pishkhan.trust/1`` on
   ``all/trust`` only) go to the one install path,
   :func:`~pishkhan.boards.install.install_signed` (through
   :func:`~pishkhan.boards.installed.install_board`,
   :func:`~pishkhan.schedule.installed.install_schedule` and
   :func:`~pishkhan.boards.trustlist.install_trust_list`; source ``centre``,
   actor ``centre``): signature, schema, key scope, province and office,
   version bounds and step, replays — all checked there, stored, audited. A
   document refused as ``replayed`` (its exact signed bytes are installed
   already, from a USB stick or before a crash) counts as applied. A trust
   list must be signed by a key trusted with scope ``national``; it adds and
   revokes keys (see :mod:`pishkhan.boards.trustlist`).
6. Settings documents are refused, all of them (reason ``not_accepted``):
   the device's settings live in its configuration file, which the centre
   does not change remotely (docs/mqtt.md says why).

Every refusal is audited (``sync.refused``, besides the install path's own
``board.refused``/``schedule.refused``/``trust.refused``). Then one
``reported`` message: what is applied now (the effective board, the
schedules and holiday lists in effect, the trust list's version) and, for a
refusal, ``refused`` with the kind, topic, reason code and message. The
reason is the :attr:`~pishkhan.exc.Refused.reason` of the refusal, a code of
:data:`pishkhan.exc.REASONS`; no message text is read.
"""

from __future__ import annotations

import hashlib
import logging

from pishkhan.boards.document import scope_key_of
from pishkhan.boards.jsonlimits import load_json
from pishkhan.boards.trustlist import FORMAT as TRUST_FORMAT, VERSION_SETTING as _TRUST_VERSION
from pishkhan.circulars.document import FORMAT as CIRCULARS_FORMAT
from pishkhan.releases.document import FORMAT as RELEASE_FORMAT
from pishkhan.exc import PishkhanError, ProtocolError, Refused
from pishkhan.protocol.topics import DEVICE_DOCUMENTS

log = logging.getLogger("pishkhan.agent.sync")

SETTINGS_FORMAT = "pishkhan.settings/1"
#: Which document format each topic kind carries.
FORMATS = {"board": "pishkhan.board/1", "schedule": "pishkhan.schedule/1", "holidays": "pishkhan.holidays/1",
           "trust": TRUST_FORMAT, "settings": SETTINGS_FORMAT, "release": RELEASE_FORMAT,
           "circulars": CIRCULARS_FORMAT}
#: Settings read when used; a new province or office is subscribed to and reported at once.
LIVE = ("office.province", "office.office_id")


class ConfigSync:
    """Installs the centre's documents for the office of *context* (a PartContext) and reports what is in force."""

    def __init__(self, context):
        self.context = context
        self.settings = context.settings
        context.live(LIVE, on_change=self.reloaded)

    @property
    def store(self):
        return self.context.store

    @property
    def province(self) -> str:
        return self.settings.office.province

    @property
    def office(self) -> str:
        return self.settings.office.office_id

    def filters(self, province: str | None = None) -> list[str]:
        """The filters of this office's documents (of *province*, default the one in force)."""
        province = self.province if province is None else province
        topics, root = self.context.topics, self.context.topics.root
        found = [topics.device_document(self.context.device_id, kind) for kind in DEVICE_DOCUMENTS]
        found.append(f"{root}/all/#")
        if province:
            found.append(f"{root}/province/{province}/#")
        return found

    def attach(self):
        for topic_filter in self.filters():
            self.context.subscribe(topic_filter, self.handle)

    def reloaded(self, changed: set, old):
        """After a reload: the new province's documents subscribed instead of the old one's; the state reported."""
        if not changed & set(LIVE):
            return
        before, now = self.filters(old.office.province), self.filters()
        for topic_filter in before:
            if topic_filter not in now:
                self.context.unsubscribe(topic_filter, self.handle)
        for topic_filter in now:
            if topic_filter not in before:
                self.context.subscribe(topic_filter, self.handle)  # the broker sends its retained documents
        self.report()

    # -- one message ---------------------------------------------------------------
    def handle(self, topic: str, payload: bytes, retained: bool = False) -> str | None:
        """Apply or refuse one document; returns ``applied``, ``refused``, or None when ignored."""
        if not payload:
            return None
        try:
            info = self.context.topics.parse(topic)
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
        except Refused as refusal:
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
        envelope = load_json(payload, source=f"mqtt:{topic}")
        if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
            raise Refused("a document is a signed envelope: an object with format, payload and signature",
                          reason="malformed")
        document = envelope["payload"]
        expected = FORMATS[info.kind]
        if document.get("format") != expected:
            raise Refused(f"topic {topic} carries {expected} documents, this one is {document.get('format')!r}",
                          reason="wrong_scope")
        if info.kind == "settings":
            raise Refused("this device takes no settings from the network: its settings are in its "
                          "configuration file (see docs/mqtt.md, Settings documents)", reason="not_accepted")
        if info.kind == "trust":
            from pishkhan.boards.trustlist import install_trust_list

            done = install_trust_list(self.store, envelope, source="centre", actor="centre")
            self._forget_forged()
            return str(done)
        self._check_scope(topic, info, document)
        try:
            if info.kind == "release":
                from pishkhan.releases.installed import install_release

                done = install_release(self.store, envelope, source="centre", actor="centre", province=self.province,
                                       office=self.office, device=self.context.device_id)
                r = done.release
                return f"release {r.scope.key} v{r.version} {r.package.version} {done.verification_code}"
            if info.kind == "circulars":
                from pishkhan.circulars.installed import install_circulars

                done = install_circulars(self.store, envelope, source="centre", actor="centre",
                                         province=self.province, office=self.office)
                return f"circulars {done.index.scope.key} v{done.index.version} {done.verification_code}"
            if info.kind == "board":
                from pishkhan.boards.installed import install_board

                done = install_board(self.store, envelope, source="centre", actor="centre",
                                     province=self.province, office=self.office)
                return f"board {done.board.scope.key} v{done.board.version} {done.verification_code}"
            from pishkhan.schedule.installed import install_schedule

            done = install_schedule(self.store, envelope, source="centre", actor="centre",
                                    province=self.province, office=self.office)
            return f"{done.kind} {done.document.scope.key} v{done.document.version} {done.verification_code}"
        except Refused as e:
            if e.reason == "replayed":
                return f"{info.kind} already installed (the same signed document)"
            raise

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
            if info.kind == "release" and scope.startswith("device:"):
                wanted = f"device:{self.context.device_id}"  # a device's own release document, on its own topic
        if scope != wanted:
            raise Refused(f"topic {topic} carries {wanted} documents, this one is for {scope}", reason="wrong_scope")

    # -- trust lists ---------------------------------------------------------------
    def _forget_forged(self):
        """After a trust change, documents refused for their key may verify now: handle them again when they come."""
        self.store.execute("DELETE FROM sync_documents WHERE reason IN ('forged', 'untrusted_key')")
        session = self.context.session
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
        return {"board": self.context.board_state(), "schedule": schedules.get("schedule", []),
                "holidays": schedules.get("holidays", []),
                "trust": {"version": self.store.get_setting(_TRUST_VERSION, 0)}}

    def report(self, refused: list | None = None) -> int:
        return self.context.publisher.reported(self.applied(), refused)


def register(context) -> ConfigSync:
    """Plug config sync in through *context* (listed in :data:`edge_agent.agent.PARTS`)."""
    sync = ConfigSync(context)
    sync.attach()
    return sync
