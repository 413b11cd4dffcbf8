"""``pishkhan-update run``: take the agent's request and carry it through, every step a journal row.

requested → (verify) refused | downloading → downloaded → kept → installing → installed → healthy
                                                                        ↘ unhealthy → rolling_back → rolled_back
A document for the running version stops at ``kept`` (its package is kept as the way back). Refusals
(``refused``) leave the device as it was: verify's own reasons, ``no_rollback_package``, ``wrong_hash``,
``download_failed``. dpkg failing is ``install_failed`` and rolls back; a rollback that cannot finish is
``failed``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from updater.attempt import Attempt, Clock, failure_detail
from updater.download import Downloader
from updater.journal import Journal
from updater.kept import Kept, sync_dir
from updater.killswitch import KillSwitch
from updater.release import Refusal, Release, labels
from updater.settings import Settings
from updater.verify import VerifierBroken

REQUEST_MAX = 1 << 20
KEEP_REQUESTS = 20
#: Exit codes of ``run``.
DONE, FAILED, USAGE, REFUSED, ROLLED_BACK, BUSY = 0, 1, 2, 3, 4, 75


@dataclass
class Parts:
    """The updater's parts, each a small interface with a real and a fake implementation."""

    verifier: object      # .verify(request: Path) -> Release
    transport: object     # .open(url) -> stream
    packages: object      # .install(deb) -> Done, .state() -> PackageState, .configure_pending(), .fields(deb)
    health: object        # .check(since=, version=, services=) -> Health
    services: object      # .restart_enabled() -> list[str]
    logs: object          # .tail(since=) -> str
    clock: object = Clock


def running_version(settings: Settings, packages) -> str:
    """The installed package's version: the VERSION file the package lays, else dpkg's."""
    try:
        text = settings.version_file.read_text(encoding="utf-8").strip()
        if text:
            return text.splitlines()[0].strip()
    except OSError:
        pass
    return packages.state().version


