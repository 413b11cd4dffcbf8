"""A remote ``snapshot``'s answer becomes the office's snapshot (central/remote.py): stored through the
monitor's own ingest (the PNG checked against its hash and bounded), its fate in the audit row; a bad one is
refused with a reason and the office keeps its earlier snapshot — on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import struct
import zlib
from types import SimpleNamespace

from central import queries, remote
from central.fleet import MAX_SNAPSHOT_BYTES, Fleet
from pishkhan.protocol import payloads
from pishkhan.protocol.topics import Topics

NATIONAL = SimpleNamespace(username="admin", province=None)
NOW = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.timezone.utc)


def png(seed: int) -> bytes:
    """A real 1×1 PNG whose one pixel is *seed*."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x00" + bytes([seed % 256, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Answers(remote.Commander):
    """Answers each command with the next result message, as the device would on its result topic."""

    def __init__(self, *answers):
        self.answers = list(answers)

    def send(self, *, device, name, args):
        return self.answers.pop(0)


def answer(seq: int, picture: bytes, *, said: str | None = None, device="dev-0001") -> dict:
    detail = {"at": payloads.format_time(dt.datetime.now(dt.timezone.utc)), "board_version": 7,
              "sha256": said or hashlib.sha256(picture).hexdigest(), "bytes": len(picture),
              "png_base64": base64.b64encode(picture).decode("ascii")}
    return payloads.result(device=device, seq=seq, sent_at=dt.datetime.now(dt.timezone.utc), correlation_id=f"c{seq}",
                           command="snapshot", ok=True, detail=detail)


def ask(db, commander, i=0):
    row = remote.ask(db, commander, device_id="dev-0001", action="snapshot", user=NATIONAL, day=NOW.date(),
                     now=NOW + dt.timedelta(seconds=i))
    return row, json.loads(row["result"])


def test_a_snapshot_answer_is_the_offices_snapshot_checked_and_bounded(fleet_db):
    fleet_db.execute("INSERT INTO devices(device_id, province, office_id, office_name) VALUES (?,?,?,?)",
                     ("dev-0001", "23", "23-0001", "دفتر"))
    first, second = png(1), png(2)
    good = answer(1, first)
    row, kept = ask(fleet_db, Answers(good))
    assert (row["outcome"], kept["snapshot"]) == ("ok", {"stored": True})
    assert "png_base64" not in kept["detail"] and base64.b64encode(first).decode() not in row["result"]
    assert queries.snapshot_of(fleet_db, "dev-0001")["sha256"] == hashlib.sha256(first).hexdigest()
    assert queries.snapshot_png(fleet_db, "dev-0001") == (first, "23")
    # the monitor hears the same answer on the result topic: a duplicate, nothing stored twice
    counts = Fleet(fleet_db).ingest([(Topics().result("dev-0001"), payloads.encode(good),
                                      payloads.format_time(dt.datetime.now(dt.timezone.utc)))])
    assert (counts.accepted, counts.duplicates) == (0, 1)
    # a picture that is not what its hash says, one too large, one from another device: refused, the first kept
    lied = answer(2, second, said=hashlib.sha256(first).hexdigest())
    big = answer(3, b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_SNAPSHOT_BYTES)
    other = answer(4, second, device="dev-0002")
    for i, bad in enumerate((lied, big, other), start=1):
        row, kept = ask(fleet_db, Answers(bad), i)
        assert row["outcome"] == "ok" and kept["snapshot"]["stored"] is False, kept
    refusals = [json.loads(r["result"])["snapshot"]["reason"] for r in remote.history(fleet_db, "dev-0001")[:3]]
    assert sorted(refusals) == ["schema", "snapshot", "wrong_device"]  # too large: past the schema's bound
    assert queries.snapshot_png(fleet_db, "dev-0001") == (first, "23")
    row, kept = ask(fleet_db, Answers(answer(5, second)), 9)  # a newer good one replaces it
    assert kept["snapshot"] == {"stored": True} and queries.snapshot_png(fleet_db, "dev-0001") == (second, "23")
    assert fleet_db.query_one("SELECT received FROM devices WHERE device_id = 'dev-0001'")["received"] >= 2
