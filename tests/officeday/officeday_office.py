"""An office day under faults: the whole office and its centre, with the harness keeping the truth.

:class:`OfficeDay` lays out one device's folder as the power-cut test does
(:class:`power_office.PowerOffice`: config, store with a signed board and
open counters) and runs, each as its own process in one process group (the
wall socket):

- ``pishkhan display`` (the wall; ``--events`` says what reached the screen),
- the kiosk (:mod:`officeday_kiosk`: the real kiosk widgets, customers'
  touches dispatched through Kivy's event loop),
- the counter panel (:mod:`officeday_panel`: the real panel on gpiozero's
  MockFactory, buttons pressed on the harness's schedule),
- ``pishkhan agent``, reaching the real Mosquitto (with its ACL,
  tests/mqtt_broker.py) through a local TCP proxy that can stall both ways
  (:mod:`officeday_proxy`),

and the centre: :class:`central.monitor.Monitor` writing into a real fleet
database (SQLite, or PostgreSQL given a URL), beside an independent
capture of everything the broker delivered.

**Time.** The office runs on the machine's real clocks; a day is compressed
by its load (hundreds of customers in minutes), and its announced hours are
set to the minutes the run covers. See docs/testing.md for why not an
injectable clock and what libfaketime would and would not add.

**Truth.** The harness knows what it did: which customers touched the
kiosk and which got a number (``T`` lines), which presses it made, when it
killed what and when each came back, when the paper ran out, when the
broker or the network was away. Sequence numbers are accounted exactly by a
trigger the harness adds to the outbox file before the agent first opens it:
every message enqueued is also written to ``officeday_made`` in the same
transaction (so a message exists there if and only if it was made), and a
number below ``next_seq`` that is not there was reserved without a message
(a Last Will's ``will_seq``).

The faults are drawn from *seed* at random instants (:meth:`OfficeDay.plan`)
and printed, so a failing day is replayed by its seed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "power"))

from officeday_proxy import StallProxy  # noqa: E402
from power_office import DEVICE, PowerOffice, _integrity, _keyed_twice, _outbox_depth  # noqa: E402

PARTS = ("display", "kiosk", "panel", "agent")
#: What systemd waits before restarting each (systemd/pishkhan-*.service RestartSec).
RESTART_SEC = {"display": 2.0, "kiosk": 2.0, "panel": 1.0, "agent": 5.0}
SERVICES = ("ID-01", "VEH-01", "POST-01")
TRIGGER = """
CREATE TABLE IF NOT EXISTS officeday_made (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, made_at REAL NOT NULL);
CREATE TRIGGER IF NOT EXISTS officeday_made_trigger AFTER INSERT ON messages
BEGIN INSERT OR IGNORE INTO officeday_made(seq, stream, made_at) VALUES (NEW.seq, NEW.stream, julianday('now')); END;
"""


@dataclass
class Proc:
    """One process of the office: its runs, its kills, its memory."""

    name: str
    popen: subprocess.Popen | None = None
    started_at: float = 0.0
    ready_at: float | None = None
    lines: list = field(default_factory=list)
    starts: int = 0
    killed_at: float | None = None  # a kill not yet followed by "back"
    back_after: list = field(default_factory=list)  # seconds from each kill to ready again
    start_to_ready: list = field(default_factory=list)  # seconds from each start (after RestartSec) to ready
    pss_kb: list = field(default_factory=list)
    down_since: float | None = None  # dead, waiting for its restart
    waiting: int = 0  # commands sent to the current run and not answered
    log_offset: int = 0  # where this run's log begins
    exits: list = field(default_factory=list)  # exit codes of runs that ended by themselves


@dataclass
class Fault:
    at: float
    kind: str
    arg: str = ""
    length: float = 0.0

    def __str__(self):
        return f"{self.at:6.1f}s {self.kind}{' ' + self.arg if self.arg else ''}" + \
            (f" for {self.length:.1f}s" if self.length else "")


class OfficeDay(PowerOffice):
    """One office and its centre for a day (see the module docstring).

    :param root: an empty folder.
    :param broker: a started :class:`mqtt_broker.MosquittoBroker`.
    :param seed: draws the customers, the presses and the faults.
    :param customers: customers in the day.
    :param seconds: how long the day's customers take to come (real seconds).
    :param db_url: the centre's database (default: SQLite in *root*).
    :param period_minutes: the announced hours: this many minutes from the minute the day starts in.
    """

    def __init__(self, root: Path, broker, *, seed: int, customers: int = 300, seconds: float = 180.0,
                 db_url: str | None = None, period_minutes: int | None = None, usb_mount: Path | None = None,
                 tmpfs_mb: int | None = None, report_after: float | None = None):
        from pishkhan.text import jalali

        root = Path(root)
        self.tmpfs = None
        if tmpfs_mb:  # the state folder on a small filesystem of its own, which the disk fault fills
            state = root / "state"
            state.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={tmpfs_mb}m", "tmpfs", str(state)], check=True,
                           capture_output=True)
            self.tmpfs = state
        self.proxy = StallProxy((broker.host, broker.device_port))
        self.customers = customers
        self.seconds = seconds
        minutes = period_minutes or math.ceil((seconds + 90) / 60) + 1  # start-up and the last customers inside
        needed = dt.timedelta(seconds=seconds + 240)  # the customers, the start-up and the report after them
        now = dt.datetime.now(jalali.TEHRAN)
        midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        if midnight - now < needed:  # the hours are one Tehran day's: wait for the next day rather than cross
            time.sleep((midnight - now).total_seconds() + 1)
            now = dt.datetime.now(jalali.TEHRAN)
            midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        opens = now.replace(second=0, microsecond=0)
        closes = min(opens + dt.timedelta(minutes=minutes), midnight - dt.timedelta(minutes=1))
        shift = [f"{opens:%H:%M}-{closes:%H:%M}"]
        # the day's report "so far" at a set minute after the customers (the hours go on, so no customer
        # meets the closing cutoff); without it, the report comes when the hours end
        self.report_at = None
        if report_after is not None:
            self.report_at = (dt.datetime.now(jalali.TEHRAN) + dt.timedelta(seconds=report_after + 60)).replace(
                second=0, microsecond=0)
        self.opens, self.closes = opens, closes
        hours = {"always_open": False, "cutoff_margin_minutes": 0,
                 **{day: shift for day in ("saturday", "sunday", "monday", "tuesday", "wednesday", "thursday",
                                           "friday")}}
        self.usb_mount = usb_mount or root / "usb"
        self.usb_mount.mkdir(parents=True, exist_ok=True)
        extra = {"hours": hours, "printer": {"uri": f"file:{root / 'printer.bin'}"},
                 "mqtt": {"port": self.proxy.port, "keepalive": 5},
                 "kiosk": {"usb_mount": str(self.usb_mount)},
                 "compliance": {"report_time": f"{self.report_at:%H:%M}" if self.report_at else ""}}
        super().__init__(root, broker, seed=seed, extra_config=extra, telemetry_seconds=2)
        self.printer_file = root / "printer.bin"
        self.db_url = db_url or str(root / "fleet.db")
        self.procs_: dict[str, Proc] = {name: Proc(name) for name in PARTS}
        self.faults_done: list[str] = []
        self.truth: list[tuple[float, str, str]] = []  # (time, what, state): the harness's record of the day
        self.asked = 0
        self.retries = 0  # customers whose touch the kiosk's death interrupted: they come back
        self.t0 = 0.0
        self.monitor = None
        self.db = None
        self.usb_answers: list[str] = []
        self.paper = "ok"
        self.usb_waiting = False
        self.slow_to_stop: list[str] = []  # parts that did not stop within 10 s of SIGTERM
        self._group: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._make_outbox()
        self.faketime: Path | None = None  # the offset file of the clock fault (libfaketime), when planned

    # -- the outbox's witness ----------------------------------------------------------------
    def _make_outbox(self):
        from edge_agent.outbox import Outbox

        with Outbox(self.state / "outbox.db"):
            pass
        conn = sqlite3.connect(str(self.state / "outbox.db"))
        try:
            conn.executescript(TRIGGER)
        finally:
            conn.close()

    # -- the centre --------------------------------------------------------------------------
    def start_centre(self):
        from central.db import open_db
        from central.monitor import Monitor
        from central.trust import TrustList
        from pishkhan.boards.signing import SigningKey

        self.db = open_db(self.db_url)
        trust = TrustList.of((SigningKey.generate().public, "national"))
        self.monitor = Monitor(self.db, trust=trust, host=self.broker.host, port=self.broker.port,
                               username="centre", password=self.broker.passwords["centre"],
                               client_id="officeday-monitor", batch_ms=50)
        self.monitor.start()

    # -- processes ---------------------------------------------------------------------------
    def argv(self, name: str) -> list[str]:
        py, conf = sys.executable, str(self.config_path)
        if name == "kiosk":
            return [py, str(HERE / "officeday_kiosk.py"), conf]
        if name == "panel":
            return [py, str(HERE / "officeday_panel.py"), conf]
        return self.commands(parts=(name,))[name]

    def power_on(self):
        """The wall socket on: a group leader, and every part started in its group."""
        self.round += 1
        self._group = subprocess.Popen(["sleep", "100000"], process_group=0)
        self._strip = self._group
        self.started_at = time.time()
        for name in PARTS:
            self.spawn(name)
        self.mark("power", "on")

    def spawn(self, name: str):
        p = self.procs_[name]
        env = self._env()
        if self.faketime is not None:  # the clock fault: the four office processes only (bench/faketime_probe.py)
            env.update(LD_PRELOAD=faketime_library(), FAKETIME_TIMESTAMP_FILE=str(self.faketime),
                       FAKETIME_NO_CACHE="1")
        with open(self.logs / f"{name}.log", "ab") as log:
            p.popen = subprocess.Popen(self.argv(name), cwd=str(HERE.parents[1]), env=env,
                                       stdin=subprocess.PIPE if name in ("kiosk", "panel") else subprocess.DEVNULL,
                                       stdout=subprocess.PIPE if name in ("kiosk", "panel") else log,
                                       stderr=log, process_group=self._group.pid)
        p.started_at, p.ready_at, p.starts, p.down_since = time.time(), None, p.starts + 1, None
        p.waiting = 0  # commands sent to this run and not answered yet
        p.log_offset = (self.logs / f"{name}.log").stat().st_size
        if name in ("kiosk", "panel"):
            threading.Thread(target=self._read, args=(p, p.popen), daemon=True).start()
        self.mark(name, "started")

    def _read(self, p: Proc, popen):
        for raw in popen.stdout:
            if not raw.endswith(b"\n"):
                break
            line = raw.decode().strip()
            with self._lock:
                p.lines.append((time.time(), line))
                if popen is not p.popen:
                    continue
                if line.startswith("S "):
                    self._ready(p)
                elif line.startswith(("T ", "R ")):
                    p.waiting = max(0, p.waiting - 1)
                elif line.startswith("P "):
                    self.truth.append((time.time(), "print", "ok" if line.split()[2] == "printed" else "failed"))
                elif line.startswith("U "):
                    self.usb_answers.append(line)

    def _ready(self, p: Proc):
        p.ready_at = time.time()
        p.start_to_ready.append(round(p.ready_at - p.started_at, 2))
        if p.killed_at is not None:
            since = p.killed_at
            if p.name == "agent":  # the agent shows it is back by its birth: not before the broker is reachable
                since = max([since] + [at for at, what, s in self.truth if (what, s) in
                                       (("broker", "up"), ("network", "healed"))])
            p.back_after.append(round(p.ready_at - since, 2))
            p.killed_at = None
        self.mark(p.name, "ready")
        if p.name == "kiosk" and self.paper != "ok":  # the printer is the office's: still without paper
            threading.Thread(target=self.send, args=("kiosk", {"paper": self.paper}), daemon=True).start()
        if p.name == "kiosk" and self.usb_waiting:  # the stick is still in: the staff try again
            self.usb_waiting = False
            threading.Thread(target=self.send, args=("kiosk", {"usb": "attack"}), daemon=True).start()

    def send(self, name: str, command: dict) -> bool:
        p = self.procs_[name]
        if p.popen is None or p.popen.poll() is not None or p.ready_at is None:
            return False
        try:
            p.popen.stdin.write((json.dumps(command) + "\n").encode())
            p.popen.stdin.flush()
        except (BrokenPipeError, OSError):
            return False
        if "take" in command:
            p.waiting += 1
        return True

    def kill(self, name: str):
        p = self.procs_[name]
        self.retries += p.waiting if name == "kiosk" else 0  # a customer mid-touch tries again
        if p.popen is not None and p.popen.poll() is None:
            p.popen.kill()
            p.popen.wait(30)
        now = time.time()
        p.killed_at = p.killed_at or now
        p.down_since = now
        p.ready_at = None
        self.mark(name, "killed")

    def power_cut(self):
        """Every process at once (killpg SIGKILL), then on again after systemd's boot order."""
        os.killpg(self._group.pid, signal.SIGKILL)
        self.retries += self.procs_["kiosk"].waiting
        now = time.time()
        for p in self.procs_.values():
            if p.popen is not None:
                p.popen.wait(30)
            p.killed_at, p.down_since, p.ready_at = now, now, None
        self._group.wait(30)
        self.mark("power", "cut")

    def supervise(self):
        """systemd's part: a dead process is started again RestartSec after it stopped; the display's and
        agent's readiness are read from their own output; memory is sampled."""
        now = time.time()
        if self._group is None or self._group.poll() is not None:
            self._group = subprocess.Popen(["sleep", "100000"], process_group=0)
            self._strip = self._group
            self.mark("power", "on")
        for name, p in self.procs_.items():
            if p.popen is not None and p.popen.poll() is not None and p.down_since is None:
                p.exits.append(p.popen.returncode)
                p.down_since = now
                p.killed_at = p.killed_at or now
                self.mark(name, "exited")
            if p.down_since is not None and now - p.down_since >= RESTART_SEC[name]:
                self.spawn(name)
            if p.ready_at is None and p.popen is not None and p.popen.poll() is None:
                if name == "display" and self._display_ready(p.started_at):
                    self._ready(p)
                elif name == "agent" and self._agent_ready(p.started_at):
                    self._ready(p)

    def _display_ready(self, since: float) -> bool:
        path = self.events_path()
        if not path.exists():
            return False
        for line in path.read_text(encoding="utf-8").splitlines()[-200:]:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "page" and float(event.get("shown_at", 0)) >= since:
                return True
        return False

    def _agent_ready(self, since: float) -> bool:
        """The agent is back when the centre received a birth it made after this start (the broker
        must be reachable: during an outage the agent cannot show that it is back)."""
        for m in self.capture.decoded("status")[-20:]:
            if m.get("state") == "online" and m.get("started_at") and _epoch(m["started_at"]) >= since - 1:
                return True
        return False

    def sample_memory(self):
        for p in self.procs_.values():
            if p.popen is not None and p.popen.poll() is None:
                kb = _pss_kb(p.popen.pid)
                if kb:
                    p.pss_kb.append(kb)

    def mark(self, what: str, state: str):
        self.truth.append((time.time(), what, state))

    def stop_all(self):
        """The end of the day: a clean stop (SIGTERM) of every part, then the leader."""
        for p in self.procs_.values():
            if p.popen is not None and p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        deadline = time.time() + 10
        for p in self.procs_.values():
            if p.popen is not None:
                try:
                    p.popen.wait(max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    self.slow_to_stop.append(p.name)
                    p.popen.kill()
                    p.popen.wait()
        if self._group is not None and self._group.poll() is None:
            os.killpg(self._group.pid, signal.SIGKILL)
            self._group.wait()

    def close(self):
        try:
            if self._group is not None and self._group.poll() is None:
                os.killpg(self._group.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.monitor is not None:
            self.monitor.stop()
        if self.db is not None:
            self.db.close()
        self.proxy.close()
        self.capture.stop()
        if self.tmpfs is not None:
            subprocess.run(["umount", "-l", str(self.tmpfs)], capture_output=True)

    # -- the plan ----------------------------------------------------------------------------
    def plan(self, faults: list[str]) -> list[Fault]:
        """Customers and presses, and *faults* at random instants of the day, all drawn from the seed."""
        rng, day = self.rng, self.seconds
        out = []
        for kind in faults:
            at = rng.uniform(0.12 * day, 0.85 * day)
            if kind in ("kill",):
                for name in PARTS:
                    out.append(Fault(rng.uniform(0.1 * day, 0.9 * day), "kill", name))
                continue
            if kind == "clock":  # the wall clock forward by minutes, and back after a while
                self.faketime = self.root / "faketime-offset"
                self.faketime.write_text("+0\n")
                out.append(Fault(at, kind, f"+{rng.randint(5, 20)}m", rng.uniform(10, 20)))
                continue
            length = {"broker": rng.uniform(8, 15), "paper": rng.uniform(10, 20), "partition": rng.uniform(10, 20),
                      "disk": rng.uniform(8, 15)}.get(kind, 0.0)
            out.append(Fault(at, kind, "", length))
        return sorted(out, key=lambda f: f.at)

    # -- the day -----------------------------------------------------------------------------
    def run_day(self, faults: list[Fault], *, say=print, tick: float = 0.1):
        """Customers come at random through :attr:`seconds`; counters press when someone waits; *faults* happen
        at their instants. Returns when the last customer has a number (or gave up) and the office is back."""
        rng = self.rng
        arrivals = sorted(rng.uniform(0, self.seconds) for _ in range(self.customers))
        pending = list(arrivals)
        waiting_customers: list[float] = []
        started = self.t0 = time.time()
        todo = sorted(faults, key=lambda f: f.at)
        ends: list[tuple[float, Fault]] = []
        next_press = 0.0
        last_mem = 0.0
        in_flight = 0
        deadline = started + self.seconds + 120
        while time.time() < deadline:
            now = time.time() - started
            self.supervise()
            while todo and todo[0].at <= now:
                f = todo.pop(0)
                say(f"  fault {f}")
                self.faults_done.append(str(f))
                self.begin(f)
                if f.length:
                    ends.append((f.at + f.length, f))
            for end, f in list(ends):
                if end <= now and (f.kind != "paper" or self._failed_prints_since(started + f.at)
                                   or now > end + 20):  # new paper once a customer has met the empty printer
                    ends.remove((end, f))
                    self.end(f)
            while self.retries:
                self.retries -= 1
                waiting_customers.insert(0, now)
            while pending and pending[0] <= now:
                waiting_customers.append(pending.pop(0))
            in_flight = self.procs_["kiosk"].waiting
            if waiting_customers and in_flight == 0 and self.send("kiosk", {"take": rng.randrange(1000)}):
                waiting_customers.pop(0)
                self.asked += 1
            if now >= next_press:
                counter = rng.choice([c.number for c in self.config.counters])
                self.send("panel", {"press": counter})
                next_press = now + rng.uniform(0.2, 1.0) * self.seconds / max(1, self.customers) * 2.2
            if time.time() - last_mem > 2:
                self.sample_memory()
                last_mem = time.time()
            if not pending and not waiting_customers and in_flight == 0 and not todo and not ends and self.all_up():
                break
            time.sleep(tick)
        for _end, f in ends:
            self.end(f)

    def _failed_prints_since(self, since: float) -> int:
        return sum(1 for at, what, s in list(self.truth) if what == "print" and s == "failed" and at >= since)

    def _answers(self, name: str, prefixes) -> int:
        with self._lock:
            return sum(1 for _, line in self.procs_[name].lines if line.startswith(prefixes))

    def all_up(self) -> bool:
        return all(p.ready_at is not None for p in self.procs_.values())

    # -- faults ------------------------------------------------------------------------------
    def begin(self, f: Fault):
        if f.kind == "kill":
            self.kill(f.arg)
        elif f.kind == "power":
            self.power_cut()
        elif f.kind == "broker":
            self.broker.stop()
            self.mark("broker", "down")
            if f.arg != "alone":  # the agent dies while the broker is away: its reserved will_seq is never used
                self.kill("agent")
        elif f.kind == "paper":
            self.paper = "paper_out"
            self.send("kiosk", {"paper": "paper_out"})  # or when the kiosk is next up (_ready)
            self.mark("printer", "paper_out")
        elif f.kind == "partition":
            self.proxy.partition()
            self.mark("network", "partitioned")
        elif f.kind == "disk":
            self.fill_disk()
        elif f.kind == "clock":
            self.faketime.write_text(f.arg + "\n")
            self.mark("clock", f"jumped {f.arg}")
        elif f.kind == "usb":
            self.plant_usb()
            self.usb_waiting = not self.send("kiosk", {"usb": "attack"})
            self.mark("usb", "inserted")

    def end(self, f: Fault):
        if f.kind == "broker":
            if f.arg != "alone":
                self.kill_agent_connecting()
            self.broker.start()
            self.mark("broker", "up")
        elif f.kind == "paper":
            self.paper = "ok"
            self.send("kiosk", {"paper": "ok"})
            self.mark("printer", "ok")
        elif f.kind == "partition":
            self.proxy.heal()
            self.mark("network", "healed")
        elif f.kind == "disk":
            (self.state / "officeday-fill.bin").unlink(missing_ok=True)
            self.mark("disk", "freed")
        elif f.kind == "clock":
            self.faketime.write_text("+0\n")
            self.mark("clock", "back +0")

    def kill_agent_connecting(self, timeout: float = 20.0):
        """The agent restarted during the outage is killed once it has tried to connect (it then holds a
        ``will_seq`` reserved for a connection that never happens)."""
        p = self.procs_["agent"]
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.supervise()
            if p.popen is not None and p.popen.poll() is None and self._tried_to_connect(p):
                self.kill("agent")
                self.mark("agent", "killed while connecting")
                return True
            time.sleep(0.1)
        return False

    def _tried_to_connect(self, p) -> bool:
        with open(self.logs / "agent.log", "rb") as f:
            f.seek(p.log_offset)
            text = f.read().decode(errors="replace")
        return any(s in text for s in ("failed to receive", "cannot reach", "refused", "disconnected"))

    def fill_disk(self):
        """Fill the state folder's filesystem to the last block (a log gone wild, a full SD card)."""
        fill = self.state / "officeday-fill.bin"
        st = os.statvfs(self.state)
        try:
            with open(fill, "ab", buffering=0) as f:
                try:
                    os.posix_fallocate(f.fileno(), 0, st.f_bavail * st.f_frsize)
                except OSError:
                    pass  # full is full
                while True:  # what fallocate's rounding left
                    f.write(b"\0" * 4096)
        except OSError:
            pass
        self.mark("disk", "full")

    def plant_usb(self):
        """A hostile stick: a symlink out of the mount, a huge file, a board with a bad signature, names
        with control characters, a deep tree."""
        m = self.usb_mount
        (m / "escape.json").unlink(missing_ok=True)
        os.symlink("/etc/shadow", m / "escape.json")
        (m / "huge.json").write_bytes(b"{" + b" " * (6 * 1024 * 1024) + b"}")  # past MAX_BYTES
        (m / "forged.json").write_text(json.dumps({"payload": "x", "signature": "AAAA", "key_id": "nope"}))
        (m / "bad\x1bname.json").write_text("{}")
        deep = m
        for i in range(40):
            deep = deep / f"d{i}"
        deep.mkdir(parents=True, exist_ok=True)
        (deep / "board.json").write_text("{}")

    # -- the end: drain, and the figures -------------------------------------------------------
    def wait_report(self, after_closing: float = 80.0) -> bool:
        """Keep the office up until the centre has the day's report (due at the report minute, or when the
        hours end; sent on the agent's next minute tick: within *after_closing* seconds of it)."""
        deadline = (self.report_at or self.closes).timestamp() + after_closing
        while time.time() < deadline:
            self.supervise()
            rows = self.db.query("SELECT 1 FROM reports WHERE device_id = ? AND date = ?",
                                 (DEVICE, self.opens.date().isoformat()))
            if rows:
                return True
            time.sleep(0.5)
        return False

    def drain(self, timeout: float = 60.0) -> int | None:
        """Wait until the outbox is empty and the monitor has written what the capture received."""
        deadline = time.monotonic() + timeout
        depth = None
        while time.monotonic() < deadline:
            self.supervise()
            depth = _outbox_depth(self.state / "outbox.db")
            if depth == 0 and self.monitor.writer.pending == 0:
                break
            time.sleep(0.3)
        return depth

    def figures(self) -> dict:
        """What the day left, against the harness's truth (see the module docstring)."""
        from central.fleet import Fleet
        from central.status import lost_messages
        from pishkhan.store.database import Store

        out: dict = {"seed": self.seed, "faults": list(self.faults_done)}
        # tickets
        kiosk_lines = [line for _, line in self.procs_["kiosk"].lines]
        issued = {}
        for line in kiosk_lines:
            if line.startswith("T "):
                _, tid, day, lane, number = line.split()
                issued[int(tid)] = (day, lane, int(number))
        with Store(self.config.store_path) as st:
            rows = st.query("SELECT id, day, lane, number, print_state FROM tickets WHERE origin_id IS NULL")
        stored = {r["id"]: (r["day"], r["lane"], r["number"]) for r in rows}
        keys = list(stored.values())
        out["tickets"] = {
            "customers": self.customers, "asked": self.asked, "issued": len(issued), "stored": len(stored),
            "printed_in_store": sum(1 for r in rows if r["print_state"] == "ok"),
            "printed_on_paper": _jobs(self.printer_file),
            "print_failed": sum(1 for r in rows if r["print_state"] not in (None, "ok")),
            "lost": sorted(t for t, v in issued.items() if stored.get(t) != v),
            "duplicated_numbers": sorted({k for k in keys if keys.count(k) > 1}),
            "refused": _count(line[2:] for line in kiosk_lines if line.startswith("R ")),
        }
        # integrity
        out["integrity"] = {"store": _integrity(self.config.store_path),
                            "outbox": _integrity(self.state / "outbox.db")}
        # messages
        conn = sqlite3.connect(f"file:{self.state / 'outbox.db'}?mode=ro", uri=True)
        try:
            next_seq, epoch = conn.execute("SELECT next_seq, epoch FROM state").fetchone()
            made = dict(conn.execute("SELECT seq, stream FROM officeday_made").fetchall())
            drops = _drops(conn)
            depth = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        finally:
            conn.close()
        received = self.received()
        births = [json.loads(p) for s, ps in received.items() for p in ps
                  if json.loads(p).get("state") == "online"]
        announced = {b["will_seq"] for b in births if isinstance(b.get("will_seq"), int)}
        reserved = set(range(1, next_seq)) - set(made)
        not_received = set(range(1, next_seq)) - set(received)
        lost_made = sorted(s for s in made if s not in received)
        dropped = sum(drops.values())
        out["messages"] = {
            "numbers_handed_out": next_seq - 1, "made": len(made), "received_distinct": len(received),
            "deliveries": len(self.capture.messages), "still_queued": depth,
            "made_not_received": len(lost_made), "dropped_by_outbox": drops,
            "true_loss": max(0, len(lost_made) - dropped) if depth == 0 else None,
            "reserved_for_wills": len(reserved), "wills_announced": len(reserved & announced),
            "wills_sent": len(reserved & set(received)),
            "reserved_never_announced": sorted(reserved - announced),
            "gaps_at_centre_truth": len(not_received),
            "sent_under_two_seqs": _keyed_twice(received),
            "seq_with_two_payloads": sorted(s for s, ps in received.items() if len(ps) > 1),
            "two_payloads": {s: sorted(_what(p) for p in ps) for s, ps in received.items() if len(ps) > 1},
            "made_by_stream": _count(made.values()),
        }
        # the centre's own counters
        dev = Fleet(self.db).device(DEVICE) or {}
        out["centre"] = {"received": dev.get("received"), "highest_seq": dev.get("highest_seq"),
                         "duplicates": dev.get("duplicates"), "lost_counter": lost_messages(dev) if dev else None,
                         "will_seq": dev.get("will_seq"), "online": dev.get("online"),
                         "monitor_refused": dict(self.monitor.refusals)}
        reports = self.db.query("SELECT date, report FROM reports WHERE device_id = ?", (DEVICE,))
        events = self.db.query("SELECT kind, detail FROM events WHERE device_id = ?", (DEVICE,))
        out["centre"]["reports"] = {r["date"]: _minutes(json.loads(r["report"])) for r in reports}
        out["centre"]["events"] = _count(e["kind"] for e in events)
        out["compliance"] = self.compliance()
        out["processes"] = {name: {"starts": p.starts, "back_after_kill_s": p.back_after,
                                   "start_to_ready_s": p.start_to_ready,
                                   "max_back_s": max(p.back_after) if p.back_after else None,
                                   "still_down": p.killed_at is not None,
                                   "pss_mb": _range_mb(p.pss_kb), "exits": p.exits}
                            for name, p in self.procs_.items()}
        with Store(self.config.store_path) as st:
            out["clock_facts"] = _count(r["state"] for r in st.query(
                "SELECT state FROM state_log WHERE component = 'clock'"))
        out["usb"] = list(self.usb_answers)
        out["slow_to_stop"] = list(self.slow_to_stop)
        out["record"] = [(round(at - self.t0, 2), what, s) for at, what, s in self.truth if what != "print"]
        return out

    # -- compliance --------------------------------------------------------------------------
    def compliance(self) -> dict:
        """Minutes by state: the device's judgement of its facts, the report the centre got, and the truth."""
        from pishkhan.compliance.judge import judge_day
        from pishkhan.schedule.hours import hours_from_config
        from pishkhan.store.database import Store
        from pishkhan.text import jalali

        now = dt.datetime.now(dt.timezone.utc)
        until = min(now, self.closes.astimezone(dt.timezone.utc))
        rows = self.db.query("SELECT report FROM reports WHERE device_id = ? AND date = ?",
                             (DEVICE, self.opens.date().isoformat())) if self.db is not None else []
        if rows:  # judge the device's facts until the instant its report to the centre was judged
            until = _parse(json.loads(rows[0]["report"])["judged_until"])
        with Store(self.config.store_path) as st:
            judged = judge_day(st, hours_from_config(self.config, store=st), self.opens.date(), until=until)
        device = {k[:-8]: v for k, v in judged.items() if k.endswith("_minutes") and not k.startswith(
            ("scheduled", "judged", "late_opening"))}
        device_by_minute = {}
        for span in judged.get("timeline", []):
            start = _parse(span["start"])
            end = _parse(span["end"])
            m = start
            while m < end:
                device_by_minute[m] = span["state"]
                m += dt.timedelta(minutes=1)
        truth_by_minute = {}
        m = self.opens.astimezone(dt.timezone.utc)
        while m < until:
            truth_by_minute[m] = self.truth_at(m.timestamp())
            m += dt.timedelta(minutes=1)
        truth = _count(s for s, _why in truth_by_minute.values())
        differs = [(f"{k.astimezone(jalali.TEHRAN):%H:%M}", device_by_minute.get(k), v[0], v[1])
                   for k, v in truth_by_minute.items() if device_by_minute.get(k) != v[0]]
        # A process SIGKILLed writes no fact: the device cannot know it was dead at a minute's start until
        # it is back (seconds later); the printer's paper is known only by printing (out at the first failed
        # print, back at the first good one). Those minutes are the harness's knowledge, not the device's error.
        unseeable = [d for d in differs if (d[3].endswith("process dead") and d[1] in ("serving", "degraded"))
                     or (d[3] == "printer out of paper, no print tried yet" and d[1] == "serving")
                     or (d[3] == "paper back, no print since" and d[1] == "degraded")]
        return {"device": device, "truth": truth, "differs": [d for d in differs if d not in unseeable],
                "unseeable": unseeable}

    def truth_at(self, t: float) -> tuple[str, str]:
        """The office's real state at instant *t*, from the harness's record (the timeline's rules:
        unknown before the agent's first heartbeat or the kiosk's first word; closed when the kiosk cannot
        issue; degraded when the printer has no paper or the wall is not showing the board)."""
        state = {"agent": "never", "kiosk": "never", "display": "never", "printer": "ok", "power": "off"}
        for at, what, s in self.truth:
            if at > t:
                break
            if what in ("kiosk", "display", "agent"):
                state[what] = "up" if s == "ready" else "down" if s in ("killed", "exited") else \
                    state[what] if s == "started" else state[what]
            elif what == "power":
                if s == "cut":
                    state.update(kiosk="down", display="down", agent="down")
            elif what == "printer":
                state["printer"] = s
                state["paper_since"] = at
        if state["agent"] == "never":
            return "unknown", "before the agent's first heartbeat"
        if state["kiosk"] == "never":
            return "unknown", "before the kiosk said anything"
        if state["kiosk"] == "down":
            return "closed", "kiosk process dead"
        if state["printer"] != "ok":
            tried = any(what == "print" and s == "failed" and state["paper_since"] <= at <= t
                        for at, what, s in self.truth)
            return "degraded", "printer out of paper" if tried else "printer out of paper, no print tried yet"
        if state["display"] == "down":
            return "degraded", "wall display process dead"
        if state["display"] != "up":
            return "degraded", "wall not showing yet"
        if "paper_since" in state:  # the paper is back: the kiosk records it at its next print
            prints = [(at, s) for at, what, s in self.truth if what == "print" and at <= t]
            before = [s for at, s in prints if at < state["paper_since"]]
            after = [s for at, s in prints if at >= state["paper_since"]]
            if before and before[-1] == "failed" and not after:
                return "serving", "paper back, no print since"
        return "serving", ""


def faketime_library() -> str:
    """libfaketime's preload library for this machine's architecture (Debian package libfaketime)."""
    import glob

    found = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    if not found:
        raise RuntimeError("the clock fault needs libfaketime (apt-get install -y libfaketime)")
    return found[0]


# -- small readers --------------------------------------------------------------------------------
def _epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(dt.timezone.utc)


def _pss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _range_mb(values) -> str | None:
    if not values:
        return None
    return f"{min(values) / 1024:.0f}-{max(values) / 1024:.0f}"


def _jobs(path: Path) -> int:
    """Tickets on paper: the cuts in the printer file."""
    from pishkhan.hardware.printer import _cut_bytes

    if not path.exists():
        return 0
    return path.read_bytes().count(_cut_bytes())


def _drops(conn) -> dict:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "dropped" not in tables:
        return {}
    return {f"{s}.{r}": n for s, r, n in conn.execute("SELECT stream, reason, count FROM dropped")}


def _what(payload: bytes) -> str:
    """A message in a few words: its schema, and a status's state and reason."""
    m = json.loads(payload)
    return " ".join(str(m.get(k)) for k in ("schema", "state", "reason", "sent_at") if m.get(k) is not None)


def _count(items) -> dict:
    out: dict = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def _minutes(report: dict) -> dict:
    comp = report.get("compliance", report)
    return {k[:-8]: v for k, v in comp.items() if isinstance(v, int) and k.endswith("_minutes")}


def targets(f: dict, *, restart_seconds: float = 10.0) -> list[str]:
    """The targets of the day that *f* (:meth:`OfficeDay.figures`) misses, each as a sentence."""
    missed = []
    t, m, c = f["tickets"], f["messages"], f["centre"]
    if t["lost"]:
        missed.append(f"{len(t['lost'])} issued tickets lost: {t['lost'][:5]}")
    if t["duplicated_numbers"]:
        missed.append(f"numbers given twice: {t['duplicated_numbers'][:5]}")
    if t["stored"] < t["issued"]:
        missed.append(f"stored {t['stored']} < issued {t['issued']}")
    if m["true_loss"] != 0:
        missed.append(f"true loss {m['true_loss']} (made and not received {m['made_not_received']})")
    if m["sent_under_two_seqs"] or m["seq_with_two_payloads"]:
        missed.append(f"a message under two seqs {m['sent_under_two_seqs'][:3]} or a seq with two payloads "
                      f"{m['two_payloads']}")
    if c["lost_counter"] != (m["true_loss"] or 0):
        missed.append(f"the centre's loss counter says {c['lost_counter']}, the true loss is {m['true_loss']} "
                      f"(seqs reserved for a Last Will and never announced: {len(m['reserved_never_announced'])})")
    for what in ("store", "outbox"):
        if f["integrity"][what] != "ok":
            missed.append(f"{what} integrity: {f['integrity'][what]}")
    for name, p in f["processes"].items():
        if p["still_down"]:
            missed.append(f"{name} did not come back")
        if p["max_back_s"] is not None and p["max_back_s"] > restart_seconds:
            missed.append(f"{name} came back after {p['max_back_s']} s (> {restart_seconds})")
    if f["compliance"]["differs"]:
        missed.append(f"{len(f['compliance']['differs'])} compliance minutes differ from the truth")
    return missed
