"""The board's hardware serial number, which the device reports when it enrols.

:class:`PiSerial` reads it where a Raspberry Pi keeps it: the device tree's
``serial-number`` (``/sys/firmware/devicetree/base/serial-number``), else the
``Serial`` line of ``/proc/cpuinfo``. :class:`FakeSerial` returns what it is
given. The centre records the serial; it trusts nothing about it.
"""

from __future__ import annotations

import re
from pathlib import Path

DEVICE_TREE = Path("/sys/firmware/devicetree/base/serial-number")
CPUINFO = Path("/proc/cpuinfo")
_PLAIN = re.compile(r"[0-9A-Za-z]{1,64}", re.ASCII)
_SERIAL = re.compile(r"^Serial\s*:\s*([0-9A-Za-z]+)\s*$", re.MULTILINE)


class HardwareSerial:
    """Interface: :meth:`read` returns the serial, or ``""`` when the board has none to tell."""

    def read(self) -> str:
        raise NotImplementedError


class PiSerial(HardwareSerial):
    """The serial from the device tree or ``/proc/cpuinfo`` (paths given for tests)."""

    def __init__(self, *, device_tree: Path = DEVICE_TREE, cpuinfo: Path = CPUINFO):
        self.device_tree = Path(device_tree)
        self.cpuinfo = Path(cpuinfo)

    def read(self) -> str:
        try:
            text = self.device_tree.read_bytes()[:256].rstrip(b"\0").decode("ascii", "replace").strip()
            if _PLAIN.fullmatch(text):  # only letters and digits are sent: anything else is not a serial
                return text
        except OSError:
            pass
        try:
            m = _SERIAL.search(self.cpuinfo.read_text(encoding="ascii", errors="replace"))
        except OSError:
            return ""
        return m.group(1)[:64] if m else ""


class FakeSerial(HardwareSerial):
    def __init__(self, serial: str = "fake-0000"):
        self.serial = serial

    def read(self) -> str:
        return self.serial
