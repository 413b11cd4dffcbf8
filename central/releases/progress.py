"""Where each rollout stands, and which versions the fleet runs — read for the controller, the page, the metrics.

Reads only what the monitor stored after checking it (:mod:`central.releases.wire`), and still reads it
defensively (a state outside :data:`~central.releases.PROGRESS` counts as unknown, never raises): a page
renders whatever the database holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from central.releases import PROGRESS

#: A device counts as gone offline during an update when it went offline after its first step and before healthy.
UNFINISHED = ("in_window", "installed")


@dataclass
class Progress:
    """One rollout's devices: in scope, canaries among them, by progress state, and the failures."""

    in_scope: int = 0
    canaries: int = 0
    by_state: dict = field(default_factory=lambda: dict.fromkeys(PROGRESS, 0))
    offline: int = 0
    failed_devices: list = field(default_factory=list)

    @property
    def touched(self) -> int:
        return sum(n for s, n in self.by_state.items() if s != "pending")

    @property
    def failures(self) -> int:
        return self.by_state["rolled_back"] + self.by_state["failed"] + self.offline


def scope_devices(db, scope_key: str, *, province: str | None = None) -> list[str]:
    """The devices a scope reaches (of one *province* when given): those in the registry, not retired."""
    level, _, value = str(scope_key).partition(":")
    column = {"province": "province", "office": "office_id", "device": "device_id"}.get(level)
    sql, params = "SELECT device_id FROM registry WHERE retired_at IS NULL", []
    if province:
        sql, params = sql + " AND province = ?", [province]
    if scope_key == "national":
        return [r["device_id"] for r in db.query(sql + " ORDER BY device_id", params)]
    if column is None:
        return []
    return [r["device_id"] for r in db.query(sql + f" AND {column} = ? ORDER BY device_id", (*params, value))]


def rollout_progress(db, rollout, *, province: str | None = None) -> Progress:
    """:class:`Progress` of *rollout* (a :class:`central.releases.rollouts.Rollout`), of one *province*'s devices
    when given."""
    from pishkhan.releases.installed import is_canary

    p = Progress()
    devices = scope_devices(db, rollout.scope_key, province=province)
    p.in_scope = len(devices)
    canary_only = rollout.stage == "canary" or rollout.document.get("canary_percent", 100) < 100
    # Only what the devices the rollout reaches say counts (in its canary stage, only its canaries): a device of
    # another scope, or one that was never asked to start, cannot halt or promote it by what it reports.
    counted = {d for d in devices if not canary_only or is_canary(d, rollout.canary_percent)}
    p.canaries = len(counted)
    rows = db.query("SELECT r.device_id, r.state, r.reason, r.detail, r.first_at, r.at, d.online, d.status_since "
                    "FROM release_devices r LEFT JOIN devices d ON d.device_id = r.device_id WHERE r.rollout = ?"
                    + (" AND d.province = ?" if province else ""), (rollout.rollout, province) if province
                    else (rollout.rollout,))
    touched = 0
    for row in rows:
        if row["device_id"] not in counted:
            continue
        state = row["state"] if row["state"] in PROGRESS else "failed"
        if state == "pending":
            continue
        touched += 1
        p.by_state[state] += 1
        went_offline = (state in UNFINISHED and row["online"] is not None and not row["online"]
                        and isinstance(row["status_since"], str) and row["status_since"] >= str(row["first_at"]))
        if went_offline:
            p.offline += 1
        if state in ("rolled_back", "failed") or went_offline:
            p.failed_devices.append({"device_id": row["device_id"], "state": "offline" if went_offline else state,
                                     "reason": str(row["reason"] or "")[:64], "detail": str(row["detail"] or "")[:300],
                                     "at": str(row["at"] or "")[:32]})
    p.by_state["pending"] = max(0, p.in_scope - touched)
    p.failed_devices.sort(key=lambda d: d["at"], reverse=True)
    return p


def versions_by_province(db, *, province: str | None = None) -> dict[str, dict[str, int]]:
    """province -> {running version: devices}; a device's version is what it last reported running, else its birth's."""
    sql = ("SELECT d.province, COALESCE(NULLIF(r.running_version, ''), d.software_version) AS version, "
           "COUNT(*) AS n FROM devices d LEFT JOIN device_release r ON r.device_id = d.device_id "
           "WHERE d.province <> ''")
    params = []
    if province:
        sql += " AND d.province = ?"
        params.append(province)
    out: dict[str, dict[str, int]] = {}
    for row in db.query(sql + " GROUP BY d.province, COALESCE(NULLIF(r.running_version, ''), d.software_version)",
                        params):
        version = str(row["version"] or "")[:128]  # '' : not known yet
        out.setdefault(str(row["province"]), {})[version] = out.get(str(row["province"]), {}).get(version, 0) \
            + int(row["n"])
    return out
