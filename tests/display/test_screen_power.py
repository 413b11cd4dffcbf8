"""Screen power follows the working hours, and the actual state is recorded."""

from __future__ import annotations

import datetime as dt

from display.screen_power import (BlankPower, CecPower, FakePower, ScreenPowerController,
                                   backends_from_config)
from pishkhan.schedule.hours import hours_from_config
from pishkhan.config import parse_config
from pishkhan.text.jalali import TEHRAN


class FakeClock:
    def __init__(self, at):
        self.at = at

    def __call__(self):
        return self.at


def weekday_config(tmp_path):
    # 2026-11-28 is a Saturday: open 07:30-14:30.
    return parse_config({"device": {"state_dir": str(tmp_path / "state")},
                         "display": {"power_on_before_minutes": 15, "power_off_after_minutes": 15,
                                     "power_reassert_seconds": 300}})


def controller(store, config, backends, clock, version="7"):
    return ScreenPowerController.from_config(store, config, backends, clock=clock, board_version=lambda: version)


def test_schedule_turns_the_fake_screen_on_and_off(tmp_path, store):
    config = weekday_config(tmp_path)
    fake = FakePower()
    blanked = []
    clock = FakeClock(dt.datetime(2026, 11, 28, 6, 0, tzinfo=TEHRAN))
    c = controller(store, config, [fake, BlankPower(blanked.append)], clock)

    assert c.tick() == "off_schedule"            # 06:00, long before opening
    assert fake.is_on is False and blanked == [True]
    clock.at = dt.datetime(2026, 11, 28, 6, 4, tzinfo=TEHRAN)
    assert c.tick() is None                      # unchanged, not yet due to re-assert
    clock.at = dt.datetime(2026, 11, 28, 7, 15, tzinfo=TEHRAN)
    assert c.tick() == "on"                      # 15 minutes before opening
    assert fake.is_on is True and blanked == [True, False]
    clock.at = dt.datetime(2026, 11, 28, 14, 44, tzinfo=TEHRAN)
    c.tick()
    assert fake.is_on is True                    # closed at 14:30, but within the margin
    clock.at = dt.datetime(2026, 11, 28, 14, 45, tzinfo=TEHRAN)
    assert c.tick() == "off_schedule"
    assert fake.calls == [False, True, True, False]  # 14:44 re-asserted on

    states = [(r["state"], r["reason"], r["detail"]["board"]) for r in store.state_history("display")]
    assert states == [("off_schedule", "schedule: outside open hours", "7"),
                      ("on", "schedule: open hours", "7"),
                      ("off_schedule", "schedule: outside open hours", "7")]


def test_wanted_state_is_reasserted(tmp_path, store):
    config = weekday_config(tmp_path)
    fake = FakePower()
    clock = FakeClock(dt.datetime(2026, 11, 28, 9, 0, tzinfo=TEHRAN))
    c = controller(store, config, [fake], clock)
    c.tick()
    clock.at += dt.timedelta(seconds=299)
    c.tick()
    assert fake.calls == [True]
    clock.at += dt.timedelta(seconds=1)
    c.tick()
    assert fake.calls == [True, True]           # a TV switched off by hand comes back
    assert len(store.state_history("display")) == 1   # same state: one row


def test_deaf_tv_is_recorded_apart_from_off_by_schedule(tmp_path, store):
    config = weekday_config(tmp_path)
    deaf = FakePower(answers=False)
    blanked = []
    clock = FakeClock(dt.datetime(2026, 11, 28, 9, 0, tzinfo=TEHRAN))
    c = controller(store, config, [deaf, BlankPower(blanked.append)], clock)
    assert c.tick() == "tv_not_answering"
    clock.at = dt.datetime(2026, 11, 28, 20, 0, tzinfo=TEHRAN)
    assert c.tick() == "blank"                   # off by schedule, but only blanked locally
    assert blanked == [False, True]
    last = store.last_state("display")
    assert "TV not switched off" in last["reason"] and last["detail"]["backends"] == {"fake": "tv_not_answering",
                                                                                     "blank": "off"}


def test_no_signal_and_no_verified_board(tmp_path, store):
    config = weekday_config(tmp_path)
    clock = FakeClock(dt.datetime(2026, 11, 28, 9, 0, tzinfo=TEHRAN))
    c = controller(store, config, [FakePower(signal=False)], clock)
    assert c.tick() == "no_signal"
    c2 = controller(store, config, [FakePower()], clock, version=None)
    assert c2.tick() == "on"
    assert store.last_state("display")["reason"] == "no_verified_board"


