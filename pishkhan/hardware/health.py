"""The device's health readings, behind one small interface with a real and a fake.

:meth:`Health.read` returns a flat dict of readings. A reading this machine
does not have (no thermal zone in a virtual machine, no Wi-Fi on a wired Pi,
no firmware throttling flags off a Pi) is **None**: absent, never invented.

=====================  ================================================================
reading                source on a Raspberry Pi
=====================  ================================================================
``uptime_s``           ``/proc/uptime``
``cpu_temp_c``         ``/sys/class/thermal/thermal_zone0/temp``
``throttled``          the firmware's ``get_throttled`` bits, from sysfs
                       (``/sys/devices/platform/soc/soc:firmware/get_throttled``) or
                       ``vcgencmd get_throttled``; decoded into ``under_voltage``,
                       ``freq_capped``, ``throttling``, ``soft_temp_limit`` (now) and
                       ``*_occurred`` (since boot)
``load_1m``            ``os.getloadavg()``
``mem_total_kb``,      ``/proc/meminfo`` (MemTotal, MemAvailable)
``mem_available_kb``
``disk_free_bytes``,   ``statvfs`` of the state folder
``disk_total_bytes``
``storage_written_bytes``  sectors written on the block device holding the state folder
                       (``/sys/dev/block/MAJ:MIN/stat``, × 512)
``fs_errors``          ext4's ``errors_count`` for that device (``/sys/fs/ext4/DEV/``)
``net_iface``,         the interface of the default route (``/proc/net/route``) and its
``net_addr``           IPv4 address (``SIOCGIFADDR``; nothing is sent)
``wifi_signal_dbm``    ``/proc/net/wireless`` for that interface
=====================  ================================================================

Every path is read under *root*, so the real implementation is tested on a
folder laid out like a Pi's ``/proc`` and ``/sys``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import struct
import subprocess
from pathlib import Path

from pishkhan.exc import ConfigError

THROTTLE_BITS = {0: "under_voltage", 1: "freq_capped", 2: "throttling", 3: "soft_temp_limit",
                 16: "under_voltage_occurred", 17: "freq_capped_occurred", 18: "throttling_occurred",
                 19: "soft_temp_limit_occurred"}
SIOCGIFADDR = 0x8915

READINGS = ("uptime_s", "cpu_temp_c", "throttled", "load_1m", "mem_total_kb", "mem_available_kb",
            "disk_free_bytes", "disk_total_bytes", "storage_written_bytes", "fs_errors", "net_iface",
            "net_addr", "wifi_signal_dbm")


def decode_throttled(value: int) -> dict:
    """The firmware's ``get_throttled`` bits as named flags, with the raw value."""
    return {"raw": f"0x{value:x}", **{name: bool(value >> bit & 1) for bit, name in THROTTLE_BITS.items()}}


class Health:
    """Base: :meth:`read` gives every reading in :data:`READINGS` (None where absent)."""

    def read(self) -> dict:
        raise NotImplementedError


