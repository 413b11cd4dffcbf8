"""The local store: WAL, migrations, refusal of newer files, several writers, audit."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3

import pytest

from pishkhan.exc import SchemaTooNew, StoreConstraint, StoreError
from pishkhan.store.database import SCHEMA_VERSION, Store, migrations


def test_new_store_is_wal_full_sync_and_current(tmp_path):
    with Store(tmp_path / "s.db") as st:
        assert st.query_one("PRAGMA journal_mode")[0] == "wal"
        assert st.query_one("PRAGMA synchronous")[0] == 2  # FULL
        assert st.query_one("PRAGMA busy_timeout")[0] > 0
        assert st.schema_version() == SCHEMA_VERSION


def test_old_file_is_migrated_step_by_step(tmp_path):
    path = tmp_path / "old.db"
    first = migrations()[0]
    conn = sqlite3.connect(path)
    conn.executescript(first[2])
    conn.execute(f"PRAGMA user_version = {first[0]}")
    conn.execute("INSERT INTO settings(key, value) VALUES ('kept', '1')")
    conn.commit()
    conn.close()
    with Store(path) as st:
        assert st.schema_version() == SCHEMA_VERSION
        assert st.get_setting("kept") == 1  # data survives the upgrade
        tables = {r[0] for r in st.query("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "notices" in tables


def test_a_step_merged_below_the_current_version_is_still_applied(tmp_path):
    """A file that has steps 1, 2 and 4 gets step 3 when it next opens."""
    path = tmp_path / "gap.db"
    steps = migrations()
    assert len(steps) >= 4
    skipped = steps[2]
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_steps (number INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                 "applied_at TEXT NOT NULL)")
    for number, name, sql in steps:
        if number == skipped[0]:
            continue
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_steps VALUES (?, ?, '2026-01-01T00:00:00.000000Z')",
                     (number, name))
    conn.execute(f"PRAGMA user_version = {steps[-1][0]}")
    conn.commit()
    conn.close()
    with Store(path) as st:
        recorded = [r[0] for r in st.query("SELECT number FROM schema_steps ORDER BY number")]
        assert recorded == [n for n, _, _ in steps]
        tables = {r[0] for r in st.query("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "notices" in tables  # created by the skipped step


def test_reopening_a_current_file_applies_nothing_again(tmp_path):
    path = tmp_path / "s.db"
    with Store(path) as st:
        first = [tuple(r) for r in st.query("SELECT * FROM schema_steps ORDER BY number")]
    with Store(path) as st:
        again = [tuple(r) for r in st.query("SELECT * FROM schema_steps ORDER BY number")]
    assert len(first) == len(migrations())
    assert again == first  # same rows, same times: nothing re-run


def test_file_from_a_newer_release_is_refused_untouched(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew, match=f"schema version {SCHEMA_VERSION + 5}.*newer release"):
        Store(path)
    assert path.read_bytes() == before


def test_garbage_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a usable Pishkhan store"):
        Store(path)


def test_closed_store_raises(tmp_path):
    st = Store(tmp_path / "s.db")
    st.close()
    with pytest.raises(StoreError, match="closed"):
        st.get_setting("x")


def test_audit_log_is_append_only(tmp_path):
    with Store(tmp_path / "s.db") as st:
        st.audit("staff", "notice.post", "1", text="سلام")
        with pytest.raises(StoreConstraint, match="append-only"):
            st.execute("UPDATE audit_log SET actor = 'x'")
        with pytest.raises(StoreConstraint, match="append-only"):
            st.execute("DELETE FROM audit_log")
        [entry] = st.audit_entries()
        assert entry["actor"] == "staff" and entry["detail"] == {"text": "سلام"}


def test_state_log_records_only_changes(tmp_path):
    with Store(tmp_path / "s.db") as st:
        assert st.record_state("kiosk", "accepting")
        assert not st.record_state("kiosk", "accepting")
        assert st.record_state("kiosk", "not_accepting", "closed")
        assert [r["state"] for r in st.state_history("kiosk")] == ["accepting", "not_accepting"]
        assert st.last_state("kiosk")["reason"] == "closed"


def test_changes_by_another_process_are_noticed(tmp_path):
    path = tmp_path / "s.db"
    with Store(path) as a, Store(path) as b:
        assert not a.changed()
        b.set_setting("x", 1)
        assert a.changed()
        assert not a.changed()
        a.set_setting("y", 2)  # own commits do not count
        assert not a.changed()


def _writer(path, name, count):
    with Store(path) as st:
        for i in range(count):
            st.audit(name, "test.write", str(i))
            st.record_state(f"w:{name}", f"s{i}")


def test_two_processes_write_at_once(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, n, 200)) for n in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store(path) as st:
        counts = dict(st.query("SELECT actor, COUNT(*) FROM audit_log GROUP BY actor"))
        assert counts == {"a": 200, "b": 200}
        assert st.query_one("PRAGMA integrity_check")[0] == "ok"


def test_timestamps_read_back_exactly_and_only_in_the_stored_form():
    import datetime as _dt

    from pishkhan.store.database import iso, parse_iso

    moment = _dt.datetime(2026, 11, 28, 7, 30, 0, 123456, tzinfo=_dt.timezone.utc)
    assert parse_iso(iso(moment)) == moment
    assert parse_iso(iso(moment.replace(microsecond=0))) == moment.replace(microsecond=0)
    for other in ("2026-11-28T07:30:00Z", "2026-11-28", "2026-W48-6T07:30:00.123456Z",
                  "2026-11-28T07:30:00,123456Z", "2026-11-28T07:30:00.123456+00:00", "2026-11-28T07:30:00.12345Zx"):
        with pytest.raises(ValueError):
            parse_iso(other)
