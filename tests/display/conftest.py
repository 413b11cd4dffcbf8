"""Fixtures for the wall display: a prepared office state and a display process.

The Kivy app runs as a real ``pishkhan display`` process (Kivy allows one
window per process) on the test Xvfb; it reports what it showed as JSON lines
(``--events``) and saves screenshots. The test process plays the counter
panel (gpiozero MockFactory) and the staff, writing to the same store file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from pishkhan.boards.installed import install_board
from pishkhan.config import default_toml, parse_config
from pishkhan.queue.core import Queue
from pishkhan.store.database import Store
from pishkhan.boards.trust import trust_key

ROOT = Path(__file__).resolve().parents[2]


def office_toml(state: Path, *, always_open=True, seconds_per_page=2, snapshot_seconds=300, extra="") -> str:
    toml = default_toml(always_open=always_open)
    toml = toml.replace('state_dir = ""', f'state_dir = "{state}"')
    toml = toml.replace('screen_power = ["cec", "blank"]', 'screen_power = ["fake", "blank"]')
    toml = toml.replace('audio = "auto"', f'audio = "file:{state / "audio.jsonl"}"')
    toml = toml.replace("seconds_per_page = 12", f"seconds_per_page = {seconds_per_page}")
    toml = toml.replace("snapshot_seconds = 300", f"snapshot_seconds = {snapshot_seconds}")
    return toml + extra


class Office:
    """A state folder with config file, store, queue and (optionally) a board."""

    def __init__(self, root: Path, **toml):
        self.state = root / "state"
        self.state.mkdir(parents=True, exist_ok=True)
        self.config_path = root / "pishkhan.toml"
        self.config_path.write_text(office_toml(self.state, **toml), encoding="utf-8")
        self.config = parse_config(tomllib.loads(self.config_path.read_text(encoding="utf-8")), self.config_path)
        self.store = Store(self.config.store_path)
        self.queue = Queue(self.store, self.config)
        self.audio_log = self.state / "audio.jsonl"

    def install(self, key, doc):
        return install_board(self.store, key.sign(doc), source="cli", actor="test")

    def phrases(self) -> list[str]:
        if not self.audio_log.exists():
            return []
        return [json.loads(line)["phrase"] for line in self.audio_log.read_text(encoding="utf-8").splitlines()]

    def close(self):
        self.store.close()


class DisplayProcess:
    """``pishkhan display`` in a subprocess, with its event log."""

    def __init__(self, office: Office, workdir: Path, *, seconds: float = 60, size="1920x1080"):
        self.events_path = workdir / "events.jsonl"
        self.shots = workdir / "shots"
        env = dict(os.environ, KIVY_TEXT="pil", KIVY_NO_ARGS="1", PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "display", "--config", str(office.config_path), "--size", size,
             "--events", str(self.events_path), "--screenshots", str(self.shots), "--seconds", str(seconds)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._seen = 0

    def events(self) -> list[dict]:
        if not self.events_path.exists():
            return []
        out = []
        for line in self.events_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # a line being written
        return out

    def wait_for(self, predicate, *, timeout: float = 20.0, after: float = 0.0) -> dict:
        """The first event shown (or written) at or after *after* matching *predicate*."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for e in self.events():
                if e.get("shown_at", e.get("t", 0)) >= after and predicate(e):
                    return e
            if self.proc.poll() is not None:
                raise AssertionError(f"the display exited ({self.proc.returncode}):\n{self.output()}")
            time.sleep(0.03)
        raise AssertionError(f"no matching event within {timeout} s; events: {self.events()[-8:]}")

    def output(self) -> str:
        if self.proc.poll() is None:
            return ""
        return self.proc.stdout.read().decode(errors="replace")[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def office(tmp_path, issuer_key):
    """An always-open office with the sample board's issuer trusted (no board yet)."""
    o = Office(tmp_path)
    trust_key(o.store, issuer_key.public, label="test issuer", actor="test")
    yield o
    o.close()


@pytest.fixture
def display_factory(tmp_path):
    started: list[DisplayProcess] = []

    def start(office: Office, **kw) -> DisplayProcess:
        d = DisplayProcess(office, tmp_path, **kw)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()
