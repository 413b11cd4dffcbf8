"""What a page shows of a stored row: today's timeline, the readings table, a verified board.

The rows come from devices, so nothing here may assume a field has the type
the protocol promises: what does not fit is left out or shown as unknown.
"""

from __future__ import annotations

from central.web import strings

READING_KEYS = tuple(strings.READINGS)


def timeline(compliance: dict | None) -> dict | None:
    """Today's runs as bar segments (share of the scheduled minutes), and the minutes by state."""
    if not compliance:
        return None
    from central.status import parse_time

    runs = []
    for run in compliance.get("timeline") or []:
        start, end = parse_time(run.get("start")), parse_time(run.get("end"))
        if not start or not end or run.get("state") not in strings.COMPLIANCE_STATES:
            continue
        runs.append({"state": run["state"], "start": run["start"], "end": run["end"],
                     "minutes": int((end - start).total_seconds() // 60), "why": run.get("why", "")})
    judged = sum(r["minutes"] for r in runs)
    scheduled = compliance.get("scheduled_minutes") if isinstance(compliance.get("scheduled_minutes"), int) else judged
    scale = max(scheduled, judged, 1)
    for r in runs:
        r["percent"] = round(100 * r["minutes"] / scale, 2)
    totals = {state: compliance.get(f"{state}_minutes") if isinstance(compliance.get(f"{state}_minutes"), int)
              else sum(r["minutes"] for r in runs if r["state"] == state) for state in strings.COMPLIANCE_STATES}
    remaining = max(0, scheduled - judged)
    return {"runs": runs, "totals": totals, "scheduled": scheduled, "judged": judged, "remaining": remaining,
            "remaining_percent": round(100 * remaining / scale, 2), "complete": bool(compliance.get("complete")),
            "judged_until": compliance.get("judged_until"),
            "periods": [p for p in compliance.get("periods") or [] if isinstance(p, dict) and "start" in p and "end" in p]}


def readings(telemetry: dict | None) -> list[dict]:
    """The readings table: the known readings first (absent ones None), then the rest as sent."""
    flat = _flatten(telemetry or {})
    health = telemetry.get("health") if isinstance(telemetry, dict) and isinstance(telemetry.get("health"), dict) else {}
    rows, used = [], set()
    by_name = {}  # a reading by its own name, in whichever group the agent sent it
    for path, v in flat.items():
        by_name.setdefault(path.rsplit(".", 1)[-1], (path, v))
    for key in READING_KEYS:
        value = flat.get(key, flat.get(f"health.{key}", None))
        if value is None and key in by_name:
            path, value = by_name[key]
            used.add(path)
        if key in flat:
            used.add(key)
        if f"health.{key}" in flat:
            used.add(f"health.{key}")
        if isinstance(health.get(key), dict) or isinstance((telemetry or {}).get(key), dict):
            value = ", ".join(f"{k}={v}" for k, v in ((telemetry or {}).get(key) or health.get(key)).items())
            used.update(k for k in flat if k.startswith((f"{key}.", f"health.{key}.")))
        rows.append({"key": key, "label": strings.READINGS[key], "value": value})
    for key in sorted(flat):
        if key not in used and key != "compliance" and not key.startswith("compliance."):
            rows.append({"key": key, "label": key, "value": flat[key]})
    return rows


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def verified_document(doc: dict, unit: str) -> dict:
    """An official row for the verification page: its board parsed, every fee formatted."""
    from pishkhan.boards.document import parse_board
    from pishkhan.exc import BoardInvalid
    from pishkhan.text.persian import format_money

    out = {"scope": doc["scope_key"], "version": int(doc["version"]), "verification_code": doc["verification_code"],
           "newest_version": int(doc["newest_version"]), "superseded": bool(doc["superseded"]),
           "published_at": doc["published_at"], "issuer": doc["issuer"], "effective_from": doc["effective_from"],
           "categories": [], "readable": False}
    envelope = doc.get("envelope")
    try:
        board = parse_board(envelope.get("payload") if isinstance(envelope, dict) else None)
    except BoardInvalid:
        return out
    out.update(readable=True, issuer=board.issuer, effective_from=board.effective_from.isoformat(),
               version=board.version, scope=board.scope.key)
    for category in board.categories:
        out["categories"].append({"code": category.code, "title": category.title, "services": [
            {"code": s.code, "title": s.title, "government_fee": s.government_fee, "office_fee": s.office_fee,
             "total_fee": s.total_fee, "government_fee_text": format_money(s.government_fee, unit=unit),
             "office_fee_text": format_money(s.office_fee, unit=unit),
             "total_fee_text": format_money(s.total_fee, unit=unit)} for s in category.services]})
    return out
