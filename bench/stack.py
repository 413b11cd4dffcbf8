"""The whole office's memory at rest: panel, kiosk, display and agent together.

Starts the four processes as their systemd units do (``pishkhan panel``,
``pishkhan kiosk``, ``pishkhan display``, ``pishkhan agent``, the units'
environment), each GL mode against a fresh office state with the sample
board (so the wall draws its pages at start in both), a real Mosquitto with
the ACL for the agent (password, not a certificate), a mock pin factory for
the panel and one Xvfb for both screens (kiosk 1280x800, wall 1920x1080).
When every process is ready (the panel and agent say so in their logs, the
wall has drawn its pages) and at rest (its PSS steady and its CPU idle for a
few seconds), reads each one's memory summed over its whole process tree and
prints each and the sum: first with GL stubbed (``KIVY_GL_BACKEND=mock``),
then with this machine's GL. Prints figures, never fails on them. Target:
the sum under 180 MB with GL stubbed (docs/performance.md).

Two PSS figures (proportional set size: a shared page is divided among the
processes that map it, so the figures add up):

- the kernel's, from ``/proc/PID/smaps_rollup``. It divides a library's page
  among every process on the machine, so it falls when other Pythons or GL
  apps happen to run (on a shared build machine by 20 MB and more);
- "alone": the same pages divided only among the four processes, as on a
  device where nothing else runs (needs root: ``/proc/PID/pagemap``). Quote
  this one. It also says how much of it is the GL driver's own code and
  data: SDL opens a GL context for each window even when Kivy's GL calls are
  stubbed, and on a machine without a GPU that is Mesa's software
  rasteriser and LLVM.

The X server's own memory is not counted.

    .venv/bin/python -m bench.stack [--gl mock system] [--maps 12] [--settle 6]

``--maps N`` also prints each process's N largest mappings by PSS alone (the
heap, anonymous memory, each library), to see where the memory goes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cli.headless import VirtualDisplay  # noqa: E402
from mqtt_broker import MosquittoBroker  # noqa: E402
from pishkhan.boards.installed import install_board  # noqa: E402
from pishkhan.boards.signing import SigningKey  # noqa: E402
from pishkhan.boards.trust import trust_key  # noqa: E402
from pishkhan.config import default_toml, parse_config  # noqa: E402
from pishkhan.queue.core import Queue  # noqa: E402
from pishkhan.store.database import Store  # noqa: E402

DEVICE = "dev-0001"
#: The four office processes, as their units start them (systemd/pishkhan-*.service).
APPS = {
    "panel": ["panel"],
    "kiosk": ["kiosk", "--size", "1280x800"],
    "display": ["display", "--size", "1920x1080"],
    "agent": ["agent"],
}
KIVY_APPS = ("kiosk", "display")
GL_MODES = {"mock": "GL stubbed (KIVY_GL_BACKEND=mock)", "system": "this machine's GL"}


# -- the office -------------------------------------------------------------------------
def make_office(root: Path, broker: MosquittoBroker) -> Path:
    """A state folder with a signed sample board installed and three counters open; its configuration file."""
    state = root / "state"
    state.mkdir(parents=True, exist_ok=True)
    mqtt = broker.agent_settings(DEVICE)
    toml = (default_toml(always_open=True)
            .replace('state_dir = ""', f'state_dir = "{state}"')
            .replace('pin_factory = ""', 'pin_factory = "mock"')
            .replace('health = "pi"', 'health = "fake"')
            .replace('clock = "system"', 'clock = "trusted"')
            .replace('uri = "fake"', f'uri = "file:{root / "printer.bin"}"')
            .replace('screen_power = ["cec", "blank"]', 'screen_power = ["fake", "blank"]')
            .replace('audio = "auto"', f'audio = "file:{state / "audio.jsonl"}"'))
    section = toml.index("\n[mqtt]\n")
    end = toml.index("\n[", section + 1)
    lines = toml[section:end].splitlines()
    for key, value in mqtt.items():
        lines = [line for line in lines if not line.startswith(f"{key} =")] + [f"{key} = {json.dumps(value)}"]
    toml = toml[:section] + "\n".join(lines) + toml[end:]
    path = root / "pishkhan.toml"
    path.write_text(toml, encoding="utf-8")
    config = parse_config(tomllib.loads(toml), path)
    store = Store(config.store_path)
    key = SigningKey.generate()
    trust_key(store, key.public, label="bench", actor="bench")
    doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
    install_board(store, key.sign(doc), source="cli", actor="bench")
    queue = Queue(store, config)
    for n in (1, 2, 3):
        queue.open_counter(n, actor="bench")
    store.close()
    return path


def app_env(name: str, root: Path, config: Path, gl: str) -> dict:
    """The unit's environment (systemd/pishkhan-<name>.service), this checkout first on the path."""
    env = dict(os.environ, PISHKHAN_CONFIG=str(config), PYTHONPATH=str(ROOT), PISHKHAN_STATE_DIR=str(root / "state"))
    env.pop("KIVY_GL_BACKEND", None)
    if name in KIVY_APPS:
        env.update(KIVY_TEXT="pil", KIVY_NO_ARGS="1", KIVY_NO_FILELOG="1", KIVY_NO_CONSOLELOG="1",
                   KIVY_HOME=str(root / "state" / f"kivy-{name}"))
        if gl == "mock":
            env["KIVY_GL_BACKEND"] = "mock"
    if name == "panel":
        env["LG_WD"] = str(root)
    return env