class PiHealth(Health):
    """The real machine's readings.

    :param state_dir: the folder whose disk and block device are watched.
    :param root: where ``/proc`` and ``/sys`` are (tests lay out their own).
    :param vcgencmd: the firmware tool, tried when sysfs has no throttling flags.
    """

    def __init__(self, state_dir, *, root: str = "/", vcgencmd: str | None = "vcgencmd"):
        self.state_dir = Path(state_dir)
        self.root = Path(root)
        self.vcgencmd = vcgencmd

    def _text(self, path: str) -> str | None:
        try:
            return (self.root / path.lstrip("/")).read_text(encoding="ascii", errors="replace")
        except OSError:
            return None

    def read(self) -> dict:
        out = dict.fromkeys(READINGS)
        for name, reader in (("uptime_s", self.uptime), ("cpu_temp_c", self.cpu_temp), ("throttled", self.throttled),
                             ("load_1m", self.load)):
            out[name] = _safe(reader)
        out.update(_safe(self.memory) or {})
        out.update(_safe(self.disk) or {})
        out.update(_safe(self.storage) or {})
        out.update(_safe(self.network) or {})
        return out

    def uptime(self):
        text = self._text("/proc/uptime")
        return round(float(text.split()[0]), 1) if text else None

    def cpu_temp(self):
        text = self._text("/sys/class/thermal/thermal_zone0/temp")
        return round(int(text.strip()) / 1000, 1) if text and text.strip() else None

    def throttled(self):
        text = self._text("/sys/devices/platform/soc/soc:firmware/get_throttled")
        if text is None and self.vcgencmd and shutil.which(self.vcgencmd):
            try:
                proc = subprocess.run([self.vcgencmd, "get_throttled"], capture_output=True, text=True, timeout=5)
                text = proc.stdout.partition("=")[2] if proc.returncode == 0 else None
            except (OSError, subprocess.TimeoutExpired):
                text = None
        if not text or not text.strip():
            return None
        return decode_throttled(int(text.strip(), 16))

    def load(self):
        return round(os.getloadavg()[0], 2) if self.root == Path("/") else _load_from(self._text("/proc/loadavg"))

    def memory(self):
        text = self._text("/proc/meminfo")
        if not text:
            return None
        values = {}
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            if key in ("MemTotal", "MemAvailable"):
                values[key] = int(rest.split()[0])
        return {"mem_total_kb": values.get("MemTotal"), "mem_available_kb": values.get("MemAvailable")}

    def disk(self):
        usage = shutil.disk_usage(self._existing(self.state_dir))
        return {"disk_free_bytes": usage.free, "disk_total_bytes": usage.total}

    @staticmethod
    def _existing(path: Path) -> Path:
        while not path.exists() and path != path.parent:
            path = path.parent
        return path

    def storage(self):
        st = os.stat(self._existing(self.state_dir))
        major, minor = os.major(st.st_dev), os.minor(st.st_dev)
        out = {"storage_written_bytes": None, "fs_errors": None}
        stat = self._text(f"/sys/dev/block/{major}:{minor}/stat")
        if stat:
            fields = stat.split()
            out["storage_written_bytes"] = int(fields[6]) * 512  # sectors written
        dev = self._device_name(major, minor)
        if dev:
            errors = self._text(f"/sys/fs/ext4/{dev}/errors_count")
            if errors is not None and errors.strip().isdigit():
                out["fs_errors"] = int(errors.strip())
        return out

    def _device_name(self, major: int, minor: int) -> str | None:
        uevent = self._text(f"/sys/dev/block/{major}:{minor}/uevent")
        for line in (uevent or "").splitlines():
            if line.startswith("DEVNAME="):
                return line.split("=", 1)[1].strip()
        return None

    def network(self):
        out = {"net_iface": None, "net_addr": None, "wifi_signal_dbm": None}
        route = self._text("/proc/net/route")
        for line in (route or "").splitlines()[1:]:
            fields = line.split()
            if len(fields) > 2 and fields[1] == "00000000":
                out["net_iface"] = fields[0]
                break
        iface = out["net_iface"]
        if iface is None:
            return out
        out["net_addr"] = _ipv4_of(iface) if self.root == Path("/") else None
        wireless = self._text("/proc/net/wireless")
        for line in (wireless or "").splitlines()[2:]:
            name, _, rest = line.partition(":")
            if name.strip() == iface:
                out["wifi_signal_dbm"] = float(rest.split()[2].rstrip("."))
        return out


def _load_from(text):
    return round(float(text.split()[0]), 2) if text else None


def _ipv4_of(iface: str) -> str | None:
    """The IPv4 address of *iface* by ioctl (no packet is sent), or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, struct.pack("256s", iface[:15].encode()))
            return socket.inet_ntoa(packed[20:24])
    except OSError:
        return None


def _safe(reader):
    """A reading that fails is absent (None); it never stops the others."""
    try:
        return reader()
    except (OSError, ValueError, IndexError):
        return None


class FakeHealth(Health):
    """Readings set by hand (tests, the demo, simulated offices); unset ones are absent."""

    def __init__(self, **readings):
        unknown = set(readings) - set(READINGS)
        if unknown:
            raise ConfigError(f"unknown health readings {sorted(unknown)}; known: {list(READINGS)}")
        self.readings = readings

    def read(self) -> dict:
        return dict.fromkeys(READINGS) | self.readings


def health_from_config(config) -> Health:
    """``hardware.health``: "pi" (the real machine) or "fake"."""
    name = config.hardware.health
    if name == "pi":
        return PiHealth(config.state_dir)
    if name == "fake":
        return FakeHealth(uptime_s=3600.0, cpu_temp_c=48.5, throttled=decode_throttled(0), load_1m=0.3,
                          mem_total_kb=1_900_000, mem_available_kb=1_200_000, disk_free_bytes=20_000_000_000,
                          disk_total_bytes=31_000_000_000, storage_written_bytes=1_000_000, fs_errors=0,
                          net_iface="eth0", net_addr="192.0.2.10")
    raise ConfigError(f"hardware.health: expected \"pi\" or \"fake\", got {name!r}")
