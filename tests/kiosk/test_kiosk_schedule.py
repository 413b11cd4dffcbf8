"""The running kiosk follows a schedule installed by another process, without a restart."""

from __future__ import annotations

import datetime as dt

import pytest
from queue_helpers import Clock

from pishkhan.boards.installed import install_board
from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.config import parse_config
from pishkhan.queue.core import Queue
from pishkhan.schedule.installed import install_schedule
from pishkhan.store.database import Store
from pishkhan.text.jalali import TEHRAN

WEEK = {"saturday": ["07:30-14:30"], "sunday": ["07:30-14:30"], "monday": ["07:30-14:30"],
        "tuesday": ["07:30-14:30"], "wednesday": ["07:30-14:30"], "thursday": ["07:30-12:30"], "friday": []}


@pytest.fixture
def office(tmp_path, sample_doc):
    cfg = parse_config({"device": {"state_dir": str(tmp_path / "state")}, "hours": {"always_open": False}})
    key = SigningKey.generate()
    clock = Clock(dt.datetime(2026, 12, 5, 10, 0, tzinfo=TEHRAN))  # Saturday, open hours
    with Store(cfg.store_path, clock=clock) as st:
        trust_key(st, key.public, actor="test")
        install_board(st, key.sign(sample_doc), source="cli", actor="test")
        q = Queue(st, cfg)
        for c in cfg.counters:
            q.open_counter(c.number, actor="test")
        yield st, cfg, key


def test_the_attract_screen_shows_a_closure_installed_meanwhile(office, make_kiosk):
    store, cfg, key = office
    kiosk = make_kiosk(store, cfg=cfg)
    assert "۰۷:۳۰ تا ۱۴:۳۰" in kiosk.find("hours").text
    doc = {"format": "pishkhan.schedule/1", "issuer": "کارگروه استان تهران",
           "scope": {"level": "province", "province": "23"}, "version": 1, "effective_from": "2026-03-21",
           "week": WEEK, "exceptions": [{"kind": "closure", "date": "2026-12-05",
                                         "reason": "تعطیلی به دلیل آلودگی هوا"}]}
    with Store(cfg.store_path) as cli:  # as `pishkhan schedule install` in another process
        install_schedule(cli, key.sign(doc), source="cli", actor="cli:test", province="23")
    kiosk.wait_for(lambda: "آلودگی هوا" in kiosk.find("hours").text)
    assert kiosk.find("hours").text.endswith("تعطیل (تعطیلی به دلیل آلودگی هوا)")
    kiosk.wait_for(lambda: store.last_state("kiosk")["state"] == "not_accepting", timeout=15)
    assert store.last_state("kiosk")["reason"] == "closed"
