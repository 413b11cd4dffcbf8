"""`pishkhan schedule` end to end: validate, sign, verify, install, show, as a user runs it."""

from __future__ import annotations

import json
import os
from importlib import resources

import pytest
from cli_runner import run
from schedule_helpers import holidays_doc, schedule_doc

SAMPLE = resources.files("pishkhan.data").joinpath("sample_schedule.json")


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ, PISHKHAN_STATE_DIR=str(tmp_path / "state"))
    e.pop("PISHKHAN_CONFIG", None)
    return e


def write(path, doc):
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_help_and_validate(tmp_path, env):
    for args in (["schedule", "--help"], ["schedule", "show", "--help"], ["schedule", "install", "--help"]):
        assert "usage: pishkhan schedule" in run(*args, env=env).stdout
    out = run("schedule", "validate", SAMPLE, env=env).stdout
    assert out.endswith("valid; schedule province:23 v1, effective 2026-03-21, 3 exceptions\n")
    doc = schedule_doc()
    doc["week"]["sunday"] = ["07:30-12:00", "11:00-14:00"]
    doc["exceptions"] = [{"kind": "closure", "date": "1405-09-24", "reason": "آلودگی هوا"}]
    proc = run("schedule", "validate", write(tmp_path / "bad.json", doc), env=env, ok=False)
    assert proc.stdout.splitlines()[0].endswith("bad.json: 2 error(s)")
    assert 'week.sunday[1]: "11:00-14:00" must start after the previous shift ends at 12:00' in proc.stdout
    assert 'exceptions[0].date: must be a Gregorian date (2000-2199), got "1405-09-24", which looks like a Jalali date' in proc.stdout
    hol = run("schedule", "validate", write(tmp_path / "h.json", holidays_doc()), env=env).stdout
    assert "valid; holidays national v1, effective 2026-03-21, covers 2026-03-21 to 2027-03-20, 0 holiday entries" in hol


