"""Circulars, the agent's part: fetch the attachments the installed indexes name, and tell the centre.

The indexes themselves come with the other signed documents: config sync
(:mod:`edge_agent.sync`) takes ``all/circulars`` and
``province/{code}/circulars`` (retained) through the one install path
(:func:`pishkhan.circulars.installed.install_circulars`, source ``centre``),
which files each new circular as a row of ``circulars`` with its attachment
due at once. This part, every :data:`POLL_SECONDS`:

1. Fetches the attachments due (``fetched_at`` NULL, ``next_fetch_at``
   reached; urgent ones first, at most :data:`BATCH` a round) over HTTPS with
   ``requests`` from ``{update.repository or the enrolment server's origin}
   circulars/pool/<sha256>.pdf``: the centre's CA pinned (``update.ca_file``),
   no proxies from the environment, no redirects, a connect and read timeout
   and :data:`MAX_SECONDS` for the whole file, never more bytes than the index
   names. The file is kept by
   :class:`~pishkhan.circulars.files.AttachmentStore` (``.part``, fsync,
   rename; the hash and the bounds checked). A file already kept under its
   hash (another scope's circular, or a crash after the rename) is checked and
   used. Kept: ``fetched_at`` set, audited ``circular.kept``. Failed:
   ``fetch_attempts`` + 1, ``next_fetch_at`` after a backoff doubling from
   1 minute to at most 6 hours, ``last_error`` the reason code and sentence,
   audited ``circular.fetch_failed``. The downloads run on one worker thread,
   never on the agent's loop.
2. Reports, through the durable outbox, one ``circular_received`` event per
   kept circular and one ``circular_acknowledged`` per acknowledgement, with
   the detail ``{"scope": "province:23", "number": "1405/123", "sha256": "…",
   "at": "…Z"}`` (and ``"by"``, at most 60 characters, on an acknowledgement).
   Each is written with an outbox key (``circular_received:SCOPE:NUMBER``)
   and then marked ``reported_at`` in the store: a crash between the two
   writes the same key again, which the outbox refuses, so each goes out
   exactly once across restarts.

At start, ``.part`` files a power cut left behind are removed.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from pishkhan.circulars.files import AttachmentStore
from pishkhan.exc import CircularRefused
from pishkhan.store.database import iso, parse_iso

log = logging.getLogger("pishkhan.agent.circulars")

POLL_SECONDS = 5.0
#: Attachments fetched in one round.
BATCH = 5
#: The backoff after the first failure, and its ceiling (seconds).
FIRST_RETRY = 60
MAX_RETRY = 6 * 3600
#: Connect and read timeouts of one request, and the most one whole file may take (seconds).
TIMEOUT = (10, 30)
MAX_SECONDS = 600
CHUNK = 64 * 1024
MAX_BY = 60


def backoff(attempts: int) -> int:
    """Seconds to wait after the *attempts*-th failure: 60, 120, 240, … at most 6 hours."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def repository_base(*, repository: str, enrolment_server: str) -> str:
    """Where the centre's pools are: ``update.repository``, else the enrolment server's origin (``https://h:p/``);
    empty when neither is set."""
    if repository:
        return repository if repository.endswith("/") else repository + "/"
    parts = urlsplit(enrolment_server or "")
    if parts.scheme != "https" or not parts.netloc:
        return ""
    return f"https://{parts.netloc}/"


class HttpsTransport:
    """GETs a file from the centre with its CA pinned; yields the body in chunks, bounded in bytes and time."""

    def __init__(self, *, ca_file, timeout=TIMEOUT, max_seconds: float = MAX_SECONDS):
        self.ca_file = str(ca_file)
        self.timeout = timeout
        self.max_seconds = max_seconds

    def chunks(self, url: str, *, limit: int):
        """The body of *url*, at most *limit* + 1 bytes (so a longer one is seen); raises
        :exc:`~pishkhan.exc.CircularRefused` ``download_failed`` when it cannot be had."""
        import requests
        import urllib3

        started = time.monotonic()
        try:
            with requests.Session() as session:
                session.trust_env = False
                with session.get(url, verify=self.ca_file, timeout=self.timeout, stream=True,
                                 allow_redirects=False) as response:
                    if response.status_code != 200:
                        raise CircularRefused(f"the centre answered HTTP {response.status_code} for {url}",
                                              reason="download_failed")
                    got = 0
                    while chunk := response.raw.read1(CHUNK, decode_content=True):  # what came: the clock is
                        got += len(chunk)                                          # checked at every read
                        yield chunk
                        if got > limit:
                            return
                        if time.monotonic() - started > self.max_seconds:
                            raise CircularRefused(f"{url} took longer than {self.max_seconds:.0f} s",
                                                  reason="download_failed")
        except requests.exceptions.SSLError as e:
            raise CircularRefused(f"the server's certificate is not the centre's: {e}"[:300],
                                  reason="download_failed") from None
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as e:
            raise CircularRefused(f"cannot fetch {url}: {e}"[:300], reason="download_failed") from None


