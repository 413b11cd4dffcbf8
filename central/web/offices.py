"""An office's page (``/device/{id}``) and its last proof-of-display snapshot.

The page also says what the centre's defences found of the device: whether it is quarantined (not in
the registry), the messages of it the centre refused (by reason), and what an ``identity_mismatch``
alert claimed against the registry; and its certificate's state and its enrolment log (when, from which
address and by which claim's office it enrolled, renewals, refusals for its office, revocation:
central/web/certificates.py).
"""

from __future__ import annotations

from starlette.authentication import requires
from starlette.responses import Response
from starlette.routing import Route

from central import queries, remote, stored
from central.web import certificates, present
from central.web.present import office_page
from central.web.site import LOGGED_IN, not_found, page, site_of, twin


def _theirs(request, province) -> bool:
    """Whether the user may see a device of *province* (a province user: only their own)."""
    return not request.user.province or province == request.user.province


@requires(LOGGED_IN, status_code=401)
def device_page(request):
    site = site_of(request)
    data = office_page(site.fleet.db, request.path_params["device_id"], day=site.today(),
                       province=request.user.province, now=site.clock())
    if data is None:
        return not_found(request)
    device = data["device"]
    tally = stored.Tally()
    data["refusals"] = present.refusals(site.fleet.db, device["device_id"], tally=tally, province=device["province"])
    data["quarantined"] = not device["province"]
    data["retired_at"] = present.retired_at(site.fleet.db, device["device_id"]) if data["quarantined"] else None
    data["command_id"] = present.command_id(device["device_id"]) if data["quarantined"] and not data["retired_at"] \
        else None
    data["events"] = present.with_mismatches(data["events"])
    data["certificate"] = certificates.certificate(site.fleet.db, device["device_id"], now=site.clock(), tally=tally,
                                                   province=device["province"])
    data["enrolment"] = certificates.enrolment(site.fleet.db, device["device_id"], device.get("office_id") or "",
                                               tally=tally, province=device["province"])
    data["unreadable"] += tally.total
    if not request.user.province:  # remote actions: a national user's only (central/web/remote.py)
        data["actions"] = remote.history(site.fleet.db, device["device_id"])
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
