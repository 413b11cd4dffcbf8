"""Rollouts: the records of each release the centre ships, and the controller that moves them on.

A rollout starts with :meth:`Rollouts.start`: the package goes into the pool, the
document (version *n* of its scope, ``canary_percent`` P) is signed and
published retained, and the rollout is recorded in stage ``canary``. Only the
canary devices of the scope (a stable hash of the device id, as the devices
compute it: :func:`is_canary`) start it, each inside its window.

:meth:`Rollouts.advance` is the controller's one step (``pishkhan central
release advance``, run by a timer). For each rollout in stage ``canary`` or
``promoted`` it counts the scope's devices by progress
(:mod:`central.releases.progress`): the devices *touched* (any state but
pending) and, of them, the *failures* — rolled back, failed, or gone offline
after they started and before they were healthy. Then:

1. **halt** if ``failures / touched`` is above the rollout's threshold: the next
   version of the scope's document is published with ``halted: true``
   (nobody starts the rollout any more; who rolled back stays rolled back), and
   why is recorded (reason ``failures_over_threshold``, the counts and the
   devices) — the Releases page shows it;
2. else, in stage ``canary`` once the soak has passed since the canary
   document was published, and at least half the canaries are healthy
   (:data:`PROMOTE_QUORUM`; or the scope has no canary device): **promote** — the next version with
   ``canary_percent: 100``; everyone in scope may start it in their window;
3. else, in stage ``promoted`` once a soak has passed since promotion:
   ``complete`` (nothing more is published).

``halt`` and ``promote`` are also what ops may do by hand (reason ``manual``).
A rollout published in a scope supersedes the earlier rollouts still running
there (stage ``superseded``: the scope's newer document is in force).
Every change of stage is a timestamped fact in ``rollout_log``.

Publishing goes through one small interface, :class:`Publisher`:
:class:`BrokerPublisher` (the real one, through :func:`central.publish.publish_document`)
and :class:`MemoryPublisher` (the simulator, the bench and tests: signed and
checked the same way by :func:`central.publish.prepare`, kept in memory).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import secrets
from dataclasses import dataclass

from central import codec
from central.errors import NotPublished, RolloutError
from central.releases import STAGES, document as release_document
from central.releases.pool import Pool
from pishkhan.exc import CentralError
from pishkhan.releases.installed import is_canary  # the devices' own canary rule, one for both sides

log = logging.getLogger(__name__)

#: Why a rollout halted.
HALT_REASONS = ("failures_over_threshold", "manual")
ACTIVE = ("canary", "promoted")


#: The share of a rollout's canaries that must be healthy before it is promoted: one device (its owner lying, or one
#: that ran the version already) does not send a release to the whole scope.
PROMOTE_QUORUM = 0.5


def promote_quorum(canaries: int) -> int:
    """How many healthy canaries promote a rollout of *canaries* canaries (at least one)."""
    return max(1, math.ceil(canaries * PROMOTE_QUORUM))


def iso(moment: dt.datetime) -> str:
    return release_document.iso(moment)


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- publishing ---------------------------------------------------------------------------
class Publisher:
    """Publishes one signed release document retained; returns ``{"topic", "verification_code"}``."""

    def publish(self, document: dict, *, scope: str, key, device: str | None = None) -> dict:
        raise NotImplementedError


class BrokerPublisher(Publisher):
    """Through the broker (:func:`central.publish.publish_document`, the one path of every document)."""

    def __init__(self, broker, *, trust, timeout: float = 10.0):
        self.broker, self.trust, self.timeout = broker, trust, timeout

    def publish(self, document, *, scope, key, device=None):
        from central.publish import publish_document

        done = publish_document(self.broker, "release", document, scope=scope, trust=self.trust, key=key,
                                device=device, timeout=self.timeout)
        return {"topic": done["topic"], "verification_code": done["verification_code"]}


class MemoryPublisher(Publisher):
    """Signed and checked as for the broker (:func:`central.publish.prepare`), kept in :attr:`retained`."""

    def __init__(self, *, trust, topics=None):
        from pishkhan.protocol.topics import Topics

        self.trust, self.topics = trust, topics or Topics()
        self.retained: dict[str, dict] = {}  # topic -> envelope

    def publish(self, document, *, scope, key, device=None):
        from central.publish import prepare, topic_for
        from pishkhan.boards.signing import verification_code

        topic, expected = topic_for(self.topics, "release", scope, device=device)
        envelope = prepare("release", document, key=key, expected_scope=expected, trust=self.trust)
        self.retained[topic] = envelope
        return {"topic": topic, "verification_code": verification_code(envelope)}


# -- records ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rollout:
    """One rollout as recorded."""

    rollout: str
    scope_key: str
    topics: tuple[str, ...]
    sha256: str
    package_version: str
    architecture: str
    stage: str
    stage_since: str
    canary_percent: float
    soak_seconds: int
    halt_threshold: float
    doc_version: int
    document_code: str
    document: dict
    created_at: str
    halted_reason: str
    halted_detail: str

    @classmethod
    def of_row(cls, row: dict) -> "Rollout":
        topics = codec.loads(row["topic"]) if row["topic"].startswith("[") else [row["topic"]]
        return cls(rollout=row["rollout"], scope_key=row["scope_key"], topics=tuple(topics), sha256=row["sha256"],
                   package_version=row["package_version"], architecture=row["architecture"], stage=row["stage"],
                   stage_since=row["stage_since"], canary_percent=float(row["canary_percent"]),
                   soak_seconds=int(row["soak_seconds"]), halt_threshold=float(row["halt_threshold"]),
                   doc_version=int(row["doc_version"]), document_code=row["document_code"],
                   document=codec.loads(row["document"]), created_at=row["created_at"],
                   halted_reason=row["halted_reason"], halted_detail=row["halted_detail"])

    def to_json(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "document"}
        out["topics"] = list(self.topics)
        return out


@dataclass(frozen=True)
class Decision:
    """What one controller step did with one rollout: ``action`` (halted, promoted, completed, waiting)."""

    rollout: str
    action: str
    reason: str
    detail: dict


class Rollouts:
    """The rollouts in the fleet database *db*, published through *publisher*.

    :param pool: the package pool (only :meth:`start` needs it).
    :param clock: a function returning the current aware time (tests and the bench move it).
    """

    def __init__(self, db, *, publisher: Publisher | None = None, pool: Pool | None = None, clock=None,
                 issuer: str = "مرکز پیشخوان / Pishkhan centre"):
        self.db, self.publisher, self.pool = db, publisher, pool
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.issuer = issuer

    # -- reading --
    def get(self, rollout: str) -> Rollout:
        row = self.db.query_one("SELECT * FROM rollouts WHERE rollout = ?", (rollout,))
        if row is None:
            raise RolloutError(f"no rollout {rollout!r} (pishkhan central release status lists them)",
                               reason="unknown_rollout")
        return Rollout.of_row(row)

    def list(self) -> list[Rollout]:
        return [Rollout.of_row(r) for r in self.db.query("SELECT * FROM rollouts ORDER BY created_at DESC, rollout")]

    def log(self, rollout: str) -> list[dict]:
        return self.db.query("SELECT at, action, reason, detail FROM rollout_log WHERE rollout = ? ORDER BY id",
                             (rollout,))

    # -- acting --
    def start(self, package_file, *, scope: str, key, canary_percent: float = 5.0, window=("22:00", "05:00"),
              not_before: dt.datetime | None = None, expires_days: float = 14, min_from: str = "0",
              urgent: bool = False, rollback: bool = False, soak_seconds: int = 7200,
              halt_threshold: float = 10.0, device: str | None = None) -> Rollout:
        """Pool the package, publish its release document (stage ``canary``) and record the rollout."""
        now = self.clock()
        if not 0 < expires_days <= 90:
            raise RolloutError("--expires-days: more than 0 and at most 90", reason="bad_option")
        if not 0 <= halt_threshold <= 100:
            raise RolloutError("--halt-threshold: 0% to 100%", reason="bad_option")
        package = self.pool.add(package_file, now=now)
        self.db.write(lambda c: c.execute(
            "INSERT INTO pool_packages(sha256, name, version, architecture, size, added_at) VALUES (?,?,?,?,?,?) "
            "ON CONFLICT (sha256) DO NOTHING",
            (package.sha256, package.name, package.version, package.architecture, package.size, package.added_at)))
        rollout_id = f"R-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        begin = not_before or now
        targets = self._targets(scope, device)

        def record(c):
            self._lock_scope(c, scope)
            document = release_document.build(
                issuer=self.issuer, version=self._version_in(c, scope), scope=scope, rollout=rollout_id,
                package=package, not_before=begin, expires=begin + dt.timedelta(days=expires_days),
                window=tuple(window), canary_percent=canary_percent, min_from=min_from, rollback=rollback,
                urgent=urgent)
            published = self._publish(document, scope=scope, key=key, devices=targets)
            for (old,) in c.execute("SELECT rollout FROM rollouts WHERE scope_key = ? AND stage IN ('canary', "
                                    "'promoted')", (scope,)).fetchall():
                c.execute("UPDATE rollouts SET stage = 'superseded', stage_since = ? WHERE rollout = ?",
                          (iso(now), old))
                _fact(c, old, now, "superseded", "", {"by": rollout_id})
            c.execute("INSERT INTO rollouts(rollout, scope_key, topic, sha256, package_version, architecture, stage, "
                      "stage_since, canary_percent, soak_seconds, halt_threshold, doc_version, document_code, "
                      "document, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      (rollout_id, scope, codec.dumps(published["topics"]), package.sha256, package.version,
                       package.architecture, "canary", iso(now), canary_percent, int(soak_seconds),
                       halt_threshold, document["version"], published["code"], codec.dumps(document), iso(now)))
            _fact(c, rollout_id, now, "published", "", {"version": document["version"],
                                                        "canary_percent": canary_percent,
                                                        "package": package.version, "sha256": package.sha256,
                                                        "topics": published["topics"]})
        self.db.write(record)
        return self.get(rollout_id)

    def halt(self, rollout: str, *, key, reason: str = "manual", detail: dict | None = None) -> Rollout:
        """Publish the rollout's next document with ``halted: true`` and record why."""
        assert reason in HALT_REASONS, reason
        r = self._active(rollout)
        return self._republish(r, key=key, stage="halted", changes={"halted": True}, reason=reason,
                               detail=detail or {"message": "halted by ops"})

    def promote(self, rollout: str, *, key, reason: str = "manual", detail: dict | None = None) -> Rollout:
        """Publish the rollout's next document with ``canary_percent: 100``."""
        r = self._active(rollout)
        if r.stage != "canary":
            raise RolloutError(f"rollout {rollout} is {r.stage}; only a canary rollout is promoted",
                               reason="not_active")
        return self._republish(r, key=key, stage="promoted", changes={"canary_percent": 100}, reason=reason,
                               detail=detail or {"message": "promoted by ops"})

    def advance(self, *, key) -> list[Decision]:
        """One controller step over every running rollout (see the module's docstring)."""
        from central.releases.progress import rollout_progress

        now = self.clock()
        decisions = []
        for row in self.db.query("SELECT * FROM rollouts WHERE stage IN ('canary', 'promoted') ORDER BY created_at"):
            try:
                r = Rollout.of_row(row)
            except Exception as e:  # noqa: BLE001 — one unreadable record must not stop the others
                log.error("rollout %r cannot be read, left as it is: %s", str(row.get("rollout"))[:40], e)
                continue
            p = rollout_progress(self.db, r)
            counts = {"touched": p.touched, "failures": p.failures, "by_state": p.by_state, "offline": p.offline,
                      "in_scope": p.in_scope, "canaries": p.canaries, "threshold_percent": r.halt_threshold}
            soaked = now >= parse_iso(r.stage_since) + dt.timedelta(seconds=r.soak_seconds)
            try:
                decisions.append(self._step(r, p, counts, soaked, now, key=key))
            except RolloutError as e:  # another controller or ops moved it meanwhile: the next step sees it
                decisions.append(Decision(r.rollout, "waiting", "changed_meanwhile", counts | {"message": str(e)}))
        return decisions

    def _step(self, r: Rollout, p, counts: dict, soaked: bool, now, *, key) -> Decision:
        """The controller's decision about one rollout, carried out."""
        if p.touched and p.failures * 100 > r.halt_threshold * p.touched:
            detail = counts | {"message": f"{p.failures} of {p.touched} updated devices rolled back, failed or "
                                          f"went offline ({p.failures * 100 / p.touched:.1f}% > "
                                          f"{r.halt_threshold:g}%)",
                               "devices": p.failed_devices[:20]}
            self._republish(r, key=key, stage="halted", changes={"halted": True},
                            reason="failures_over_threshold", detail=detail)
            return Decision(r.rollout, "halted", "failures_over_threshold", detail)
        if r.stage == "canary" and soaked and (p.by_state.get("healthy", 0) >= promote_quorum(p.canaries)
                                               or not p.canaries):
            detail = counts | {"message": f"soaked {r.soak_seconds} s: {p.by_state.get('healthy', 0)} healthy, "
                                          f"{p.failures} failures of {p.touched}"}
            self._republish(r, key=key, stage="promoted", changes={"canary_percent": 100}, reason="soaked",
                            detail=detail)
            return Decision(r.rollout, "promoted", "soaked", detail)
        if r.stage == "promoted" and soaked:
            def complete(c):  # only as still promoted at this version: a halt meanwhile stands
                c.execute("UPDATE rollouts SET stage = 'complete', stage_since = ? WHERE rollout = ? AND "
                          "stage = 'promoted' AND doc_version = ?", (iso(now), r.rollout, r.doc_version))
                if c.rowcount != 1:
                    raise RolloutError(f"rollout {r.rollout} changed meanwhile", reason="not_active")
                _fact(c, r.rollout, now, "complete", "soaked", counts)
            self.db.write(complete)
            return Decision(r.rollout, "completed", "soaked", counts)
        return Decision(r.rollout, "waiting", "soaking" if not soaked else "no_healthy_canary", counts)

    # -- inside --
    def _active(self, rollout: str) -> Rollout:
        r = self.get(rollout)
        if r.stage not in ACTIVE:
            raise RolloutError(f"rollout {rollout} is {r.stage}, not running", reason="not_active")
        return r

    def _lock_scope(self, c, scope: str) -> None:
        """Hold *scope* until the transaction ends: whatever publishes the scope's next document (a new rollout, a
        halt, a promotion) does so one at a time (SQLite's BEGIN IMMEDIATE already queues every writer)."""
        if self.db.dialect == "%s":
            c.execute("SELECT pg_advisory_xact_lock(?)", (int(hashlib.sha256(scope.encode()).hexdigest()[:15], 16),))

    @staticmethod
    def _version_in(c, scope: str) -> int:
        """The scope's next document version, read inside the transaction *c*."""
        top = c.execute("SELECT MAX(doc_version) FROM rollouts WHERE scope_key = ?", (scope,)).fetchone()
        official = c.execute("SELECT MAX(version) FROM official WHERE kind = 'release' AND scope_key = ?",
                             (scope,)).fetchone()
        return max(int(top[0] or 0), int(official[0] or 0)) + 1

    def _targets(self, scope: str, device: str | None) -> list:
        """The devices whose own topics a *scope* document goes to ([None]: the scope's shared topic)."""
        if self.publisher is None:
            raise CentralError("no publisher: give the broker (--broker …)")
        level, _, value = scope.partition(":")
        devices = [device] if device else [None]
        if level == "office" and not device:  # an office is reached through its devices' own topics
            from central.releases.progress import scope_devices

            devices = scope_devices(self.db, scope)
            if not devices:
                raise RolloutError(f"office {value} has no registered device to publish to", reason="no_device")
        return devices

    def _publish(self, document: dict, *, scope: str, key, devices: list) -> dict:
        """Publish *document* to the topics of *devices* (:meth:`_targets`); ``{"topics", "code"}``."""
        topics, code = [], ""
        for d in devices:
            done = self.publisher.publish(document, scope=scope, key=key, device=d)
            topics.append(done["topic"])
            code = done["verification_code"]
        return {"topics": topics, "code": code}

    def _republish(self, r: Rollout, *, key, stage: str, changes: dict, reason: str, detail: dict) -> Rollout:
        """Publish and record *r*'s next document, holding the rollout's row from reading it to recording: a second
        controller or ops acting on the same rollout at once waits, then finds it changed (``not_active``) —
        never two documents of one version, never a record saying other than the retained document."""
        now = self.clock()

        def locked(c):
            self._lock_scope(c, r.scope_key)
            c.execute("SELECT stage, doc_version FROM rollouts WHERE rollout = ?"
                      + (" FOR UPDATE" if self.db.dialect == "%s" else ""), (r.rollout,))
            current = c.fetchone()
            if current is None or (current[0], int(current[1])) != (r.stage, r.doc_version):
                raise RolloutError(f"rollout {r.rollout} changed meanwhile (another controller or ops); nothing "
                                   "published", reason="not_active")
            document = dict(r.document, version=self._version_in(c, r.scope_key), **changes)
            release_document.check(document)
            level, _, value = r.scope_key.partition(":")
            devices = [t.split("/")[-2] for t in r.topics] if level == "office" else [None]
            topics, code = [], ""
            for d in devices:
                done = self.publisher.publish(document, scope=r.scope_key, key=key, device=d)
                topics.append(done["topic"])
                code = done["verification_code"]
            record(c, document, topics, code)

        def record(c, document, topics, code):
            c.execute("UPDATE rollouts SET stage = ?, stage_since = ?, doc_version = ?, document_code = ?, "
                      "document = ?, halted_reason = ?, halted_detail = ? WHERE rollout = ?",
                      (stage, iso(now), document["version"], code, codec.dumps(document),
                       reason if stage == "halted" else r.halted_reason,
                       codec.dumps(detail) if stage == "halted" else r.halted_detail, r.rollout))
            _fact(c, r.rollout, now, stage, reason, detail | {"version": document["version"], "topics": topics})
        self.db.write(locked)
        return self.get(r.rollout)


def _fact(c, rollout: str, now: dt.datetime, action: str, reason: str, detail: dict):
    c.execute("INSERT INTO rollout_log(rollout, at, action, reason, detail) VALUES (?,?,?,?,?)",
              (rollout, iso(now), action, reason, json.dumps(detail, ensure_ascii=False, default=str)))


__all__ = ["Rollouts", "Rollout", "Decision", "RolloutError", "Publisher", "BrokerPublisher", "MemoryPublisher",
           "is_canary", "HALT_REASONS", "STAGES", "NotPublished"]