def take_request(request: Path, *, into: Path, name: str) -> Path | None:
    """Copy the request file into the updater's own folder and delete it; the copy (None: no request).

    The request is in a folder the agent owns: a symlink or anything but a small regular file is deleted and
    refused (``malformed``), never followed. The copy is 0644: verify reads it as the store's owner, and
    it holds nothing secret (a published release document and the device's id).
    """
    try:
        fd = os.open(request, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            request.unlink(missing_ok=True)
            raise Refusal(f"{request} is a symbolic link; deleted, not followed", reason="malformed") from None
        raise Refusal(f"{request}: cannot be read: {e.strerror}", reason="malformed") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > REQUEST_MAX:
            request.unlink(missing_ok=True)
            raise Refusal(f"{request} is not a regular file of at most {REQUEST_MAX} bytes", reason="malformed")
        data = os.read(fd, REQUEST_MAX + 1)
    finally:
        os.close(fd)
    into.mkdir(mode=0o755, parents=True, exist_ok=True)
    copy = into / f"{name}.json"
    out = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(out, data)
        os.fsync(out)
    finally:
        os.close(out)
    os.chmod(copy, 0o644)
    sync_dir(into)
    request.unlink(missing_ok=True)
    for old in sorted(into.glob("*.json"), key=lambda p: p.stat().st_mtime)[:-KEEP_REQUESTS]:
        old.unlink(missing_ok=True)
    return copy


def roll_back(attempt: Attempt, *, parts: Parts, kept: Kept, reason: str, detail: str) -> int:
    """Install the kept package of the version the attempt moved from again; rolled_back, or failed.

    When dpkg never changed the package (it could not take its lock, say) there is nothing to install again.
    """
    attempt.step("rolling_back", reason=reason)
    old = attempt.from_version
    state = parts.packages.state()
    if not (state.configured and state.version == old):
        if not kept.has(old):
            attempt.step("failed", reason="no_rollback_package", detail=f"no intact kept package of {old}")
            return FAILED
        done = parts.packages.install(kept.path(old))
        state = parts.packages.state()
        if done.code != 0 or not state.configured or state.version != old:
            attempt.step("failed", reason="install_failed",
                         detail=f"reinstalling {old}: dpkg exit {done.code}, pishkhan {state.version} "
                                f"{state.status}; {done.tail(2000)}")
            return FAILED
    parts.services.restart_enabled()
    if attempt.to_version and attempt.to_version != old:
        kept.forget(attempt.to_version)
    attempt.step("rolled_back", reason=reason, detail=detail)
    return ROLLED_BACK


class Updater:
    """Carries one request through (:meth:`run`)."""

    def __init__(self, settings: Settings, *, parts: Parts, journal: Journal, kill: KillSwitch):
        self.settings = settings
        self.parts = parts
        self.journal = journal
        self.kill = kill
        self.kept = Kept(settings.kept)

    def run(self) -> int:
        attempt = Attempt(self.journal, self.kill)
        attempt.from_version = running_version(self.settings, self.parts.packages)
        try:
            copy = take_request(self.settings.request, into=self.settings.requests, name=attempt.id)
        except Refusal as r:
            attempt.step("requested", detail=str(self.settings.request))
            attempt.step("refused", reason=r.reason, detail=str(r))
            return REFUSED
        if copy is None:
            print(f"pishkhan-update: no request at {self.settings.request}; nothing to do", flush=True)
            return DONE
        attempt.rollout, attempt.document_code = labels(copy.read_bytes())
        attempt.step("requested", detail=f"copied to {copy}")
        try:
            release = self.parts.verifier.verify(copy)
        except Refusal as r:
            attempt.step("refused", reason=r.reason, detail=str(r))
            return REFUSED
        except VerifierBroken as e:
            attempt.step("failed", reason="install_failed", detail=str(e))
            return FAILED
        attempt.rollout, attempt.document_code, attempt.to_version = (release.rollout, release.document_code,
                                                                      release.version)
        try:
            if release.version == attempt.from_version:
                return self._keep_running(attempt, release)
            if not self.kept.has(attempt.from_version):
                raise Refusal(f"no intact kept package of the running version {attempt.from_version}: never "
                              "install without a way back", reason="no_rollback_package")
            deb = self._download(attempt, release)
        except Refusal as r:
            attempt.step("refused", reason=r.reason, detail=str(r))
            return REFUSED
        new = self.kept.keep(deb, version=release.version, sha256=release.sha256, move=True)
        attempt.step("kept", detail=json.dumps({"way_back": str(self.kept.path(attempt.from_version)),
                                                "new": str(new)}))
        return self._install(attempt, new)

    def _keep_running(self, attempt: Attempt, release: Release) -> int:
        """A document for the running version: fetch and keep its package (the way back of the next update)."""
        if not self.kept.has(release.version):
            deb = self._download(attempt, release)
            self.kept.keep(deb, version=release.version, sha256=release.sha256, move=True)
        attempt.step("kept", detail=f"{self.kept.path(release.version)}: the running version's package")
        attempt.step("healthy", detail="the running version; nothing installed")
        return DONE

    def _download(self, attempt: Attempt, release: Release) -> Path:
        url = self.settings.repository.rstrip("/") + "/" + release.path
        if not self.settings.repository:
            raise Refusal("no repository: neither update.repository nor enrolment.server is set",
                          reason="download_failed")
        attempt.step("downloading", detail=url)
        dest = self.settings.downloads / f"{release.sha256}.deb"
        Downloader(self.parts.transport).fetch(url, dest, size=release.size, sha256=release.sha256)
        fields = self.parts.packages.fields(dest)
        if fields.get("Package") != "pishkhan" or fields.get("Version") != release.version:
            dest.unlink(missing_ok=True)
            raise Refusal(f"the file is {fields.get('Package')} {fields.get('Version')}, the document names "
                          f"pishkhan {release.version}", reason="wrong_hash")
        attempt.step("downloaded", detail=f"{release.size} bytes, sha256 {release.sha256}")
        return dest

    def _install(self, attempt: Attempt, deb: Path) -> int:
        parts, version = self.parts, attempt.to_version
        since = parts.clock.now()
        attempt.step("installing", detail=since)
        done = parts.packages.install(deb)
        if done.code != 0:
            return roll_back(attempt, parts=parts, kept=self.kept, reason="install_failed",
                             detail=f"dpkg exit {done.code}: {done.tail(3000)}")
        restarted = parts.services.restart_enabled()
        attempt.step("installed", detail="restarted: " + (" ".join(restarted) or "none"))
        health = self._gate(since=since, version=version)
        if health.healthy:
            attempt.step("healthy", detail=", ".join(c["name"] for c in health.checks))
            self.kept.prune(keep={version, attempt.from_version})
            return DONE
        detail = failure_detail(health, parts.logs.tail(since=since))
        attempt.step("unhealthy", reason="unhealthy", detail=detail)
        return roll_back(attempt, parts=parts, kept=self.kept, reason="unhealthy", detail=detail)

    def _gate(self, *, since: str, version: str):
        """Poll the new version's health every health_interval s until healthy or health_seconds have passed."""
        clock = self.parts.clock
        deadline = clock.monotonic() + self.settings.health_seconds
        while True:
            health = self.parts.health.check(since=since, version=version)
            if health.healthy or clock.monotonic() >= deadline:
                return health
            clock.sleep(self.settings.health_interval)
