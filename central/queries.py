"""What the dashboard reads from the fleet database that is not already a function of the fleet, the
status, the registry or the report: a device's row, the proof-of-display snapshots, the refused
messages by device. Rows come back as stored: the pages read them as untrusted
(:mod:`central.web.present`)."""

from __future__ import annotations

#: A ``devices`` column: how many Last Will numbers its births announced that the centre has not received.
UNSENT_WILLS = ("(SELECT COUNT(*) FROM wills w WHERE w.device_id = devices.device_id AND w.epoch = devices.epoch) "
                "AS unsent_wills")


def unexplained_gaps(device: dict) -> int:
    """Sequence numbers of the device's current epoch neither received nor accounted for: ``highest_seq −
    received``, less the numbers a flagged jump skipped, the announced Last Wills not received, and the
    telemetry its outbox said it dropped."""
    return max(0, int(device.get("highest_seq") or 0) - int(device.get("received") or 0)
               - int(device.get("seq_skipped") or 0) - int(device.get("unsent_wills") or 0)
               - int(device.get("telemetry_dropped") or 0))


def snapshot_of(db, device_id: str) -> dict | None:
    """The last snapshot's time, hash and board version of *device_id* (not the image), or None."""
    return db.query_one("SELECT at, sha256, board_version FROM snapshots WHERE device_id = ?", (device_id,))


def snapshot_png(db, device_id: str) -> tuple[bytes, str] | None:
    """The last snapshot's PNG of *device_id* and the device's province ('' if unknown), or None."""
    row = db.query_one("SELECT s.png, d.province FROM snapshots s LEFT JOIN devices d "
                       "ON d.device_id = s.device_id WHERE s.device_id = ?", (device_id,))
    return (bytes(row["png"]), row["province"] or "") if row else None


def province_codes(db) -> list[str]:
    """The province codes the fleet's devices are stored under."""
    return [r["province"] for r in db.query("SELECT DISTINCT province FROM devices WHERE province <> ''")]


def later_states(db, device_ids: list[str], *, since: str, kinds: tuple) -> dict[str, dict]:
    """What came of each of *device_ids* after its alerts: its last compliance state (``compliance``,
    ``compliance_at``, as stored) and its events of *kinds* received from *since* on (``events``)."""
    if not device_ids:
        return {}
    marks = ",".join("?" * len(device_ids))
    out = {r["device_id"]: {"compliance": r["compliance"], "compliance_at": r["compliance_at"], "events": []}
           for r in db.query(f"SELECT device_id, compliance, compliance_at FROM devices WHERE device_id IN ({marks})",
                             device_ids)}
    kind_marks = ",".join("?" * len(kinds))
    for r in db.query(f"SELECT device_id, kind, at, detail FROM events WHERE device_id IN ({marks}) "
                      f"AND kind IN ({kind_marks}) AND received_at >= ? ORDER BY received_at LIMIT 5000",
                      (*device_ids, *kinds, since)):
        out.setdefault(r["device_id"], {"events": []})["events"].append(dict(r))
    return out


def report_of(db, device_id: str, date: str) -> dict | None:
    """*device_id*'s report of *date* (ISO), decoded, or None."""
    from central import stored

    row = db.query_one("SELECT report FROM reports WHERE device_id = ? AND date = ?", (device_id, date))
    return stored.loads(row["report"]) if row else None


def device_row(db, device_id: str) -> dict | None:
    """*device_id*'s ``devices`` row as stored, or None."""
    return db.query_one(f"SELECT *, {UNSENT_WILLS} FROM devices WHERE device_id = ?", (device_id,))


def quarantined_count(db) -> int:
    """How many devices the centre has heard from that no province holds (not in the registry)."""
    return int(db.query_one("SELECT COUNT(*) AS n FROM devices WHERE province = ''")["n"] or 0)


def refusal_rows(db, device_id: str, *, limit: int) -> list[dict]:
    """*device_id*'s refused messages by reason (``reason``, ``refused``, ``last_at``, ``last_message``)."""
    return db.query("SELECT reason, refused, last_at, last_message FROM refusals WHERE device_id = ? LIMIT ?",
                    (device_id, limit))


def refusal_counts(db, *, province: str | None = None, limit: int) -> list[dict]:
    """``device_id`` and ``refused`` rows (one a reason) of the devices of *province*, or of all."""
    sql, params = "SELECT device_id, refused FROM refusals", []
    if province:
        sql += " WHERE device_id IN (SELECT device_id FROM devices WHERE province = ?)"
        params.append(province)
    return db.query(sql + " LIMIT ?", (*params, limit))


def certificate_rows(db, device_id: str, *, limit: int) -> list[dict]:
    """*device_id*'s certificates as stored (central/certificates.py), newest issued first."""
    return db.query("SELECT serial, not_before, not_after, issued_at, how, revoked_at, revoked_reason FROM certificates "
                    "WHERE device_id = ? ORDER BY issued_at DESC LIMIT ?", (device_id, limit))


def certificate_ends(db, *, province: str | None = None, limit: int) -> list[dict]:
    """``device_id``, ``not_after`` and ``revoked_at`` of every certificate (of the devices of *province*)."""
    sql, params = "SELECT device_id, not_after, revoked_at FROM certificates", []
    if province:
        sql += " WHERE device_id IN (SELECT device_id FROM devices WHERE province = ?)"
        params.append(province)
    return db.query(sql + " LIMIT ?", (*params, limit))


def enrolment_rows(db, device_id: str, office_id: str, *, limit: int) -> list[dict]:
    """The enrolment log of *device_id* and, when *office_id* is not empty, of its office (a refused
    enrolment names the claim's office, not yet a device), newest first."""
    return db.query("SELECT at, device_id, office_id, kind, reason, address, detail FROM enrolment_log "
                    "WHERE device_id = ? OR (office_id = ? AND office_id <> '') ORDER BY at DESC, id DESC LIMIT ?",
                    (device_id, office_id or "", limit))
