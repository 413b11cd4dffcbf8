"""Fleet updates, the agent's part: decide when to ask for an update, and tell the centre how it goes.

The agent never installs anything (it is not root). Every minute, and within
:data:`POLL_SECONDS` of a release document being installed (config sync puts
it through the one install path), it takes the release document in force for
this device (:func:`pishkhan.releases.installed.in_force`: device > office >
province > national, not expired) and decides
(:func:`pishkhan.releases.decide`: up to date, halted, downgrade or too old,
rolled back here before, not a canary, the office's signed working hours,
the release's window). When it may start, it writes the request file
(``update.request``; atomically, mode 0640) once per document::

    {"envelope": <the signed envelope as installed>, "requested_at": "…Z", "device_id": "…"}

``pishkhan-update.path`` sees it and the root updater verifies everything
again itself (``pishkhan update verify``): nothing in the file is trusted.
Which document was requested is remembered in the store (setting
``update.requested``, audit ``update.requested``), so a restart does not ask
twice; a newer document asks again. An attempt that failed for a passing
cause (:data:`RETRY_REASONS`: the download, a power cut) is asked for again
after :data:`RETRY_SECONDS`, at most :data:`MAX_REQUESTS` times per document.

It tails the updater's journal (``update.journal``, SQLite, opened
read-only) every :data:`POLL_SECONDS`: each new row becomes an ``update``
event through the outbox (so nothing is lost offline; keyed by the row, so a
crash cannot send it twice), and the last row sent is remembered (setting
``update.journal_id``). Whenever what it would report changes, it sends a
``reported`` message whose ``applied`` holds ``release`` only
(``rollout``, ``document_code``, ``scope``, ``package_version``, ``state``,
``reason``, ``running_version``); telemetry carries the group ``update``
(``software_version``, ``update_state``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
from pathlib import Path

from pishkhan.releases import decide, running_version
from pishkhan.releases.installed import generation, in_force
from pishkhan.store.database import iso
from pishkhan.store.files import write_whole
from pishkhan.text.safety import terminal_safe

log = logging.getLogger("pishkhan.agent.updates")

#: How often the journal and the installed release documents are looked at (seconds).
POLL_SECONDS = 2.0
#: How often the decision is taken again without news (seconds).
DECIDE_SECONDS = 60.0
#: Journal rows read per poll.
BATCH = 100
MAX_DETAIL = 2000
#: A journal step -> the state reported.
STEP_STATES = {"requested": "requested", "refused": "refused", "downloading": "downloading",
               "downloaded": "downloading", "kept": "downloading", "installing": "installing",
               "installed": "installed", "healthy": "healthy", "unhealthy": "installing",
               "rolling_back": "installing", "rolled_back": "rolled_back", "failed": "failed",
               "recovered": "installed"}
REQUESTED_SETTING = "update.requested"
#: A request whose attempt failed for one of these reasons is made again after :data:`RETRY_SECONDS`, at most
#: :data:`MAX_REQUESTS` times per document (a new document starts again).
#: (The window's reasons: the updater judges the window again, and the two clocks may differ at its edge.)
RETRY_REASONS = ("download_failed", "interrupted", "in_hours", "outside_window", "not_yet")
RETRY_SECONDS = 1800
MAX_REQUESTS = 3
JOURNAL_SETTING = "update.journal_id"


class Journal:
    """The updater's journal, read-only (another user's file; ``journal_mode=DELETE`` lets us read it)."""

    COLUMNS = ("id", "at", "attempt", "rollout", "document_code", "from_version", "to_version", "step", "reason",
               "detail")

    def __init__(self, path):
        self.path = Path(path)

    def _query(self, sql: str, params=()) -> list[dict]:
        if not self.path.is_file():
            return []
        conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True, timeout=2)
        try:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(sql, params).fetchall()]
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                return []
            raise
        finally:
            conn.close()

    def after(self, row_id: int, limit: int = BATCH) -> list[dict]:
        return self._query(f"SELECT {', '.join(self.COLUMNS)} FROM update_steps WHERE id > ? ORDER BY id LIMIT ?",
                           (row_id, limit))

    def last_id(self) -> int:
        rows = self._query("SELECT MAX(id) AS n FROM update_steps")
        return (rows[0]["n"] or 0) if rows else 0

    def latest_for(self, document_code: str) -> dict | None:
        rows = self._query(f"SELECT {', '.join(self.COLUMNS)} FROM update_steps WHERE document_code = ? "
                           "ORDER BY id DESC LIMIT 1", (document_code,))
        return rows[0] if rows else None

    def kept(self) -> set[str]:
        """Package versions the updater kept (the way back of an update; the running version's after a
        document naming it)."""
        return {r["to_version"] for r in self._query(
            "SELECT DISTINCT to_version FROM update_steps WHERE step = 'kept' AND to_version != ''")}

    def rolled_back(self) -> set[str]:
        """Package versions this device rolled back for a verdict on them (unhealthy, dpkg failed; not a power cut
        alone): the target of such an attempt with a ``rolled_back`` row (read from that attempt's forward steps,
        whichever way the rollback row itself names its versions)."""
        return {r["to_version"] for r in self._query(
            "SELECT DISTINCT to_version FROM update_steps WHERE step IN ('requested', 'downloading', 'downloaded', "
            "'kept', 'installing', 'installed', 'healthy', 'unhealthy') AND to_version != '' AND attempt IN "
            "(SELECT attempt FROM update_steps WHERE step = 'rolled_back') AND attempt IN (SELECT attempt FROM "
            "update_steps WHERE step = 'unhealthy' OR reason IN ('unhealthy', 'install_failed'))")}


def event_detail(row: dict) -> dict:
    """A journal row as an ``update`` event's detail: bounded, and every control or bidi character of a log's tail
    (a tab, an escape) written out (``\\x09``), which the wire refuses as it is."""
    detail = {k: terminal_safe(str(row[k] or ""))[:300] for k in ("step", "rollout", "document_code", "from_version",
                                                                  "to_version", "reason", "attempt")}
    detail["detail"] = terminal_safe(str(row["detail"] or ""))[:MAX_DETAIL]
    return detail


def write_request(path, envelope: dict, *, device_id: str, now: str) -> Path:
    """The request file at *path*, written whole (a power cut leaves the old one or the new), mode 0640."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"envelope": envelope, "requested_at": now, "device_id": device_id},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def write(f):
        os.fchmod(f.fileno(), 0o640)
        f.write(data)
    return write_whole(path, write)