def test_friday_stays_off(tmp_path, store):
    config = weekday_config(tmp_path)
    fake = FakePower()
    c = controller(store, config, [fake], FakeClock(dt.datetime(2026, 11, 27, 10, 0, tzinfo=TEHRAN)))
    assert c.tick() == "off_schedule"            # Friday: closed all day


def test_cec_backend_reads_the_tv_answer():
    sent = []

    def tv(status):
        def run(argv, timeout):
            sent.append(argv[3:])
            if "--playback" in argv:
                return 0, "Physical Address           : 1.0.0.0\n"
            if "--give-device-power-status" in argv:
                return (0, f"\tpwr-state: {status} (0x00)\n") if status else (1, "Transmit failed: Tx, Not Acknowledged")
            if "--physical-address" in argv:
                return 0, "1.0.0.0"
            return 0, ""
        return run

    assert CecPower(run=tv("on")).set(True).ok
    assert ["--to", "0", "--image-view-on"] in sent
    off = CecPower(run=tv("standby")).set(False)
    assert off.ok and off.state == "off" and ["--to", "0", "--standby"] in sent
    deaf = CecPower(run=tv(None)).set(True)
    assert not deaf.ok and deaf.state == "tv_not_answering"
    stubborn = CecPower(run=tv("standby")).set(True)
    assert not stubborn.ok and "reports standby" in stubborn.reason

    unplugged = CecPower(run=lambda argv, t: (0, "Physical Address           : f.f.f.f\n")).set(True)
    assert unplugged.state == "no_signal"
    missing = CecPower(run=lambda argv, t: (127, "cec-ctl is not installed")).set(True)
    assert missing.state == "tv_not_answering" and "not installed" in missing.reason


def test_backends_from_config(tmp_path):
    config = parse_config({"display": {"screen_power": ["cec", "blank", "fake"]}})
    names = [b.name for b in backends_from_config(config, blank_apply=lambda b: None)]
    assert names == ["cec", "blank", "fake"]
    import pytest
    from pishkhan.exc import ConfigError
    with pytest.raises(ConfigError, match="hdmi-magic"):  # refused when the configuration is read
        parse_config({"display": {"screen_power": ["hdmi-magic"]}})
    bad = parse_config({})
    bad.data["display"]["screen_power"] = ["hdmi-magic"]  # and by the backends too, should one slip through
    with pytest.raises(ConfigError, match="hdmi-magic"):
        backends_from_config(bad)


def test_the_centres_screen_command_overrides_the_hours_until_it_expires(tmp_path, store):
    from pishkhan.screen_override import set_override

    config = weekday_config(tmp_path)
    fake = FakePower()
    clock = FakeClock(dt.datetime(2026, 11, 28, 10, 0, tzinfo=TEHRAN))  # open hours
    c = controller(store, config, [fake], clock)
    assert c.tick() == "on"
    set_override(store, "off", command="cmd-1", now=clock.at)      # as the agent does for a signed command
    clock.at = dt.datetime(2026, 11, 28, 10, 1, tzinfo=TEHRAN)
    assert c.tick() == "off_schedule" and fake.is_on is False
    assert store.last_state("display")["reason"] == "centre: screen off by command"
    clock.at = dt.datetime(2026, 11, 28, 23, 0, tzinfo=TEHRAN)      # past the override's 12 hours: closed anyway
    c.tick()
    clock.at = dt.datetime(2026, 11, 29, 10, 0, tzinfo=TEHRAN)      # next morning, open: the hours decide again
    assert c.tick() == "on" and fake.is_on is True
    assert store.last_state("display")["reason"] == "schedule: open hours"
    set_override(store, "on", command="cmd-2", now=dt.datetime(2026, 11, 29, 20, 0, tzinfo=TEHRAN))
    clock.at = dt.datetime(2026, 11, 29, 21, 0, tzinfo=TEHRAN)      # closed, but the centre wants it on
    assert c.tick() == "on" and store.last_state("display")["reason"] == "centre: screen on by command"
    assert [a["action"] for a in store.audit_entries(action="screen.override")] == ["screen.override"] * 2


def test_a_store_that_cannot_be_written_does_not_stop_the_wall(tmp_path, store, monkeypatch):
    """The page cache may meet a damaged store before the wall's poll does; the wall then records the
    screen's state again, and that write must not end the display (the poll reports the store)."""
    from pishkhan.exc import StoreCorrupt

    c = controller(store, weekday_config(tmp_path), [FakePower()],
                   FakeClock(dt.datetime(2026, 11, 28, 9, 0, tzinfo=TEHRAN)))
    assert c.tick() == "on"

    def damaged(*args, **kwargs):
        raise StoreCorrupt("planted: the store is damaged")
    monkeypatch.setattr(store, "record_state", damaged)
    c.record()  # logged, not raised
