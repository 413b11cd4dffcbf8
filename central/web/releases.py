"""The Releases page (``/releases``): versions across the fleet by province, each rollout's progress by state,
the devices that rolled back and why, and why a rollout halted (central/releases, docs/dashboard.md).

A province user sees their province's devices only: its versions, and each rollout's progress among its devices.
"""

from __future__ import annotations

from starlette.authentication import requires

from central import stored
from central.releases.view import releases_view
from central.web.site import LOGGED_IN, page, province_of, site_of, twin


@requires(LOGGED_IN, status_code=401)
def releases_page(request):
    site = site_of(request)
    tally = stored.Tally()
    province = province_of(request)
    data = releases_view(site.fleet.db, province=province, tally=tally)
    data["unreadable"] = tally.total
    return page(request, "releases.html", data, nav="releases")


routes = [*twin("/releases", releases_page, api="/api/releases", name="releases")]
