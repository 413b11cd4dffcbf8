"""What ``pishkhan provision check`` reads of the machine, behind one interface.

:class:`Machine` is everything the checks may ask of the device: Pillow's
shaping features, the font, a user's groups, the printer, the DRM
connectors, the clock, files, a TLS handshake, the disk, the kernel log and
the firmware's throttling flags. :class:`RealMachine` asks this machine;
:class:`FakeMachine` is set by hand (a healthy Pi unless told otherwise), so
the tests drive every check to pass and to fail.

Nothing here decides what is wrong: a reading that cannot be taken is
None (or an empty answer), and :mod:`provisioning.check` judges it.
"""

from __future__ import annotations

import datetime as dt
import errno
import grp
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

#: How a TLS handshake to the broker went (:meth:`Machine.tls_handshake`).
TLS_OUTCOMES = ("ok", "unreachable", "tls_refused", "ca_unreadable")
#: Seconds to wait after the handshake for the server's refusal of our certificate.
POST_HANDSHAKE_WAIT = 0.5


@dataclass(frozen=True)
class TlsOutcome:
    """*outcome* is one of :data:`TLS_OUTCOMES`; *detail* says what happened, in English."""

    outcome: str
    detail: str = ""


@dataclass(frozen=True)
class UserInfo:
    """A system user's groups (primary and supplementary), or *exists* False."""

    exists: bool
    groups: frozenset[str] = frozenset()


class Machine:
    """Base: every reading a check may take."""

    def shaping(self) -> dict:
        """``{"raqm": bool, "fribidi": bool}``: whether Pillow shapes text with them."""
        raise NotImplementedError

    def font(self) -> str | None:
        """The path of Vazirmatn Regular where the project looks for it, or None."""
        raise NotImplementedError

    def user(self, name: str) -> UserInfo:
        raise NotImplementedError

    def system_groups(self) -> frozenset[str]:
        """The names of the groups this system has."""
        raise NotImplementedError

    def printer_state(self, uri: str) -> str:
        """The printer's state (:data:`pishkhan.hardware.printer.STATES`, or ``busy``: held by
        another process, so there); raises PrinterError for a bad URI."""
        raise NotImplementedError

    def drm_connectors(self) -> dict[str, str] | None:
        """Connector name (``HDMI-A-1``, ``DSI-1``) → ``connected``/``disconnected``/…; None without DRM."""
        raise NotImplementedError

    def clock_synced(self) -> bool | None:
        raise NotImplementedError

    def now(self) -> dt.datetime:
        raise NotImplementedError

    def read_file(self, path: str) -> bytes:
        """The file's bytes; :exc:`OSError` when it cannot be read."""
        raise NotImplementedError

    def tls_handshake(self, host: str, port: int, *, ca_file: str, cert_file: str, key_file: str,
                      timeout: float) -> TlsOutcome:
        raise NotImplementedError

    def disk_usage(self, path: str) -> tuple[int, int] | None:
        """``(free, total)`` bytes of the disk holding *path* (or its nearest existing parent)."""
        raise NotImplementedError

    def kernel_log(self) -> list[str] | None:
        """This boot's kernel messages, or None when they cannot be read."""
        raise NotImplementedError

    def fs_errors(self, path: str) -> int | None:
        """ext4's error count of the file system holding *path*, or None."""
        raise NotImplementedError

    def throttled(self) -> dict | None:
        """The firmware's throttling flags (:func:`pishkhan.hardware.health.decode_throttled`), or None off a Pi."""
        raise NotImplementedError


