"""The store is never silently lost or doubled.

- a file that is not a sound Pishkhan store is refused at open, named, and left byte for byte;
  only a missing file is made fresh;
- a stored board is verified again when loaded: a fee changed in the file is not shown;
- a lock held by another process, a read-only store and a full disk each give an error in
  words, lose nothing, print nothing, and the next issue works once the cause is gone.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from queue_helpers import LANE_A
from small_disk import fill, small_disk

from pishkhan.boards.installed import (current_board, effective_for_config, history, install_board,
                                       verified_path)
from pishkhan.boards.trust import distrust_key, trust_key
from pishkhan.config import parse_config
from pishkhan.exc import StoreCorrupt, StoreError, StoreLocked, StoreReadOnly
from pishkhan.hardware.printer import FakePrinter
from pishkhan.queue.core import Queue
from pishkhan.queue.issuing import issue_and_print
from pishkhan.store.database import APPLICATION_ID, Store, utc_now


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _store_bytes(folder: Path, *, rows: int = 150) -> bytes:
    """The bytes of a real store holding some settings and audit rows, WAL folded in."""
    path = folder / "model.db"
    with Store(path) as s:
        for i in range(rows):
            s.set_setting(f"key{i}", "مقدار" * 20)
            s.audit("test", "fill", str(i))
    data = path.read_bytes()
    for leftover in folder.glob("model*"):
        leftover.unlink()
    return data


def _refused_untouched(path: Path, match: str):
    before = _files(path.parent)
    with pytest.raises(StoreCorrupt) as info:
        Store(path)
    message = str(info.value)
    assert str(path) in message and "not a usable Pishkhan store" in message
    assert match in message, message
    assert "never overwrite it" in message and "restore a backup" in message  # how to recover
    assert _files(path.parent) == before  # not one byte changed, nothing made beside it
    return message


# -- refused at open ------------------------------------------------------------------
def test_a_zero_byte_file_is_refused_not_replaced_by_an_empty_store(tmp_path):
    path = tmp_path / "pishkhan.db"
    path.write_bytes(b"")
    _refused_untouched(path, "empty (0 bytes)")
    assert path.stat().st_size == 0


@pytest.mark.parametrize("variant", ["random", "text", "short", "nul"])
def test_bytes_that_are_not_sqlite_are_refused(tmp_path, variant):
    path = tmp_path / "pishkhan.db"
    data = {"random": random.Random(7).randbytes(8192),
            "text": "این یک پایگاه داده نیست\n".encode() * 300,
            "short": b"SQLite format 3\x00", "nul": b"\x00" * 4096}[variant]
    path.write_bytes(data)
    _refused_untouched(path, "" if variant == "short" else "not a database")


@pytest.mark.parametrize("keep", ["header", "first_page", "half", "all_but_last_page"])
def test_a_truncated_store_is_refused(tmp_path, keep):
    data = _store_bytes(tmp_path)
    page = 4096
    cut = {"header": 100, "first_page": page, "half": (len(data) // page // 2) * page,
           "all_but_last_page": len(data) - page}[keep]
    path = tmp_path / "pishkhan.db"
    path.write_bytes(data[:cut])
    _refused_untouched(path, "" if keep == "header" else "malformed")


def test_a_flipped_byte_in_any_page_header_is_refused(tmp_path):
    data = _store_bytes(tmp_path)
    page = 4096
    pages = len(data) // page
    assert pages > 10
    for number in range(2, pages + 1):
        damaged = bytearray(data)
        damaged[(number - 1) * page] ^= 0xFF  # the b-tree page's type byte
        path = tmp_path / f"flip{number}.db"
        path.write_bytes(bytes(damaged))
        _refused_untouched(path, "")


def test_a_store_whose_pages_were_overwritten_is_refused(tmp_path):
    from store_faults import damage

    path = tmp_path / "pishkhan.db"
    path.write_bytes(_store_bytes(tmp_path))
    damage(path)  # every page after the first, as a dying card returns them
    for leftover in tmp_path.glob("pishkhan.db-*"):
        leftover.unlink()
    _refused_untouched(path, "")


@pytest.mark.parametrize("kind", ["no_tables", "other_tables", "other_application_id"])
def test_a_valid_sqlite_file_of_another_program_is_refused(tmp_path, kind):
    path = tmp_path / "pishkhan.db"
    conn = sqlite3.connect(path)
    if kind != "no_tables":
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, caption TEXT)")
        conn.execute("INSERT INTO photos(caption) VALUES ('tehran')")
    if kind == "other_application_id":
        conn.execute("PRAGMA application_id = 1234")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    expected = "another program" if kind == "other_application_id" else "without Pishkhan's tables"
    message = _refused_untouched(path, expected)
    if kind == "other_tables":
        assert "photos" in message


def test_a_missing_store_whose_journal_is_left_is_refused(tmp_path):
    path = tmp_path / "pishkhan.db"
    (tmp_path / "pishkhan.db-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 60)
    with pytest.raises(StoreCorrupt, match="is missing but its journal"):
        Store(path)
    assert not path.exists()


def test_a_refusal_reaches_the_command_line_in_words(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "pishkhan.db").write_bytes(b"")
    (tmp_path / "config.toml").write_text(f'[device]\nstate_dir = "{state}"\n', encoding="utf-8")
    env = dict(os.environ, PISHKHAN_CONFIG=str(tmp_path / "config.toml"))
    out = subprocess.run([str(Path(sys.executable).with_name("pishkhan")), "--config", str(tmp_path / "config.toml"),
                          "keys", "list"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode != 0
    assert "empty (0 bytes)" in out.stderr + out.stdout and "Traceback" not in out.stderr
    assert (state / "pishkhan.db").read_bytes() == b""


# -- what is accepted -------------------------------------------------------------------
def test_only_a_missing_file_is_made_fresh_and_it_is_marked_as_pishkhan(tmp_path):
    path = tmp_path / "new" / "pishkhan.db"
    with Store(path) as s:
        assert s.query_one("PRAGMA application_id")[0] == APPLICATION_ID
        s.set_setting("kept", 1)
    assert sorted(p.name for p in path.parent.iterdir()) == ["pishkhan.db"]  # no temporary left
    with Store(path) as s:
        assert s.get_setting("kept") == 1


def test_a_store_made_before_the_application_id_is_accepted_and_marked(tmp_path):
    from pishkhan.store.database import migrations

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(migrations()[0][2])
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO settings(key, value) VALUES ('kept', '1')")
    conn.commit()
    conn.close()
    with Store(path) as s:
        assert s.get_setting("kept") == 1
        assert s.query_one("PRAGMA application_id")[0] == APPLICATION_ID


def _open_at_once(path, start, out):
    start.wait(30)
    try:
        with Store(path) as s:
            s.audit("child", "opened")
        out.put("ok")
    except Exception as e:  # noqa: BLE001 (reported to the parent)
        out.put(f"{type(e).__name__}: {e}")


def test_processes_making_a_missing_store_at_once_all_open_the_same_one(tmp_path):
    path = tmp_path / "pishkhan.db"
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_open_at_once, args=(str(path), start, out)) for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    assert results == ["ok"] * 4
    with Store(path) as s:
        assert len(s.audit_entries(action="opened")) == 4


# -- any bytes: a store or a StoreError, and refused means untouched ------------------------
_MODEL: dict[str, bytes] = {}


def _model() -> bytes:
    if "data" not in _MODEL:
        with tempfile.TemporaryDirectory() as d:
            _MODEL["data"] = _store_bytes(Path(d), rows=30)
    return _MODEL["data"]


@st.composite
def _mutated_store(draw):
    data = bytearray(_model())
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=9000), _mutated_store(),
                      st.binary(max_size=4000).map(lambda b: b"SQLite format 3\x00" + b)))
def test_any_bytes_open_as_a_store_or_raise_a_store_error_and_stay_untouched(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "pishkhan.db"
        path.write_bytes(data)
        try:
            with Store(path, timeout=1) as s:
                s.schema_version()
        except StoreError:
            assert path.read_bytes() == data
            assert sorted(p.name for p in Path(d).iterdir()) == ["pishkhan.db"]


# -- a stored board is checked again when loaded ------------------------------------------------
def _tamper(path, row_id, change):
    conn = sqlite3.connect(path)
    envelope = json.loads(conn.execute("SELECT envelope FROM boards WHERE id = ?", (row_id,)).fetchone()[0])
    change(envelope)
    conn.execute("UPDATE boards SET envelope = ? WHERE id = ?", (json.dumps(envelope, ensure_ascii=False), row_id))
    conn.commit()
    conn.close()


def _first_fee(envelope):
    service = envelope["payload"]["categories"][0]["services"][0]
    key = next(k for k in ("government_fee", "fee", "service_fee") if k in service)
    return service, key


def test_a_fee_changed_in_the_file_is_not_shown_and_the_refusal_is_a_fact(store, issuer_key, sample_doc, config):
    trust_key(store, issuer_key.public, label="t", actor="test")
    first = install_board(store, issuer_key.sign(sample_doc), source="cli", actor="test")
    sample_doc["version"] += 1
    second = install_board(store, issuer_key.sign(sample_doc), source="cli", actor="test")
    assert current_board(store, "national").id == second.id  # loaded (and verified) before the change

    def raise_fee(envelope):
        service, key = _first_fee(envelope)
        service[key] = service[key] * 10 + 5

    _tamper(store.path, second.id, raise_fee)
    shown = current_board(store, "national")
    assert shown.id == first.id and shown.verification_code == first.verification_code  # the older, sound one
    assert [b.id for b in history(store)] == [first.id]
    [fact] = store.state_history(f"board:{second.id}")
    assert fact["state"] == "refused" and "signature does not match" in fact["reason"]
    assert fact["detail"] == {"scope": "national", "version": second.board.version}
    assert effective_for_config(store, config) is not None

    _tamper(store.path, first.id, raise_fee)  # both changed: no board at all, never a changed fee
    assert current_board(store, "national") is None
    assert effective_for_config(store, config) is None


def test_a_changed_verification_code_or_scope_column_is_refused_too(store, issuer_key, sample_doc):
    trust_key(store, issuer_key.public, label="t", actor="test")
    row = install_board(store, issuer_key.sign(sample_doc), source="cli", actor="test")
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE boards SET verification_code = 'AAAA-BBBB' WHERE id = ?", (row.id,))
    conn.commit()
    conn.close()
    assert current_board(store, "national") is None
    assert "does not match what was installed" in store.last_state(f"board:{row.id}")["reason"]


def test_a_board_whose_key_is_no_longer_trusted_is_not_shown(store, issuer_key, sample_doc):
    fp = trust_key(store, issuer_key.public, label="t", actor="test")
    install_board(store, issuer_key.sign(sample_doc), source="cli", actor="test")
    assert current_board(store, "national") is not None
    distrust_key(store, fp, actor="test")
    assert current_board(store, "national") is None
    trust_key(store, issuer_key.public, label="t", actor="test")
    assert current_board(store, "national") is not None  # trusted again: shown again


def test_a_sound_board_is_verified_once_not_on_every_read(store, issuer_key, sample_doc, monkeypatch):
    import pishkhan.boards.installed as installed

    trust_key(store, issuer_key.public, label="t", actor="test")
    row = install_board(store, issuer_key.sign(sample_doc), source="cli", actor="test")
    assert verified_path(store.path).exists()
    calls = []
    real = installed._recheck
    monkeypatch.setattr(installed, "_recheck", lambda s, r: calls.append(r["id"]) or real(s, r))
    installed._checked.clear()
    for _ in range(5):
        assert current_board(store, "national").id == row.id
    assert calls == []  # the install verified it, and said so beside the store
    verified_path(store.path).unlink()
    installed._checked.clear()
    for _ in range(5):
        current_board(store, "national")
    assert calls == [row.id]  # verified once, then remembered


def test_loading_a_sound_board_in_a_new_process_needs_no_cryptography(board_store):
    script = f"""
