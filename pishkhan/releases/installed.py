"""Installed release documents: install one through the one install path, find the one in force.

:data:`RELEASE` is the release document's :class:`~pishkhan.boards.install.Kind`:
:func:`install_release` installs by
:func:`~pishkhan.boards.install.install_signed` exactly like boards and
schedules (signature, schema, version bounds and step, replays, audit), and
adds the release's own rules:

- which keys sign which scope: a ``national`` (or ``any``) key signs every
  scope; a ``province:X`` or ``office:X`` key only its own scope's
  documents (a device's own document needs a national key);
- a document with ``rollback: true`` or ``urgent: true`` must be signed by a
  national key, else ``wrong_scope`` — so an installed document with either
  flag was signed nationally;
- a province or office document for another province or office, and a device
  document naming another device, are refused (``wrong_scope``);
- a document past its ``expires`` is refused (``expired``).

:func:`in_force` picks, among the installed documents not expired at *now*
for this device, office, province and the nation, the most specific scope's
(device > office > province > national), then that scope's highest version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from pishkhan.boards.install import Installed, Kind, Shelf, check_signed, install_signed
from pishkhan.exc import Refused, ReleaseRefused
from pishkhan.releases.document import Release, parse_release
from pishkhan.store.database import Store, iso, parse_iso

TABLE = "release_documents"


class InstalledRelease(Installed):
    """A release document as installed (:attr:`release` is its document)."""

    @property
    def release(self) -> Release:
        return self.document

    def to_json(self) -> dict:
        r = self.release
        return {"scope": r.scope.key, "version": r.version, "rollout": r.rollout,
                "package_version": r.package.version, "sha256": r.package.sha256,
                "verification_code": self.verification_code, "source": self.source,
                "installed_at": self.installed_at}


def _key_may_sign(key_scope: str, scope_key: str) -> bool:
    return key_scope in ("any", "national") or key_scope == scope_key


def _flags_need_national(doc: Release, key_scope: str) -> str | None:
    if key_scope in ("any", "national"):
        return None
    flags = [name for name in ("rollback", "urgent") if getattr(doc, name)]
    if flags:
        return f"a release document with {' and '.join(f'{f}: true' for f in flags)} must be signed by a national key"
    return None


class ReleaseShelf(Shelf):
    """Release documents kept as rows of ``release_documents`` by scope, envelope as received; an expired
    document is refused here, where the install's clock is."""

    def installed_version(self, c, kind, doc) -> int:
        return c.execute(f"SELECT MAX(version) FROM {TABLE} WHERE scope_key = ?", (doc.scope.key,)).fetchone()[0] or 0

    def holds(self, c, kind, doc, code) -> bool:
        return c.execute(f"SELECT 1 FROM {TABLE} WHERE scope_key = ? AND verification_code = ?",
                         (doc.scope.key, code)).fetchone() is not None

    def put(self, c, store, kind, doc: Release, envelope, *, code, key, source, actor, now):
        if doc.expired(parse_iso(now)):
            raise ReleaseRefused(f"release document {doc.scope.key} v{doc.version} expired at "
                                 f"{iso(doc.expires)}", reason="expired")
        cur = c.execute(
            f"INSERT INTO {TABLE}(scope_key, version, issuer, rollout, package_version, sha256, not_before, "
            "expires, key_fingerprint, verification_code, envelope, source, installed_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (doc.scope.key, doc.version, doc.issuer, doc.rollout, doc.package.version, doc.package.sha256,
             iso(doc.not_before), iso(doc.expires), key, code, json.dumps(envelope, ensure_ascii=False), source, now))
        return cur.lastrowid, {"rollout": doc.rollout, "package_version": doc.package.version}


#: Release documents, to :func:`~pishkhan.boards.install.install_signed`.
RELEASE = Kind(name="release", noun="release document", plural="release documents", parse=parse_release,
               shelf=ReleaseShelf(), refused=ReleaseRefused, refused_action="release.refused",
               result=InstalledRelease, key_may_sign=_key_may_sign, signer_check=_flags_need_national,
               signer_note="; a device's own release document needs a national key")


