"""``/metrics``: Prometheus text of the fleet (a logged-in session, or HTTP basic auth through the doors)."""

from __future__ import annotations

import time

from starlette.authentication import requires
from starlette.responses import Response
from starlette.routing import Route

from central.web.site import LOGGED_IN, site_of


@requires(LOGGED_IN, status_code=401)
def metrics_page(request):
    """The exposition for the user's province (all for a national user), cached for a few seconds."""
    from central.metrics import exposition

    site = site_of(request)
    province = request.user.province
    cached = site.metrics_cache.get(province)
    if cached and time.monotonic() - cached[0] < site.metrics_cache_seconds:
        body = cached[1]
    else:
        body = exposition(site.fleet, today=site.today, province=province, extra=site.metrics, now=site.clock)
        site.metrics_cache[province] = (time.monotonic(), body)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


routes = [Route("/metrics", metrics_page, name="metrics")]
