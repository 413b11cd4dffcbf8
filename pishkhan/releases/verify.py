"""What ``pishkhan update verify`` and ``pishkhan update health`` check for the root updater.

**verify** (:func:`verify_request`): the request file the agent wrote holds
``{"envelope", "requested_at", "device_id"}``; only the envelope is used, and
it is checked afresh against the device store's trust list, writing nothing:
every check of the install path (signature, schema, key scope, the flags'
national key, the office's province and office, a device document naming
this device), then that no newer version of its scope is installed
(``older``), its expiry (``expired``), ``not_before`` (``not_yet``), a
halted rollout (``halted``), the architecture (``wrong_architecture``,
``dpkg --print-architecture``), and against the running version the downgrade
rule (``downgrade``) and ``min_version_to_upgrade_from`` (``too_old``). The
working-hours window is the agent's decision; with *check_window*
(``--check-window``) it is checked again here (``in_hours``,
``outside_window``), so a request written out of time by anyone able to write
the request file does not start an update during office hours.

**health** (:func:`health_checks`): run from the new version after install.
Each check is ``{"name", "ok", "detail"}``: ``version`` (this code imports
and :func:`~pishkhan.releases.running_version` is the version asked for),
``config`` (the configuration loads), ``store`` (the store opens, its schema
migrated); with services: ``units`` (every enabled ``pishkhan-*`` service
unit is active; a one-shot only must not have failed; the updater's own units
are left out), ``birth`` (the agent recorded a birth with that software
version after *since*: audit ``agent.birth``), ``wall`` (with the display's
unit enabled: the wall recorded a verified board ready after *since*: audit
``display.board_shown``), ``kiosk`` (with the kiosk's unit enabled and the
office open now: its last recorded state is ``accepting``).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess

from pishkhan.exc import PishkhanError, Refused, ReleaseRefused


def _load_request(path) -> dict:
    from pishkhan.boards.jsonlimits import load_json

    try:
        with open(path, "rb") as f:
            data = f.read(8 * 1024 * 1024 + 1)
    except OSError as e:
        raise ReleaseRefused(f"cannot read the request file {path}: {e.strerror or e}", reason="not_a_file") from None
    request = load_json(data, source=str(path))
    if not isinstance(request, dict) or not isinstance(request.get("envelope"), dict):
        raise ReleaseRefused("the request file must be an object holding the signed release envelope",
                             reason="malformed")
    return request


def verify_request(config, store, path, *, running: str | None = None, architecture: str | None = None,
                   now: dt.datetime | None = None, check_window: bool = False) -> dict:
    """The update the request file at *path* asks for, checked (see the module): ``{"version", "sha256", "size",
    "path", "rollout", "document_code", "urgent", "rollback"}``, or :exc:`~pishkhan.exc.Refused` saying why not."""
    from pishkhan.boards.signing import verification_code
    from pishkhan.releases import architecture as this_architecture, running_version, upgrade_refusal
    from pishkhan.releases.installed import check_release, newest_version
    from pishkhan.store.database import iso

    envelope = _load_request(path)["envelope"]
    doc, _ = check_release(store, envelope, province=config.office.province, office=config.office.office_id,
                           device=config.device_id)
    now = now or store.now()
    newest = newest_version(store, doc.scope.key)
    if doc.version < newest:
        raise ReleaseRefused(f"release document {doc.scope.key} v{doc.version} is older than the installed "
                             f"v{newest}", reason="older")
    if doc.expired(now):
        raise ReleaseRefused(f"the release document expired at {iso(doc.expires)}", reason="expired")
    if now < doc.not_before:
        raise _Wait("not_yet", f"the release may start from {iso(doc.not_before)}")
    if doc.halted:
        raise _Wait("halted", f"rollout {doc.rollout} is halted")
    arch = architecture or this_architecture()
    if doc.package.architecture not in (arch, "all"):
        raise ReleaseRefused(f"the package is for {doc.package.architecture}, this system is {arch}",
                             reason="wrong_architecture")
    refusal = upgrade_refusal(doc, running or running_version())
    if refusal is not None:
        raise refusal
    if check_window:
        from pishkhan.releases.window import may_start
        from pishkhan.schedule.hours import hours_from_config

        wait = may_start(now, doc, hours_from_config(config, store=store), config.update.guard_minutes)
        if wait is not None:
            raise _Wait(wait.reason, wait.message)
    p = doc.package
    return {"version": p.version, "sha256": p.sha256, "size": p.size, "path": p.path, "rollout": doc.rollout,
            "document_code": verification_code(envelope), "urgent": doc.urgent, "rollback": doc.rollback}


class _Wait(PishkhanError):
    """A request the device should not have made yet (a :data:`~pishkhan.releases.WAIT_REASONS` code)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