def _device_check(envelope, device: str | None):
    """A device-scope document naming another device: ``wrong_scope`` (before anything is stored)."""
    if device is None:
        return
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    scope = payload.get("scope") if isinstance(payload, dict) else None
    if isinstance(scope, dict) and scope.get("level") == "device" and scope.get("device") != device:
        raise ReleaseRefused(f"release document is for device {scope.get('device')!r}, this device is {device}"[:300],
                             reason="wrong_scope")


def check_release(store: Store, envelope, *, province: str | None = None, office: str | None = None,
                  device: str | None = None) -> tuple[Release, str]:
    """Every check of the install path that writes nothing: ``(release, key fingerprint)``, or
    :exc:`~pishkhan.exc.ReleaseRefused` (or :exc:`~pishkhan.exc.SignatureInvalid`)."""
    doc, fingerprint = check_signed(store, envelope, RELEASE, province=province, office=office)
    elsewhere = doc.scope.elsewhere(province=None, office=None, device=device)
    if elsewhere:
        raise ReleaseRefused(f"release document is for {elsewhere}", reason="wrong_scope")
    return doc, fingerprint


def install_release(store: Store, envelope, *, source: str, actor: str, province: str | None = None,
                    office: str | None = None, device: str | None = None) -> InstalledRelease:
    """Install a signed release document for good (:func:`~pishkhan.boards.install.install_signed`), or raise
    :exc:`~pishkhan.exc.ReleaseRefused` saying why not (audited ``release.refused``).

    :param device: this device's id; a device-scope document for another is refused (None: not checked).
    """
    try:
        _device_check(envelope, device)
    except Refused as e:
        store.audit(actor, RELEASE.refused_action, source, reason=str(e), code=e.reason)
        raise
    return install_signed(store, envelope, RELEASE, source=source, actor=actor, province=province, office=office)


def _row(row) -> InstalledRelease:
    return InstalledRelease.from_row(row, parse_release)


def scope_keys(*, device: str | None, office: str | None, province: str | None) -> list[str]:
    """This device's scopes, most specific first."""
    return ([f"device:{device}"] if device else []) + ([f"office:{office}"] if office else []) + \
        ([f"province:{province}"] if province else []) + ["national"]


def in_force(store: Store, *, device: str | None, office: str | None, province: str | None,
             now: dt.datetime | None = None) -> InstalledRelease | None:
    """The release document in force for this device at *now*: of the installed documents not expired, the most
    specific scope's (device > office > province > national), then its highest version; None when none."""
    now = now or store.now()
    for scope in scope_keys(device=device, office=office, province=province):
        row = store.query_one(f"SELECT * FROM {TABLE} WHERE scope_key = ? AND expires > ? "
                              "ORDER BY version DESC LIMIT 1", (scope, iso(now)))
        if row is not None:
            return _row(row)
    return None


def newest_version(store: Store, scope_key: str) -> int:
    """The highest version installed for *scope_key* (0: none)."""
    return store.query_one(f"SELECT MAX(version) FROM {TABLE} WHERE scope_key = ?", (scope_key,))[0] or 0


def generation(store: Store) -> tuple:
    """A value that changes whenever a release document is installed."""
    return tuple(store.query_one(f"SELECT COUNT(*), MAX(id) FROM {TABLE}"))


def canary_bucket(device_id: str) -> int:
    """This device's stable bucket, 0 to 9,999 (from the SHA-256 of its id)."""
    return int(hashlib.sha256(device_id.encode()).hexdigest()[:8], 16) % 10000


def is_canary(device_id: str, canary_percent: float) -> bool:
    """Whether *device_id* is among the first *canary_percent* of the fleet (the same devices every time)."""
    return canary_bucket(device_id) < round(canary_percent * 100)
