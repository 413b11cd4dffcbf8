"""Starting the kiosk: it refuses to draw Persian it cannot shape."""

from __future__ import annotations

import pytest

from kiosk import prepare_kivy
from pishkhan.exc import RenderError


def test_refuses_to_start_without_raqm(monkeypatch):
    from PIL import features

    monkeypatch.setattr(features, "check", lambda name: False if name == "raqm" else True)
    with pytest.raises(RenderError, match="raqm"):
        prepare_kivy(size=(1280, 800))


def test_cli_rejects_a_bad_size(capsys):
    from cli.main import main

    assert main(["kiosk", "--size", "12x"]) == 1
    assert "--size must look like 1280x800" in capsys.readouterr().err


def test_set_pin_from_the_cli(tmp_path, monkeypatch):
    from cli.main import main
    from kiosk.pin import PinGuard
    from pishkhan.config import load_config
    from pishkhan.store import Store

    monkeypatch.setenv("PISHKHAN_STATE_DIR", str(tmp_path))
    assert main(["kiosk", "set-pin", "--pin", "2468"]) == 0
    assert main(["kiosk", "set-pin", "--pin", "12"]) == 1
    with Store(tmp_path / "pishkhan.db") as store:
        guard = PinGuard(store, config=load_config())
        assert guard.attempt("1234").result == "wrong"
        assert guard.attempt("2468").result == "ok"
