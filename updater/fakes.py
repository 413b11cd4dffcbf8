"""Fake parts for the suite (and for trying the updater without a device): a device folder that models dpkg's
states of the ``pishkhan`` package, a fake package file, the verifier's answer, a pool served without a network.

The folder (:class:`FakeDevice`):
  ``dpkg.json``   ``{"version", "status", "broken"}`` — dpkg's view of pishkhan (status as dpkg names it)
  ``VERSION``     the file the package lays (replaced when a package is unpacked)
  ``verdict.json`` what ``pishkhan update verify`` answers: a release, or ``{"reason", "message"}``
  ``pool/``       the repository's files, by name
  ``restarts``    one line per service restart
A fake package is a JSON file ``{"Package", "Version", "Architecture", "broken", "fails_configure",
"sick_services"}``: a ``broken`` one installs but is never healthy (its command exits on import), a
``fails_configure`` one stops half-configured (its postinst fails), a ``sick_services`` one is healthy by
itself but its services fail, a ``locked`` one meets dpkg's lock held by another program (nothing changes).
``installs`` lists each version dpkg was asked to install.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

from updater.commands import Done
from updater.health import Health
from updater.kept import write_whole
from updater.killswitch import KillSwitch
from updater.packages import PackageState
from updater.release import Refusal


def fake_deb(path: Path, *, version: str, broken: bool = False, fails_configure: bool = False,
             sick_services: bool = False, locked: bool = False, architecture: str = "arm64") -> tuple[Path, str, int]:
    """A fake package file at *path*; (path, sha256, size)."""
    data = json.dumps({"Package": "pishkhan", "Version": version, "Architecture": architecture, "broken": broken,
                       "fails_configure": fails_configure, "sick_services": sick_services, "locked": locked,
                       "pad": "x" * 200}).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest(), len(data)


@dataclass
class FakeDevice:
    folder: Path

    @classmethod
    def create(cls, folder: Path, *, running: str) -> "FakeDevice":
        device = cls(Path(folder))
        (device.folder / "pool").mkdir(parents=True, exist_ok=True)
        device.write_state(version=running, status="installed", broken=False)
        (device.folder / "VERSION").write_text(running + "\n")
        return device

    def state(self) -> dict:
        return json.loads((self.folder / "dpkg.json").read_text())

    def write_state(self, **state) -> None:
        write_whole(self.folder / "dpkg.json", json.dumps(state).encode())

    def runs(self) -> str | None:
        """The version the device runs: a configured, working package whose files are in place; else None."""
        s = self.state()
        version_file = (self.folder / "VERSION").read_text().strip()
        if s["status"] == "installed" and not s["broken"] and version_file == s["version"]:
            return s["version"]
        return None

    def answer(self, verdict: dict) -> None:
        (self.folder / "verdict.json").write_text(json.dumps(verdict))

    def installs(self) -> list[str]:
        path = self.folder / "installs"
        return path.read_text().split() if path.exists() else []

    def restarts(self) -> list[str]:
        path = self.folder / "restarts"
        return path.read_text().split() if path.exists() else []


class FakeDpkg:
    """dpkg over :class:`FakeDevice`: unpack (half-installed → unpacked, VERSION replaced), configure
    (half-configured → installed). ``dpkg-mid`` kills after unpacking; ``dpkg-half`` while unpacking."""

    def __init__(self, device: FakeDevice, *, kill: KillSwitch | None = None):
        self.device = device
        self.kill = kill or KillSwitch()

    def fields(self, deb) -> dict:
        try:
            data = json.loads(Path(deb).read_text())
            return {k: data[k] for k in ("Package", "Version", "Architecture")}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def install(self, deb) -> Done:
        try:
            pkg = json.loads(Path(deb).read_text())
            version = pkg["Version"]
        except (OSError, ValueError, KeyError, TypeError):
            return Done(2, "", f"dpkg-deb: error: '{deb}' is not a Debian format archive")
        d = self.device
        with open(d.folder / "installs", "a") as f:
            f.write(version + "\n")
        if pkg.get("locked"):
            return Done(2, "", "dpkg: error: dpkg frontend lock was locked by another process")
        mid = self.kill.dpkg_mid()
        kinds = {k: pkg.get(k, False) for k in ("broken", "fails_configure", "sick_services")}
        d.write_state(version=version, status="half-installed", **kinds)
        if self.kill.spec == "dpkg-half":
            self.kill.die()
        write_whole(d.folder / "VERSION", (version + "\n").encode())
        d.write_state(version=version, status="unpacked", **kinds)
        if mid:
            self.kill.die()
        return self.configure_pending()

    def configure_pending(self) -> Done:
        s = self.device.state()
        if s["status"] in ("unpacked", "half-configured"):
            if s.get("fails_configure"):
                self.device.write_state(**{**s, "status": "half-configured"})
                return Done(1, "", "dpkg: error processing package pishkhan (--configure): postinst exit 1")
            self.device.write_state(**{**s, "status": "installed"})
            return Done(0, "", "")
        if s["status"] == "half-installed":
            return Done(1, "", "dpkg: pishkhan is half-installed: reinstall it")
        return Done(0, "", "")

    def state(self) -> PackageState:
        s = self.device.state()
        return PackageState(s["version"], s["status"])


class FakeHealth:
    """Healthy when the device runs the version asked."""

    def __init__(self, device: FakeDevice):
        self.device = device
        self.calls = 0

    def check(self, *, since: str, version: str, services: bool = True) -> Health:
        self.calls += 1
        runs = self.device.runs()
        imports = {"name": "imports", "ok": runs == version,
                   "detail": f"running {runs}" if runs else "pishkhan exits 1 on import"}
        checks = [imports]
        if services:
            ok = runs == version and not self.device.state().get("sick_services")
            checks.append({"name": "units_active", "ok": ok,
                           "detail": "all active" if ok else "pishkhan-kiosk.service failed"})
        return Health(all(c["ok"] for c in checks), checks)


class FakeServices:
    def __init__(self, device: FakeDevice):
        self.device = device

    def restart_enabled(self) -> list[str]:
        with open(self.device.folder / "restarts", "a") as f:
            f.write("pishkhan-agent.service\n")
        return ["pishkhan-agent.service"]


class FakeLogs:
    def tail(self, *, since: str, lines: int = 40) -> str:
        return "pishkhan-kiosk[812]: ImportError: cannot import name 'Kiosk'\npishkhan-kiosk.service: failed"


class FakeVerifier:
    """Answers what the device's verdict.json says."""

    def __init__(self, device: FakeDevice):
        self.device = device

    def verify(self, request: Path):
        from updater.release import Release

        json.loads(Path(request).read_text())  # a request the updater copied must be the agent's JSON
        verdict = json.loads((self.device.folder / "verdict.json").read_text())
        if "reason" in verdict:
            raise Refusal(verdict.get("message", ""), reason=verdict["reason"])
        return Release.from_json(verdict)


class FakeTransport:
    """Serves the device's pool/ by the URL's last part; a missing file is a failed download."""

    def __init__(self, device: FakeDevice):
        self.device = device

    def open(self, url: str):
        path = self.device.folder / "pool" / url.rsplit("/", 1)[-1]
        if not path.is_file():
            raise Refusal(f"{url}: HTTP 404", reason="download_failed")
        return io.BytesIO(path.read_bytes())


class FakeClock:
    """Time that moves only when slept."""

    def __init__(self):
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 1)

    def now(self) -> str:
        return "2026-12-07T20:00:00Z"


def fake_parts(folder: Path, *, kill: KillSwitch | None = None):
    from updater.update import Parts

    device = FakeDevice(Path(folder))
    return Parts(verifier=FakeVerifier(device), transport=FakeTransport(device),
                 packages=FakeDpkg(device, kill=kill), health=FakeHealth(device), services=FakeServices(device),
                 logs=FakeLogs(), clock=FakeClock())
