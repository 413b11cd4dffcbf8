"""The fleet: counts by province and the alerts (``/``), and the devices by province and state (``/devices``).

A national user's fleet page also lists the quarantined devices (heard from, not in the registry,
counted nowhere); every device row carries how many of its messages the centre refused.
"""

from __future__ import annotations

import dataclasses

from starlette.authentication import requires

from central import device_list, status
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
    """One page of the devices: searched, filtered, sorted and paged in SQL (central/device_list.py)."""
    site = site_of(request)
    province = province_of(request)
    try:
        query = device_list.ListQuery.of(request.query_params, province=province)
    except device_list.ListRefused as e:
        return bad_request(request, f"{e.reason}: {e}")
    found = device_list.device_list(site.fleet.db, query, day=site.today(), now=site.clock())
    devices = certificates.with_states(site.fleet.db, _with_refusals(site.fleet.db, found["devices"],
                                       province=province), province=province, now=site.clock())
    data = {"date": site.today().isoformat(), "province": province, "state": query.state or None,
            "query": {k: v for k, v in dataclasses.asdict(query).items() if k != "province"},
            "total": found["total"], "page": found["page"], "pages": found["pages"], "size": found["size"],
            "versions": found["versions"], "devices": devices, "unreadable": found["unreadable"]}
    return page(request, "devices.html", data, nav="devices", sorts=device_list.SORTS,
                statuses=device_list.STATUSES, board_states=device_list.BOARD_STATES,
                day_states=device_list.DAY_STATES, pager=_pager(request))


def _pager(request):
    """A function: the list's address with *changes* to its parameters (``None`` drops one)."""
    from urllib.parse import urlencode

    def link(**changes):
        params = {k: v for k, v in request.query_params.items() if k not in changes and k != "format"}
        params.update({k: v for k, v in changes.items() if v not in (None, "")})
        return "/devices?" + urlencode(params)
    return link


routes = [
    *twin("/", fleet_page, api="/api/fleet", name="fleet"),
    *twin("/devices", devices_page, api="/api/devices", name="devices"),
]
