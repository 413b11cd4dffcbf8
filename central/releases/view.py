"""What the Releases page and the metrics show of the fleet's releases: versions by province, and every rollout
with its progress and record."""

from __future__ import annotations

import json

from central.releases.progress import rollout_progress, versions_by_province
from central.releases.rollouts import Rollout


def releases_view(db, *, province: str | None = None, tally=None) -> dict:
    """What the Releases page shows: versions by province, and every rollout with its progress and record.

    A stored rollout that cannot be read is shown by its id as unknown and counted in *tally*.
    """
    rollouts = []
    for row in db.query("SELECT * FROM rollouts ORDER BY created_at DESC, rollout LIMIT 50"):
        try:
            r = Rollout.of_row(row)
            p = rollout_progress(db, r, province=province)
            try:
                halted = json.loads(r.halted_detail) if r.halted_detail else {}
            except ValueError:
                halted = {}
            halted = halted if isinstance(halted, dict) else {}
            rollouts.append({
                "rollout": r.rollout, "scope": r.scope_key, "stage": r.stage, "stage_since": r.stage_since,
                "package_version": r.package_version, "sha256": r.sha256, "canary_percent": r.canary_percent,
                "soak_seconds": r.soak_seconds, "halt_threshold": r.halt_threshold, "doc_version": r.doc_version,
                "document_code": r.document_code, "created_at": r.created_at,
                "progress": p.by_state, "offline": p.offline, "touched": p.touched, "failures": p.failures,
                "in_scope": p.in_scope, "canaries": p.canaries, "failed_devices": p.failed_devices[:50],
                "halted_reason": r.halted_reason, "halted_message": str(halted.get("message", ""))[:500],
                "readable": True})
        except Exception:  # noqa: BLE001 — a page renders whatever the database holds
            if tally is not None:
                tally.add("rollouts", province=province)
            rollouts.append({"rollout": str(row.get("rollout", ""))[:40], "readable": False})
    versions = versions_by_province(db, province=province)
    return {"province": province, "versions": [{"province": code, "versions": sorted(v.items())}
                                               for code, v in sorted(versions.items())],
            "rollouts": rollouts}