#: What verify raises: a refusal, or a wait the agent should have respected.
VerifyRefusal = (Refused, _Wait)


# -- health -----------------------------------------------------------------------------
def _check(name: str, ok: bool, detail: str) -> dict:
    return {"name": name, "ok": bool(ok), "detail": str(detail)[:500]}


class Systemd:
    """The service manager, asked through ``systemctl`` (the real one; tests give their own)."""

    def enabled_units(self) -> list[str]:
        out = subprocess.run(["systemctl", "list-unit-files", "pishkhan-*.service", "--state=enabled",
                              "--no-legend", "--no-pager"], capture_output=True, text=True, timeout=30)
        return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]

    def state(self, unit: str) -> tuple[str, str]:
        """``(ActiveState, Type)`` of *unit*."""
        out = subprocess.run(["systemctl", "show", unit, "-p", "ActiveState", "-p", "Type", "--no-pager"],
                             capture_output=True, text=True, timeout=30)
        props = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
        return props.get("ActiveState", "unknown"), props.get("Type", "")


#: Units of the updater itself: running (or done) while the health gate runs, never judged by it.
UPDATER_UNITS = ("pishkhan-update.service", "pishkhan-update-recover.service")


def _units(systemd) -> tuple[dict, list[str]]:
    units = [u for u in systemd.enabled_units() if u not in UPDATER_UNITS and not u.startswith("pishkhan-update")]
    bad = []
    for unit in units:
        active, kind = systemd.state(unit)
        if not (active == "active" or (kind == "oneshot" and active in ("inactive", "activating"))):
            bad.append(f"{unit} {active}")
    detail = "; ".join(bad) if bad else f"{len(units)} enabled units active: {' '.join(units)}"
    return _check("units", not bad, detail), units


def _audit_after(store, action: str, since: str, **match) -> dict | None:
    """The newest audit entry *action* at or after *since* whose detail has *match*."""
    rows = store.query("SELECT * FROM audit_log WHERE action = ? AND at >= ? ORDER BY id DESC LIMIT 50",
                       (action, since))
    for row in rows:
        detail = json.loads(row["detail"] or "{}")
        if all(detail.get(k) == v for k, v in match.items()):
            return dict(row) | {"detail": detail}
    return None


def health_checks(*, version: str, since: dt.datetime, config_path=None, services: bool | None = None,
                  systemd=None) -> list[dict]:
    """Every check of ``pishkhan update health`` (see the module), in order."""
    from pishkhan.releases import running_version
    from pishkhan.store.database import iso

    checks = []
    running = running_version()
    checks.append(_check("version", running == version, f"running {running}, expected {version}"))
    try:
        from pishkhan.config import load_config

        config = load_config(config_path)
        checks.append(_check("config", True, "the configuration loads"))
    except PishkhanError as e:
        checks.append(_check("config", False, e))
        return checks
    try:
        from pishkhan.store.database import open_store

        store = open_store(config)
        checks.append(_check("store", True, f"schema version {store.schema_version()}"))
    except PishkhanError as e:
        checks.append(_check("store", False, e))
        return checks
    try:
        if services is None:
            from pathlib import Path

            services = Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None
        if not services:
            return checks
        systemd = systemd or Systemd()
        check, units = _units(systemd)
        checks.append(check)
        after = iso(since)
        birth = _audit_after(store, "agent.birth", after, software_version=version)
        if "pishkhan-agent.service" in units or not units:
            checks.append(_check("birth", birth is not None, f"birth with {version} sent at {birth['at']}" if birth
                                 else f"no birth with software_version {version} recorded since {after}"))
        if "pishkhan-display.service" in units:
            shown = _audit_after(store, "display.board_shown", after)
            checks.append(_check("wall", shown is not None, f"verified board {shown['subject']} ready at {shown['at']}"
                                 if shown else f"the wall recorded no verified board since {after}"))
        if "pishkhan-kiosk.service" in units:
            checks.append(_kiosk(config, store))
    finally:
        store.close()
    return checks


def _kiosk(config, store) -> dict:
    from pishkhan.schedule.hours import hours_from_config

    if not hours_from_config(config, store=store).is_open(store.now()):
        return _check("kiosk", True, "the office is closed now: nothing to accept")
    last = store.last_state("kiosk")
    state = last["state"] if last else "none recorded"
    return _check("kiosk", state == "accepting", f"the kiosk's last recorded state: {state}")