class Circulars:
    """The circulars part for *context* (a PartContext); *transport* fetches (default: HTTPS with the centre's
    CA pinned, from the configuration in force)."""

    def __init__(self, context, *, transport=None, files: AttachmentStore | None = None):
        self.context = context
        self.settings = context.settings
        self._transport = transport
        self.files = files or AttachmentStore(Path(self.settings.config.state_dir) / "circulars")
        self._worker: threading.Thread | None = None
        context.live(("update.repository", "update.ca_file", "enrolment.server"))

    @property
    def store(self):
        return self.context.store

    @property
    def transport(self):
        return self._transport or HttpsTransport(ca_file=self.settings.update.ca_file)

    @property
    def base(self) -> str:
        return repository_base(repository=self.settings.update.repository,
                               enrolment_server=self.settings.enrolment.server)

    def attach(self):
        removed = self.files.clean()
        if removed:
            log.info("removed %d half-written attachment(s) from %s", removed, self.files.folder)
        self.context.every(POLL_SECONDS, self.poll, first=2.0)

    def poll(self):
        """Report what is new; start fetching what is due on the worker thread (if it is not busy)."""
        self.report()
        if self._worker is not None and self._worker.is_alive():
            return
        if self.due():
            self._worker = threading.Thread(target=self._fetch_round, name="circulars-fetch", daemon=True)
            self._worker.start()

    def _fetch_round(self):
        try:
            self.fetch_due()
        except Exception:  # noqa: BLE001 — the worker logs and the next round tries again
            log.exception("fetching circulars' attachments failed")

    # -- fetching ------------------------------------------------------------------------
    def due(self, limit: int = BATCH) -> list:
        return self.store.query("SELECT * FROM circulars WHERE fetched_at IS NULL AND next_fetch_at <= ? "
                                "ORDER BY urgent DESC, received_at, number LIMIT ?", (self.store.now_iso(), limit))

    def fetch_due(self) -> dict[str, str]:
        """Fetch each attachment due now; returns ``{"scope/number": "kept" | reason}``."""
        return {f"{row['scope_key']}/{row['number']}": self.fetch(row) for row in self.due()}

    def fetch(self, row) -> str:
        """Fetch and keep one row's attachment; ``kept`` or the refusal's reason (recorded, backoff set)."""
        sha, size = row["sha256"], row["size"]
        try:
            if not (self.files.has(sha, size) and self.files.verify(sha)):
                base = self.base
                if not base:
                    raise CircularRefused("no address to fetch from: update.repository and enrolment.server are "
                                          "empty", reason="download_failed")
                url = f"{base}circulars/pool/{sha}.pdf"
                self.files.keep(sha, size, self.transport.chunks(url, limit=size))
        except CircularRefused as e:
            self._failed(row, e.reason, str(e))
            return e.reason
        except OSError as e:
            self._failed(row, "download_failed", f"cannot write the attachment: {e}")
            return "download_failed"
        now = self.store.now_iso()
        self.store.write(lambda c: c.execute(
            "UPDATE circulars SET fetched_at = ?, last_error = NULL, next_fetch_at = NULL "
            "WHERE scope_key = ? AND number = ? AND fetched_at IS NULL", (now, row["scope_key"], row["number"])))
        self.store.audit("agent", "circular.kept", f"{row['scope_key']}/{row['number']}", scope=row["scope_key"],
                         number=row["number"], sha256=sha, size=size)
        log.info("kept circular %s of %s (%s…)", row["number"], row["scope_key"], sha[:12])
        return "kept"

    def _failed(self, row, reason: str, message: str):
        attempts = row["fetch_attempts"] + 1
        later = iso(self.store.now() + dt.timedelta(seconds=backoff(attempts)))
        error = f"{reason}: {message}"[:500]
        self.store.write(lambda c: c.execute(
            "UPDATE circulars SET fetch_attempts = ?, next_fetch_at = ?, last_error = ? "
            "WHERE scope_key = ? AND number = ?", (attempts, later, error, row["scope_key"], row["number"])))
        self.store.audit("agent", "circular.fetch_failed", f"{row['scope_key']}/{row['number']}",
                         code=reason, reason=message[:500], attempts=attempts, next_fetch_at=later)
        log.warning("could not fetch circular %s of %s (%s): %s; again at %s", row["number"], row["scope_key"],
                    reason, message, later)

    # -- reporting -----------------------------------------------------------------------
    def report(self) -> int:
        """Each kept circular and each acknowledgement not reported yet, as an event; returns how many."""
        sent = 0
        publisher = self.context.publisher
        for row in self.store.query("SELECT scope_key, number, sha256, fetched_at FROM circulars "
                                    "WHERE fetched_at IS NOT NULL AND reported_at IS NULL ORDER BY fetched_at"):
            detail = {"scope": row["scope_key"], "number": row["number"], "sha256": row["sha256"],
                      "at": _wire_time(row["fetched_at"])}
            publisher.event("circular_received", at=detail["at"], detail=detail,
                            key=f"circular_received:{row['scope_key']}:{row['number']}")
            self._mark("circulars", row)
            sent += 1
        for row in self.store.query("SELECT a.scope_key, a.number, a.who, a.at, c.sha256 FROM circular_acks a "
                                    "JOIN circulars c USING (scope_key, number) WHERE a.reported_at IS NULL "
                                    "ORDER BY a.at"):
            detail = {"scope": row["scope_key"], "number": row["number"], "sha256": row["sha256"],
                      "at": _wire_time(row["at"]), "by": row["who"][:MAX_BY]}
            publisher.event("circular_acknowledged", at=detail["at"], detail=detail,
                            key=f"circular_acknowledged:{row['scope_key']}:{row['number']}")
            self._mark("circular_acks", row)
            sent += 1
        return sent

    def _mark(self, table: str, row):
        now = self.store.now_iso()
        self.store.write(lambda c: c.execute(f"UPDATE {table} SET reported_at = ? WHERE scope_key = ? AND number = ?",
                                             (now, row["scope_key"], row["number"])))


def _wire_time(text: str) -> str:
    """A stored ISO time as the wire's ``YYYY-MM-DDTHH:MM:SSZ``."""
    return parse_iso(text).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def register(context) -> Circulars:
    """Plug the circulars part in through *context* (listed in :data:`edge_agent.agent.PARTS`)."""
    part = Circulars(context)
    part.attach()
    return part
