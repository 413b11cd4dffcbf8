"""The alerts page: the list filtered and paged, an open alert acknowledged by the logged-in user (who and
when kept), a province user limited to their province — over a real uvicorn."""

from __future__ import annotations

import json

from central.alerts import Alerting
from central.db import open_db
from central.fleet import Fleet
from central.web.app import create_app
from tests.central.dashboard_client import logged_in
from tests.central.test_alerts import NOW, device, later


def test_the_alert_list_filters_pages_and_acknowledges_in_the_users_scope(tmp_path):
    db = open_db(str(tmp_path / "fleet.db"))
    alerting = Alerting(db)
    alerting.rules.add(kind="offline", severity="critical", minutes=0, now=NOW)
    alerting.rules.add(kind="clock_unsynchronised", severity="warning", minutes=0, now=NOW)
    for n in range(3):
        device(db, f"t-{n}", province="23", online=False, last_seen=later(-1))
    device(db, "b-1", province="11", clock={"synchronized": False})
    alerting.evaluate(now=NOW)
    app = create_app(Fleet(db), now=lambda: later(2))
    with logged_in(db, app) as (url, c):
        status, _, body = c["admin"].get("/api/alerts?kind=offline")
        page = json.loads(body)
        assert status == 200 and page["total"] == 3 and {r["province"] for r in page["rows"]} == {"23"}
        status, _, body = c["admin"].get("/alerts")
        html = body.decode()
        assert status == 200 and html.count('data-alert="') == 4 and "ساعت همگام نیست" in html
        assert "خاموش یا قطع در ساعت کار" in html and "بحرانی" in html
        tabriz = next(r for r in json.loads(c["admin"].get("/api/alerts")[2])["rows"] if r["province"] == "11")
        assert [r["province"] for r in json.loads(c["ops11"].get("/api/alerts?province=23")[2])["rows"]] == ["11"]
        c["ops23"].get("/alerts")  # a form's token
        assert c["ops23"].post(f"/alerts/{tabriz['id']}/ack")[0] == 404  # another province's
        c["ops11"].get("/alerts")
        status, headers, _ = c["ops11"].post(f"/alerts/{tabriz['id']}/ack")
        assert status == 303 and headers["Location"] == "/alerts"
        acked = alerting.alert(tabriz["id"])
        assert (acked["state"], acked["acknowledged_by"], acked["acknowledged_at"]) == \
            ("acknowledged", "ops11", "2026-12-01T07:02:00.000Z")
        c["ops11"].get("/alerts?state=")
        assert c["ops11"].post(f"/api/alerts/{tabriz['id']}/ack")[0] == 409  # not open any more
        assert json.loads(c["admin"].get("/api/alerts?state=acknowledged")[2])["total"] == 1
        assert c["admin"].get("/alerts?state=gone")[0] == 400
        status, _, body = c["admin"].get("/api/alerts?state=unresolved&page=2")
        assert json.loads(body)["page"] == 1  # one page of 4: clamped
