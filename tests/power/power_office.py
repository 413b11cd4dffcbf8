"""A whole office of real processes, switched off at the wall and on again.

:class:`PowerOffice` lays out one device's state folder (config, store with a
signed board and open counters, the issuer key for the centre's later
boards) and starts the office's processes as the device runs them:

- ``pishkhan display`` (the wall, Kivy, on the test X server; ``--events``
  says what reached the screen),
- ``pishkhan kiosk`` (the touchscreen, Kivy),
- ``pishkhan panel --pin-factory mock`` (the counter panel, gpiozero's mock pins),
- ``pishkhan agent`` against a real Mosquitto (telemetry every second),
- ``office_driver.py``: customers taking tickets by the kiosk's path, counters
  calling by the panel's path, the centre's sync installing newer boards.

All of them are in one process group, so :meth:`PowerOffice.cut` is one
``killpg(SIGKILL)``: every process of the office stops at the same instant,
as at a power cut, mid-query, mid-commit or mid-render. :meth:`PowerOffice.check`
then reads what survived and :meth:`PowerOffice.restart_shows_board` measures
how soon a restarted wall shows the last verified board.

What is checked after each cut (:class:`CutReport`):

- ``PRAGMA integrity_check`` of the store and of the outbox, and the store
  opened by the project's own guard (:class:`~pishkhan.store.database.Store`);
- every ticket the driver was told was issued is in the store with its
  number, no day/lane/number twice, and the numbering mark is not below an issued number;
- every board install that returned is still installed;
- every proof-of-display snapshot the store records matches its PNG, and
  every page set the wall marked complete (``meta.json``) has all its pages;
- the outbox's messages (what the agent has queued) are remembered by seq;
  :meth:`PowerOffice.finish` drains the outbox with a last agent and checks
  that the centre received each of them, and that no seq arrived with two
  different payloads and no event or report arrived under two seqs.

SIGKILL loses no write the kernel accepted (the page cache survives); lost
unflushed writes of plain files are covered by ``test_state_files.py``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("office_driver.py")
DEVICE = "dev-0001"


def toml_file(path: Path, sections: dict, *, lanes=()) -> Path:
    from pishkhan.config import toml_value

    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
        lines.append("")
    for lane in lanes:
        lines.append("[[lanes]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in lane.items()]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@dataclass
class CutReport:
    """What one cut left behind."""

    round: int
    alive_seconds: float
    store_integrity: str = ""
    outbox_integrity: str = ""
    guard: str = "ok"
    tickets_acked: int = 0
    tickets_stored: int = 0
    lost: list = field(default_factory=list)
    duplicated: list = field(default_factory=list)
    mark_below: list = field(default_factory=list)
    boards_lost: list = field(default_factory=list)
    outbox_depth: int = 0
    seq_reused: list = field(default_factory=list)
    board: tuple | None = None  # (version label, verification code) the store holds now
    driver_errors: list = field(default_factory=list)
    exited: dict = field(default_factory=dict)  # processes that had stopped by themselves before the cut
    snapshots_bad: list = field(default_factory=list)  # recorded snapshots whose file is gone or differs
    pages_bad: list = field(default_factory=list)  # page sets said complete (meta.json) with a page missing
    network_down: bool = False
    shown_after: float | None = None  # seconds from this round's start to the wall showing the board

    @property
    def problems(self) -> list[str]:
        out = []
        if self.store_integrity != "ok":
            out.append(f"store integrity: {self.store_integrity}")
        if self.outbox_integrity != "ok":
            out.append(f"outbox integrity: {self.outbox_integrity}")
        if self.guard != "ok":
            out.append(f"store guard: {self.guard}")
        for name in ("lost", "duplicated", "mark_below", "boards_lost", "seq_reused", "driver_errors", "exited",
                     "snapshots_bad", "pages_bad"):
            if getattr(self, name):
                value = getattr(self, name)
                out.append(f"{name}: {value if isinstance(value, dict) else value[:5]}")
        return out


class PowerOffice:
    """One office's folder and its processes (see the module docstring).

    :param root: an empty folder for everything.
    :param broker: a started :class:`mqtt_broker.MosquittoBroker`.
    :param seed: seeds the driver and the cut instants.
    :param rate: driver actions a second.
    :param telemetry_seconds: the agent's telemetry interval.
    :param as_device: run the Kivy apps with the environment the units give them
        (Kivy then keeps its own log files under ``home/.kivy``).
    """

    def __init__(self, root: Path, broker, *, seed: int = 1, rate: float = 25.0, telemetry_seconds: float = 1,
                 display_size: str = "1280x720", snapshot_seconds: int = 300, board_share: float = 0.01,
                 call_share: float = 0.25, extra_config: dict | None = None, as_device: bool = False):
        from pishkhan.boards.installed import effective_for_config, install_board
        from pishkhan.boards.signing import SigningKey
        from pishkhan.boards.trust import trust_key
        from pishkhan.config import load_config
        from pishkhan.queue.core import Queue
        from pishkhan.store.database import Store

        self.root = Path(root)
        self.broker = broker
        self.rng = random.Random(seed)
        self.seed = seed
        self.rate = rate
        self.board_share = board_share
        self.call_share = call_share
        self.as_device = as_device
        self.display_size = display_size
        self.state = self.root / "state"
        self.logs = self.root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.root / "home").mkdir(exist_ok=True)  # Kivy makes its KIVY_HOME folder, not the ones above it
        sections = {
            "device": {"id": DEVICE, "state_dir": str(self.state)},
            "hours": {"always_open": True},
            "hardware": {"pin_factory": "mock", "clock": "trusted", "health": "fake"},
            "printer": {"uri": "fake"},
            "display": {"screen_power": ["fake", "blank"], "voice": "none", "audio": "none",
                        "seconds_per_page": 3, "snapshot_seconds": snapshot_seconds},
            "mqtt": broker.agent_settings(DEVICE, telemetry_seconds=telemetry_seconds),
            "compliance": {"report_time": "00:00"},
        }
        # the default lanes, with room in the range lane for the thousands of tickets of a long bench
        lanes = [{"code": "A", "prefix": "A", "categories": ["id-card", "passport", "driving"]},
                 {"code": "B", "range": [101, 99999], "categories": ["vehicle", "judicial"]},
                 {"code": "C", "prefix": "C", "categories": ["*"]}]
        for section, values in (extra_config or {}).items():
            sections.setdefault(section, {}).update(values)
        self.config_path = toml_file(self.root / "pishkhan.toml", sections, lanes=lanes)
        self.config = load_config(self.config_path)
        key = SigningKey.generate()
        self.key_path = key.save(self.root / "keys", "issuer")[0]
        doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
        with Store(self.config.store_path) as st:
            trust_key(st, key.public, label="power-cut issuer", actor="test")
            installed = install_board(st, key.sign(doc), source="cli", actor="test")
            for counter in self.config.counters:
                Queue(st, self.config).open_counter(counter.number, actor="test")
            board = effective_for_config(st, self.config)
            self.expected = (board.version_label, board.verification_code)  # what a restarted wall must show
        self.issued: dict[int, tuple] = {}  # ticket id -> (day, lane, number), as the driver was told
        self.boards: list[tuple[int, str]] = [(doc["version"], installed.verification_code)]
        self.queued: dict[int, bytes] = {}  # seq -> payload of every message seen in the outbox after a cut
        self.next_seq = 0
        self.rounds: list[CutReport] = []
        self.capture = broker.capture("centre")
        self.procs: dict[str, subprocess.Popen] = {}
        self.exited: dict[str, int] = {}
        self._strip: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._lines: list[str] = []
        self.started_at = 0.0
        self.round = 0

    # -- one round ------------------------------------------------------------------------
    def power_round(self, *, on_for: tuple[float, float], after_wall: bool = True,
                    network_down: bool = False) -> CutReport:
        """Switch on, let the office work, cut at a random instant, check what survived.

        *network_down*: the broker is stopped for the round, so the agent's
        messages stay queued in the outbox when the cut comes.

        *after_wall*: the cut comes *on_for* seconds after the wall showed the
        board (so every round measures the wall); otherwise *on_for* seconds
        after switching on, which may be before the wall is up (not measured then).
        """
        expected = self.expected
        if network_down:
            self.broker.stop()
        self.start()
        if after_wall:
            shown = self.restart_shows_board(expected)
            time.sleep(self.rng.uniform(*on_for))
        else:
            cut_at = self.started_at + self.rng.uniform(*on_for)
            shown = self.restart_shows_board(expected, until=cut_at)
            time.sleep(max(0.0, cut_at - time.time()))
        report = self.check(self.cut())
        report.shown_after = shown
        report.network_down = network_down
        if network_down:
            self.broker.start()
        if report.board is not None:
            self.expected = report.board
        return report

    # -- processes ---------------------------------------------------------------------
    def _env(self) -> dict:
        env = dict(os.environ, KIVY_TEXT="pil", KIVY_NO_ARGS="1", PISHKHAN_LOG_LEVEL="INFO")
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.pop("PISHKHAN_STATE_DIR", None)
        env["KIVY_HOME"] = str(self.root / "home" / ".kivy")  # Kivy's config and log files, in the office's folder
        if self.as_device:  # the environment the units give (systemd/pishkhan-*.service): Kivy's own log files
            for name in ("KIVY_LOG_MODE", "KIVY_NO_CONSOLELOG", "KIVY_NO_FILELOG"):
                env.pop(name, None)
        return env

    def events_path(self, round_: int | None = None) -> Path:
        return self.logs / f"display-events-{self.round if round_ is None else round_}.jsonl"

    def commands(self, parts=("display", "kiosk", "panel", "agent", "driver")) -> dict[str, list[str]]:
        cli = [sys.executable, "-m", "cli.main"]
        conf = ["--config", str(self.config_path)]
        every = {
            "display": cli + ["display", *conf, "--size", self.display_size, "--events", str(self.events_path())],
            "kiosk": cli + ["kiosk", *conf, "--size", "800x480"],
            "panel": cli + ["panel", *conf, "--pin-factory", "mock"],
            "agent": cli + ["agent", *conf],
            "driver": [sys.executable, str(DRIVER), str(self.config_path), str(self.key_path),
                       str(self.seed * 1000 + self.round), str(self.rate), str(self.board_share),
                       str(self.call_share)],
        }
        return {name: every[name] for name in parts}

    def start(self, parts=("display", "kiosk", "panel", "agent", "driver")):
        """Switch the office on: every process in one new process group."""
        self.round += 1
        env = self._env()
        self._strip = subprocess.Popen(["sleep", "100000"], process_group=0)  # the group's leader: the wall socket
        group = self._strip.pid
        self.started_at = time.time()
        self._lines = []
        for name, argv in self.commands(parts).items():
            driver = name == "driver"  # its stdout says what returned; everyone's log goes to a file
            with open(self.logs / f"{name}-{self.round}.log", "ab") as log:
                self.procs[name] = subprocess.Popen(
                    argv, cwd=ROOT, env=env, stdout=subprocess.PIPE if driver else log,
                    stderr=log if driver else subprocess.STDOUT, process_group=group)
        if "driver" in self.procs:
            self._reader = threading.Thread(target=self._read_driver, args=(self.procs["driver"].stdout,), daemon=True)
            self._reader.start()

    def _read_driver(self, stream):
        for raw in stream:
            if raw.endswith(b"\n"):  # a torn last line was never fully said
                self._lines.append(raw.decode().strip())

    def cut(self) -> float:
        """The power cut: SIGKILL to the whole group at once. Returns how long the office was on.

        A process that had already exited by itself is remembered in :attr:`exited`.
        """
        alive = time.time() - self.started_at
        self.exited = {name: proc.returncode for name, proc in self.procs.items() if proc.poll() is not None}
        os.killpg(self._strip.pid, signal.SIGKILL)
        for proc in [self._strip, *self.procs.values()]:
            proc.wait(30)
        if self._reader is not None:
            self._reader.join(10)
            self.procs["driver"].stdout.close()
        self.procs.clear()
        self._reader = None
        return alive

    def stop(self, name: str, timeout: float = 30):
        """A clean stop (SIGTERM) of one process."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout)

    def close(self):
        if self._strip is not None and self._strip.poll() is None:
            self.cut()
        self.capture.stop()

    # -- what survived ---------------------------------------------------------------------
    def driver_said(self) -> list[str]:
        return list(self._lines)

    def check(self, alive: float) -> CutReport:
        """Read what the cut left (before anything restarts) and record it."""
        from pishkhan.boards.installed import effective_for_config
        from pishkhan.exc import StoreError
        from pishkhan.queue.numbering import HighWaterMark, mark_path
        from pishkhan.store.database import Store

        report = CutReport(self.round, round(alive, 2), exited=dict(self.exited))
        for line in self._lines:
            kind, *rest = line.split()
            if kind == "T":
                self.issued[int(rest[0])] = (rest[1], rest[2], int(rest[3]))
            elif kind == "B":
                self.boards.append((int(rest[0]), rest[1]))
            elif kind == "E":
                report.driver_errors.append(" ".join(rest))
        report.tickets_acked = len(self.issued)
        report.store_integrity = _integrity(self.config.store_path)
        report.outbox_integrity = _integrity(self.state / "outbox.db")
        try:
            with Store(self.config.store_path) as st:
                rows = st.query("SELECT id, day, lane, number FROM tickets WHERE origin_id IS NULL")
                boards = {(int(r["version"]), r["verification_code"])
                          for r in st.query("SELECT version, verification_code FROM boards")}
                board = effective_for_config(st, self.config)
                report.board = (board.version_label, board.verification_code) if board else None
        except StoreError as e:
            report.guard = f"{type(e).__name__}: {e}"
            self.rounds.append(report)
            return report
        stored = {r["id"]: (r["day"], r["lane"], r["number"]) for r in rows}
        report.tickets_stored = len(stored)
        report.lost = sorted(tid for tid, value in self.issued.items() if stored.get(tid) != value)
        keys = list(stored.values())
        report.duplicated = sorted({k for k in keys if keys.count(k) > 1}) if len(keys) != len(set(keys)) else []
        # The mark is written after the commit and before the ticket is returned: a cut in between
        # leaves the store one above the mark, for a ticket never returned (nor printed); the next
        # number is the larger of the two. Below an *issued* ticket's number it must never be.
        mark = HighWaterMark(mark_path(self.config.store_path))
        issued = list(self.issued.values())
        for day, lane in {(d, l) for d, l, _ in issued}:
            top = max(n for d, l, n in issued if (d, l) == (day, lane))
            if (mark.last(day, lane) or 0) < top:
                report.mark_below.append((day, lane, top, mark.last(day, lane)))
        report.boards_lost = [b for b in self.boards if b not in boards]
        self._read_wall_files(report)
        self._read_outbox(report)
        self.rounds.append(report)
        return report

    def _read_wall_files(self, report: CutReport):
        """Every snapshot the store records matches its file; every set marked complete has its pages."""
        import hashlib

        conn = sqlite3.connect(f"file:{self.config.store_path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT path, sha256 FROM display_snapshots").fetchall()
        finally:
            conn.close()
        for path, digest in rows:
            try:
                ok = hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest
            except OSError:
                ok = False
            if not ok:
                report.snapshots_bad.append(Path(path).name)
        for meta in (self.state / "pages").glob("*/meta.json"):
            try:
                count = json.loads(meta.read_text())["count"]
            except (OSError, ValueError, KeyError) as e:
                report.pages_bad.append(f"{meta.parent.name}: meta.json {e}")
                continue
            pages = [meta.parent / f"{i:04d}.png" for i in range(count)]
            missing = [p.name for p in pages if not p.exists() or p.stat().st_size == 0]
            if missing:
                report.pages_bad.append(f"{meta.parent.name}: pages {missing}")

    def _read_outbox(self, report: CutReport):
        path = self.state / "outbox.db"
        if not path.exists():
            return
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            next_seq = conn.execute("SELECT next_seq FROM state").fetchone()[0]
            rows = conn.execute("SELECT seq, payload FROM messages").fetchall()
        finally:
            conn.close()
        report.outbox_depth = len(rows)
        for seq, payload in rows:
            self.queued.setdefault(seq, bytes(payload))
        # a number already handed out (received or queued) must never be handed out again
        seen = set(self.queued) | set(self.received_seqs())
        report.seq_reused = sorted(s for s in seen if s >= next_seq)
        self.next_seq = next_seq

    def received(self) -> dict[int, set[bytes]]:
        """seq -> the distinct payloads the centre received under it (this device's streams)."""
        out: dict[int, set[bytes]] = {}
        prefix = f"{self.broker.root}/dev/{DEVICE}/"
        with self.capture._cond:
            messages = list(self.capture.messages)
        for topic, payload, _retain, _t in messages:
            if not topic.startswith(prefix) or not payload:
                continue
            try:
                seq = json.loads(payload).get("seq")
            except ValueError:
                continue
            if isinstance(seq, int):
                out.setdefault(seq, set()).add(payload)
        return out

    def received_seqs(self) -> set[int]:
        return set(self.received())

    # -- the wall after a restart ------------------------------------------------------------
    def restart_shows_board(self, expected: tuple | None, *, timeout: float = 30.0, until: float | None = None):
        """Seconds from this round's start until the wall showed *expected* (version label, code), verified,
        or a newer board the driver installed since (the wall rightly goes straight to that one).

        Reads the display's own report of what reached the screen (a ``pages``
        event for the set, then a ``page`` event of it shown). None when it did
        not within *timeout* (or before *until*, a ``time.time()``).
        """
        deadline = self.started_at + timeout
        if until is not None:
            deadline = min(deadline, until)
        while True:
            shown = self._shown(expected)
            if shown is not None:
                return round(shown - self.started_at, 2)
            if time.time() >= deadline:
                return None
            time.sleep(0.05)

    def _shown(self, expected) -> float | None:
        path = self.events_path()
        if not path.exists():
            return None
        verified_keys = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "pages" and event.get("verified") and _not_older(event.get("version"), expected):
                verified_keys.add(event.get("key"))
            if event.get("event") == "page" and event.get("key") in verified_keys:
                return float(event["shown_at"])
        return None

    def last_snapshot(self) -> dict | None:
        """The newest proof-of-display snapshot row the wall recorded of a board (one taken before the board
        was up after a cut, of the waiting screen, names none: a loaded machine makes that the last one)."""
        conn = sqlite3.connect(f"file:{self.config.store_path}?mode=ro", uri=True)
        try:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM display_snapshots WHERE board_version IS NOT NULL "
                               "ORDER BY id DESC LIMIT 1").fetchone()
            return dict(row) if row else None
        finally:
            conn.close()

    # -- the end: drain, and what the centre got -----------------------------------------------
    def finish(self, timeout: float = 60.0) -> dict:
        """Start the agent alone, let it drain the outbox, stop it cleanly; compare with the centre."""
        self.start(parts=("agent",))
        deadline = time.monotonic() + timeout
        depth = None
        while time.monotonic() < deadline:
            depth = _outbox_depth(self.state / "outbox.db")
            if depth == 0 and set(self.queued) <= self.received_seqs():
                break
            time.sleep(0.2)
        self.stop("agent")
        self.cut()  # the group leader
        time.sleep(0.5)  # the last acknowledged messages reach the capture
        received = self.received()
        missing = sorted(s for s in self.queued if s not in received)
        changed = sorted(s for s, payloads in received.items() if len(payloads) > 1)
        differs = sorted(s for s in self.queued if s in received and self.queued[s] not in received[s])
        twice = _keyed_twice(received)
        return {"queued": len(self.queued), "received": len(received), "depth_left": depth,
                "missing": missing, "seq_with_two_payloads": changed, "payload_differs": differs,
                "sent_under_two_seqs": twice, "deliveries": sum(1 for _ in self.capture.messages)}