import sys
from pishkhan.boards.installed import current_board
from pishkhan.store.database import Store
with Store({str(board_store.path)!r}) as s:
    assert current_board(s, "national") is not None
print("loaded" if "cryptography" in sys.modules else "not loaded")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "not loaded"


# -- faults: a lock, a read-only store, a full disk ---------------------------------------------
def _ready_queue(st_, config):
    q = Queue(st_, config)
    q.open_counter(1, actor="test")
    return q


def _tickets(path) -> list[str]:
    with Store(path) as s:
        return [r[0] for r in s.query("SELECT label FROM tickets ORDER BY id")]


def test_a_lock_held_by_another_process_is_an_error_in_words_and_then_passes(qstore, config):
    q = _ready_queue(qstore, config)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys\n"
         f"c = sqlite3.connect({str(qstore.path)!r}, isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE')\nprint('held', flush=True)\nsys.stdin.read()\nc.execute('ROLLBACK')\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with Store(qstore.path, clock=qstore.clock, timeout=0.3) as s:
            printer = FakePrinter()
            queue = Queue(s, config)
            for _ in range(2):
                with pytest.raises(StoreLocked, match=f"{s.path} is locked by another program: waited 0.3 s"):
                    issue_and_print(queue, printer, LANE_A, config=config)
            assert printer.jobs == []  # nothing committed, nothing printed
            holder.stdin.close()
            assert holder.wait(30) == 0
            result = issue_and_print(queue, printer, LANE_A, config=config)
            assert result.ticket.label == "A001" and result.printed and len(printer.jobs) == 1
    finally:
        holder.kill()
        holder.wait(10)
    assert _tickets(qstore.path) == ["A001"]
    assert q.issue(LANE_A).label == "A002"


