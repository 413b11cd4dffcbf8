"""The private virtual X server used by the demo, benchmarks and --screenshots runs."""

from __future__ import annotations

import os
from pathlib import Path

from cli.headless import VirtualDisplay


def test_starts_a_virtual_screen_and_restores_display(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":4242")
    with VirtualDisplay((800, 1280), force=True, first=300) as screen:
        number = int(os.environ["DISPLAY"].lstrip(":"))
        assert number >= 300
        assert Path(f"/tmp/.X11-unix/X{number}").exists()
        assert screen.proc.poll() is None
    assert os.environ["DISPLAY"] == ":4242"
    assert screen.proc is None


def test_does_nothing_where_a_display_exists(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":4242")
    with VirtualDisplay() as screen:
        assert screen.proc is None and os.environ["DISPLAY"] == ":4242"