def test_sign_trust_install_show(tmp_path, env):
    keys = tmp_path / "keys"
    run("keys", "new", "--out", keys, "--name", "tehran", env=env)
    signed = tmp_path / "signed.json"
    code = run("schedule", "sign", SAMPLE, "--key", keys / "tehran.key", "--out", signed, env=env).stdout.split()[-1]
    assert run("schedule", "verify", signed, "--trust", keys / "tehran.pub", env=env).stdout.endswith(code + "\n")
    assert "no issuer key is trusted" in run("schedule", "install", signed, env=env, ok=False).stderr

    # Before any schedule: the configuration's hours, and show says so
    before = run("schedule", "show", "--at", "2026-12-15T10:00", "--days", "1", env=env).stdout
    assert "no signed schedule in effect: the weekly hours of the configuration apply" in before
    assert "nothing installed is in effect: no holidays are applied" in before
    assert "باز است تا ۱۴:۳۰" in before

    run("keys", "trust", keys / "tehran.pub", "--scope", "province:23", "--label", "کارگروه تهران", env=env)
    assert f"installed schedule province:23 v1 (now in effect); verification code {code}" in \
        run("schedule", "install", signed, env=env).stdout
    assert "not newer than the installed version 1" in run("schedule", "install", signed, env=env, ok=False).stderr

    assert "no national holiday list in effect: the built-in calendar (holidays package) serves" in \
        run("schedule", "show", "--days", "1", env=env).stdout
    shown = json.loads(run("schedule", "show", "--json", "--history", "--at", "2026-12-15T10:00", "--days", "3",
                           env=env).stdout)
    assert [(d["kind"], d["scope"], d["verification_code"]) for d in shown["in_effect"]] == \
        [("schedule", "province:23", code)]
    assert shown["now"] == {"at": "2026-12-15T10:00:00+03:30", "open": False, "closes_at": None,
                            "next_open": "2026-12-17T07:30:00+03:30"}
    assert [(d["date"], d["kind"]) for d in shown["days"]] == \
        [("2026-12-15", "closure"), ("2026-12-16", "closure"), ("2026-12-17", "weekly")]
    assert shown["days"][0]["text"] == "تعطیل (تعطیلی ادارات استان تهران به دلیل آلودگی هوا)"
    assert shown["days"][2]["text"] == "۰۷:۳۰ تا ۱۲:۳۰" and shown["days"][2]["source"] == "schedule province:23 v1"
    assert len(shown["history"]) == 1 and shown["history"][0]["source"] == "cli"

    text = run("schedule", "show", "--at", "2027-03-14T13:00", "--days", "1", env=env).stdout
    assert "at 2027-03-14 13:00: بسته است؛ بازگشایی" in text and "ساعت ۱۶:۰۰" in text
    assert "۰۷:۳۰ تا ۱۲:۰۰، ۱۶:۰۰ تا ۱۹:۰۰ (افزایش ساعت کاری در روزهای پایانی سال)" in text

    # The province key may not sign the national holiday list; a national key may.
    hol = write(tmp_path / "hol.json", holidays_doc(holidays=[{"date": "2026-12-17", "reason": "تعطیل رسمی"}]))
    bad = tmp_path / "hol-province-key.json"
    run("schedule", "sign", hol, "--key", keys / "tehran.key", "--out", bad, env=env)
    assert "may sign only province:23 documents, but this holidays is for national" in \
        run("schedule", "install", bad, env=env, ok=False).stderr
    run("keys", "new", "--out", keys, "--name", "nation", env=env)
    run("keys", "trust", keys / "nation.pub", "--scope", "national", env=env)
    good = tmp_path / "hol-signed.json"
    run("schedule", "sign", hol, "--key", keys / "nation.key", "--out", good, env=env)
    assert "installed holidays national v1" in run("schedule", "install", good, env=env).stdout
    after = json.loads(run("schedule", "show", "--json", "--at", "2026-12-15T10:00", "--days", "3", env=env).stdout)
    # the 17th is now a holiday, the 18th a Friday, the 19th opens late (the sample's snow day)
    assert after["now"]["next_open"] == "2026-12-19T09:00:00+03:30"
    assert after["days"][2] | {"text": None} == {"date": "2026-12-17", "kind": "holiday", "shifts": [],
                                                 "reason": "تعطیل رسمی", "source": "holidays national v1", "text": None}

    # Tampered after signing: refused, nothing changes
    doc = json.loads(signed.read_text(encoding="utf-8"))
    doc["payload"]["version"] = 2
    doc["payload"]["week"]["friday"] = ["08:00-12:00"]
    assert "does not match the content" in run("schedule", "install", write(tmp_path / "t.json", doc), env=env,
                                               ok=False).stderr
    assert "invalid" in run("schedule", "sign", write(tmp_path / "x.json", {"format": "pishkhan.schedule/1"}),
                            "--key", keys / "tehran.key", "--out", tmp_path / "never.json", env=env, ok=False).stderr
    assert not (tmp_path / "never.json").exists()
    assert "--at must be YYYY-MM-DD" in run("schedule", "show", "--at", "tomorrow", env=env, ok=False).stderr


def test_the_compliance_report_judges_against_the_installed_schedule(tmp_path, env):
    keys = tmp_path / "keys"
    run("keys", "new", "--out", keys, env=env)
    run("keys", "trust", keys / "issuer.pub", "--scope", "province:23", env=env)

    def scheduled(day):
        report = json.loads(run("compliance", "report", "--date", day, "--json", env=env).stdout)
        return report["scheduled_minutes"], [(p["start"], p["end"]) for p in report["periods"]]

    assert scheduled("2026-11-28") == (420, [("2026-11-28T04:00:00.000000Z", "2026-11-28T11:00:00.000000Z")])
    doc = schedule_doc(exceptions=[
        {"kind": "hours", "date": "2026-11-28", "shifts": ["07:30-10:30"], "reason": "کاهش ساعت کاری"},
        {"kind": "closure", "date": "2026-11-29", "reason": "تعطیلی به دلیل آلودگی هوا"}])
    signed = tmp_path / "s.json"
    run("schedule", "sign", write(tmp_path / "d.json", doc), "--key", keys / "issuer.key", "--out", signed, env=env)
    run("schedule", "install", signed, env=env)
    assert scheduled("2026-11-28") == (180, [("2026-11-28T04:00:00.000000Z", "2026-11-28T07:00:00.000000Z")])
    assert scheduled("2026-11-29") == (0, [])
