"""The fleet: counts by province and the alerts (``/``), and the devices by province and state (``/devices``).

A national user's fleet page also lists the quarantined devices (heard from, not in the registry,
counted nowhere); every device row carries how many of its messages the centre refused.
"""

from __future__ import annotations

from starlette.authentication import requires

from central import status
from central.freshness import freshness
from central.web import certificates, present
from central.web.site import LOGGED_IN, bad_request, page, province_of, site_of, twin


def _state(request):
    """The ``state`` filter: (state, None), or (None, the refusal)."""
    state = request.query_params.get("state") or None
    if state and state not in status.STATES:
        return None, bad_request(request, f"state: expected one of {', '.join(status.STATES)}, got {state!r}")
    return state, None


def _with_refusals(db, devices: list[dict], *, province: str | None) -> list[dict]:
    """*devices* each with ``refused``: how many of its messages the centre refused."""
    counts = present.refused_counts(db, province=province) if devices else {}
    return [d | {"refused": counts.get(d["device_id"], 0)} for d in devices]


@requires(LOGGED_IN, status_code=401)
def fleet_page(request):
    site = site_of(request)
    state, refused = _state(request)
    if refused:
        return refused
    province = province_of(request)
    day = site.today()
    view = status.fleet_view(site.fleet, day=day, province=province, state=state, now=site.clock())
    alerts = present.follow_late_alerts(site.fleet.db, present.with_mismatches(
        status.alerts(site.fleet, day=day, province=province)))
    data = {"date": view["date"], "province": province, "provinces": view["provinces"], "totals": view["totals"],
            "alerts": alerts, "unreadable": view["unreadable"],
            "freshness": present.freshness_line(freshness(site.fleet.db, province=province, now=site.clock()))}
    if province or state:
        data["devices"] = certificates.with_states(site.fleet.db, _with_refusals(site.fleet.db, view["devices"],
                                                   province=province), province=province, now=site.clock())
    if not request.user.province:  # a province user never sees devices no province holds
        data["quarantine"] = present.quarantine(site.fleet.db)
    return page(request, "fleet.html", data, nav="fleet", states=status.STATES, request_state=state)


@requires(LOGGED_IN, status_code=401)
def devices_page(request):
    site = site_of(request)
    state, refused = _state(request)
    if refused:
        return refused
    province = province_of(request)
    view = status.fleet_view(site.fleet, day=site.today(), province=province, state=state, now=site.clock())
    devices = certificates.with_states(site.fleet.db, _with_refusals(site.fleet.db, view["devices"],
                                       province=province), province=province, now=site.clock())
    data = {"date": view["date"], "province": province, "state": state, "devices": devices,
            "unreadable": view["unreadable"]}
    return page(request, "devices.html", data, nav="devices", states=status.STATES)


routes = [
    *twin("/", fleet_page, api="/api/fleet", name="fleet"),
    *twin("/devices", devices_page, api="/api/devices", name="devices"),
]
