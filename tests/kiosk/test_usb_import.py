"""USB import takes only regular files that live on the stick, within bounds, and never hangs or raises.

Real FIFOs, sockets, dangling links, links to /dev/zero and out of the mount,
folders named *.json, sparse huge files, unreadable files (read by an
unprivileged child when the suite runs as root), deep and wide trees; then a
hypothesis test over random trees of all of these.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import shutil
import socket
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import usb_import
from kiosk.staff import ImportRefused, StaffActions
from pishkhan.boards.installed import current_board
from pishkhan.config import parse_config
from pishkhan.exc import BoardFileError, BoardInvalid

#: The promise: a scan answers within its time limit plus the worker's grace.
BOUND = usb_import.SCAN_SECONDS + usb_import.GRACE + 1.0


@pytest.fixture
def v2(issuer_key, sample_doc):
    doc = copy.deepcopy(sample_doc)
    doc["version"] = 2
    return json.dumps(issuer_key.sign(doc), ensure_ascii=False).encode()


@pytest.fixture
def stick(tmp_path):
    root = tmp_path / "usb"
    root.mkdir()
    return root


@pytest.fixture
def outside(tmp_path, v2):
    """A folder beside the stick holding a perfectly good board: never to be read through a link."""
    out = tmp_path / "outside"
    out.mkdir()
    (out / "board.json").write_bytes(v2)
    return out


def usb_config(config, mount):
    return parse_config({"device": {"state_dir": config.get("device.state_dir")}, "hours": {"always_open": True},
                         "kiosk": {"usb_mount": str(mount)}})


def hostile_stick(stick: Path, outside: Path, v2: bytes) -> dict[str, str]:
    """Every kind of entry a stick can hold, named *.json; returns name -> kind."""
    (stick / "good.json").write_bytes(v2)
    os.mkfifo(stick / "fifo.json")
    os.symlink(stick / "gone.json", stick / "dangling.json")
    os.symlink("/dev/zero", stick / "zero.json")
    os.symlink(outside / "board.json", stick / "outside.json")
    os.symlink(outside, stick / "outdir")  # a folder link: its board.json must not be found
    os.symlink("loop.json", stick / "loop.json")
    (stick / "folder.json").mkdir()
    (stick / "folder.json" / "inner.json").write_bytes(v2)
    with open(stick / "huge.json", "wb") as f:
        f.truncate(usb_import.MAX_BYTES + 1)  # sparse: large by size, nothing on disk
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(stick / "sock.json"))
    sock.close()
    (stick / ".hidden.json").write_bytes(v2)
    (stick / "\u202eevil.json").write_bytes(v2)  # a right-to-left override in the name
    (stick / "notes.txt").write_text("not a board")
    return {"fifo.json": "FIFO", "dangling.json": "link", "zero.json": "link", "outside.json": "link",
            "loop.json": "link", "folder.json": "folder", "sock.json": "socket"}


def test_scan_lists_only_regular_json_files_on_the_stick(stick, outside, v2):
    hostile_stick(stick, outside, v2)
    started = time.monotonic()
    found = usb_import.scan(stick)
    assert time.monotonic() - started < BOUND
    assert found.problem is None and not found.truncated
    assert sorted(p.relative_to(stick).as_posix() for p in found.files) == ["folder.json/inner.json", "good.json",
                                                                            "huge.json"]
    # fifo, dangling, zero, outside, loop, sock and the RLO name; the folder link is not followed at all
    assert found.skipped == 7
    assert not any("outdir" in str(p) for p in found.files)


@pytest.mark.parametrize("name, words", [
    ("fifo.json", "is a FIFO (named pipe), not a regular file"),
    ("dangling.json", "is a link"),
    ("zero.json", "is a link"),
    ("outside.json", "is a link"),
    ("loop.json", "is a link"),
    ("folder.json", "is a folder, not a regular file"),
    ("sock.json", "not a regular file"),
    ("huge.json", "is larger than 5 MB"),
    ("outdir/board.json", "a folder on its path is a link"),
    ("missing.json", "is no longer on the stick"),
])
def test_reading_anything_but_a_regular_file_on_the_stick_is_refused(stick, outside, v2, name, words):
    hostile_stick(stick, outside, v2)
    started = time.monotonic()
    with pytest.raises(BoardFileError) as e:
        usb_import.read_board_file(stick, stick / name)
    assert words in str(e.value)
    assert time.monotonic() - started < BOUND  # the FIFO and /dev/zero did not block or fill memory


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside/board.json", "{stick}/../outside/board.json", "{stick}"])
def test_paths_off_the_stick_are_refused_before_any_open(stick, outside, v2, path):
    hostile_stick(stick, outside, v2)
    with pytest.raises(BoardFileError, match="is not a file on the USB stick"):
        usb_import.read_board_file(stick, path.format(stick=stick))


def test_a_file_swapped_for_a_fifo_after_the_scan_is_refused(stick, v2):
    (stick / "board.json").write_bytes(v2)
    [listed] = usb_import.scan(stick).files
    listed.unlink()
    os.mkfifo(listed)  # opened O_NONBLOCK, checked with fstat: refused, no waiting for a writer
    with pytest.raises(BoardFileError, match="FIFO"):
        usb_import.read_board_file(stick, listed)
    listed.unlink()
    os.symlink("/dev/zero", listed)
    with pytest.raises(BoardFileError, match="is a link"):
        usb_import.read_board_file(stick, listed)


def test_a_file_over_the_byte_limit_is_refused_and_one_under_it_read(stick):
    (stick / "b.json").write_bytes(b"x" * 1001)
    with pytest.raises(BoardFileError, match="larger than"):
        usb_import.read_board_file(stick, stick / "b.json", max_bytes=1000)
    assert usb_import.read_board_file(stick, stick / "b.json", max_bytes=1001) == b"x" * 1001


def _unprivileged(fn):
    """*fn()*'s outcome as ``(kind, text)``, run as user nobody when the suite runs as root."""
    if os.geteuid() != 0:
        try:
            return "value", repr(fn())
        except Exception as e:
            return type(e).__name__, str(e)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, run, report, exit without cleanup
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            try:
                out = ("value", repr(fn()))
            except Exception as e:
                out = (type(e).__name__, str(e))
            os.write(write, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    return tuple(json.loads(data))


@pytest.fixture
def open_stick(v2):
    """A stick in a folder everyone may enter (pytest's tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="usb-"))
    os.chmod(root, 0o755)
    (root / "good.json").write_bytes(v2)
    (root / "secret.json").write_bytes(v2)
    os.chmod(root / "good.json", 0o644)
    os.chmod(root / "secret.json", 0o000)
    (root / "locked").mkdir(mode=0o000)
    yield root
    os.chmod(root / "locked", 0o755)
    shutil.rmtree(root)


def test_an_unreadable_file_and_folder_give_clear_errors(open_stick):
    kind, text = _unprivileged(lambda: usb_import.read_board_file(open_stick, open_stick / "secret.json"))
    assert (kind, text) == ("BoardFileError", "secret.json cannot be read: permission denied")
    kind, text = _unprivileged(lambda: sorted(p.name for p in usb_import.scan(open_stick).files))
    assert kind == "value" and text == repr(["good.json", "secret.json"])  # listed; refused when read
    kind, text = _unprivileged(lambda: usb_import.read_board_file(open_stick, open_stick / "locked" / "x.json"))
    assert kind == "BoardFileError" and "permission denied" in text
    os.chmod(open_stick, 0o000)
    try:
        kind, text = _unprivileged(lambda: usb_import.scan(open_stick).problem)
    finally:
        os.chmod(open_stick, 0o755)
    assert (kind, text) == ("value", repr("unreadable"))


def test_a_missing_or_odd_mount_is_a_problem_not_an_error(tmp_path):
    assert usb_import.scan(tmp_path / "nothing").problem == "missing"
    (tmp_path / "file").write_text("x")
    assert usb_import.scan(tmp_path / "file").problem == "missing"
    assert usb_import.scan("").problem == "missing"
    assert usb_import.scan(None).problem == "missing"


def test_depth_and_count_are_bounded(stick, v2):
    deep = stick
    for level in range(1, 8):
        deep = deep / f"d{level}"
        deep.mkdir()
        (deep / f"at{level}.json").write_bytes(v2)
    names = {p.name for p in usb_import.scan(stick).files}
    assert names == {"at1.json", "at2.json", "at3.json"}  # MAX_DEPTH folders down, no further
    with pytest.raises(BoardFileError, match="more than 3 folders deep"):
        usb_import.read_board_file(stick, stick / "d1/d2/d3/d4/at4.json")

    wide = stick / "wide"
    wide.mkdir()
    for i in range(usb_import.MAX_FILES + 20):
        path = wide / f"b{i:03}.json"
        path.write_bytes(b"{}")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    found = usb_import.scan(stick)
    assert len(found.files) == usb_import.MAX_FILES and not found.truncated
    mtimes = [p.lstat().st_mtime for p in found.files]
    assert mtimes == sorted(mtimes, reverse=True)  # newest first

    limited = usb_import.scan(stick, max_entries=30)
    assert limited.truncated and len(limited.files) <= 30


def test_a_scan_out_of_time_stops_and_says_so(stick):
    for i in range(50):
        (stick / f"f{i}.json").write_bytes(b"{}")
    found = usb_import.scan(stick, seconds=0.0)
    assert found.truncated and found.problem is None and found.files == ()


def test_a_worker_that_blocks_in_the_kernel_is_abandoned_at_the_time_limit(tmp_path):
    fifo = tmp_path / "block"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(usb_import._TimedOut):
        usb_import._in_worker(lambda: open(fifo, "rb").read(), 0.3, "test")  # blocks: no writer
    assert time.monotonic() - started < 2.0
    with open(fifo, "wb"):  # release the abandoned worker
        pass


def test_names_that_cannot_be_shown_are_left_out(stick, v2):
    os.close(os.open(os.fsencode(stick) + b"/\xff\xfe.json", os.O_CREAT | os.O_WRONLY, 0o644))
    (stick / "bad\x1bname.json").write_bytes(v2)
    (stick / "تابلو\u200cها.json").write_bytes(v2)  # ZWNJ: Persian needs it
    found = usb_import.scan(stick)
    assert [p.name for p in found.files] == ["تابلو\u200cها.json"] and found.skipped == 2


def test_staff_import_refuses_each_hostile_entry_and_keeps_the_board(board_store, config, stick, outside, v2):
    kinds = hostile_stick(stick, outside, v2)
    from kiosk.model import KioskModel

    staff = StaffActions(KioskModel(board_store, config=usb_config(config, stick)))
    before = current_board(board_store, "national").verification_code
    for name in [*kinds, "huge.json", "outdir/board.json"]:
        with pytest.raises(ImportRefused) as e:
            staff.import_board(stick / name)
        assert e.value.kind == "file", name
        assert current_board(board_store, "national").verification_code == before
    entries = board_store.audit_entries(action="staff.board_import", limit=50)
    assert len(entries) == len(kinds) + 2 and not any(e["detail"]["ok"] for e in entries)
    assert staff.import_board(stick / "good.json").board.version == 2


def test_boards_that_break_the_json_reader_are_refused_as_invalid(board_store, config, stick):
    (stick / "deep.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    (stick / "digits.json").write_bytes(b'{"version": ' + b"9" * 5000 + b"}")
    (stick / "latin1.json").write_bytes('{"title": "caf\xe9"}'.encode("latin-1"))
    cfg = usb_config(config, stick)
    for name in ("deep.json", "digits.json", "latin1.json"):
        with pytest.raises(BoardInvalid):
            usb_import.import_board(board_store, stick / name, config=cfg)


def test_an_unforeseen_failure_still_gives_the_staff_screen_an_answer(config, stick, v2, tmp_path):
    from kiosk.model import KioskModel
    from pishkhan.store.database import Store

    (stick / "good.json").write_bytes(v2)
    store = Store(tmp_path / "closed.db")
    staff = StaffActions(KioskModel(store, config=usb_config(config, stick)))
    store.close()  # installing now fails inside sqlite3, which is neither a BoardError nor an OSError
    with pytest.raises(ImportRefused) as e:
        staff.import_board(stick / "good.json")
    assert e.value.kind == "error" and str(e.value)


# -- random trees ---------------------------------------------------------------------------------

KINDS = ("board", "garbage", "huge", "fifo", "socket", "dangling", "dev_zero", "outside_file", "outside_dir",
         "self_loop", "dir", "dir_json", "unreadable")
NAMES = st.sampled_from(["a.json", "B.JSON", "b.json", "c.txt", ".h.json", "تابلو.json", "x", "d", "e.json"])
ENTRY = st.tuples(st.lists(st.sampled_from(["d", "e", "f.json", "تا"]), max_size=5), NAMES, st.sampled_from(KINDS))


def _build(root: Path, outside: Path, entries, v2: bytes) -> list[Path]:
    made = []
    for folders, name, kind in entries:
        parent = root.joinpath(*folders)
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            continue  # a file already holds that name
        except OSError as e:
            if e.errno != errno.ELOOP:
                raise
            continue  # a self-loop link already holds that name
        path = parent / name
        if os.path.lexists(path):
            continue
        if kind == "board":
            path.write_bytes(v2)
        elif kind == "garbage":
            path.write_bytes(os.urandom(64))
        elif kind == "huge":
            with open(path, "wb") as f:
                f.truncate(usb_import.MAX_BYTES + 10)
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "socket":
            if len(os.fsencode(path)) > 100:
                continue
            s = socket.socket(socket.AF_UNIX)
            s.bind(str(path))
            s.close()
        elif kind == "dangling":
            os.symlink(root / "no-such-thing", path)
        elif kind == "dev_zero":
            os.symlink("/dev/zero", path)
        elif kind == "outside_file":
            os.symlink(outside / "board.json", path)
        elif kind == "outside_dir":
            os.symlink(outside, path)
        elif kind == "self_loop":
            os.symlink(name, path)
        elif kind in ("dir", "dir_json"):
            path.mkdir()
            if kind == "dir_json":
                (path / "inside.json").write_bytes(v2)
        elif kind == "unreadable":
            path.write_bytes(v2)
            os.chmod(path, 0)
        made.append(path)
    return made


def _only_on_the_stick(root: Path, path: Path) -> bool:
    """A regular file under *root* reached through no link at all."""
    rel = path.relative_to(root)
    walk = root
    for part in rel.parts[:-1]:
        walk = walk / part
        if not stat.S_ISDIR(os.lstat(walk).st_mode):
            return False
    return stat.S_ISREG(os.lstat(path).st_mode) and len(rel.parts) <= usb_import.MAX_DEPTH + 1


BOARD = b'{"format": "pishkhan.signed/1", "payload": {}}'


@settings(max_examples=60, deadline=None)
@given(entries=st.lists(ENTRY, max_size=25), max_entries=st.integers(1, 60), max_files=st.integers(1, 10))
def test_any_tree_scans_within_bounds_and_every_read_is_safe(entries, max_entries, max_files):
    v2 = BOARD
    with tempfile.TemporaryDirectory() as tmp:
        root, outside = Path(tmp) / "stick", Path(tmp) / "outside"
        root.mkdir()
        outside.mkdir()
        (outside / "board.json").write_bytes(v2)
        made = _build(root, outside, entries, v2)
        started = time.monotonic()
        found = usb_import.scan(root, max_entries=max_entries, max_files=max_files)
        assert time.monotonic() - started < BOUND
        assert found.problem is None
        assert len(found.files) <= max_files
        assert all(_only_on_the_stick(root, p) and p.name.lower().endswith(".json") for p in found.files)
        assert not any(p.name.startswith(".") for p in found.files)
        total = sum(1 for _ in _every_entry(root))
        if total <= max_entries:
            assert not found.truncated
        for path in made + list(found.files):
            started = time.monotonic()
            try:
                data = usb_import.read_board_file(root, path)
            except BoardFileError as e:
                assert str(e)
            else:
                assert _only_on_the_stick(root, path) and len(data) <= usb_import.MAX_BYTES
            assert time.monotonic() - started < usb_import.READ_SECONDS + usb_import.GRACE + 1.0
        assert threading.active_count() < 20  # no worker left hanging


def _every_entry(root: Path):
    """Every entry the scan may look at: within MAX_DEPTH folders, not through links."""
    pending = [(root, 0)]
    while pending:
        folder, depth = pending.pop()
        for entry in os.scandir(folder):
            yield entry
            if entry.is_dir(follow_symlinks=False) and depth < usb_import.MAX_DEPTH \
                    and not entry.name.startswith(".") and usb_import.usable_name(entry.name):
                pending.append((Path(entry.path), depth + 1))
