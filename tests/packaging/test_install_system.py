"""scripts/install-system.sh waits for apt's locks instead of failing at once
(a Pi's first boot runs unattended-upgrades, which holds them for minutes).

apt itself is replaced by a stand-in on PATH that answers like apt does while
another apt holds the lock: the package lists' lock for ``update`` (which
``DPkg::Lock::Timeout`` does not cover), and it records every call.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-system.sh"

APT_GET = """#!/bin/sh
echo "$*" >>"$FAKE/apt-get.calls"
case " $* " in *" update "*)
  n=$(cat "$FAKE/update.count" 2>/dev/null || echo 0); echo $((n + 1)) >"$FAKE/update.count"
  if [ "$n" -lt "$LOCKED_UPDATES" ]; then
    echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
    echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
    exit 100
  fi ;;
esac
exit 0
"""


def _run(tmp_path: Path, *, locked_updates: int, lock_wait: int):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "apt-get").write_text(APT_GET)
    for name, body in (("dpkg-query", "exit 1"), ("apt-cache", "exit 1"), ("systemctl", "exit 0"),
                       ("npm", "exit 1"), ("fc-cache", "exit 0"),
                       ("sudo", 'exec "$@"')):
        (fake / name).write_text(f"#!/bin/sh\n{body}\n")
    for f in fake.iterdir():
        f.chmod(0o755)
    home = tmp_path / "home"
    (home / ".local/share/fonts/vazirmatn").mkdir(parents=True)
    (home / ".local/share/fonts/vazirmatn/Vazirmatn-Regular.ttf").write_bytes(b"")
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", HOME=str(home), FAKE=str(fake),
               LOCKED_UPDATES=str(locked_updates), PISHKHAN_APT_LOCK_WAIT=str(lock_wait),
               PISHKHAN_APT_RETRY_SECONDS="0.1")
    done = subprocess.run(["bash", str(SCRIPT), "run"], env=env, capture_output=True, text=True, timeout=60)
    calls = (fake / "apt-get.calls").read_text().splitlines() if (fake / "apt-get.calls").exists() else []
    return done, calls


def test_apt_waits_for_the_locks_then_installs(tmp_path):
    done, calls = _run(tmp_path, locked_updates=2, lock_wait=30)
    assert done.returncode == 0, done.stderr
    assert len([c for c in calls if "update" in c.split()]) == 3, "two refusals, then the update"
    assert any("install" in c.split() for c in calls)
    assert all("-o DPkg::Lock::Timeout=30" in c for c in calls), calls
    assert "waiting for the package lists' lock" in done.stderr


def test_a_lock_held_past_the_wait_fails_with_apts_message(tmp_path):
    done, calls = _run(tmp_path, locked_updates=1000, lock_wait=0)
    assert done.returncode != 0
    assert "Could not get lock /var/lib/apt/lists/lock" in done.stderr
    assert not any("install" in c.split() for c in calls)
