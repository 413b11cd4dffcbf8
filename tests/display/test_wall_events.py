"""The wall's after-frame reports, without a window: what a frame showed is
reported (and a call announced) only once the frame is on the screen."""

from __future__ import annotations

import json

from PIL import Image

from display.events import EventLog, FrameReporter
from display.snapshot import Snapshots


def read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_call_is_reported_and_announced_after_the_swap(tmp_path):
    log_path, shots = tmp_path / "events.jsonl", tmp_path / "shots"
    shots.mkdir()
    events, spoken, grabs = EventLog(log_path), [], []

    def grab():
        grabs.append(1)
        return Image.new("RGB", (64, 36), (10, 20, 30))

    reporter = FrameReporter(events=events, grab=grab, announce=spoken.append, screenshots=shots,
                             panel_ms=lambda: 12.34, started=0.0)
    reporter.frame_drawn()
    reporter.frame_shown()
    assert grabs == [] and spoken == []                         # nothing expected, nothing read back
    reporter.expect("call_shown", call_id=7, ticket="A001", counter=2, recall=0, phrase="شماره A۰۰۱، باجه ۲",
                    detected_at=1.0, queued_at=2.0, shot="call-00007")
    reporter.expect("page", index=0, count=3, reason="first", key="k", version="1", blit_ms=1.0, shot="page-k-01")
    reporter.frame_drawn()
    assert grabs == [1] and spoken == []                        # drawn, read back, not yet on screen
    reporter.frame_shown()
    assert spoken == ["شماره A۰۰۱، باجه ۲"]                     # sight first, then sound
    reporter.close()
    events.close()
    by_name = {e["event"]: e for e in read(log_path)}
    call = by_name["call_shown"]
    assert call["ticket"] == "A001" and call["panel_ms"] == 12.3 and call["swap_ms"] >= 0
    assert call["shown_at"] >= call["queued_at"] and "shot" not in call
    assert Image.open(call["screenshot"]).size == (64, 36)
    assert by_name["first_page"]["since_start"] > 0
    assert by_name["page"]["screenshot"].endswith("page-k-01.png")

    # The same screenshot is not saved twice: the event is written at once, without a file.
    events = EventLog(log_path)
    reporter.events = events
    reporter.expect("page", index=0, count=3, reason="rotate", key="k", version="1", blit_ms=1.0, shot="page-k-01")
    reporter.frame_drawn()
    reporter.frame_shown()
    events.close()
    again = read(log_path)[-1]
    assert again["event"] == "page" and again["reason"] == "rotate" and "screenshot" not in again


def test_frames_are_read_back_only_for_screenshots_or_snapshots(tmp_path, store):
    log_path = tmp_path / "events.jsonl"
    events, grabs = EventLog(log_path), []

    def grab():
        grabs.append(1)
        return Image.new("RGB", (960, 540), (200, 200, 200))

    snapshots = Snapshots(store, tmp_path / "snaps", keep=3)
    reporter = FrameReporter(events=events, grab=grab, announce=lambda phrase: None, snapshots=snapshots,
                             snapshot_state=lambda: {"board_version": "4", "verification_code": "ABCD-EFGH",
                                                     "screen_state": "on"})
    reporter.expect("page", index=1, count=3, reason="rotate", key="k", version="4", blit_ms=1.0, shot="p")
    reporter.frame_drawn()
    reporter.frame_shown()
    assert grabs == []                                          # no screenshots asked for: no read-back
    reporter.expect("snapshot")
    reporter.frame_drawn()
    reporter.frame_shown()
    reporter.close()
    events.close()
    assert grabs == [1]
    snap = [e for e in read(log_path) if e["event"] == "snapshot"]
    assert len(snap) == 1 and snap[0]["board_version"] == "4"
    assert Image.open(snap[0]["path"]).width == 480
