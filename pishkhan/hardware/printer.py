"""Thermal ticket printers (ESC/POS), real and fake, behind one small interface.

A :class:`Printer` prints a 1-bit image and reports its status. The bytes
are always made the same way, by python-escpos into a buffer
(:func:`encode_image`: ``GS v 0`` raster, then a feed and a cut), and then
written to the device in one piece, so the fake printer records exactly
what a real one would receive.

:func:`open_printer` chooses the implementation from a URI:

=========================  =================================================
``fake``                   :class:`FakePrinter`: keeps the bytes in ``.data``
``file:PATH``              :class:`FilePrinter`: appends the bytes to PATH
``usb:VID:PID``            USB printer by vendor and product id (hex)
``lp:/dev/usb/lp0``        the kernel's USB printer device
``serial:/dev/ttyUSB0``    serial port, optional ``:BAUD`` (default 19200)
``net:HOST[:PORT]``        raw TCP, port 9100 by default
=========================  =================================================

Status comes from the real-time ``DLE EOT`` queries where the printer
answers (USB, serial, network); otherwise the state is ``"unknown"``.
"""

from __future__ import annotations

import copy
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from pishkhan.exc import PrinterError

#: Printer states, as recorded in the state log (component ``printer``).
STATES = ("ok", "offline", "paper_out", "paper_near_end", "cover_open", "unknown")

#: Dots across the printable width of each paper.
PAPER_WIDTH = {"80mm": 576, "58mm": 384}

# Real-time status requests (DLE EOT n) and the bits of the answers.
DLE_EOT_PRINTER = b"\x10\x04\x01"
DLE_EOT_OFFLINE = b"\x10\x04\x02"
DLE_EOT_PAPER = b"\x10\x04\x04"
_OFFLINE_BIT = 0x08      # printer status: offline
_COVER_OPEN_BIT = 0x04   # offline cause: cover open
_PAPER_END_BIT = 0x20    # offline cause: stopped for paper end
_NEAR_END_BITS = 0x0C    # paper sensor: roll near end
_PAPER_OUT_BITS = 0x60   # paper sensor: roll end


@dataclass
class PrinterStatus:
    online: bool
    paper_out: bool = False
    paper_near_end: bool = False
    cover_open: bool = False
    state: str = "ok"

    @classmethod
    def of(cls, state: str) -> "PrinterStatus":
        """The status that a single *state* name implies."""
        if state not in STATES:
            raise ValueError(f"unknown printer state {state!r}; expected one of {STATES}")
        return cls(online=state in ("ok", "paper_near_end"), paper_out=state == "paper_out",
                   paper_near_end=state == "paper_near_end", cover_open=state == "cover_open", state=state)


def _escpos_cache_dir() -> None:
    """Give python-escpos a lasting, private folder for its parsed printer database.

    Without one it parses a large YAML file into a fresh temporary folder in
    every process (half a second, and a folder left behind each time).
    """
    if os.environ.get("ESCPOS_CAPABILITIES_PICKLE_DIR"):
        return
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pishkhan" / "escpos"
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o700)
        if base.stat().st_uid != os.getuid() or not os.access(base, os.W_OK):
            return
    except OSError:
        return
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(base)


_escpos_cache_dir()
_encoder_lock = threading.Lock()
_encoder = None
_cut = None


FRAGMENT_ROWS = 2000


def _escpos_buffer():
    """python-escpos's in-memory printer (Dummy), made once."""
    global _encoder
    from escpos.printer import Dummy

    if _encoder is None:
        _encoder = Dummy()
        # our own copy of the profile; a known width also stops python-escpos
        # printing "media.width.pixel field … not set" on stdout
        _encoder.profile.profile_data = copy.deepcopy(_encoder.profile.profile_data)
        _encoder.profile.profile_data["media"]["width"]["pixels"] = max(PAPER_WIDTH.values())
    _encoder.clear()
    return _encoder


def _cut_bytes() -> bytes:
    global _cut
    if _cut is None:
        with _encoder_lock:
            d = _escpos_buffer()
            d.cut(mode="PART")
            _cut = d.output
    return _cut