def _not_older(version, expected) -> bool:
    """Whether the board *version* shown is the *expected* one (version label, code) or a newer one."""
    if expected is None or version is None:
        return False
    if str(version) == expected[0]:
        return True
    try:
        return int(version) > int(expected[0])
    except ValueError:
        return False


def _integrity(path: Path) -> str:
    if not Path(path).exists():
        return "missing"
    conn = sqlite3.connect(str(path))
    try:
        return "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check").fetchall())
    except sqlite3.Error as e:
        return f"{type(e).__name__}: {e}"
    finally:
        conn.close()


def _outbox_depth(path: Path) -> int | None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT count FROM state").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def _keyed_twice(received: dict[int, set[bytes]]) -> list:
    """Events (by id) and reports (by day) that arrived under more than one seq."""
    seen: dict[tuple, set[int]] = {}
    for seq, payloads in received.items():
        for payload in payloads:
            msg = json.loads(payload)
            schema = str(msg.get("schema", ""))
            key = None
            if schema.startswith("event/") and isinstance(msg.get("detail"), dict) and msg["detail"].get("id"):
                key = ("event", msg["detail"]["id"])
            elif schema.startswith("report/") and "date" in msg and "report" in msg:
                key = ("report", msg["date"])
            if key:
                seen.setdefault(key, set()).add(seq)
    return sorted((k, sorted(v)) for k, v in seen.items() if len(v) > 1)
