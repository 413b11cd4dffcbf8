"""Helpers for the agent's tests: config files, real `pishkhan agent` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pishkhan.config import load_config, toml_value

ROOT = Path(__file__).resolve().parents[2]




def write_config(path: Path, sections: dict) -> Path:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class AgentProcess:
    """A real ``pishkhan agent`` process."""

    def __init__(self, config: Path, *, env=None, log: Path | None = None):
        self.config = config
        self.log_path = log or config.with_suffix(".log")
        environ = dict(os.environ)
        environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
        environ.setdefault("PISHKHAN_LOG_LEVEL", "INFO")
        environ.update(env or {})
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "cli.main", "agent", "--config", str(config)],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=environ, cwd=ROOT)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self, timeout: float = 20.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            self.kill()
        self._log.close()


def outbox_path(config_path: Path) -> Path:
    return load_config(config_path).state_dir / "outbox.db"


def seqs(messages) -> list[int]:
    return [m["seq"] for m in messages]


def wait_until(predicate, timeout: float = 10.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
