"""Running another program: bounded in time, its output kept, never raising for a non-zero exit."""

from __future__ import annotations

import os
import pwd
import subprocess
from dataclasses import dataclass

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Done:
    """How a program ended: exit code (-1: it could not run, or timed out) and its output."""

    code: int
    out: str
    err: str

    def tail(self, chars: int = 1500) -> str:
        text = (self.out + ("\n" if self.out and self.err else "") + self.err).strip()
        return text if len(text) <= chars else "…" + text[-chars:]


def run(argv: list[str], *, timeout: float, env: dict | None = None) -> Done:
    """Run *argv* in / (a Python command must not import from wherever we were started) and wait at most
    *timeout* seconds."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout,
                           env=env, stdin=subprocess.DEVNULL, cwd="/")
    except FileNotFoundError:
        return Done(-1, "", f"{argv[0]}: no such program")
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return Done(-1, out, f"{argv[0]}: still running after {timeout:.0f} s, stopped")
    except OSError as e:
        return Done(-1, "", f"{argv[0]}: {e}")
    return Done(p.returncode, p.stdout, p.stderr)


def as_user(user: str) -> list[str]:
    """The prefix that runs a command as *user* (with its groups) when we are root and it exists; else []."""
    if not user or os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(user)
    except KeyError:
        return []
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]


def base_env(**extra: str) -> dict:
    """A small, known environment for the programs we run."""
    env = {"PATH": PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    env.update(extra)
    return env
