"""The staff's scripted walk of `make demo` (``pishkhan kiosk --script library``, kiosk.journey.play_library): the
PIN on the pad, the library, the newest unread circular acknowledged by touches; a wrong PIN acknowledges nothing."""

from __future__ import annotations

from circulars_for_screens import entry, install, keep, persian_pdf

from kiosk.journey import play_library
from kiosk.pin import set_pin


def test_the_demo_walk_acknowledges_the_newest_unread_circular_as_staff(make_kiosk, open_store, config,
                                                                      issuer_key, tmp_path):
    new, old = persian_pdf("بخشنامه تازه"), persian_pdf("بخشنامه پیشین")
    install(open_store, issuer_key, [entry("1405/123", new, issued_on="1405-09-16"),
                                     entry("1405/7", old, issued_on="1405-08-01")])
    keep(open_store, config, new, number="1405/123")
    set_pin(open_store, "4826", actor="test")
    d = make_kiosk(open_store)
    d.kiosk.long_press_seconds = 0.3  # the walk holds a touch this long (+0.3 s) to open the PIN pad

    refused = play_library(d.kiosk, tmp_path / "wrong", pin="4827", say=lambda _: None)
    assert refused["acknowledged"] == "" and d.kiosk.model.library.unread_count() == 2

    done = play_library(d.kiosk, tmp_path / "shots", pin="4826", say=lambda _: None)
    assert done["acknowledged"] == "national/1405/123"
    assert [p.name for p in done["shots"]] == ["staff-01-library.png", "staff-02-circular.png",
                                               "staff-03-page-1.png", "staff-04-acknowledged.png",
                                               "staff-05-library-read.png"]
    assert all(p.stat().st_size > 10_000 for p in done["shots"])
    lib = d.kiosk.model.library
    assert lib.entry("national", "1405/123").acknowledged_by == "staff"
    assert lib.entry("national", "1405/7").acknowledged_at is None
    assert d.kiosk.current == "attract" and not d.kiosk.staff_mode