def start(name: str, root: Path, config: Path, gl: str) -> subprocess.Popen:
    log = open(root / f"{name}-{gl}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "cli.main", *APPS[name]], cwd=ROOT,
                            env=app_env(name, root, config, gl), stdout=log, stderr=subprocess.STDOUT)


# -- reading memory ----------------------------------------------------------------------
def tree(pid: int) -> list[int]:
    """*pid* and every descendant, read from /proc/*/task/*/children."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return seen


def rollup(pid: int) -> dict[str, int]:
    """The kB fields of /proc/PID/smaps_rollup (Pss, Pss_Anon, Pss_File, Rss ...); empty once the process is gone."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            key, value = line.split(":", 1)
            out[key] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return out


def tree_rollup(pid: int) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for p in tree(pid):
        for key, value in rollup(p).items():
            total[key] += value
    return dict(total)


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError):
            pass
    return total


def mapping_kind(path: str) -> str:
    """A name for a mapping: its file's name, or [heap] / [anon] / [stack]."""
    if not path:
        return "[anon]"
    if path.startswith("["):
        return path.split(":")[0] + ("]" if ":" in path else "")
    name = Path(path.split(" (deleted)")[0]).name
    if "/site-packages/" in path:
        package = path.split("/site-packages/", 1)[1].split("/", 1)[0]
        return f"{package}/…{name}" if package != name else name
    return name


