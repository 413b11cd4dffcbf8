"""The monitor's part of fleet updates: a device's checked update steps and ``reported.release``, stored.

Called by :class:`central.fleet.Fleet` inside its batch transaction with fields
:mod:`central.releases.wire` has already checked. Per device and rollout one
row in ``release_devices`` keeps the latest step (by the device's own time;
an older step delivered late changes nothing) and when the device first
reported on the rollout; ``device_release`` keeps what each device last
reported of its release, with the version it runs.
"""

from __future__ import annotations

from central.releases import PROGRESS_OF

_UPSERT = ("INSERT INTO release_devices(rollout, device_id, province, state, step, reason, detail, from_version, "
           "to_version, document_code, first_at, at, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
           "ON CONFLICT (rollout, device_id) DO UPDATE SET province = excluded.province, state = excluded.state, "
           "step = excluded.step, reason = excluded.reason, detail = CASE WHEN excluded.detail <> '' "
           "THEN excluded.detail ELSE release_devices.detail END, from_version = excluded.from_version, "
           "to_version = excluded.to_version, document_code = excluded.document_code, at = excluded.at, "
           "received_at = excluded.received_at WHERE release_devices.at <= excluded.at")


def record_step(c, *, device: str, province: str, update: dict, at: str, received_at: str):
    """Keep one checked ``update`` event of *device* (nothing without a rollout id)."""
    if not update["rollout"]:
        return
    c.execute(_UPSERT, (update["rollout"], device, province, PROGRESS_OF[update["step"]], update["step"],
                        update["reason"], update["detail"], update["from_version"], update["to_version"],
                        update["document_code"], at, at, received_at))


def record_reported(c, *, device: str, province: str, release: dict, at: str, received_at: str):
    """Keep *device*'s checked ``reported.release``; its rollout's row too, when it names one."""
    c.execute("INSERT INTO device_release(device_id, rollout, document_code, scope, package_version, state, reason, "
              "running_version, at, received_at) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (device_id) DO UPDATE SET "
              "rollout = excluded.rollout, document_code = excluded.document_code, scope = excluded.scope, "
              "package_version = excluded.package_version, state = excluded.state, reason = excluded.reason, "
              "running_version = excluded.running_version, at = excluded.at, received_at = excluded.received_at "
              "WHERE device_release.at <= excluded.at",
              (device, release["rollout"], release["document_code"], release["scope"], release["package_version"],
               release["state"], release["reason"], release["running_version"], at, received_at))
    if release["rollout"]:
        c.execute(_UPSERT, (release["rollout"], device, province, PROGRESS_OF[release["state"]], release["state"],
                            release["reason"], "", release["running_version"], release["package_version"],
                            release["document_code"], at, at, received_at))
