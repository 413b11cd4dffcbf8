"""Asking the installed software whether a request may be installed: ``pishkhan update verify --request FILE``
(docs/updates-on-device.md), run from the CURRENTLY installed environment before anything is touched.

Exit 0 and a JSON line of the release; exit 3 and ``{"reason", "message"}``: refused; anything else: the
verifier itself is broken (:class:`VerifierBroken`).
"""

from __future__ import annotations

import json
from pathlib import Path

from updater.commands import as_user, base_env, run
from updater.release import Refusal, Release


class VerifierBroken(Exception):
    """verify could not give an answer (usage or configuration error, a crash, an unreadable answer)."""


def _last_json(text: str):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in the output")


class CommandVerifier:
    """The real verifier: *pishkhan* ``update verify``, as *user* when we are root."""

    def __init__(self, *, pishkhan: Path, config: Path, user: str = "", timeout: float = 120):
        self.argv = [*as_user(user), str(pishkhan), "update", "verify"]
        self.env = base_env(PISHKHAN_CONFIG=str(config))
        self.timeout = timeout

    def verify(self, request: Path) -> Release:
        done = run([*self.argv, "--request", str(request)], timeout=self.timeout, env=self.env)
        try:
            answer = _last_json(done.out)
        except ValueError:
            raise VerifierBroken(f"verify exited {done.code} without an answer: {done.tail(600)}") from None
        if done.code == 3 and isinstance(answer, dict):
            raise Refusal(str(answer.get("message", ""))[:1000], reason=str(answer.get("reason", "")))
        if done.code != 0:
            raise VerifierBroken(f"verify exited {done.code}: {done.tail(600)}")
        try:
            return Release.from_json(answer)
        except ValueError as e:
            raise VerifierBroken(f"verify's answer is not a release: {e}") from None
