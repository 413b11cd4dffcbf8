"""Which output each app is on, whether it is plugged in, and the wall's ``display off`` while it is not."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from cli.screens import NO_SCREEN, no_screen
from display.output_watch import OutputWatch
from display.screen_power import FakePower, ScreenPowerController
from pishkhan.config import parse_config
from pishkhan.exc import ConfigError
from pishkhan.hardware.outputs import (DrmOutputs, FakeOutputs, OutputProblem, OutputStatus, modesetting_name,
                                       x_display, x_screen, xorg_conf)
from pishkhan.text.jalali import TEHRAN

C, D, A, U = OutputStatus.CONNECTED, OutputStatus.DISCONNECTED, OutputStatus.ABSENT, OutputStatus.UNKNOWN


def config(tmp_path, kiosk="DSI-1", display="HDMI-A-1"):
    return parse_config({"device": {"state_dir": str(tmp_path / "state")}, "hours": {"always_open": True},
                         "kiosk": {"output": kiosk}, "display": {"output": display}})


def test_drm_outputs_read_the_kernels_connector_status(tmp_path):
    for card, name, status in (("card1", "HDMI-A-1", "connected"), ("card1", "HDMI-A-2", "disconnected"),
                               ("card1", "DSI-1", "unknown"), ("card0", "Writeback-1", "unknown")):
        (tmp_path / f"{card}-{name}").mkdir()
        (tmp_path / f"{card}-{name}" / "status").write_text(status + "\n")
    (tmp_path / "card1").mkdir()  # the card itself: no status, not a connector
    drm = DrmOutputs(root=tmp_path)
    assert [drm.status(n) for n in ("HDMI-A-1", "HDMI-A-2", "DSI-1", "DSI-2")] == [C, D, U, A]
    assert drm.problem("HDMI-A-2") is OutputProblem.DISCONNECTED and drm.problem("DSI-2") is OutputProblem.ABSENT
    assert drm.problem("HDMI-A-1") is None and drm.device("HDMI-A-1") == "/dev/dri/card1"
    assert DrmOutputs(root=tmp_path / "none").status("HDMI-A-1") is U  # no DRM at all: nothing can be said
    assert FakeOutputs().status("HDMI-A-1") is U and FakeOutputs({"DSI-1": C}).status("HDMI-A-1") is A


def test_each_app_has_its_own_x_screen_and_an_absent_screen_moves_none_onto_it(tmp_path):
    both = FakeOutputs({"DSI-1": C, "HDMI-A-1": D})  # a TV unplugged still has its screen
    cfg = config(tmp_path)
    assert (x_screen(cfg, "kiosk", outputs=both), x_screen(cfg, "display", outputs=both)) == (0, 1)
    tv_only = config(tmp_path, kiosk="")
    assert (x_screen(tv_only, "kiosk", outputs=both), x_screen(tv_only, "display", outputs=both)) == (None, 0)
    no_dsi = FakeOutputs({"HDMI-A-1": C})  # kiosk.output names a connector this Pi does not have
    assert (x_screen(cfg, "kiosk", outputs=no_dsi), x_screen(cfg, "display", outputs=no_dsi)) == (None, 0)
    assert [x_display(b, 1) for b in (":0", ":0.0", "host:12.3")] == [":0.1", ":0.1", "host:12.1"]
    with pytest.raises(ValueError):
        x_display("wayland-0", 0)


def test_the_xorg_configuration_has_one_zaphod_screen_per_output(tmp_path):
    text = xorg_conf(config(tmp_path), outputs=FakeOutputs({"DSI-1": C, "HDMI-A-1": C}))
    assert text.count('Driver "modesetting"') == 2
    assert '"ZaphodHeads" "DSI-1"' in text and '"ZaphodHeads" "HDMI-1"' in text
    assert 'Screen 0 "kiosk-screen"' in text and 'Screen 1 "display-screen"' in text
    one = xorg_conf(config(tmp_path, kiosk=""), outputs=FakeOutputs({"HDMI-A-1": C}))
    assert one.count("Option \"ZaphodHeads\"") == 1 and 'Screen 0 "display-screen"' in one
    assert modesetting_name("HDMI-A-2") == "HDMI-2" and modesetting_name("DSI-1") == "DSI-1"
    portrait = parse_config({"device": {"state_dir": str(tmp_path)}, "display": {"orientation": "portrait"}})
    turned = xorg_conf(portrait, outputs=FakeOutputs({"DSI-1": C, "HDMI-A-1": C}))
    assert '"Monitor-HDMI-1" "display-monitor"' in turned and '"Rotate" "left"' in turned
    assert "Rotate" not in text


def test_an_office_without_a_screen_says_why_its_unit_does_not_start(tmp_path, capsys):
    from cli.main import main

    assert NO_SCREEN == 1  # ExecCondition: 1-254 skips the unit, it is not a failure
    assert no_screen(config(tmp_path), "display", FakeOutputs({"HDMI-A-1": C})) is None
    why = no_screen(config(tmp_path, display=""), "display", FakeOutputs({"HDMI-A-1": C}))
    assert why.reason == "no_output" and "display.output is empty" in why.text
    assert no_screen(config(tmp_path), "kiosk", FakeOutputs({"HDMI-A-1": C})).reason == "output_absent"
    path = tmp_path / "one-screen.toml"
    path.write_text('[kiosk]\noutput = ""\n')
    assert main(["screens", "check", "kiosk", "--config", str(path)]) == NO_SCREEN
    assert capsys.readouterr().err.startswith("no_output: ")
    assert main(["screens", "check", "display", "--config", str(path)]) == 0
    assert main(["screens", "check", "any", "--config", str(path)]) == 0  # the X server starts for the wall
    path.write_text('[kiosk]\noutput = ""\n[display]\noutput = ""\n')
    capsys.readouterr()
    assert main(["screens", "check", "any", "--config", str(path)]) == NO_SCREEN
    assert "the X server does not start" in capsys.readouterr().err


def test_config_refuses_one_output_for_both_apps_and_a_malformed_name(tmp_path):
    with pytest.raises(ConfigError, match="each app needs its own output"):
        config(tmp_path, kiosk="HDMI-A-1")
    with pytest.raises(ConfigError, match="DRM connector name"):
        config(tmp_path, display="HDMI 1")


def test_the_wall_records_display_off_while_its_output_is_unplugged_and_on_when_back(tmp_path, store):
    outputs = FakeOutputs({"HDMI-A-1": C})
    cfg = config(tmp_path)
    power = ScreenPowerController.from_config(store, cfg, [FakePower()], board_version=lambda: "7",
                                              clock=lambda: dt.datetime(2026, 11, 28, 9, 0, tzinfo=TEHRAN))
    watch = OutputWatch(outputs, "HDMI-A-1", on_change=power.record)
    power.output_problem = watch.problem
    assert power.tick() == "on" and watch.poll() is False
    outputs.set("HDMI-A-1", D)
    assert watch.poll() is True and watch.poll() is False  # recorded once
    outputs.set("HDMI-A-1", C)
    assert watch.poll() is True
    states = [(r["state"], r["reason"], r["detail"].get("output")) for r in store.state_history("display")]
    assert states == [("on", "schedule: open hours", None), ("off", "output_disconnected", "HDMI-A-1"),
                      ("on", "schedule: open hours", None)]
    assert OutputWatch(outputs, "").poll() is False  # a window on a desktop watches nothing


def test_the_watch_goes_on_when_reading_fails(tmp_path):
    class Broken(FakeOutputs):
        def status(self, name):
            raise OSError("gone")
    stop = threading.Event()
    t = threading.Thread(target=OutputWatch(Broken(), "HDMI-A-1").run, args=(stop,), kwargs={"interval": 0.01})
    t.start()
    stop.wait(0.05)
    assert t.is_alive()
    stop.set()
    t.join(1)
