"""Attacks on the alerts pages (central/web/alerts.py) by a logged-in user: another province's alert (seen,
acknowledged), alert ids and pages past any integer a database holds, filters that are not kinds or states.
Every answer is a page or a refusal, never a server error; a province user never touches another's alert."""

from __future__ import annotations

import pytest
from dashboard_client import TOKEN
from test_pages_hostile import login

from central.alerts import Alerting
from central.db import open_db
from central.fleet import Fleet
from central.users import Users
from central.web.app import create_app
from tests.central.test_alerts import NOW, device, later


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from starlette.testclient import TestClient

    db = open_db(str(tmp_path_factory.mktemp("alerts22") / "fleet.db"))
    alerting = Alerting(db)
    alerting.rules.add(kind="offline", severity="critical", minutes=0, now=NOW)
    device(db, "dev-11", province="11", online=False, last_seen=later(-10))
    device(db, "dev-23", province="23", online=False, last_seen=later(-10))
    alerting.evaluate(now=NOW)
    users = Users(db)
    users.add("admin", "centre-pass-1")
    users.add("ops23", "tehran-pass-2", province="23")
    app = create_app(Fleet(db), now=lambda: NOW, metrics_cache_seconds=0)
    clients = {}
    for name, password in (("admin", "centre-pass-1"), ("ops23", "tehran-pass-2")):
        clients[name] = TestClient(app, raise_server_exceptions=False).__enter__()
        login(clients[name], name, password)
    ids = {r["device_id"]: r["id"] for r in db.query("SELECT id, device_id FROM alerts")}
    yield {"db": db, "clients": clients, "ids": ids}
    for client in clients.values():
        client.__exit__(None, None, None)
    db.close()


def post(client, path):
    token = TOKEN.search(client.get("/alerts").text).group(1)
    return client.post(path, data={"csrf_token": token}, headers={"Accept": "application/json"},
                       follow_redirects=False)


def test_a_province_user_neither_sees_nor_acknowledges_another_provinces_alert(site):
    ops, other = site["clients"]["ops23"], site["ids"]["dev-11"]
    assert ops.get(f"/alerts/{other}").status_code == 404 and ops.get(f"/api/alerts/{other}").status_code == 404
    assert post(ops, f"/alerts/{other}/ack").status_code == 404
    assert post(ops, f"/api/alerts/{other}/ack").status_code == 404
    assert site["db"].query_one("SELECT state FROM alerts WHERE id = ?", (other,))["state"] == "open"
    listed = ops.get("/api/alerts?province=11&state=").json()
    assert [r["device_id"] for r in listed["rows"]] == ["dev-23"]
    assert post(ops, f"/api/alerts/{site['ids']['dev-23']}/ack").status_code == 200  # theirs: acknowledged


@pytest.mark.parametrize("path", ["/alerts/99999999999999999999", "/alerts/-1", "/alerts/0",
                                  "/alerts/1?page=99999999999999999999", "/alerts/1?page=-9",
                                  "/alerts?page=99999999999999999999", "/alerts?page=-1", "/alerts?page=١٢",
                                  "/alerts?kind=x", "/alerts?state=x", "/alerts?province=" + "9" * 300])
def test_hostile_alert_queries_answer(site, path):
    assert site["clients"]["admin"].get(path).status_code in (200, 400, 404), path


@pytest.mark.parametrize("alert_id", ["99999999999999999999", "-99999999999999999999", "-1", "0", "1e3"])
def test_acknowledging_an_alert_past_any_integer_is_not_found(site, alert_id):
    assert post(site["clients"]["admin"], f"/alerts/{alert_id}/ack").status_code == 404