def resident_pages(pid: int) -> list[tuple[str, int, bool]]:
    """Each resident page of *pid*: its mapping's kind (:func:`mapping_kind`), its frame number, and whether
    it holds a file's page (else it is anonymous, as a library's relocated data is).

    From /proc/PID/pagemap, which shows frame numbers to root only; empty when they are hidden."""
    out = []
    try:
        smaps = Path(f"/proc/{pid}/smaps").read_text().splitlines()
        fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY)
    except OSError:
        return out
    page = os.sysconf("SC_PAGE_SIZE")
    try:
        head = None
        for line in smaps:
            parts = line.split(None, 5)
            if len(parts) >= 5 and "-" in parts[0] and not line.endswith(" kB"):
                head = parts
            elif line.startswith("Rss:") and head is not None and int(line.split()[1]) > 0:
                kind = mapping_kind(head[5].strip() if len(head) > 5 else "")
                start, end = (int(x, 16) for x in head[0].split("-"))
                raw = os.pread(fd, (end - start) // page * 8, start // page * 8)
                for entry in struct.unpack(f"{len(raw) // 8}Q", raw):
                    if entry >> 63:  # present: bits 0-54 the frame, bit 61 a file page or shared
                        out.append((kind, entry & ((1 << 55) - 1), bool(entry >> 61 & 1)))
    finally:
        os.close(fd)
    if out and not any(frame for _, frame, _ in out):
        return []  # frame numbers hidden (not root)
    return out


def alone_pss(pids: dict[str, list[int]]) -> dict[str, dict]:
    """PSS in kB as if these processes ran alone on the machine: each resident page shared only among them.

    The kernel's PSS divides a library's page among every process on the
    machine that maps it (other programs' Pythons, other GL apps), so it
    moves with whatever else runs; this divides it only among *pids*
    (``{app: [pid, ...]}``). For each app: ``anon`` and ``file`` pages as
    the kernel splits them, and ``maps``, the same by mapping
    (:func:`mapping_kind`). Empty when frame numbers are hidden (not root)."""
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    pages = {app: [p for pid in group for p in resident_pages(pid)] for app, group in pids.items()}
    if not all(pages.values()):
        return {}
    count: dict[int, int] = defaultdict(int)
    for resident in pages.values():
        for _, frame, _ in resident:
            count[frame] += 1
    out = {}
    for app, resident in pages.items():
        split = {"anon": 0.0, "file": 0.0, "maps": defaultdict(float)}
        for kind, frame, is_file in resident:
            share = page_kb / count[frame]
            split["file" if is_file else "anon"] += share
            split["maps"][kind] += share
        out[app] = split
    return out


#: Mappings that belong to the GL driver (here Mesa's software rasteriser and the LLVM it compiles with):
#: SDL opens a GL context for the window even when Kivy's GL calls are stubbed.
GL_DRIVER = ("libLLVM", "libGL", "libEGL", "libglapi", "libgallium", "libdrm", "libz3", "libxshmfence", "SYSV",
             "libvulkan")


def is_gl_driver(kind: str) -> bool:
    return kind.startswith(GL_DRIVER) or kind.endswith("_dri.so")


# -- one run -----------------------------------------------------------------------------
def _log_says(words: str):
    return lambda name, root, gl: words in (root / f"{name}-{gl}.log").read_text(encoding="utf-8", errors="replace")


#: What each process shows when its start-up is over (the kiosk: nothing but a quiet attract screen).
READY = {
    "panel": _log_says("panel running"),
    "kiosk": lambda name, root, gl: True,
    "display": lambda name, root, gl: any((root / "state" / "pages").glob("*/meta.json")),  # every page drawn
    "agent": _log_says("connected to"),
}


def at_rest(procs: dict[str, subprocess.Popen], root: Path, gl: str, *, settle: float,
            timeout: float) -> dict[str, float]:
    """Wait until each process is ready (:data:`READY`), then until its PSS has moved by under 1 MB and it
    used under 5 % CPU for *settle* seconds.

    Returns the seconds each took to come to rest (the timeout when it never did)."""
    began = time.monotonic()
    history: dict[str, list[tuple[float, int, float]]] = {name: [] for name in procs}
    rested: dict[str, float] = {}
    while len(rested) < len(procs) and time.monotonic() - began < timeout:
        time.sleep(1)
        now = time.monotonic()
        for name, proc in procs.items():
            if name in rested:
                continue
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} before coming to rest "
                                   f"(its output: {root / f'{name}-{gl}.log'})")
            h = history[name]
            if not h and not READY[name](name, root, gl):
                continue
            h.append((now, tree_rollup(proc.pid).get("Pss", 0), cpu_seconds(proc.pid)))
            window = [s for s in h if now - s[0] <= settle + 0.5]
            if now - h[0][0] < settle or len(window) < settle:
                continue
            pss = [s[1] for s in window]
            cpu = (window[-1][2] - window[0][2]) / max(window[-1][0] - window[0][0], 1e-6)
            if max(pss) - min(pss) < 1024 and cpu < 0.05:
                rested[name] = now - began
    return {name: rested.get(name, timeout) for name in procs}