def raster(image) -> bytes:
    """``GS v 0`` raster blocks for a black-and-white *image*.

    Byte for byte what python-escpos's ``image(impl="bitImageRaster")`` sends
    for the same image (the tests compare them), without its six full-image
    conversions: this is the hot path of every ticket.
    """
    dots = ImageOps.invert(image.convert("L")).convert("1", dither=Image.Dither.NONE)  # set bit = black dot
    width_bytes = (dots.width + 7) // 8
    out = bytearray()
    for top in range(0, dots.height, FRAGMENT_ROWS):
        part = dots.crop((0, top, dots.width, min(top + FRAGMENT_ROWS, dots.height)))
        out += b"\x1dv0\x00" + width_bytes.to_bytes(2, "little") + part.height.to_bytes(2, "little")
        out += part.tobytes()
    return bytes(out)


def encode_image(image, *, cut: bool = True, engine: str = "fast") -> bytes:
    """The ESC/POS bytes for *image*: ``GS v 0`` raster, then feed and partial cut.

    *image* should be mode ``"1"`` (pure black and white) and at most the
    paper's width. ``engine="escpos"`` lets python-escpos encode the raster
    itself (slower, same bytes).
    """
    if engine == "escpos":
        with _encoder_lock:
            d = _escpos_buffer()
            d.image(image, impl="bitImageRaster", fragment_height=FRAGMENT_ROWS)
            body = d.output
    elif engine == "fast":
        body = raster(image)
    else:
        raise ValueError(f"engine must be 'fast' or 'escpos', got {engine!r}")
    return body + (_cut_bytes() if cut else b"")


class Printer:
    """Base: subclasses give :meth:`write` and :meth:`status`.

    Use as a context manager or call :meth:`close`; a closed printer raises
    :exc:`PrinterError` on use.
    """

    uri = ""

    def __init__(self):
        self._closed = False

    def _check_open(self):
        if self._closed:
            raise PrinterError(f"printer {self.uri} is closed", state="offline")

    def print_image(self, image) -> None:
        """Print *image* and cut; raises :exc:`PrinterError` with the printer's state."""
        self.print_bytes(encode_image(image))

    def print_bytes(self, data: bytes) -> None:
        """Send ready ESC/POS bytes, after checking the printer can print."""
        self._check_open()
        status = self.status()
        if status.state not in ("ok", "paper_near_end", "unknown"):
            raise PrinterError(f"printer {self.uri} cannot print: {status.state}", state=status.state)
        self.write(data)

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def status(self) -> PrinterStatus:
        raise NotImplementedError

    def close(self) -> None:
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakePrinter(Printer):
    """Records every byte it is sent in :attr:`data`; tests can make it fail.

    ``fail_with("paper_out")`` makes the next prints raise and :meth:`status`
    report that state until :meth:`recover`.
    """

    uri = "fake"

    def __init__(self):
        super().__init__()
        self.data = b""
        self.jobs: list[bytes] = []
        self._state = "ok"

    def fail_with(self, state: str):
        PrinterStatus.of(state)
        self._state = state

    def recover(self):
        self._state = "ok"

    def status(self) -> PrinterStatus:
        self._check_open()
        return PrinterStatus.of(self._state)

    def write(self, data: bytes) -> None:
        self.data += data
        self.jobs.append(data)


class FilePrinter(FakePrinter):
    """A fake printer that also appends every job's bytes to a file."""

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.uri = f"file:{self.path}"

    def write(self, data: bytes) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as f:
                f.write(data)
                f.flush()
        except OSError as e:
            raise PrinterError(f"cannot write the printer file {self.path}: {e}", state="offline") from None
        super().write(data)


