"""The monitor's part of circulars: a device's checked circular events, kept per office.

Called by :class:`central.fleet.Fleet` inside its batch transaction with fields :mod:`central.circulars.wire`
has checked. A device speaks only for itself: the row is the topic's device, and a circular of a province is
taken only from a device of that province (``wrong_device`` otherwise: refused, counted, nothing stored). One row
per (scope, number, device) in ``circular_offices``: when it was received (the earliest the device said) and
acknowledged (the first acknowledgement wins, with who), so a repeat or a late copy changes nothing. A device
stops at :data:`MAX_PER_DEVICE` rows (``over_budget``). These events are kept here only (not in ``events``) and are
not charged against the day's event budget: a new office receives a whole index at once.
"""

from __future__ import annotations

from pishkhan.exc import ProtocolError

#: The most circulars the centre keeps of one device (the device keeps at most 2,000 itself).
MAX_PER_DEVICE = 2000


def record(c, *, device: str, province: str, circular: dict, received_at: str):
    """Keep one checked circular event of *device* (of *province*, as registered)."""
    scope = circular["scope"]
    if scope != "national" and scope != f"province:{province}":
        raise ProtocolError(f"{circular['event']}: a device of province {province or '(none)'} reported a "
                            f"circular of {scope}", reason="wrong_device")
    at = circular["at"]
    row = c.execute("SELECT received_at, acknowledged_at FROM circular_offices WHERE scope = ? AND number = ? AND "
                    "device_id = ?", (scope, circular["number"], device)).fetchone()
    if row is None:
        held = c.execute("SELECT COUNT(*) FROM circular_offices WHERE device_id = ?", (device,)).fetchone()[0]
        if int(held) >= MAX_PER_DEVICE:
            raise ProtocolError(f"more than {MAX_PER_DEVICE} circulars from this device", reason="over_budget")
        acknowledged = circular["event"] == "circular_acknowledged"
        c.execute("INSERT INTO circular_offices(scope, number, device_id, province, sha256, received_at, "
                  "acknowledged_at, acknowledged_by, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                  (scope, circular["number"], device, province, circular["sha256"], at,
                   at if acknowledged else None, circular["by"] if acknowledged else "", received_at))
        return
    if circular["event"] == "circular_received":
        c.execute("UPDATE circular_offices SET received_at = ?, updated_at = ? WHERE scope = ? AND number = ? AND "
                  "device_id = ? AND (received_at IS NULL OR received_at > ?)",
                  (at, received_at, scope, circular["number"], device, at))
    elif row[1] is None:
        c.execute("UPDATE circular_offices SET acknowledged_at = ?, acknowledged_by = ?, updated_at = ?, "
                  "received_at = COALESCE(received_at, ?) WHERE scope = ? AND number = ? AND device_id = ?",
                  (at, circular["by"], received_at, at, scope, circular["number"], device))
