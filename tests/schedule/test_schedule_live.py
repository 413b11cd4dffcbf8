"""A queue, a kiosk model and the screen power, built before a schedule arrives, follow it after install."""

from __future__ import annotations

import datetime as dt

import pytest
from schedule_helpers import schedule_doc, tehran

from display.screen_power import FakePower, ScreenPowerController
from kiosk.model import KioskModel
from pishkhan.boards.installed import install_board
from pishkhan.exc import OfficeClosed
from pishkhan.queue.core import Queue

CLOSURE = {"kind": "closure", "date": "2026-12-05", "reason": "تعطیلی به دلیل آلودگی هوا"}


@pytest.fixture
def office(sstore, office_config, trusted, sample_doc):
    """The sample board installed, counters 1-3 open."""
    install_board(sstore, trusted.sign(sample_doc), source="cli", actor="test")
    q = Queue(sstore, office_config)
    for n in (1, 2, 3):
        q.open_counter(n, actor="test")
    return sstore


def test_the_queue_sees_a_closure_installed_after_it_was_built(office, office_config, install, clock):
    queue = Queue(office, office_config)
    assert queue.accepting() == (True, "", None)
    assert queue.issue("ID-01").day == "2026-12-05"
    install(schedule_doc(exceptions=[CLOSURE]))
    ok, reason, next_open = queue.accepting()
    assert (ok, reason, next_open) == (False, "closed", tehran(2026, 12, 6, 7, 30))
    with pytest.raises(OfficeClosed) as info:
        queue.issue("ID-01")
    assert info.value.reason == "closed" and "یکشنبه" in str(info.value)
    clock.set(tehran(2026, 12, 6, 8, 0))
    assert queue.accepting() == (True, "", None)
    assert queue.issue("ID-01").day == "2026-12-06"


def test_the_queue_cutoff_follows_shortened_hours(office, office_config, install, clock):
    queue = Queue(office, office_config)
    clock.set(tehran(2026, 12, 7, 12, 30))  # Monday
    assert queue.accepting()[0]
    install(schedule_doc(exceptions=[{"kind": "hours", "date": "2026-12-07", "shifts": ["07:30-12:35"],
                                      "reason": "کاهش ساعت کاری به دلیل گرما"}]))
    ok, reason, _ = queue.accepting()
    assert (ok, reason) == (False, "cutoff")


def test_the_kiosk_model_shows_the_new_hours_and_records_not_accepting(office, office_config, install):
    model = KioskModel(office, config=office_config)
    assert model.describe_today() == "۰۷:۳۰ تا ۱۴:۳۰"
    assert model.status() == (True, "", None)
    install(schedule_doc(exceptions=[CLOSURE]))
    assert model.describe_today() == "تعطیل (تعطیلی به دلیل آلودگی هوا)"
    assert model.describe_today("en") == "Closed (announced closure)"
    assert model.describe_next_open() == "یکشنبه ۱۵ آذر، ساعت ۰۷:۳۰"
    ok, reason, _ = model.status()
    assert (ok, reason) == (False, "closed")
    assert office.last_state("kiosk")["state"] == "not_accepting"


def test_the_screen_power_follows_the_new_hours(office, office_config, install, clock):
    power = ScreenPowerController.from_config(office, office_config, [FakePower()], clock=clock)
    assert power.tick() == "on"
    install(schedule_doc(exceptions=[CLOSURE]))
    clock.set(clock() + dt.timedelta(minutes=1))
    assert power.tick() == "off_schedule"
    assert office.last_state("display")["reason"] == "schedule: outside open hours"
