"""What the dashboard reads from the fleet database that is not already a function of the fleet, the
status or the report: the proof-of-display snapshots."""

from __future__ import annotations


def snapshot_of(db, device_id: str) -> dict | None:
    """The last snapshot's time, hash and board version of *device_id* (not the image), or None."""
    return db.query_one("SELECT at, sha256, board_version FROM snapshots WHERE device_id = ?", (device_id,))


def snapshot_png(db, device_id: str) -> tuple[bytes, str] | None:
    """The last snapshot's PNG of *device_id* and the device's province ('' if unknown), or None."""
    row = db.query_one("SELECT s.png, d.province FROM snapshots s LEFT JOIN devices d "
                       "ON d.device_id = s.device_id WHERE s.device_id = ?", (device_id,))
    return (bytes(row["png"]), row["province"] or "") if row else None
