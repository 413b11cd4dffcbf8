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
    from pishkhan.store.database import Store

    monkeypatch.setenv("PISHKHAN_STATE_DIR", str(tmp_path))
    assert main(["kiosk", "set-pin", "--pin", "2468"]) == 0
    assert main(["kiosk", "set-pin", "--pin", "12"]) == 1
    with Store(tmp_path / "pishkhan.db") as store:
        guard = PinGuard(store, config=load_config())
        assert guard.attempt("1234").result == "wrong"
        assert guard.attempt("2468").result == "ok"


def test_counts_have_words_for_none_and_one():
    from kiosk.strings import t

    assert t("people_ahead", "fa", n=0) == "کسی جلوتر از شما نیست"
    assert t("people_ahead", "fa", n=1) == "۱ نفر جلوتر از شما"
    assert t("people_ahead", "fa", n=12) == "۱۲ نفر جلوتر از شما"
    assert t("people_ahead", "en", n=1) == "1 person ahead of you"
    assert t("people_waiting", "en", n=0) == "Nobody waiting"
    assert t("people_waiting", "en", n=3) == "3 people waiting"
