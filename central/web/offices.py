"""An office's page (``/device/{id}``) and its last proof-of-display snapshot."""

from __future__ import annotations

from starlette.authentication import requires
from starlette.responses import Response
from starlette.routing import Route

from central import queries, status
from central.official import newest_boards
from central.web.present import readings, timeline
from central.web.site import LOGGED_IN, not_found, page, site_of, twin


def _theirs(request, province) -> bool:
    """Whether the user may see a device of *province* (a province user: only their own)."""
    return not request.user.province or province == request.user.province


@requires(LOGGED_IN, status_code=401)
def device_page(request):
    site = site_of(request)
    device = site.fleet.device(request.path_params["device_id"])
    if device is None or not _theirs(request, device["province"]):
        return not_found(request)
    db, day = site.fleet.db, site.today()
    compliance = status.today_compliance(db, device, day)
    mine = [e for e in status.events_of_day(db, day, province=device["province"] or None)
            if e["device_id"] == device["device_id"]]
    row = status.device_day(device, events=mine, report=compliance, newest=newest_boards(db))
    data = {"date": day.isoformat(), "device": device, "today": row, "compliance": compliance,
            "timeline": timeline(compliance), "readings": readings(device.get("telemetry")),
            "events": site.fleet.events(device=device["device_id"], limit=100),
            "snapshot": queries.snapshot_of(db, device["device_id"])}
    return page(request, "device.html", data, nav="devices")


@requires(LOGGED_IN, status_code=401)
def snapshot_png(request):
    found = queries.snapshot_png(site_of(request).fleet.db, request.path_params["device_id"])
    if found is None or not _theirs(request, found[1]):
        return Response(status_code=404)
    return Response(found[0], media_type="image/png", headers={"Cache-Control": "no-store"})


routes = [
    *twin("/device/{device_id}", device_page, api="/api/device/{device_id}", name="device"),
    Route("/device/{device_id}/snapshot.png", snapshot_png, name="snapshot"),
]
