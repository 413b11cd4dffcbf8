"""The kiosk when the store is locked by another program or damaged: out of service, never a crash."""

from __future__ import annotations

from kiosk_harness import pump
from store_faults import damage, write_lock_held

from kiosk.model import KioskModel
from pishkhan.exc import StoreLocked
from pishkhan.hardware.printer import FakePrinter
from pishkhan.store.database import Store

FIRST = "ID-01"


def test_the_model_reads_a_damaged_store_as_out_of_service(open_store, config):
    model = KioskModel(open_store, config=config, printer=FakePrinter())
    assert not model.out_of_service and model.status()[0]
    damage(open_store.path)
    model.reload()
    assert model.out_of_service and model.problem.startswith("store: ")
    assert "damaged" in model.problem and str(open_store.path) in model.problem
    assert model.status() == (False, "out_of_service", None)
    assert model.waiting() == 0
    assert model.estimate(FIRST) is None
    model.record("accepting")  # logged, not raised
    model.record_printer_failure(None, "paper out")
    assert KioskModel(open_store, config=config).out_of_service  # a kiosk starting on it


def test_a_ticket_while_another_program_holds_the_lock_goes_out_of_service_then_back(
        make_kiosk, open_store, config):
    with Store(open_store.path, timeout=0.2) as st:
        d = make_kiosk(st, threaded_print=False)
        d.tap("start")
        d.tap(f"service:{FIRST}")
        with write_lock_held(st.path):
            try:
                d.kiosk.model.issue(FIRST)
            except StoreLocked as e:
                assert "locked by another program" in str(e)
            else:
                raise AssertionError("the store was locked, yet a ticket was issued")
            d.kiosk.take_ticket(FIRST)  # what the button does, without a clock tick after it
            assert d.kiosk.current == "out"
            assert "locked" in d.kiosk.model.problem
        assert st.query_one("SELECT COUNT(*) FROM tickets")[0] == 0
        d.kiosk.tick()  # the next second: the store reads, so the kiosk serves again
        assert d.kiosk.current == "attract" and not d.kiosk.model.out_of_service
        pump()
        d.tap("start")
        d.tap(f"service:{FIRST}")
        d.tap("take-ticket")
        assert d.kiosk.current == "ticket" and d.find("ticket-number").text == "A۰۰۱"


def test_a_store_damaged_under_the_running_kiosk_shows_out_of_service(make_kiosk, open_store):
    d = make_kiosk(open_store, threaded_print=False)
    d.tap("start")
    assert d.kiosk.current == "browse"
    damage(open_store.path)
    d.kiosk.tick()
    assert d.kiosk.current == "out" and "damaged" in d.kiosk.model.problem
    d.kiosk.tick()  # and stays there, ticking
    assert d.kiosk.current == "out"
