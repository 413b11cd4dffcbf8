"""Whether libfaketime can step the office's wall clock: three probes of a Python child under LD_PRELOAD.

The office day (bench/office_day.py) would add a ``clock`` fault by giving the
four office processes libfaketime with an offset file changed at run time
(``FAKETIME_TIMESTAMP_FILE``, ``FAKETIME_NO_CACHE=1``) and
``FAKETIME_DONT_FAKE_MONOTONIC=1`` so the boot clock stays true and the
heartbeat (pishkhan/compliance/uptime.py) sees the jump. Each probe runs a
child for a few seconds and prints what happened:

1. ``dont_fake_monotonic``: the child sleeps 0.1 s with the monotonic clock left true;
2. ``step_faked_monotonic``: the monotonic clock faked too (the default), the
   offset stepped +10 min: do the wall and boot clocks move apart (a jump
   the device can see)?
3. ``sleep_across_step``: the same, with the child sleeping across a step back
   to +0: does ``time.sleep(0.5)`` return?

    python3 bench/faketime_probe.py        # needs the Debian package libfaketime
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD_SLEEP = "import time; time.sleep(0.1); print('slept')"
CHILD_CLOCKS = """
import os, sys, time
b = time.clock_gettime(time.CLOCK_BOOTTIME); t = time.time()
while not os.path.exists(sys.argv[1]):
    pass
print(f"wall moved {time.time() - t:.1f} s, boot clock moved {time.clock_gettime(time.CLOCK_BOOTTIME) - b:.1f} s")
"""
CHILD_SLEEP_ACROSS = "import time; s = time.time(); time.sleep(0.5); print('slept, wall', round(time.time() - s, 1))"


def library() -> str | None:
    found = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    return found[0] if found else None


def run(code: str, env: dict, *, args=(), timeout: float, during=None) -> str:
    p = subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    if during:
        during()
    try:
        out, _ = p.communicate(timeout=timeout)
        return out.strip().splitlines()[-1] if out.strip() else f"exit {p.returncode}, no output"
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return f"did not return within {timeout:.0f} s"


def main() -> int:
    lib = library()
    if lib is None:
        print("libfaketime not installed (apt-get install -y libfaketime)")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        offset = Path(tmp) / "offset"
        offset.write_text("+0\n")
        base = dict(os.environ, LD_PRELOAD=lib, FAKETIME_TIMESTAMP_FILE=str(offset), FAKETIME_NO_CACHE="1")
        print(f"{lib}, python {sys.version.split()[0]}")
        print("1 dont_fake_monotonic:", run(CHILD_SLEEP, dict(base, FAKETIME_DONT_FAKE_MONOTONIC="1"), timeout=5))
        flag = Path(tmp) / "stepped"

        def step():
            time.sleep(0.5)
            offset.write_text("+10m\n")
            time.sleep(0.5)
            flag.touch()
        print("2 step_faked_monotonic:", run(CHILD_CLOCKS, base, args=(str(flag),), timeout=5, during=step))
        offset.write_text("+10m\n")

        def back():
            time.sleep(0.2)
            offset.write_text("+0\n")
        print("3 sleep_across_step:", run(CHILD_SLEEP_ACROSS, base, timeout=5, during=back))
    return 0


if __name__ == "__main__":
    sys.exit(main())
