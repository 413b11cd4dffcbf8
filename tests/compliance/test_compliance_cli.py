"""`pishkhan compliance report` reads the same facts an inspector's device holds."""

from __future__ import annotations

import datetime as dt
import json
import os

from cli_runner import run

from pishkhan.compliance.uptime import beat
from pishkhan.hardware.clock import FakeClock
from pishkhan.store.database import Store
from pishkhan.text.jalali import TEHRAN

DAY = dt.date(2026, 11, 28)  # a Saturday: 07:30-14:30 in the default configuration


def test_report_for_a_past_day_as_json_and_text(tmp_path):
    env = dict(os.environ, PISHKHAN_STATE_DIR=str(tmp_path / "state"), PISHKHAN_CONFIG=str(tmp_path / "p.toml"))
    run("config", "init", "--out", tmp_path / "p.toml", env=env)
    clock = FakeClock(dt.datetime.combine(DAY, dt.time(7, 0), TEHRAN), synced=True)
    with Store(tmp_path / "state" / "pishkhan.db", clock=clock.now, boot=clock) as st:
        st.record_state("kiosk", "not_accepting", "no_counter")
        for minute in range(8 * 60):
            if minute == 50:  # 07:50: twenty minutes late
                st.record_state("counter:1", "open")
                st.record_state("kiosk", "accepting")
            beat(st, "agent")
            clock.advance(minutes=1)
    report = json.loads(run("compliance", "report", "--date", DAY.isoformat(), "--json", env=env).stdout)
    assert report["scheduled_minutes"] == 420
    assert (report["closed_minutes"], report["serving_minutes"], report["unknown_minutes"]) == (20, 400, 0)
    assert [e["kind"] for e in report["events"]] == ["late_opening"]
    assert report["device"] == "dev-0001" and report["tickets_issued"] == 0
    text = run("compliance", "report", "--date", DAY.isoformat(), env=env).stdout
    assert "late_opening" in text and "تأخیر در گشایش (late opening): 20" in text


def test_a_bad_date_is_refused_in_words(tmp_path):
    env = dict(os.environ, PISHKHAN_STATE_DIR=str(tmp_path / "state"))
    proc = run("compliance", "report", "--date", "1405-09-07x", env=env, ok=False)
    assert "--date: expected YYYY-MM-DD" in proc.stderr
