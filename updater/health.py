"""The health gate's probe: the NEW environment's ``pishkhan update health --since T --version V``
and the logs' tail a failure is reported with.

Exit 0 healthy, 1 not (yet), each with ``{"healthy", "checks": [{"name", "ok", "detail"}]}``; a version that
cannot even import (or answers nonsense) is unhealthy by itself: the answer names a check ``health_command``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from updater.commands import as_user, base_env, run


@dataclass(frozen=True)
class Health:
    healthy: bool
    checks: list = field(default_factory=list)

    @property
    def failed(self) -> list:
        return [c for c in self.checks if not c.get("ok")]


def _checks(raw) -> list:
    out = []
    for c in raw if isinstance(raw, list) else []:
        if isinstance(c, dict):
            out.append({"name": str(c.get("name", ""))[:60], "ok": c.get("ok") is True,
                        "detail": str(c.get("detail", ""))[:300]})
    return out[:30]


class CommandHealth:
    """The real probe: *pishkhan* ``update health``, as *user* when we are root."""

    def __init__(self, *, pishkhan: Path, config: Path, user: str = "", timeout: float = 60):
        self.argv = [*as_user(user), str(pishkhan), "update", "health"]
        self.env = base_env(PISHKHAN_CONFIG=str(config))
        self.timeout = timeout

    def check(self, *, since: str, version: str, services: bool | None = None) -> Health:
        if services is None:  # the services are judged where systemd runs (not in a chroot or an image build)
            services = Path("/run/systemd/system").is_dir()
        argv = [*self.argv, "--since", since, "--version", version, "--services" if services else "--no-services"]
        done = run(argv, timeout=self.timeout, env=self.env)
        answer = None
        for line in reversed(done.out.strip().splitlines()):
            if line.strip().startswith("{"):
                try:
                    answer = json.loads(line)
                except ValueError:
                    pass
                break
        if done.code not in (0, 1) or not isinstance(answer, dict):
            return Health(False, [{"name": "health_command", "ok": False,
                                   "detail": f"exit {done.code}: {done.tail(280)}"}])
        return Health(done.code == 0 and answer.get("healthy") is True, _checks(answer.get("checks")))


class JournalctlLogs:
    """The last lines the pishkhan units wrote to the system journal since a time."""

    def tail(self, *, since: str, lines: int = 40) -> str:
        stamp = since.replace("T", " ").removesuffix("Z") + " UTC"
        done = run(["journalctl", "--no-pager", "--quiet", "-o", "short-iso", f"--since={stamp}", "-n", str(lines),
                    "-u", "pishkhan-*"], timeout=20, env=base_env())
        return done.out.strip() if done.code == 0 else ""
