"""The GPIO counter panel on gpiozero's MockFactory: presses, holds, LEDs, buzzer, threads."""

from __future__ import annotations

import threading
import time

import pytest
from gpiozero.pins.mock import MockFactory
from queue_helpers import LANE_A, LANE_C
from store_faults import damage, write_lock_held

from panel.app import Panel
from pishkhan.exc import StoreCorrupt
from pishkhan.queue.core import Queue
from pishkhan.store.database import Store

HOLD = 0.15


def wait_for(condition, timeout=3.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.reset()


@pytest.fixture
def panel(qstore, make_config, factory):
    cfg = make_config(hardware={"hold_seconds": HOLD})
    q = Queue(qstore, cfg)
    for n in (1, 2, 3):
        q.open_counter(n, actor="test")
    with Panel(q, cfg, pin_factory=factory) as p:
        yield p


def press(pin):
    pin.drive_low()
    time.sleep(0.02)
    pin.drive_high()


def hold(pin):
    pin.drive_low()
    time.sleep(HOLD * 3)
    pin.drive_high()


def test_short_press_calls_next_and_lights_the_led(panel, factory):
    q = panel.queue
    t = q.issue(LANE_A)
    button, led = factory.pin(17), factory.pin(27)  # counter 1
    assert led.state is False
    press(button)
    assert q.current_ticket(1).id == t.id
    assert led.state is True
    press(button)  # done, nobody else waiting: the LED goes out
    assert q.ticket(t.id).state == "done"
    assert wait_for(lambda: led.state is False)


def test_long_press_recalls(panel, factory):
    q = panel.queue
    t = q.issue(LANE_A)
    button = factory.pin(17)
    press(button)
    hold(button)
    assert wait_for(lambda: q.ticket(t.id).recalls == 1)
    assert q.ticket(t.id).state == "called"  # the release after a hold does not call next
    assert [c.recall for c in q.recent_calls()] == [1, 0]


def test_recall_with_nothing_called_blinks_and_changes_nothing(panel, factory):
    led = factory.pin(27)
    hold(factory.pin(17))
    assert wait_for(lambda: len([s for s in led.states if s.state]) >= 2)  # blinked
    assert panel.queue.recent_calls() == []
    # after the complaint the LED shows the counter's state again
    panel.queue.issue(LANE_A)
    time.sleep(0.7)
    press(factory.pin(17))
    assert led.state is True


def test_led_follows_changes_made_by_another_process(panel, factory, qstore, config):
    other = Queue(qstore, config)  # e.g. the CLI
    other.issue(LANE_C)
    other.call_next(3)
    panel.refresh()
    assert factory.pin(25).state is True and factory.pin(27).state is False


def test_buzzer_sounds_on_paper_out(panel, factory, qstore):
    buzzer, status = factory.pin(18), factory.pin(4)
    assert status.state is True
    panel.refresh()
    assert not any(s.state for s in buzzer.states)
    qstore.record_state("printer", "paper_out", "paper out")  # recorded by the kiosk
    panel.refresh()
    assert wait_for(lambda: any(s.state for s in buzzer.states))
    assert wait_for(lambda: len(status.states) > 3)  # status LED blinks
    qstore.record_state("printer", "ok")
    panel.refresh()
    assert status.state is True


def test_presses_on_several_counters_from_threads_are_safe(panel, factory):
    q = panel.queue
    issued = [q.issue(LANE_C) for _ in range(24)]
    pins = [factory.pin(17), factory.pin(22), factory.pin(24)]
    errors = []

    def worker(pin):
        try:
            for _ in range(8):
                press(pin)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(pin,)) for pin in pins]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    states = [q.ticket(t.id).state for t in issued]
    # 24 presses over 3 counters: 24 calls; each counter's last ticket is still called
    assert states.count("done") == 21 and states.count("called") == 3
    first_calls = [c for c in q.recent_calls(limit=100) if c.recall == 0]
    assert len(first_calls) == 24 and len({c.ticket.id for c in first_calls}) == 24


def test_a_locked_store_makes_a_press_complain_and_the_next_press_works(qstore, make_config, factory, clock):
    cfg = make_config(hardware={"hold_seconds": HOLD})
    with Store(qstore.path, clock=clock, timeout=0.2) as st:
        q = Queue(st, cfg)
        q.open_counter(1, actor="test")
        t = q.issue(LANE_A)
        with Panel(q, cfg, pin_factory=factory) as p:
            led = factory.pin(27)
            with write_lock_held(st.path):  # e.g. the agent in a long write
                assert p.call_next(1) is None  # StoreLocked: caught, the counter's LED complains
                assert wait_for(lambda: len([s for s in led.states if s.state]) >= 2)
            assert q.current_ticket(1) is None
            time.sleep(0.7)  # the complaint ends
            assert p.call_next(1).id == t.id
            assert led.state is True


def test_a_damaged_store_neither_stops_the_panel_nor_its_buttons(panel, factory, qstore):
    panel.queue.issue(LANE_A)
    damage(qstore.path)
    with pytest.raises(StoreCorrupt):
        panel.refresh()
    assert panel.call_next(1) is None  # caught and logged; the press complains
    stop, errors = threading.Event(), []

    def run():
        try:
            panel.run(stop, poll=0.02)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    runner = threading.Thread(target=run)
    runner.start()
    time.sleep(0.3)
    assert runner.is_alive()  # the loop goes on through the failed refreshes
    stop.set()
    runner.join(5)
    assert not runner.is_alive() and errors == []