class EscposPrinter(Printer):
    """A real printer through a python-escpos connection (opened on first use)."""

    def __init__(self, uri: str, factory):
        super().__init__()
        self.uri = uri
        self._factory = factory
        self._device = None
        self._answers = True  # whether it answers status requests
        self._lock = threading.Lock()

    def _connection(self):
        if self._device is None:
            try:
                device = self._factory()
                device.open()
            except Exception as e:  # escpos raises many kinds: USBNotFoundError, OSError, …
                raise PrinterError(f"printer {self.uri} is not reachable: {e}", state="offline") from None
            self._device, self._answers = device, True
        return self._device

    def _drop(self):
        if self._device is not None:
            try:
                self._device.close()
            except Exception:
                pass
            self._device = None

    def _query(self, request: bytes) -> int | None:
        """Send a real-time status request; the answer byte, or None when none came.

        A failed write means the connection is gone (:exc:`PrinterError`).
        """
        device = self._connection()
        if not hasattr(device, "_read") or not self._answers:
            return None
        try:
            device._raw(request)
        except Exception as e:
            self._drop()
            raise PrinterError(f"printer {self.uri} went away: {e}", state="offline") from None
        try:
            answer = device._read()
        except Exception:
            answer = b""
        if not answer:
            self._answers = False  # it does not answer status: stop asking (a late answer would confuse us)
            return None
        return answer[0]

    def status(self) -> PrinterStatus:
        """The printer's state from ``DLE EOT``; ``unknown`` when it does not answer."""
        self._check_open()
        with self._lock:
            try:
                printer = self._query(DLE_EOT_PRINTER)
                if printer is None:
                    return PrinterStatus.of("unknown")
                cause = self._query(DLE_EOT_OFFLINE) or 0
                paper = self._query(DLE_EOT_PAPER) or 0
            except PrinterError:
                return PrinterStatus.of("offline")
        paper_out = bool(paper & _PAPER_OUT_BITS == _PAPER_OUT_BITS or cause & _PAPER_END_BIT)
        near_end = bool(paper & _NEAR_END_BITS == _NEAR_END_BITS)
        cover_open = bool(cause & _COVER_OPEN_BIT)
        online = not (printer & _OFFLINE_BIT)
        state = ("cover_open" if cover_open else "paper_out" if paper_out else
                 "offline" if not online else "paper_near_end" if near_end else "ok")
        return PrinterStatus(online, paper_out, near_end, cover_open, state)

    def write(self, data: bytes) -> None:
        with self._lock:
            device = self._connection()
            try:
                device._raw(data)
            except Exception as e:
                self._drop()
                raise PrinterError(f"printer {self.uri} failed while printing: {e}", state="offline") from None

    def close(self) -> None:
        with self._lock:
            self._drop()
        super().close()


def _int(text: str, what: str, uri: str, *, base: int = 10) -> int:
    try:
        return int(text, 0) if text.lower().startswith("0x") else int(text, base)
    except ValueError:
        raise PrinterError(f"printer URI {uri!r}: {what} must be a number, got {text!r}", state="unknown") from None


def open_printer(uri: str) -> Printer:
    """The :class:`Printer` for *uri* (see the module docstring for the forms).

    The device is opened on first use, so opening never fails for an
    unplugged printer; printing and :meth:`~Printer.status` report it.
    """
    uri = (uri or "").strip()
    kind, _, rest = uri.partition(":")
    if kind == "fake" and not rest:
        return FakePrinter()
    if kind == "file" and rest:
        return FilePrinter(rest)
    if kind == "usb":
        parts = rest.split(":")
        if len(parts) != 2:
            raise PrinterError(f"printer URI {uri!r}: expected usb:VENDOR:PRODUCT, e.g. usb:0x0416:0x5011",
                               state="unknown")
        vendor, product = (_int(p, "USB id", uri, base=16) for p in parts)

        def usb():
            from escpos.printer import Usb
            return Usb(vendor, product)
        return EscposPrinter(uri, usb)
    if kind == "lp" and rest:
        def lp():
            from escpos.printer import File
            return File(rest, auto_flush=True)
        return EscposPrinter(uri, lp)
    if kind == "serial" and rest:
        port, baud = rest, ""
        if ":" in rest and rest.rsplit(":", 1)[1].isdigit():
            port, baud = rest.rsplit(":", 1)
        rate = _int(baud, "baud", uri) if baud else 19200

        def serial():
            from escpos.printer import Serial
            return Serial(port, baudrate=rate, timeout=1)
        return EscposPrinter(uri, serial)
    if kind == "net" and rest:
        host, _, port = rest.partition(":")
        number = _int(port, "port", uri) if port else 9100

        def network():
            from escpos.printer import Network
            return Network(host, port=number, timeout=3)
        return EscposPrinter(uri, network)
    raise PrinterError(f"unknown printer URI {uri!r}; expected fake, file:PATH, usb:VID:PID, lp:/dev/usb/lp0, "
                       "serial:/dev/ttyUSB0[:BAUD] or net:HOST[:9100]", state="unknown")
