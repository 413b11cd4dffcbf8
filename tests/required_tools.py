"""External tools some tests read their results with (Tesseract's Persian
model, pdfinfo, zbar): a missing one fails the test, it does not skip it.

``make test`` installs every one of them (scripts/install-system.sh), so a
missing tool there means a broken set-up, and a suite that skipped its
read-backs would be green having tested nothing. Set
``PISHKHAN_ALLOW_MISSING_TOOLS=1`` to skip such tests instead, on a machine
known to lack them.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
from functools import lru_cache

import pytest

ALLOW = "PISHKHAN_ALLOW_MISSING_TOOLS"

#: tool -> (what is missing, the Debian package that has it)
TOOLS = {
    "tesseract": "tesseract-ocr, tesseract-ocr-fas",
    "pdfinfo": "poppler-utils",
    "zbar": "libzbar0 (and the pyzbar package of the test extra)",
    "systemd-analyze": "systemd",
    "promtool": "prometheus",
    "amtool": "prometheus-alertmanager",
}


@lru_cache(maxsize=None)
def missing(name: str) -> str | None:
    """Why *name* cannot be used here, or None when it can."""
    if name == "tesseract":
        if not shutil.which("tesseract"):
            return "the tesseract command is not installed"
        langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
        if "fas" not in langs:
            return "tesseract has no Persian model (fas)"
        try:
            import pytesseract  # noqa: F401
        except ImportError:
            return "the pytesseract package is not installed"
        return None
    if name == "pdfinfo":
        return None if shutil.which("pdfinfo") else "the pdfinfo command is not installed"
    if name == "zbar":
        if not ctypes.util.find_library("zbar"):
            return "the zbar library is not installed"
        try:
            from pyzbar import pyzbar  # noqa: F401
        except (ImportError, OSError) as e:
            return f"pyzbar cannot load zbar ({e})"
        return None
    if name == "systemd-analyze":
        return None if shutil.which("systemd-analyze") else "the systemd-analyze command is not installed"
    if name in ("promtool", "amtool"):
        return None if shutil.which(name) else f"the {name} command is not installed"
    raise ValueError(f"unknown tool {name!r}; known: {', '.join(TOOLS)}")


def require_tool(name: str):
    """Fail the calling test when *name* is missing (skip only with PISHKHAN_ALLOW_MISSING_TOOLS=1)."""
    why = missing(name)
    if why is None:
        return
    message = f"{why}: install {TOOLS[name]} (make test does)"
    if os.environ.get(ALLOW) == "1":
        pytest.skip(f"{message}; skipped because {ALLOW}=1")
    pytest.fail(f"{message}, or set {ALLOW}=1 to skip the tests that need it", pytrace=False)
