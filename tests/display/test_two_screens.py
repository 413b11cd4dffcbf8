"""Two screens on one device: the real kiosk and the real wall display, full screen, each on its own output.

One Xvfb with two screens stands in for the Pi's X server with one X screen
per output (docs/two-screens.md): screen 0 the touchscreen (DSI-1), screen 1
the TV (HDMI-A-1). A folder laid out like /sys/class/drm says which outputs
are plugged in (``PISHKHAN_DRM_ROOT``). Each screen is photographed with
ImageMagick's ``import`` and judged by its colours: the kiosk's background
(kiosk/widgets.py ``BG``) and the wall's blues and white board
(display/widgets.py ``COLOURS``) are far apart, so a screen showing the other
app, or both, or neither, fails.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from pishkhan.config import default_toml

ROOT = Path(__file__).resolve().parents[2]
KIOSK_SIZE, WALL_SIZE = (800, 600), (1280, 720)
#: kiosk/widgets.py BG, as 8-bit RGB
KIOSK_BG = (10, 15, 26)
#: display/widgets.py COLOURS header, panel, background, as 8-bit RGB
WALL_BLUES = ((7, 25, 48), (19, 54, 95), (11, 37, 69))


def _near(p, q, tolerance=3):
    return all(abs(a - b) <= tolerance for a, b in zip(p, q))


def signature(path: Path) -> dict:
    """The shares of the screen in the kiosk's background, the wall's blues and white."""
    im = Image.open(path).convert("RGB")
    data = im.resize((im.width // 4, im.height // 4), Image.NEAREST).tobytes()
    counts = Counter(data[i:i + 3] for i in range(0, len(data), 3))
    total = sum(counts.values())

    def share(test):
        return round(sum(n for p, n in counts.items() if test(tuple(p))) / total, 3)
    return {"size": im.size, "kiosk_bg": share(lambda p: _near(p, KIOSK_BG)),
            "wall_blues": share(lambda p: any(_near(p, q) for q in WALL_BLUES)),
            "white": share(lambda p: min(p) > 235)}


def shows_kiosk_only(sig) -> bool:
    return sig["size"] == KIOSK_SIZE and sig["kiosk_bg"] > 0.5 and sig["wall_blues"] < 0.01 and sig["white"] < 0.1


def shows_wall_only(sig) -> bool:
    return sig["size"] == WALL_SIZE and sig["wall_blues"] > 0.25 and sig["white"] > 0.2 and sig["kiosk_bg"] < 0.01


def wait_until(check, timeout, every=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(every)
    return check()


class Office:
    """Xvfb with two screens, a fake /sys/class/drm, one office's config; the two apps as processes."""

    def __init__(self, root: Path, *, screens=(KIOSK_SIZE, WALL_SIZE), kiosk_output="DSI-1"):
        self.root = root
        self.drm = root / "drm"
        for name in ("DSI-1", "HDMI-A-1"):
            (self.drm / f"card1-{name}").mkdir(parents=True)
            self.plug(name, True)
        state = root / "state"
        toml = default_toml(always_open=True).replace('state_dir = ""', f'state_dir = "{state}"')
        toml = toml.replace('screen_power = ["cec", "blank"]', 'screen_power = ["fake", "blank"]')
        toml = toml.replace('audio = "auto"', 'audio = "none"').replace('voice = "espeak"', 'voice = "none"')
        assert 'output = "DSI-1"' in toml and 'output = "HDMI-A-1"' in toml  # the defaults: a Pi's two screens
        toml = toml.replace('output = "DSI-1"', f'output = "{kiosk_output}"')
        self.config = root / "pishkhan.toml"
        self.config.write_text(toml, encoding="utf-8")
        self.store = state / "pishkhan.db"
        n = next(n for n in range(140, 240) if not Path(f"/tmp/.X11-unix/X{n}").exists()
                 and not Path(f"/tmp/.X{n}-lock").exists())
        self.display = f":{n}"
        layout = [arg for i, size in enumerate(screens) for arg in ("-screen", str(i), "{}x{}x24".format(*size))]
        self.xvfb = subprocess.Popen(["Xvfb", self.display, *layout, "-nolisten", "tcp"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_until(lambda: Path(f"/tmp/.X11-unix/X{n}").exists(), 10), "Xvfb did not start"
        self.procs: dict[str, subprocess.Popen] = {}

    def plug(self, name: str, connected: bool):
        (self.drm / f"card1-{name}" / "status").write_text("connected\n" if connected else "disconnected\n")

    def env(self) -> dict:
        return dict(os.environ, DISPLAY=self.display, PISHKHAN_DRM_ROOT=str(self.drm), PYTHONPATH=str(ROOT))

    def start(self, app: str, *extra: str):
        env = dict(self.env(), KIVY_NO_ARGS="1", KIVY_HOME=str(self.root / f"kivy-{app}"))
        env.pop("SDL_VIDEO_X11_XRANDR", None)
        log = open(self.root / f"{app}.log", "wb")
        self.procs[app] = subprocess.Popen([sys.executable, "-m", "cli.main", app, "--config", str(self.config),
                                            "--fullscreen", *extra], cwd=ROOT, env=env, stdout=log,
                                           stderr=subprocess.STDOUT)
        log.close()

    def log(self, app: str) -> str:
        return (self.root / f"{app}.log").read_text(errors="replace")[-3000:]

    def shot(self, screen: int) -> dict:
        path = self.root / f"screen-{screen}.png"
        subprocess.run(["import", "-window", "root", "-display", f"{self.display}.{screen}", str(path)],
                       check=True, timeout=20, capture_output=True)
        return signature(path)

    def display_states(self) -> list[dict]:
        if not self.store.exists():
            return []
        with sqlite3.connect(f"file:{self.store}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT at, state, reason, detail FROM state_log WHERE component = 'display' "
                              "ORDER BY id").fetchall()
        return [{"at": at, "state": s, "reason": r, "detail": json.loads(d)} for at, s, r, d in rows]

    def close(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.xvfb.terminate()
        self.xvfb.wait(10)


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    if not (shutil.which("Xvfb") and shutil.which("import")):
        pytest.fail("these tests need Xvfb and ImageMagick's import (make test installs them)")
    o = Office(tmp_path_factory.mktemp("two-screens"))
    o.start("kiosk")
    o.start("display", "--events", str(o.root / "wall.jsonl"), "--seconds", "120")
    yield o
    o.close()


def test_each_app_fills_its_own_output_and_shows_nothing_of_the_other(office):
    shots = wait_until(lambda: (lambda k, w: (k, w) if shows_kiosk_only(k) and shows_wall_only(w) else None)(
        office.shot(0), office.shot(1)), 25, every=0.5)
    assert shots, (f"screen 0 (touchscreen): {office.shot(0)}; screen 1 (TV): {office.shot(1)}\n"
                   f"kiosk: {office.log('kiosk')}\ndisplay: {office.log('display')}")
    states = office.display_states()
    assert states and states[-1]["state"] == "on", states


def test_unplugging_the_tv_records_display_off_and_the_kiosk_goes_on(office):
    assert wait_until(lambda: office.display_states() and office.display_states()[-1]["state"] == "on", 25), \
        office.display_states()
    office.plug("HDMI-A-1", False)
    off = wait_until(lambda: [s for s in office.display_states() if s["state"] == "off"], 10)
    assert off, (office.display_states(), office.log("display"))
    assert off[-1]["reason"] == "output_disconnected" and off[-1]["detail"]["output"] == "HDMI-A-1"
    assert off[-1]["at"]  # a timestamped fact, as the compliance judge reads it
    time.sleep(1)
    assert office.procs["kiosk"].poll() is None and office.procs["display"].poll() is None
    assert shows_kiosk_only(office.shot(0)), office.shot(0)  # the kiosk goes on, on its own screen
    office.plug("HDMI-A-1", True)
    assert wait_until(lambda: office.display_states()[-1]["state"] == "on", 10), office.display_states()


def test_an_office_with_only_a_wall_tv_shows_the_wall_on_screen_0_and_skips_the_kiosk(tmp_path):
    office = Office(tmp_path, screens=(WALL_SIZE,), kiosk_output="")
    try:
        check = subprocess.run([sys.executable, "-m", "cli.main", "screens", "check", "kiosk", "--config",
                                str(office.config)], cwd=ROOT, env=office.env(), capture_output=True, text=True)
        assert check.returncode == 1 and check.stderr.startswith("no_output: ")  # the kiosk's unit is skipped
        office.start("display", "--seconds", "60")
        assert wait_until(lambda: shows_wall_only(office.shot(0)), 25, every=0.5), \
            (office.shot(0), office.log("display"))
    finally:
        office.close()