class RealMachine(Machine):
    """This machine.

    :param state_dir: the state folder (its disk and file system are read).
    :param root: where ``/sys`` is (tests may lay out their own).
    :param command_timeout: seconds any one command (journalctl, dmesg) may take.
    """

    def __init__(self, *, state_dir, root: str = "/", command_timeout: float = 5.0):
        from pishkhan.hardware.health import PiHealth

        self.state_dir = Path(state_dir)
        self.root = Path(root)
        self.command_timeout = command_timeout
        self._health = PiHealth(self.state_dir, root=root)

    def shaping(self) -> dict:
        from PIL import features

        return {name: bool(features.check(name)) for name in ("raqm", "fribidi")}

    def font(self) -> str | None:
        from pishkhan.exc import RenderError
        from pishkhan.text.fonts import font_path

        try:
            return str(font_path.__wrapped__("Regular"))  # not the cached answer: the font may just have come
        except RenderError:
            return None

    def user(self, name: str) -> UserInfo:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return UserInfo(exists=False)
        names = {g.gr_name for g in grp.getgrall() if name in g.gr_mem}
        try:
            names.add(grp.getgrgid(entry.pw_gid).gr_name)
        except KeyError:
            pass
        return UserInfo(exists=True, groups=frozenset(names))

    def system_groups(self) -> frozenset[str]:
        return frozenset(g.gr_name for g in grp.getgrall())

    def printer_state(self, uri: str) -> str:
        """The printer's state; an ``lp:`` device is opened and closed only (the kernel's
        usblp lets one process hold it: ``busy`` when the kiosk has it open)."""
        from pishkhan.hardware.printer import open_printer

        kind, _, path = uri.strip().partition(":")
        if kind == "lp" and path:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as e:
                return "busy" if e.errno == errno.EBUSY else "offline"
            os.close(fd)
            return "unknown"  # there and writable; usblp answers no status request
        with open_printer(uri) as printer:
            return printer.status().state

    def drm_connectors(self) -> dict[str, str] | None:
        folder = self.root / "sys/class/drm"
        if not folder.is_dir():
            return None
        out = {}
        for entry in sorted(folder.iterdir()):
            m = re.fullmatch(r"card\d+-(.+)", entry.name)
            if not m:
                continue
            try:
                out[m.group(1)] = (entry / "status").read_text(encoding="ascii").strip()
            except OSError:
                out[m.group(1)] = "unknown"
        return out

    def clock_synced(self) -> bool | None:
        from pishkhan.hardware.clock import SystemClock

        synced = SystemClock().synced()
        if synced is None and (self.root / "run/systemd/timesync").is_dir():
            synced = (self.root / "run/systemd/timesync/synchronized").exists()
        return synced

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    def read_file(self, path: str) -> bytes:
        return Path(path).expanduser().read_bytes()

    def tls_handshake(self, host, port, *, ca_file, cert_file, key_file, timeout) -> TlsOutcome:
        try:
            context = ssl.create_default_context(cafile=ca_file or None)
            if cert_file and key_file:
                context.load_cert_chain(cert_file, key_file)
        except (OSError, ssl.SSLError) as e:
            return TlsOutcome("ca_unreadable", str(e))
        try:
            with socket.create_connection((host, port), timeout=timeout) as raw:
                with context.wrap_socket(raw, server_hostname=host) as tls:
                    version = tls.version()
                    # With TLS 1.3 the server judges the client's certificate after the
                    # handshake: a refusal (unknown, revoked, expired) arrives as an alert.
                    tls.settimeout(POST_HANDSHAKE_WAIT)
                    try:
                        if not tls.recv(1):
                            return TlsOutcome("tls_refused", f"{host}:{port}: closed the connection after the handshake")
                    except (socket.timeout, TimeoutError):
                        pass  # the broker waits for our CONNECT: it accepted us
                    return TlsOutcome("ok", f"{version} with {host}:{port}")
        except ssl.SSLError as e:
            if e.reason == "SSLV3_ALERT_CERTIFICATE_REVOKED":  # the broker's CRL lists this device
                return TlsOutcome("revoked", f"{host}:{port}: {e.reason}")
            return TlsOutcome("tls_refused", f"{host}:{port}: {e.reason or e}")
        except (OSError, socket.timeout) as e:
            return TlsOutcome("unreachable", f"{host}:{port}: {e.strerror or e}")

    def disk_usage(self, path: str) -> tuple[int, int] | None:
        where = Path(path)
        while not where.exists() and where != where.parent:
            where = where.parent
        try:
            usage = shutil.disk_usage(where)
        except OSError:
            return None
        return usage.free, usage.total

    def kernel_log(self) -> list[str] | None:
        for command in (["journalctl", "-k", "-b", "--no-pager", "-q", "-o", "cat"], ["dmesg"]):
            if not shutil.which(command[0]):
                continue
            try:
                proc = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                      timeout=self.command_timeout, env=dict(os.environ, LC_ALL="C"))
            except (OSError, subprocess.TimeoutExpired):
                continue
            if proc.returncode == 0 and proc.stdout.strip():
                return proc.stdout.splitlines()
        return None

    def fs_errors(self, path: str) -> int | None:
        try:
            return self._health.storage().get("fs_errors")
        except (OSError, ValueError, IndexError):
            return None

    def throttled(self) -> dict | None:
        try:
            return self._health.throttled()
        except (OSError, ValueError):
            return None


