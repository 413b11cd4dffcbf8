"""What the wall showed, reported after it reached the screen (no Kivy).

- :class:`EventLog` appends JSON lines (``--events FILE``) that the tests and
  ``bench/display.py`` read: one object per event with ``event`` and ``t``
  (``time.time()`` when written) and the event's own fields.
- :class:`FrameReporter` reports a frame's content once the frame is on the
  screen, not when it was asked for. The app queues what the next frame will
  show (:meth:`FrameReporter.expect`: ``page``, ``call_shown``, ``snapshot``).
  When the frame is drawn but not yet swapped (:meth:`~FrameReporter.frame_drawn`)
  it is read back if a screenshot or a proof-of-display snapshot needs it.
  After the swap (:meth:`~FrameReporter.frame_shown`) each item becomes one
  event with ``shown_at`` and ``swap_ms``; a call is announced only then
  (sight first, then sound); the first ``page`` with reason ``first`` also
  gives a ``first_page`` event with the seconds since start. Screenshots
  (at most :data:`MAX_SCREENSHOTS`, one per name) and snapshots are written off
  the UI thread, and their event is written once the file is complete.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

#: Screenshots saved per run at most.
MAX_SCREENSHOTS = 400
#: Items whose frame may be read back.
_SHOWN = ("page", "call_shown", "snapshot")


class EventLog:
    """JSON lines of what the wall showed (``--events FILE``), for tests and benchmarks."""

    def __init__(self, path=None):
        self._file = open(path, "a", encoding="utf-8", buffering=1) if path else None
        self._lock = threading.Lock()

    def __call__(self, event: str, **data):
        if self._file is None:
            return
        line = json.dumps({"event": event, "t": time.time(), **data}, ensure_ascii=False, default=str)
        with self._lock:
            self._file.write(line + "\n")

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


class FrameReporter:
    """Report each frame's content once it is on the screen.

    :param events: an :class:`EventLog`.
    :param grab: returns the drawn frame as a PIL image (called before the swap).
    :param announce: speaks a call's phrase (an :class:`~display.announce.Announcer`'s ``announce``).
    :param screenshots: save a full-size screenshot of each new page and call here (None: none).
    :param snapshots: a :class:`~display.snapshot.Snapshots` for proof of display (None: none).
    :param snapshot_state: returns ``board_version``, ``verification_code`` and
        ``screen_state`` for a snapshot, at the time it is shown.
    :param panel_ms: returns how long the now-serving panel's last redraw took (ms).
    :param started: when the process started (``time.time()``), for ``first_page``.
    """

    def __init__(self, *, events, grab, announce, screenshots: Path | None = None, snapshots=None,
                 snapshot_state=dict, panel_ms=lambda: 0.0, started: float | None = None):
        self.events = events
        self.grab = grab
        self.announce = announce
        self.screenshots = Path(screenshots) if screenshots is not None else None
        self.snapshots = snapshots
        self.snapshot_state = snapshot_state
        self.panel_ms = panel_ms
        self.started = time.time() if started is None else started
        self.shots = 0
        self._expected: list[tuple[str, dict]] = []
        self._drawn: tuple[list, object, float] | None = None
        self._savers: list[threading.Thread] = []

    def expect(self, name: str, **data) -> None:
        """The next frame shows *name* (``page``, ``call_shown`` or ``snapshot``) with *data*.

        ``shot`` in *data* names its screenshot; a ``call_shown`` carries its ``phrase``.
        """
        self._expected.append((name, data))

    def frame_drawn(self, *_) -> None:
        """The frame is drawn but not yet swapped: read it back if wanted."""
        if not self._expected:
            return
        done, self._expected = self._expected, []
        shot_wanted = any(name in _SHOWN for name, _ in done)
        needs_image = self.screenshots is not None or any(n == "snapshot" for n, _ in done)
        image = self.grab() if shot_wanted and needs_image else None
        self._drawn = (done, image, time.perf_counter())

    def frame_shown(self) -> None:
        """The frame is on the screen: report what it showed, timed after the swap."""
        if self._drawn is None:
            return
        (done, image, drawn), self._drawn = self._drawn, None
        now = time.time()
        swap_ms = round((time.perf_counter() - drawn) * 1000, 1)
        for name, data in done:
            if name == "snapshot":
                self._save_snapshot(image)
                continue
            shot = data.pop("shot", None)
            if name == "call_shown":
                # Sight first, then sound: making the voice does not hold up the frame.
                self.announce(data["phrase"])
                data["panel_ms"] = round(self.panel_ms(), 1)
            if name == "page" and data.get("reason") == "first":
                self.events("first_page", since_start=round(now - self.started, 3))
            if self.screenshots is not None and image is not None and shot and self.shots < MAX_SCREENSHOTS:
                path = self.screenshots / f"{shot}.png"
                if not path.exists():
                    self.shots += 1
                    data["screenshot"] = str(path)
                    data["swap_ms"] = swap_ms
                    self._save_screenshot(image, path, name, now, data)
                    continue
            self.events(name, shown_at=now, swap_ms=swap_ms, **data)

    def _save_screenshot(self, image, path: Path, name: str, now: float, data: dict) -> None:
        """Save off the UI thread; the event is written once the file is complete."""
        def save():
            tmp = path.with_suffix(".tmp.png")
            image.save(tmp, compress_level=1)
            os.replace(tmp, path)
            self.events(name, shown_at=now, **data)

        self._start_saver(save, "screenshot")

    def _save_snapshot(self, image) -> None:
        if image is None or self.snapshots is None:
            return
        state = self.snapshot_state()

        def save():
            try:
                snap = self.snapshots.take(image, **state)
                self.events("snapshot", path=str(snap.path), sha256=snap.sha256, board_version=snap.board_version)
            except Exception as e:
                self.events("snapshot_failed", error=str(e))

        self._start_saver(save, "snapshot")

    def _start_saver(self, save, name: str) -> None:
        """Write a file off the UI thread; :meth:`close` waits for the writers."""
        self._savers = [t for t in self._savers if t.is_alive()]
        thread = threading.Thread(target=save, name=name, daemon=True)
        self._savers.append(thread)
        thread.start()

    def close(self, timeout: float = 10) -> None:
        """Wait for the files being written."""
        for thread in self._savers:
            thread.join(timeout=timeout)
