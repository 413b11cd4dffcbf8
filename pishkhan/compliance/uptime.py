"""Heartbeats: the facts that say the device was up.

A long-running process (the agent, every minute) calls :func:`beat`. Each
boot and process has one row in ``uptime`` holding its first and latest beat
in wall time and boot time; the time between one boot's last beat and the
next boot's first is time the device was down (or the process was not
running), which the judge counts as *unknown*, never as a violation.

A beat also notices a clock jump: when the wall clock moved by more than
*jump_seconds* differently from the monotonic clock since the last beat of
this boot, it records a ``clock`` fact (``jumped``, with the size of the
jump) in the state log.
"""

from __future__ import annotations

from pishkhan.store.database import iso, parse_iso


def beat(store, process: str, *, jump_seconds: float = 120.0) -> float | None:
    """Record that *process* is alive now; returns the clock jump in seconds, or None."""
    stamp = store.stamp()
    now = store.now()

    def heartbeat(c):
        row = c.execute("SELECT last_at, last_mono, last_synced FROM uptime WHERE boot_id = ? AND process = ?",
                        (stamp.boot_id, process)).fetchone()
        if row is None:
            c.execute("INSERT INTO uptime VALUES (?,?,?,?,?,?,?,?)",
                      (stamp.boot_id, process, iso(now), stamp.mono, int(stamp.synced),
                       iso(now), stamp.mono, int(stamp.synced)))
            return None
        c.execute("UPDATE uptime SET last_at = ?, last_mono = ?, last_synced = ? WHERE boot_id = ? AND process = ?",
                  (iso(now), stamp.mono, int(stamp.synced), stamp.boot_id, process))
        wall_moved = (now - parse_iso(row["last_at"])).total_seconds()
        mono_moved = stamp.mono - row["last_mono"]
        return wall_moved - mono_moved if abs(wall_moved - mono_moved) > jump_seconds else None

    jump = store.write(heartbeat)
    if jump is not None:
        store.record_state("clock", "jumped", f"wall clock moved {jump:+.0f} s against the boot clock",
                           seconds=round(jump, 1), at_mono=round(stamp.mono, 3))
    store.record_state("clock", "synchronised" if stamp.synced else "not_synchronised",
                       f"source: {getattr(store.boot, 'source', 'unknown')}")
    return jump
