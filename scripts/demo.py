"""`make demo`: the main job on embedded defaults, end to end, into demo-out/.

Makes issuer keys, signs and verifies the sample board (with the complaint
channel of docs/customer-respect.md added), installs it into a fresh store,
renders every screen size and the posters, then opens the wall display and
the kiosk side by side: a scripted customer takes a ticket at the kiosk
(printed into demo-out/printer.bin), counter 1 calls it, and the display
shows the call. Without a screen both run under Xvfb and only their
screenshots remain. Then scripts/demo_*.py (the office and its centre, a
circular among them). Each step runs the real `pishkhan` command.
"""

from __future__ import annotations

import os
import shutil
import json
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

OUT = Path("demo-out")
BIN = Path(sys.executable).with_name("pishkhan")


def step(title: str, *args, check=True) -> str:
    print(f"\n== {title}\n$ pishkhan {' '.join(map(str, args))}", flush=True)
    proc = subprocess.run([str(BIN), "--config", str(OUT / "pishkhan.toml"), *map(str, args)],
                          capture_output=True, text=True, env=ENV)
    text = (proc.stdout + proc.stderr).strip()
    print(text)
    if check and proc.returncode != 0:
        sys.exit(f"demo step failed: {title}")
    return text


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    state = OUT / "state"
    global ENV
    ENV = dict(os.environ, PISHKHAN_STATE_DIR=str(state.resolve()), KIVY_TEXT="pil", KIVY_NO_ARGS="1")

    sample = OUT / "sample-board.json"
    board = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
    # The customer-respect channel (docs/customer-respect.md): the kiosk's start screen and every ticket show it.
    board["complaints"] = COMPLAINTS
    sample.write_text(json.dumps(board, ensure_ascii=False, indent=1), encoding="utf-8")
    subprocess.run([str(BIN), "config", "init", "--out", str(OUT / "pishkhan.toml"), "--always-open",
                    "--printer", f"file:{(OUT / 'printer.bin').resolve()}"], check=True, env=ENV)
    # A development machine or container often has a clock its host keeps, which the kernel still calls
    # unsynchronised; the demo says so in its configuration (a Pi keeps "system": NTP tells).
    toml = OUT / "pishkhan.toml"
    # Its state folder is the demo's (as /var/lib/pishkhan on a device): the store, and the keys enrolment makes.
    text = toml.read_text(encoding="utf-8").replace('\nclock = "system"', '\nclock = "trusted"', 1)
    toml.write_text(text.replace('\nstate_dir = ""', f'\nstate_dir = "{state.resolve()}"', 1), encoding="utf-8")

    step("issuer keys", "keys", "new", "--out", OUT / "keys", "--name", "ministry")
    step("validate the sample board", "board", "validate", sample)
    step("sign it", "board", "sign", sample, "--key", OUT / "keys/ministry.key", "--out", OUT / "signed-board.json")
    step("verify the signature", "board", "verify", OUT / "signed-board.json", "--trust", OUT / "keys/ministry.pub")
    step("trust the ministry key on this device", "keys", "trust", OUT / "keys/ministry.pub", "--label", "ministry")
    step("install the signed board", "board", "install", OUT / "signed-board.json")
    step("the effective board", "board", "show")
    for size in ("1920x1080", "1080x1920", "1280x800"):
        step(f"render the board at {size}", "board", "render", OUT / "signed-board.json", "--size", size,
             "--out", OUT / f"pages-{size}")
    for paper in ("A4", "A3"):
        step(f"printable poster, {paper}", "board", "poster", OUT / "signed-board.json", "--paper", paper,
             "--out", OUT / f"poster-{paper}.pdf")

    kiosk_and_display()

    failed = []
    for extra in sorted(Path(__file__).parent.glob("demo_*.py")):
        print(f"\n== {extra.stem}", flush=True)
        if subprocess.run([sys.executable, str(extra), str(OUT.resolve())], env=ENV, check=False).returncode != 0:
            failed.append(extra.stem)

    print("\nMade in demo-out/:")
    for path in sorted(OUT.rglob("*")):
        if path.is_file() and "state" not in path.parts and "keys" not in path.parts:
            print(f"  {path}")
    print("  demo-out/keys/ (the demo issuer key pair), demo-out/state/ (the device's store)")
    if failed:
        print(f"\ndemo failed in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


ENV: dict = {}
#: The demo board's complaint channel (a national board may carry one).
COMPLAINTS = {"phone": "021-1112", "short_code": "30001111", "url": "https://tekrim.example.ir/s"}


def _wait_for_event(path: Path, name: str, proc: subprocess.Popen, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if json.loads(line).get("event") == name:
                    return True
        time.sleep(0.2)
    return False


def kiosk_and_display():
    """The wall display and the kiosk together, with one customer served."""
    where = "in windows on this screen" if os.environ.get("DISPLAY") else "headless under Xvfb"
    print(f"\n== the wall display and the kiosk, {where}", flush=True)
    config = ["--config", str(OUT / "pishkhan.toml")]
    events = OUT / "display-events.jsonl"
    display = subprocess.Popen([str(BIN), *config, "display", "--size", "1920x1080", "--screenshots",
                                str(OUT / "display"), "--seconds", "40", "--events", str(events)],
                               env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        if not _wait_for_event(events, "first_page", display, 60):
            print("the display did not show a page; its output follows")
        step("a customer at the kiosk: three touches to a printed ticket, then search, English, "
             "large text and the staff PIN pad", "kiosk", "--script", "journey", "--screenshots", OUT / "kiosk")
        step("counter 1 calls the next customer", "queue", "next", "--counter", "1")
        step("the queue now", "queue", "status")
    finally:
        out, _ = display.communicate(timeout=120)
    print("\n$ pishkhan display --screenshots demo-out/display --seconds 40")
    print(out.strip())
    if display.returncode != 0:
        sys.exit("demo step failed: the wall display")
    print("printed ticket bytes (ESC/POS): demo-out/printer.bin")
    print("To use them yourself: PISHKHAN_STATE_DIR=demo-out/state .venv/bin/pishkhan --config "
          "demo-out/pishkhan.toml kiosk   (and the same with display)")

if __name__ == "__main__":
    sys.exit(main())
