"""What the release tests share: a real .deb, keys and the centre's trust list, a rollout on a moved clock."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from central.keys import KeyRing
from central.trust import TrustList
from pishkhan.protocol import payloads

NOW = dt.datetime(2026, 12, 7, 18, 30, tzinfo=dt.timezone.utc)


def build_deb(folder: Path, version: str, *, payload: bytes = b"") -> Path:
    """A real Debian package ``pishkhan`` *version* (arm64), built with dpkg-deb."""
    root = folder / f"pkg-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(f"Package: pishkhan\nVersion: {version}\nArchitecture: arm64\n"
                                             "Maintainer: test <test@localhost>\nDescription: test release\n")
    if payload:
        (root / "usr" / "lib" / "pishkhan").mkdir(parents=True)
        (root / "usr" / "lib" / "pishkhan" / "blob").write_bytes(payload)
    out = folder / f"pishkhan_{version}_arm64.deb"
    subprocess.run(["dpkg-deb", "--build", "-Zgzip", str(root), str(out)], check=True, capture_output=True)
    return out


def keys_and_trust(folder: Path) -> tuple[KeyRing, Path]:
    """A national and a province-23 issuer key, and the centre's trust list file of both."""
    ring = KeyRing(folder / "keys")
    ring.new("national")
    ring.new("tehran", scope="province:23")
    path = folder / "trust.pem"
    path.write_text(TrustList.entry(ring.load("national").public, "national", "national")
                    + TrustList.entry(ring.load("tehran").public, "province:23", "tehran"), encoding="ascii")
    return ring, path


class Devices:
    """Simulated devices' update events and ``reported`` messages, through the monitor's own ingest."""

    def __init__(self, fleet, clock):
        self.fleet, self.clock, self.seq = fleet, clock, {}

    def send(self, device: str, stream: str, message: dict):
        return self.fleet.ingest([(self.fleet.topics.device(device, stream), payloads.encode(message),
                                   payloads.format_time(self.clock().timestamp()))])

    def _next(self, device):
        self.seq[device] = self.seq.get(device, 0) + 1
        return self.seq[device]

    def step(self, device: str, rollout, step: str, *, reason: str = "", detail: str = "", **extra):
        fields = {"step": step, "rollout": rollout.rollout, "document_code": rollout.document_code,
                  "from_version": "0.8.0", "to_version": rollout.package_version, "reason": reason,
                  "detail": detail} | extra
        return self.send(device, "event", payloads.event(device=device, seq=self._next(device),
                                                         sent_at=self.clock().timestamp(), event="update",
                                                         detail=fields))

    def raw_event(self, device: str, detail, **top):
        return self.send(device, "event", payloads.event(device=device, seq=self._next(device),
                                                         sent_at=self.clock().timestamp(), event="update",
                                                         detail=detail) | top)

    def reported(self, device: str, release):
        return self.send(device, "reported", payloads.envelope("reported", device=device, seq=self._next(device),
                                                               sent_at=self.clock().timestamp(), applied={},
                                                               release=release))

    def offline(self, device: str):
        return self.send(device, "status", payloads.offline(device=device, seq=self._next(device),
                                                            sent_at=self.clock().timestamp(), reason="lost",
                                                            boot_id="b"))
