"""The centre's fixtures: a fleet database on SQLite and on a real PostgreSQL, and a real Mosquitto
(tests/mqtt_broker.py)."""

from __future__ import annotations

import pytest
from mqtt_broker import mqtt_broker  # noqa: F401  (the shared fixture)
from services import postgres_server

from central.db import open_db


@pytest.fixture(scope="session")
def postgres_url():
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def fleet_db(request, tmp_path):
    """An empty fleet database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        db = open_db(str(tmp_path / "fleet.db"))
    else:
        import psycopg

        base = request.getfixturevalue("postgres_url")
        name = f"fleet_{abs(hash(request.node.nodeid)) % 10**9}"
        with psycopg.connect(base, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name}")
            c.execute(f"CREATE DATABASE {name}")
        db = open_db(base.rsplit("/", 1)[0] + f"/{name}")
    yield db
    db.close()
