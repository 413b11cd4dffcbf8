"""The fleet: counts by province and the alerts (``/``), and the devices by province and state (``/devices``)."""

from __future__ import annotations

from starlette.authentication import requires

from central import status
from central.web.site import LOGGED_IN, bad_request, page, province_of, site_of, twin


def _state(request):
    """The ``state`` filter: (state, None), or (None, the refusal)."""
    state = request.query_params.get("state") or None
    if state and state not in status.STATES:
        return None, bad_request(request, f"state: expected one of {', '.join(status.STATES)}, got {state!r}")
    return state, None


@requires(LOGGED_IN, status_code=401)
def fleet_page(request):
    site = site_of(request)
    state, refused = _state(request)
    if refused:
        return refused
    province = province_of(request)
    day = site.today()
    view = status.fleet_view(site.fleet, day=day, province=province, state=state)
    data = {"date": view["date"], "province": province, "provinces": view["provinces"], "totals": view["totals"],
            "alerts": status.alerts(site.fleet, day=day, province=province), "unreadable": view["unreadable"]}
    if province or state:
        data["devices"] = view["devices"]
    return page(request, "fleet.html", data, nav="fleet", states=status.STATES, request_state=state)


@requires(LOGGED_IN, status_code=401)
def devices_page(request):
    site = site_of(request)
    state, refused = _state(request)
    if refused:
        return refused
    province = province_of(request)
    view = status.fleet_view(site.fleet, day=site.today(), province=province, state=state)
    data = {"date": view["date"], "province": province, "state": state, "devices": view["devices"],
            "unreadable": view["unreadable"]}
    return page(request, "devices.html", data, nav="devices", states=status.STATES)


routes = [
    *twin("/", fleet_page, api="/api/fleet", name="fleet"),
    *twin("/devices", devices_page, api="/api/devices", name="devices"),
]