def run(root: Path, config: Path, gl: str, *, settle: float, timeout: float) -> dict:
    procs: dict[str, subprocess.Popen] = {}
    try:
        for name in APPS:
            procs[name] = start(name, root, config, gl)
        rest = at_rest(procs, root, gl, settle=settle, timeout=timeout)
        figures = {name: tree_rollup(p.pid) for name, p in procs.items()}
        alone = alone_pss({name: tree(p.pid) for name, p in procs.items()})
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {"rest": rest, "figures": figures, "alone": alone}


def mb(kb: int) -> str:
    return f"{kb / 1024:6.1f}"


def report(gl: str, result: dict, maps: int):
    alone = result["alone"]
    print(f"\n{GL_MODES[gl]}:")
    print(f"  {'':8} {'kernel PSS, MB':>22}   {'PSS alone, MB':>22}   {'RSS':>6}")
    print(f"  {'process':8} {'total':>6} {'anon':>7} {'file':>7}   {'total':>6} {'anon':>7} {'file':>7}   {'MB':>6}"
          f"   at rest after")
    total = defaultdict(float)
    for name, f in result["figures"].items():
        a = alone.get(name, {"anon": 0.0, "file": 0.0})
        row = {"Pss": f.get("Pss", 0), "Pss_Anon": f.get("Pss_Anon", 0), "Pss_File": f.get("Pss_File", 0),
               "alone": a["anon"] + a["file"], "alone_anon": a["anon"], "alone_file": a["file"], "Rss": f.get("Rss", 0)}
        for key, value in row.items():
            total[key] += value
        print(f"  {name:8} {_line(row)}   {result['rest'][name]:.0f} s")
    print(f"  {'sum':8} {_line(total)}" + ("   target < 180 MB" if gl == "mock" else ""))
    if not alone:
        print("  (PSS alone needs root: /proc/PID/pagemap hides frame numbers from other users)")
    else:
        driver = {name: sum(v for k, v in a["maps"].items() if is_gl_driver(k)) for name, a in alone.items()}
        print(f"  of the PSS alone, this machine's GL driver's own mappings (Mesa, LLVM, X shared images): "
              + ", ".join(f"{name} {kb / 1024:.1f}" for name, kb in driver.items() if kb)
              + f"; the sum without them {(total['alone'] - sum(driver.values())) / 1024:.1f} MB")
    for name, a in alone.items() if maps else ():
        top = sorted(a["maps"].items(), key=lambda kv: -kv[1])[:maps]
        print(f"  {name}'s largest mappings (PSS alone, MB): " + ", ".join(f"{k} {v / 1024:.1f}" for k, v in top))
    return total


def _line(row) -> str:
    return (f"{mb(row['Pss'])} {mb(row['Pss_Anon']):>7} {mb(row['Pss_File']):>7}   {mb(row['alone'])} "
            f"{mb(row['alone_anon']):>7} {mb(row['alone_file']):>7}   {mb(row['Rss'])}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gl", nargs="+", choices=list(GL_MODES), default=list(GL_MODES), help="GL modes to measure")
    ap.add_argument("--settle", type=float, default=6.0, help="seconds a process must stay steady to be at rest")
    ap.add_argument("--timeout", type=float, default=120.0, help="longest wait for rest")
    ap.add_argument("--maps", type=int, default=0, metavar="N", help="print each process's N largest mappings")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, state)")
    args = ap.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-stack-"))
    broker = MosquittoBroker(root / "broker")
    broker.start()
    try:
        with VirtualDisplay((1920, 1080), force=True):
            for gl in args.gl:  # each from a fresh office: the display renders its pages at start in both
                config = make_office(root / gl, broker)
                report(gl, run(root / gl, config, gl, settle=args.settle, timeout=args.timeout),
                       args.maps)
    finally:
        broker.stop()
        if args.keep:
            print(f"\nkept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