NOBODY = 65534


def _warm_up(state_dir):
    """Issue and print one ticket on a scratch copy of *state_dir*, still as root.

    Every module and package file the real attempt needs is then loaded in
    this process, so the child does not depend on where the checkout, the
    virtualenv or Python live (under root's 0700 home, nobody can read them).
    """
    scratch = Path(tempfile.mkdtemp(prefix="pishkhan-warm-"))
    try:
        copy = scratch / "state"
        shutil.copytree(state_dir, copy)
        cfg = parse_config({"device": {"state_dir": str(copy)}, "hours": {"always_open": True}})
        with Store(cfg.store_path, timeout=1) as s:
            issue_and_print(Queue(s, cfg), FakePrinter(), LANE_A, config=cfg)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _as_nobody(path, state_dir, out):
    """Child: load what the work needs, drop to nobody, issue one ticket, say what happened."""
    try:
        _warm_up(state_dir)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        cfg = parse_config({"device": {"state_dir": state_dir}, "hours": {"always_open": True}})
        with Store(path, timeout=1) as s:
            printer = FakePrinter()
            result = issue_and_print(Queue(s, cfg), printer, LANE_A, config=cfg)
            out.put(("ok", result.ticket.label, len(printer.jobs)))
    except StoreError as e:
        out.put((type(e).__name__, str(e), 0))
    except BaseException as e:  # noqa: BLE001 (anything else is the failure under test)
        out.put(("other", f"{type(e).__name__}: {e}", 0))