def _healthy_throttled() -> dict:
    from pishkhan.hardware.health import decode_throttled

    return decode_throttled(0)


@dataclass
class FakeMachine(Machine):
    """A machine set by hand: by default a healthy, enrolled Pi with two screens.

    Set a field to make one reading fail; :attr:`files` maps a path to its bytes
    (a path absent from it cannot be read), :attr:`tls` is what every handshake
    gives, and :attr:`handshakes` records each one asked for.
    """

    raqm: bool = True
    fribidi: bool = True
    font_file: str | None = "/usr/share/fonts/truetype/vazirmatn/Vazirmatn-Regular.ttf"
    users: dict[str, frozenset[str]] = field(default_factory=lambda: {
        "pishkhan": frozenset({"pishkhan", "video", "render", "input", "gpio", "lp", "audio", "dialout"})})
    groups: frozenset[str] = frozenset({"pishkhan", "video", "render", "input", "gpio", "lp", "audio", "dialout"})
    printer: str = "ok"
    connectors: dict[str, str] | None = field(default_factory=lambda: {
        "DSI-1": "connected", "HDMI-A-1": "connected", "HDMI-A-2": "disconnected"})
    synced: bool | None = True
    clock: dt.datetime = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone.utc)
    files: dict[str, bytes] = field(default_factory=dict)
    tls: TlsOutcome = TlsOutcome("ok", "TLSv1.3")
    handshakes: list[tuple] = field(default_factory=list)
    disk: tuple[int, int] | None = (20_000_000_000, 31_000_000_000)
    kernel: list[str] | None = field(default_factory=lambda: ["mmc0: new high speed SDHC card at address aaaa"])
    fs_error_count: int | None = 0
    throttle: dict | None = field(default_factory=_healthy_throttled)

    def shaping(self):
        return {"raqm": self.raqm, "fribidi": self.fribidi}

    def font(self):
        return self.font_file

    def user(self, name):
        return UserInfo(True, frozenset(self.users[name])) if name in self.users else UserInfo(False)

    def system_groups(self):
        return frozenset(self.groups)

    def printer_state(self, uri):
        from pishkhan.exc import PrinterError

        if self.printer == "bad_uri":
            raise PrinterError(f"unknown printer URI {uri!r}", state="unknown")
        return self.printer

    def drm_connectors(self):
        return None if self.connectors is None else dict(self.connectors)

    def clock_synced(self):
        return self.synced

    def now(self):
        return self.clock

    def read_file(self, path):
        if path not in self.files:
            raise FileNotFoundError(2, "No such file or directory", path)
        return self.files[path]

    def tls_handshake(self, host, port, *, ca_file, cert_file, key_file, timeout):
        self.handshakes.append((host, port, ca_file, cert_file, key_file))
        return self.tls

    def disk_usage(self, path):
        return self.disk

    def kernel_log(self):
        return None if self.kernel is None else list(self.kernel)

    def fs_errors(self, path):
        return self.fs_error_count

    def throttled(self):
        return self.throttle
