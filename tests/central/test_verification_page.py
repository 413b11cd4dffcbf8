"""The office page says, per day, whether the centre verified the office's report, over real HTTP."""

from __future__ import annotations

import json
import threading

import pytest
from fact_helpers import DAY, FactOffice, at, ordinary_day
from services import free_port, wait_for_port
from test_dashboard import PASSWORDS, get

from central.db import open_db
from central.fleet import Fleet
from central.users import Users
from central.web.app import create_app


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    import uvicorn

    tmp = tmp_path_factory.mktemp("verified")
    db = open_db(str(tmp / "fleet.db"))
    fleet = Fleet(db)
    (tmp / "a").mkdir()
    honest = FactOffice(tmp / "a", device="dev-0001")
    ordinary_day(honest)
    honest.report()
    honest.deliver(fleet)
    (tmp / "b").mkdir()
    cheat = FactOffice(tmp / "b", device="dev-0002")
    ordinary_day(cheat)
    cheat.deliver(fleet)
    cheat.edited_report(30)
    cheat.deliver(fleet)
    Users(db).add("admin", PASSWORDS["admin"])
    app = create_app(fleet, now=lambda: at(23, 0))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield {"url": f"http://127.0.0.1:{port}"}
    server.should_exit = True
    thread.join(timeout=10)
    for office in (honest, cheat):
        office.close()
    db.close()


def test_a_verified_day_says_so_in_persian_and_in_the_json(site):
    status, _, body = get(site, "/api/device/dev-0001", user="admin")
    assert status == 200
    verdicts = json.loads(body)["verdicts"]
    assert verdicts[0] | {"detail": None} == {"date": DAY.isoformat(), "ok": True, "reason": "verified",
                                              "text": "گزارش به تأیید مرکز رسید", "text_en": verdicts[0]["text_en"],
                                              "detail": None}
    assert [v["reason"] for v in verdicts[1:]] == ["no_report"] * 6
    status, _, html = get(site, "/device/dev-0001", user="admin")
    assert status == 200 and "گزارش به تأیید مرکز رسید" in html.decode()
    assert f'data-date="{DAY.isoformat()}" data-reason="verified"' in html.decode()


def test_a_report_that_is_not_the_centres_judgement_says_why(site):
    status, _, html = get(site, "/device/dev-0002", user="admin")
    page = html.decode()
    assert status == 200 and f'data-date="{DAY.isoformat()}" data-reason="report_differs"' in page
    assert "گزارش دفتر با داوری مرکز یکی نیست" in page and "گزارش به تأیید مرکز رسید" not in page
