"""Faults of the store file, made as another program or a failing card would.

- :func:`write_lock_held`: another connection holds the write lock (``BEGIN
  IMMEDIATE``) until the block ends;
- :func:`damage`: every page but the first is overwritten, then a commit
  that touches only the first page tells every open connection to read again.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager


@contextmanager
def write_lock_held(path):
    """Hold the store's write lock from another connection for the block."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def damage(path):
    """Overwrite the store file's pages after the first (the schema stays readable)."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.seek(page)
            f.write(b"\xde\xad\xbe\xef" * ((size - page) // 4))
            f.flush()
            os.fsync(f.fileno())
        conn.execute(f"PRAGMA user_version = {version}")  # a commit: other connections read again
    finally:
        conn.close()