class Updates:
    """The updates part for *context* (a PartContext). *hours*: the office's hours (default: from the store and the
    configuration in force: the signed schedule)."""

    def __init__(self, context, *, hours=None):
        self.context = context
        self.settings = context.settings
        self._hours = hours
        self._generation = None
        self._reported = None
        self.state: dict | None = None
        context.live(("update.*",))

    @property
    def store(self):
        return self.context.store

    @property
    def journal(self) -> Journal:
        return Journal(self.settings.update.journal)

    def hours(self):
        if self._hours is not None:
            return self._hours
        from pishkhan.schedule.hours import hours_from_config

        return hours_from_config(self.settings.config, store=self.store)

    def attach(self):
        self.context.every(POLL_SECONDS, self.poll, first=1.0)
        self.context.every(DECIDE_SECONDS, self.tick, first=DECIDE_SECONDS)
        self.context.add_telemetry_part("update", self.telemetry)

    # -- every few seconds ---------------------------------------------------------------
    def poll(self):
        """Send the journal's new rows; decide again when a release document was installed meanwhile."""
        sent = self.tail()
        now = generation(self.store)
        if now != self._generation or sent:
            self._generation = now
            self.tick()

    def tail(self) -> int:
        """Each journal row not sent yet, as an ``update`` event; returns how many."""
        last = self.store.get_setting(JOURNAL_SETTING, 0)
        try:
            rows = self.journal.after(last)
            if not rows and last and self.journal.last_id() < last:  # the journal was made anew
                self.store.set_setting(JOURNAL_SETTING, 0)
                rows = self.journal.after(0)
        except sqlite3.Error as e:
            log.warning("cannot read the updater's journal %s: %s", self.settings.update.journal, e)
            return 0
        for row in rows:
            detail = event_detail(row)
            self.context.publisher.event("update", at=row["at"], detail=detail,
                                         key=f"update:{row['attempt']}:{row['id']}")
            self.store.set_setting(JOURNAL_SETTING, row["id"])
        return len(rows)

    # -- every minute ------------------------------------------------------------------------
    def tick(self) -> dict | None:
        """Decide about the release document in force; ask for the update when it may start; report."""
        cfg = self.settings
        store = self.store
        now = store.now()
        doc = in_force(store, device=self.context.device_id, office=cfg.office.office_id,
                       province=cfg.office.province, now=now)
        running = running_version()
        if doc is None:
            return self._report(None)
        journal = self.journal
        try:
            failed, kept, last = journal.rolled_back(), journal.kept(), journal.latest_for(doc.verification_code)
        except sqlite3.Error as e:
            log.warning("cannot read the updater's journal: %s", e)
            failed, kept, last = set(), None, None
        decision = decide(now, doc.release, device_id=self.context.device_id, running=running, hours=self.hours(),
                          guard_minutes=cfg.update.guard_minutes, failed_versions=failed, kept_versions=kept)
        state, reason = decision.state, decision.reason
        if decision.start:
            state, reason = "requested", ""
            if self._should_request(doc, last, now):
                self.request(doc)
                last = None  # the new request's rows are to come
        if last is not None:
            state, reason = STEP_STATES.get(last["step"], state), last["reason"] or reason
        return self._report({"rollout": doc.release.rollout, "document_code": doc.verification_code,
                             "scope": doc.release.scope.key, "package_version": doc.release.package.version,
                             "state": state, "reason": reason, "running_version": running})

    def _should_request(self, doc, last, now) -> bool:
        """Not asked for *doc* yet; or asked, and the attempt answering that request failed for a reason worth
        another try, the request long enough ago, fewer than :data:`MAX_REQUESTS` times."""
        asked = self.store.get_setting(REQUESTED_SETTING) or {}
        if not isinstance(asked, dict) or asked.get("code") != doc.verification_code:
            return True
        if last is None or last["step"] not in ("failed", "refused", "rolled_back") or \
                last["reason"] not in RETRY_REASONS:
            return False
        from pishkhan.store.database import parse_iso

        try:
            asked_at = parse_iso(asked["at"])
            failed_at = dt.datetime.fromisoformat(str(last["at"]).replace("Z", "+00:00"))
        except (KeyError, TypeError, ValueError):
            return False
        if failed_at.tzinfo is None or failed_at < asked_at:
            return False  # that failure answered an earlier request; this one is not answered yet
        return (now - asked_at).total_seconds() >= RETRY_SECONDS and asked.get("count", 1) < MAX_REQUESTS

    def request(self, doc):
        """Write the request file for *doc* and remember it."""
        path = self.settings.update.request
        try:
            write_request(path, doc.envelope, device_id=self.context.device_id, now=self.store.now_iso())
        except OSError as e:
            log.error("cannot write the update request %s: %s", path, e)
            return
        asked = self.store.get_setting(REQUESTED_SETTING) or {}
        count = asked.get("count", 0) + 1 if isinstance(asked, dict) and asked.get("code") == doc.verification_code \
            else 1
        self.store.set_setting(REQUESTED_SETTING, {"code": doc.verification_code, "at": self.store.now_iso(),
                                                   "count": count})
        self.store.audit("agent", "update.requested", doc.release.rollout, document_code=doc.verification_code,
                         package_version=doc.release.package.version, scope=doc.release.scope.key)
        log.info("asked for the update to %s (rollout %s)", doc.release.package.version, doc.release.rollout)

    def _report(self, release: dict | None) -> dict | None:
        self.state = release
        if release != self._reported:
            self._reported = release
            self.context.publisher.reported({"release": release})
        return release

    def telemetry(self) -> dict:
        return {"software_version": running_version(),
                "update_state": self.state["state"] if self.state else None}


def register(context) -> Updates:
    """Plug the updates part in through *context* (listed in :data:`edge_agent.agent.PARTS`)."""
    part = Updates(context)
    part.attach()
    return part
