"""Announcements (phrase, cached espeak-ng audio, queued bursts), proof-of-display
snapshots and the page cache, without a window."""

from __future__ import annotations

import hashlib
import threading
import time
import wave
from types import SimpleNamespace

import pytest
from PIL import Image

from display.announce import Announcer, DeviceSink, EspeakSynth, MemorySink, call_phrase, spoken_text
from display.page_cache import PageCache
from pishkhan.boards.installed import board_signature
from display.snapshot import Snapshots, list_snapshots, read_snapshot
from pishkhan.boards.installed import set_unavailable
from pishkhan.text.persian import to_persian_digits


def fake_call(label, counter, call_id=1):
    ticket = SimpleNamespace(label=label, display_label=to_persian_digits(label))
    return SimpleNamespace(ticket=ticket, counter=counter, id=call_id, recall=0)


def test_phrase_and_spoken_text():
    assert call_phrase(fake_call("23", 2)) == "شماره ۲۳، باجه ۲"
    assert call_phrase(fake_call("A005", 1)) == "شماره A۰۰۵، باجه ۱"
    assert spoken_text("شماره A۰۰۵، باجه ۱") == "شماره اِی ۵، باجه ۱"


def test_espeak_audio_is_made_offline_and_cached(tmp_path):
    synth = EspeakSynth(tmp_path / "audio")
    first = synth.wav("شماره ۲۳، باجه ۲")
    with wave.open(str(first)) as w:
        seconds = w.getnframes() / w.getframerate()
        frames = w.readframes(w.getnframes())
    assert seconds > 1.5                       # chime (~1 s) + speech, not silence
    assert max(abs(int.from_bytes(frames[i:i + 2], "little", signed=True)) for i in range(0, len(frames), 200)) > 3000
    stamp = first.stat().st_mtime_ns
    assert synth.wav("شماره ۲۳، باجه ۲") == first and first.stat().st_mtime_ns == stamp  # cached
    assert synth.wav("شماره ۲۴، باجه ۲") != first
    assert len(list((tmp_path / "audio").glob("*.wav"))) == 2


def test_burst_is_queued_in_order_without_overlap(tmp_path, store):
    sink = MemorySink(delay=0.05)
    announcer = Announcer(synth=EspeakSynth(tmp_path / "audio"), sink=sink, store=store)
    calls = [fake_call(f"A{n:03d}", n % 3 + 1, n) for n in range(1, 8)]
    threads = []
    for call in calls:  # the first ones arrive while the first is still playing
        announcer.announce(call)
    assert announcer.wait(20)
    assert [p for p, _ in sink.played] == [call_phrase(c) for c in calls]
    assert sink.overlaps == 0 and all(w.is_file() for _, w in sink.played)
    assert store.last_state("audio")["state"] == "available"
    announcer.close()


def test_without_audio_device_calls_are_visual_only(store, monkeypatch):
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/nonexistent")
    sink = DeviceSink()
    announcer = Announcer(synth=None, sink=sink, store=store)
    assert not announcer.available
    assert announcer.announce(fake_call("7", 3)) == "شماره ۷، باجه ۳"   # still returns the phrase
    last = store.last_state("audio")
    assert last["state"] == "unavailable" and "no audio" in last["reason"]


def test_failing_player_is_reported(tmp_path, store):
    class Broken(MemorySink):
        def play(self, phrase, wav):
            raise RuntimeError("device busy")

    announcer = Announcer(synth=None, sink=Broken(), store=store)
    announcer.announce(fake_call("8", 1))
    announcer.wait(5)
    assert store.last_state("audio")["state"] == "unavailable"
    assert "device busy" in store.last_state("audio")["reason"]
    announcer.close()


def test_snapshots_keep_the_last_few_with_hash(tmp_path, store):
    snaps = Snapshots(store, tmp_path / "snaps", keep=3)
    for i in range(5):
        image = Image.new("RGB", (1920, 1080), (i * 40, 20, 90))
        snap = snaps.take(image, board_version="4", verification_code="ABCD-EFGH", screen_state="on")
    kept = list_snapshots(store)
    assert [s.id for s in kept] == [5, 4, 3]
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == sorted(s.path.name for s in kept)
    data = read_snapshot(kept[0])
    assert hashlib.sha256(data).hexdigest() == snap.sha256 and kept[0].board_version == "4"
    assert (kept[0].width, kept[0].height) == (480, 270)
    kept[1].path.write_bytes(b"tampered")
    with pytest.raises(ValueError, match="sha256"):
        read_snapshot(kept[1])


def test_page_cache_renders_again_only_when_the_board_changes(tmp_path, config, board_store):
    calls = []

    def render(board, *, config, size, now):
        calls.append(board.version_label if board else None)
        return [Image.new("RGB", size, (200, 200, 200))] * 2

    cache = PageCache(board_store, config, size=(640, 400), render=render, directory=tmp_path / "pages")
    first = cache.refresh()
    assert first.verified and first.version == "1" and len(first.pages) == 2
    assert cache.refresh() is None and calls == ["1"]
    sig = board_signature(board_store)
    code = next(board_store_services(board_store, config))
    set_unavailable(board_store, code, "سامانه قطع است", actor="test")
    assert board_signature(board_store) != sig
    second = cache.refresh()
    assert second is not None and second.key != first.key and calls == ["1", "1"]
    # A restarted display finds the same pages on disk, without rendering.
    again = PageCache(board_store, config, size=(640, 400), render=render, directory=tmp_path / "pages")
    loaded = again.refresh()
    assert loaded.from_disk and loaded.key == second.key and calls == ["1", "1"]


def test_page_cache_without_board_says_so(tmp_path, config, store):
    cache = PageCache(store, config, size=(900, 600), directory=None)
    pages = cache.refresh()
    assert not pages.verified and pages.version is None and len(pages.pages) == 1


def board_store_services(store, config):
    from pishkhan.boards.installed import effective_for_config

    return (s.code for s in effective_for_config(store, config).services())


def test_page_cache_worker_notices_changes_quickly(tmp_path, config, board_store):
    ready = []
    event = threading.Event()

    def on_ready(ps):
        ready.append(ps)
        event.set()

    cache = PageCache(board_store, config, size=(1320, 870), on_ready=on_ready)
    cache.start()
    assert event.wait(10)
    event.clear()
    code = next(board_store_services(board_store, config))
    start = time.monotonic()
    set_unavailable(board_store, code, "موقتاً", actor="test")
    cache.request()
    assert event.wait(10)
    took = time.monotonic() - start
    cache.close()
    assert len(ready) == 2 and ready[1].key != ready[0].key
    assert took < 5, f"re-render took {took:.2f} s"


def test_every_wall_text_has_glyphs():
    from display import wall_strings as S
    from pishkhan.render.typeset import check_glyphs

    for name in dir(S):
        value = getattr(S, name)
        if name.isupper() and isinstance(value, str):
            check_glyphs(value, "Regular")
            check_glyphs(value, "Bold")
