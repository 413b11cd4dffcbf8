"""One office's past day as a timeline (central.timeline): from its stored report and from the facts the centre
re-judged, on SQLite and PostgreSQL; a day with nothing says so; a hostile stored report breaks nothing."""

from __future__ import annotations

import datetime as dt
import json

from fact_helpers import DAY, FactOffice, at
from test_verification import _official_schedule

from pishkhan.schedule.hours import Hours

from central import timeline
from central.fleet import Fleet

LATER = at(23, 0)


class ShortShift(Hours):
    """07:30-09:00 every day (a short day keeps the simulated minutes few)."""

    def periods(self, day):
        return [(at(7, 30, day), at(9, 0, day))]


def late_day(office: FactOffice, fleet):
    """The counter opens at 07:50, twenty minutes into the 07:30-09:00 shift; the day's report (its serving
    minutes edited down by 30) and its facts reach the centre."""
    o = office
    o.birth()
    o.fact("kiosk", "not_accepting", "closed")
    o.fact("printer", "ok")
    o.fact("counter:1", "closed")
    o.run_until(7, 50)
    o.fact("counter:1", "open")
    o.fact("kiosk", "accepting")
    o.run_until(9, 0)
    o.fact("counter:1", "closed")
    o.fact("kiosk", "not_accepting", "closed")
    o.run_until(9, 10)
    o.edited_report(30, hours=ShortShift())
    o.deliver(fleet)


def test_a_past_day_from_its_report_beside_the_centres_judgement(fleet_db, tmp_path):
    fleet, office = Fleet(fleet_db), FactOffice(tmp_path)
    late_day(office, fleet)
    day = timeline.office_day(fleet_db, office.device, DAY, now=LATER)
    report, centre = day["report"], day["centre"]
    assert [(r["state"], r["start"], r["end"]) for r in report["runs"]] == [
        ("closed", at(7, 30), at(7, 50)), ("serving", at(7, 50), at(9, 0))]
    late = [e for e in report["events"] if e["kind"] == "late_opening"]
    assert late and late[0]["start"] == at(7, 30) and late[0]["minutes"] == 20
    # the report's stated minutes are not the centre's: its verdict says so, and the centre's own judgement is shown
    assert day["verdict"]["reason"] == "report_differs"
    assert (report["totals"]["serving"], centre["totals"]["serving"]) == (40, 70) and centre["basis"] == "report"
    assert [r["state"] for r in centre["runs"]] == ["closed", "serving"]
    axis = day["axis"]
    assert (axis["start"].hour, axis["end"].hour) == (7, 9) and [t["left"] for t in axis["ticks"]] == [0, 50, 100]
    assert report["runs"][0]["left"] == 25 and report["runs"][0]["width"] == 16.667  # 07:30-07:50 of 07:00-09:00
    assert json.dumps(timeline.as_json(day))  # the JSON twin
    # a day the centre has nothing of: no report, no judgement, no axis (the page says so in a sentence)
    empty = timeline.office_day(fleet_db, office.device, DAY + dt.timedelta(days=1), now=LATER)
    assert (empty["report"], empty["centre"], empty["axis"]) == (None, None, None)
    assert empty["verdict"]["reason"] == "no_report"
    # no report, but the facts: the centre judges them over the office's official hours, when it holds them
    fleet_db.execute("DELETE FROM reports")
    assert timeline.office_day(fleet_db, office.device, DAY, now=LATER)["centre"] is None  # hours unknown
    _official_schedule(fleet_db, week="07:30-09:00")
    day = timeline.office_day(fleet_db, office.device, DAY, now=LATER)
    assert day["report"] is None and day["verdict"]["reason"] == "no_report" and day["centre"]["basis"] == "official"
    assert [(r["state"], r["minutes"]) for r in day["centre"]["runs"]] == [("closed", 20), ("serving", 70)]
    assert [e["kind"] for e in day["centre"]["events"]] == ["late_opening"]
    page = _page(day)
    assert 'id="no-report"' in page and 'id="bar-centre"' in page and "در ساعات رسمی این دفتر" in page
    office.close()


def _page(day: dict) -> str:
    """The past day's page drawn from *day* (as the dashboard draws it, without a server)."""
    from central.web import office_strings
    from central.web.render import render

    data = timeline.as_json(day) | {"office": {"device_id": "dev-0001", "office_id": "", "office_name": "",
                                               "province": "23"}}
    return render("office_day.html", t=data, data=data, w=office_strings, picked="", previous="", following="",
                  user=None, standalone=True, nav="", query="")


def test_a_hostile_stored_report_is_read_as_far_as_it_can_be(fleet_db):
    hostile = {"periods": [{"start": "2026-11-28T04:00:00Z", "end": "2026-11-28T11:00:00Z"}, "x",
                           {"start": "9999-01-01T00:00:00Z", "end": None}],
               "timeline": [{"state": "serving", "start": "2026-11-28T04:00:00Z", "end": "2026-11-28T05:00:00Z",
                             "why": "\u202eevil"},
                            {"state": "open!", "start": "2026-11-28T05:00:00Z", "end": "2026-11-28T06:00:00Z"},
                            {"state": "closed", "start": "2026-11-28T06:00:00Z", "end": "2026-11-28T05:00:00Z"},
                            {"state": "closed", "start": "2026-11-20T06:00:00Z", "end": "2026-11-28T05:00:00Z"},
                            [1, 2], None],
               "events": [{"kind": "late_opening", "start": "2026-11-28T04:00:00Z", "detail": "x"},
                          {"kind": {"a": 1}, "start": "2026-11-28T04:00:00Z"}, {"kind": "printer_out"}],
               "serving_minutes": 10 ** 30, "closed_minutes": -5, "complete": "yes"}
    for n, text in enumerate([json.dumps(hostile), "not json", "[1, 2]", json.dumps({"timeline": "x"})]):
        fleet_db.execute("INSERT INTO reports(device_id, date, province, report, received_at) VALUES (?,?,?,?,?)",
                         (f"dev-{n}", DAY.isoformat(), "23", text, "2026-11-28T12:00:00.000Z"))
    day = timeline.office_day(fleet_db, "dev-0", DAY, now=LATER)
    assert [r["state"] for r in day["report"]["runs"]] == ["serving"] and len(day["report"]["periods"]) == 1
    assert [e["kind"] for e in day["report"]["events"]] == ["late_opening"] and day["unreadable"] == 9
    assert day["report"]["totals"]["serving"] == 60 and day["report"]["complete"] is False
    for n in (1, 2):
        day = timeline.office_day(fleet_db, f"dev-{n}", DAY, now=LATER)
        assert day["report"] is None and day["unreadable"] == 1 and day["verdict"]["reason"] == "unreadable"
    assert timeline.office_day(fleet_db, "dev-3", DAY, now=LATER)["report"]["runs"] == []