def _run_as_nobody(path, state_dir):
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    p = ctx.Process(target=_as_nobody, args=(str(path), str(state_dir), out))
    p.start()
    try:
        return out.get(timeout=60)
    finally:
        p.join(30)


@contextmanager
def _world_readable_state(issuer_key, signed_board):
    """A state folder under a world-traversable directory, the board installed, counter 1 open."""
    from queue_helpers import make_store

    base = Path(tempfile.mkdtemp(prefix="pishkhan-ro-"))
    try:
        base.chmod(0o755)
        state = base / "state"
        state.mkdir(mode=0o755)
        cfg = parse_config({"device": {"state_dir": str(state)}, "hours": {"always_open": True}})
        with make_store(cfg.store_path, clock=utc_now, issuer_key=issuer_key, signed_board=signed_board) as s:
            Queue(s, cfg).open_counter(1, actor="test")
        for p in state.iterdir():
            p.chmod(0o644)
        yield cfg.store_path, state
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("how", ["file_and_folder", "file_only"])
def test_a_read_only_store_is_an_error_in_words_and_then_passes(issuer_key, signed_board, how):
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to the nobody user")
    with _world_readable_state(issuer_key, signed_board) as (path, state):
        if how == "file_only":
            os.chown(state, NOBODY, NOBODY)  # the folder is writable, the file is root's and 0644
        kind, message, printed = _run_as_nobody(path, state)
        assert kind in ("StoreReadOnly", "StoreError"), message
        assert kind == "StoreReadOnly", message
        assert str(path.parent) in message and "cannot be written" in message and "permissions" in message
        assert printed == 0 and _tickets(path) == []
        for p in [state, *state.iterdir()]:
            os.chown(p, NOBODY, NOBODY)  # the cause goes
        assert _run_as_nobody(path, state) == ("ok", "A001", 1)
        assert _tickets(path) == ["A001"]


def _open_as_nobody(path, schema, out):
    """Child: drop to nobody, open the store (its steps read from *schema* when given), say what happened."""
    try:
        import pishkhan.store.database as database

        if schema:
            database._schema_folder = lambda: Path(schema)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        with Store(path, timeout=1) as s:
            s.schema_version()
        out.put(("ok", "", None, None))
    except StoreError as e:
        out.put((type(e).__name__, str(e), getattr(e, "reason", None), str(getattr(e, "path", ""))))
    except BaseException as e:  # noqa: BLE001 (anything else is the failure under test)
        out.put(("other", f"{type(e).__name__}: {e}", None, None))


