"""Kivy's environment is prepared in one place, before Kivy is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pishkhan.exc import RenderError
from pishkhan.runtime import kivy_env

ROOT = Path(__file__).resolve().parents[2]


def imported_after(code: str) -> set[str]:
    """Top-level modules imported by *code* in a fresh interpreter without KIVY_TEXT."""
    env = {k: v for k, v in os.environ.items() if k != "KIVY_TEXT"} | {"PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code + "; import sys; print(' '.join(sys.modules))"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return {name.split(".")[0] for name in out.stdout.split()}


def test_the_core_function_and_the_walls_model_import_no_kivy():
    assert "kivy" not in imported_after("import pishkhan.runtime.kivy_env")
    assert "kivy" not in imported_after("import display.model, display.events, display.geometry, cli.display")


def test_an_app_imported_before_kivy_is_prepared_says_so(monkeypatch):
    monkeypatch.setenv("KIVY_TEXT", "sdl2")
    with pytest.raises(RenderError, match="kiosk.app draws Persian.*prepare_kivy"):
        kivy_env.require_prepared("kiosk.app")
    monkeypatch.setenv("KIVY_TEXT", "pil")
    kivy_env.require_prepared("kiosk.app")


def test_no_app_sets_kivys_text_provider_itself():
    setters = [p.relative_to(ROOT) for folder in ("kiosk", "display", "cli", "bench", "panel", "pishkhan")
               for p in (ROOT / folder).rglob("*.py") if 'os.environ["KIVY_TEXT"]' in p.read_text(encoding="utf-8")]
    assert setters == [Path("pishkhan/runtime/kivy_env.py")]
