"""Helpers for tests where a test centre talks to a running agent: keys, the `pishkhan central` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from agent_helpers import ROOT

from central.keys import KeyRing
from central.trust import TrustList
from pishkhan.boards.signing import PublicKey, SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.config import load_config
from pishkhan.protocol.payloads import problems
from pishkhan.store.database import Store


#: The centre's trust list in the keys folder (what `central publish --trust` and `central monitor --trust` read).
TRUST_FILE = "centre-trust.pem"


def centre_keys(directory: Path) -> dict[str, SigningKey]:
    """A keys folder with ``national``, ``province`` (23) and ``command`` keys, made by the centre's key ring,
    and the centre's trust list (:func:`centre_trust`) holding the two issuer keys with their scopes."""
    ring = KeyRing(directory)
    ring.new("national", kind="issuer", scope="national")
    ring.new("province", kind="issuer", scope="province:23")
    ring.new("command", kind="command")
    keys = {name: ring.load(name) for name in ("national", "province", "command")}
    centre_trusts(directory, keys["national"].public, scope="national", label="national")
    centre_trusts(directory, keys["province"].public, scope="province:23", label="province 23")
    return keys


def centre_trust(directory: Path) -> str:
    """The path of the centre's trust list in the keys folder *directory*, for ``--trust``."""
    return str(Path(directory) / TRUST_FILE)


def centre_trusts(directory: Path, key: PublicKey, *, scope: str, label: str = "") -> None:
    """Add *key* with *scope* to the centre's trust list in *directory*."""
    with open(centre_trust(directory), "a", encoding="ascii") as f:
        f.write(TrustList.entry(key, scope, label))


def trust_centre(config_path: Path, keys: dict[str, SigningKey]):
    """Provision the device of *config_path*: trust the centre's keys with their scopes."""
    with Store(load_config(config_path).store_path) as store:
        trust_key(store, keys["national"].public, scope="national", label="national", actor="test")
        trust_key(store, keys["province"].public, scope="province:23", label="province 23", actor="test")
        trust_key(store, keys["command"].public, scope="command", label="centre commands", actor="test")


def central(broker, *args, user: str = "centre", timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``pishkhan central ARGS`` against *broker* as *user*."""
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    command = [sys.executable, "-m", "cli.main", "central", *args,
               "--broker", f"mqtt://{broker.host}:{broker.port_for(user)}", "--username", user,
               "--password-file", str(broker.password_file(user)), "--root", broker.root]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environ, cwd=ROOT)


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def reported(capture, device: str = "dev-0001") -> list[dict]:
    return [m for m in capture.decoded("reported") if m["device"] == device]


def results(capture, device: str = "dev-0001") -> list[dict]:
    return [m for m in capture.decoded("result") if m["device"] == device]


def assert_all_valid(capture):
    """Every message a device published validates against its schema."""
    streams = ("status", "telemetry", "event", "report", "reported", "result")
    messages = [json.loads(p) for t, p, _, _ in list(capture.messages)
                if p and "/dev/" in t and t.rsplit("/", 1)[1] in streams]
    assert messages
    for message in messages:
        assert problems(message) == [], message


def quiet_for(capture, seconds: float, predicate) -> bool:
    """True when *predicate(capture)* stays false for *seconds*."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate(capture):
            return False
        time.sleep(0.1)
    return not predicate(capture)