def _opened_as_nobody(path, *, schema=None):
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    p = ctx.Process(target=_open_as_nobody, args=(str(path), schema and str(schema), out))
    p.start()
    try:
        return out.get(timeout=60)
    finally:
        p.join(30)


@pytest.fixture
def open_base():
    """A world-traversable folder holding a sound store, ``state/pishkhan.db``, owned by root."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to the nobody user")
    base = Path(tempfile.mkdtemp(prefix="pishkhan-unreadable-"))
    try:
        base.chmod(0o755)
        (base / "state").mkdir(mode=0o755)
        with Store(base / "state" / "pishkhan.db") as s:
            s.set_setting("kept", 1)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _said_unreadable(result, named):
    kind, message, reason, path = result
    assert kind == "StoreUnreadable", message
    assert reason == "permission_denied" and path == str(named), (reason, path)
    assert f"permission denied on {named}" in message
    for advice in ("damaged", "move it away", "mv ", "restore a backup", "not a usable"):
        assert advice not in message, message  # the store is fine: nobody is sent to move it aside


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_store_that_cannot_be_read_is_called_unreadable_never_damaged(open_base, what):
    path = open_base / "state" / "pishkhan.db"
    target = path if what == "file" else path.parent
    target.chmod(0o600 if what == "file" else 0o700)
    before = _files(path.parent)
    _said_unreadable(_opened_as_nobody(path), path)
    assert _files(path.parent) == before
    target.chmod(0o666 if what == "file" else 0o777)
    path.parent.chmod(0o777)
    for leftover in path.parent.iterdir():
        leftover.chmod(0o666)
    assert _opened_as_nobody(path)[0] == "ok"  # the cause goes: it opens


def test_a_package_file_that_cannot_be_read_is_named_and_the_store_is_not_called_damaged(open_base):
    from importlib import resources

    schema = open_base / "schema"  # a copy of the package's steps, as a clone in root's 0700 home holds them
    shutil.copytree(str(resources.files("pishkhan.store.schema")), schema)
    schema.chmod(0o700)
    path = open_base / "state" / "pishkhan.db"
    for p in [path.parent, *path.parent.iterdir()]:
        os.chown(p, NOBODY, NOBODY)  # the store itself is nobody's to use
    _said_unreadable(_opened_as_nobody(path, schema=schema), schema)
    schema.chmod(0o755)
    assert _opened_as_nobody(path, schema=schema)[0] == "ok"


def test_a_full_disk_is_an_error_in_words_loses_nothing_and_then_passes(issuer_key, signed_board, clock):
    from queue_helpers import make_store

    with small_disk("3m") as disk:
        cfg = parse_config({"device": {"state_dir": str(disk / "state")}, "hours": {"always_open": True}})
        with make_store(cfg.store_path, clock=clock, issuer_key=issuer_key, signed_board=signed_board) as s:
            q = _ready_queue(s, cfg)
            printer = FakePrinter()
            assert issue_and_print(q, printer, LANE_A, config=cfg).ticket.label == "A001"
            filler = fill(disk)
            for _ in range(3):
                with pytest.raises(StoreError, match="disk is full") as info:
                    issue_and_print(q, printer, LANE_A, config=cfg)
                assert "Traceback" not in str(info.value)
            assert len(printer.jobs) == 1  # only A001 was printed
            assert [t.label for t in q.tickets()] == ["A001"]  # no half-written ticket
            filler.unlink()  # space comes back
            result = issue_and_print(q, printer, LANE_A, config=cfg)
            assert result.ticket.label == "A002" and result.printed
        assert _tickets(cfg.store_path) == ["A001", "A002"]


def test_a_read_only_mount_is_an_error_in_words_and_then_passes(issuer_key, signed_board, clock):
    from queue_helpers import make_store

    with small_disk("8m") as disk:
        cfg = parse_config({"device": {"state_dir": str(disk / "state")}, "hours": {"always_open": True}})
        with make_store(cfg.store_path, clock=clock, issuer_key=issuer_key, signed_board=signed_board) as s:
            _ready_queue(s, cfg)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, timeout=30)
        before = _files(disk / "state")
        try:
            with pytest.raises(StoreReadOnly, match="cannot be written.*read-only"):
                with Store(cfg.store_path, clock=clock) as s:
                    Queue(s, cfg).issue(LANE_A)
            assert _files(disk / "state") == before
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True, timeout=30)
        with Store(cfg.store_path, clock=clock) as s:
            assert Queue(s, cfg).issue(LANE_A).label == "A001"
