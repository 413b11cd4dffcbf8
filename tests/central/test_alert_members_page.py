"""A grouped alert on the alerts page: its offices (the first few, "and N more", each a link to the office's
page), all of them paged on the alert's own page, the webhook's delivery state in Persian; a member that
clears and comes back joins again; the alert resolves when every member has cleared — over a real uvicorn."""

from __future__ import annotations

import json
import re
import socket

from central.alert_notify import AlertWatcher, Webhook
from central.alerts import Alerting
from central.db import open_db
from central.fleet import Fleet
from central.web.app import create_app
from tests.central.dashboard_client import logged_in
from tests.central.test_alerts import NOW, device, later


def test_a_grouped_alert_shows_its_offices_and_its_delivery_and_resolves_when_all_clear(tmp_path):
    db = open_db(str(tmp_path / "fleet.db"))
    alerting = Alerting(db)
    alerting.rules.add(kind="offline", severity="critical", minutes=0, group_at=10, now=NOW)
    for n in range(12):
        device(db, f"g-{n:02d}", province="23", online=False, last_seen=later(-1))
    with socket.socket() as s:  # the webhook's receiver is down: the page says it will be tried again
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    [(change, delivery)] = AlertWatcher(db, webhook=Webhook(closed, timeout=2), clock=lambda: NOW).once()
    group = change.alert
    assert group["grouped"] and delivery.reason == "unreachable"
    device(db, "g-03", province="23", last_seen=later(1))  # one back
    assert alerting.evaluate(now=later(1)) == []
    app = create_app(Fleet(db), now=lambda: later(2))
    with logged_in(db, app) as (url, c):
        status, _, body = c["admin"].get("/alerts")
        html = body.decode()
        assert status == 200
        row = re.search(r'<tr data-alert="%d".*?</tr>' % group["id"], html, re.S).group(0)
        assert "۱۲ دستگاه با هم" in row and "۱۱ هنوز درگیر" in row
        shown = re.findall(r'<a href="/device/(g-\d\d)" data-member="\1">دفتر \1</a>', row)
        assert shown == ["g-00", "g-01", "g-02", "g-03", "g-04"]
        assert f'<a href="/alerts/{group["id"]}" class="more">و ۷ دفتر دیگر</a>' in row
        assert 'data-delivery="retrying"' in row and "ارسال نشد؛ تلاش دوباره در ۱۰ آذر ۱۴۰۵، ۱۰:۳۰" in row
        status, _, body = c["admin"].get(f"/alerts/{group['id']}")
        html = body.decode()
        assert status == 200 and len(re.findall(r'<tr data-member="g-\d\d"', html)) == 12
        assert 'data-member="g-03" data-cleared="yes"' in html and 'href="/device/g-11"' in html
        assert "ارسال نشد؛ تلاش دوباره در" in html
        api = json.loads(c["admin"].get(f"/api/alerts/{group['id']}")[2])
        assert (api["members"]["total"], api["members"]["affected"]) == (12, 11)
        assert c["ops11"].get(f"/alerts/{group['id']}")[0] == 404  # another province's
        assert c["ops23"].get(f"/alerts/{group['id']}")[0] == 200
        assert c["admin"].get("/alerts/99999")[0] == 404 and c["admin"].get("/alerts/x")[0] == 404
    paged = alerting.members(group["id"], page=3, per_page=5)
    assert ([m["device_id"] for m in paged["rows"]], paged["pages"]) == (["g-10", "g-11"], 3)
    device(db, "g-03", province="23", online=False, last_seen=later(2))  # dark again: a member again
    assert alerting.evaluate(now=later(3)) == []
    assert alerting.members(group["id"])["affected"] == 12
    for n in range(11):
        device(db, f"g-{n:02d}", province="23", last_seen=later(4))
    assert alerting.evaluate(now=later(4)) == []  # g-11 still dark
    device(db, "g-11", province="23", last_seen=later(5))
    [resolved] = alerting.evaluate(now=later(5))
    assert (resolved.event, resolved.alert["id"], resolved.alert["state"]) == ("resolved", group["id"], "resolved")
    assert alerting.members(group["id"])["affected"] == 0
    db.close()
