"""Installing schedules and holiday lists: signature, trust scope, office scope, versions, audit, history."""

from __future__ import annotations

import datetime as dt

import pytest
from schedule_helpers import holidays_doc, schedule_doc

from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.exc import ScheduleError, ScheduleInvalid, ScheduleRefused, SignatureInvalid
from pishkhan.schedule.installed import (current, generation, history, in_effect, install_schedule,
                                         pending)

TODAY = dt.date(2026, 12, 5)


def test_nothing_installs_without_a_trusted_key(sstore, province_key):
    with pytest.raises(SignatureInvalid, match="no issuer key is trusted"):
        install_schedule(sstore, province_key.sign(schedule_doc()), source="usb", actor="staff")
    assert history(sstore) == []
    assert sstore.audit_entries(action="schedule.refused")[0]["detail"]["reason"].startswith("no issuer key")


def test_forged_and_tampered_documents_are_refused_and_audited(sstore, install, trusted):
    stranger = SigningKey.generate()
    with pytest.raises(SignatureInvalid, match=f'"{stranger.public.fingerprint}" is not a trusted issuer key'):
        install_schedule(sstore, stranger.sign(schedule_doc()), source="centre", actor="agent")
    envelope = trusted.sign(schedule_doc())
    envelope["payload"]["week"]["friday"] = ["08:00-12:00"]  # changed after signing
    with pytest.raises(SignatureInvalid, match="does not match the content"):
        install_schedule(sstore, envelope, source="centre", actor="agent")
    with pytest.raises(SignatureInvalid, match="not a signed document"):
        install_schedule(sstore, schedule_doc(), source="centre", actor="agent")
    assert history(sstore) == []
    refusals = sstore.audit_entries(action="schedule.refused")
    assert len(refusals) == 3 and all(r["subject"] == "centre" and r["actor"] == "agent" for r in refusals)
    assert isinstance(SignatureInvalid("x"), ScheduleError)  # one except clause catches every refusal


def test_an_invalid_signed_schedule_is_refused(sstore, install):
    doc = schedule_doc()
    doc["week"]["sunday"] = ["12:00-08:00"]
    with pytest.raises(ScheduleInvalid, match="week.sunday"):
        install(doc)
    assert history(sstore) == [] and len(sstore.audit_entries(action="schedule.refused")) == 1


def test_key_scope_province_and_office_are_checked(sstore, install):
    tehran_key = SigningKey.generate()
    trust_key(sstore, tehran_key.public, scope="province:23", actor="test")
    with pytest.raises(ScheduleRefused, match="may sign only province:23 documents, but this schedule is for national"):
        install(schedule_doc(level="national"), key=tehran_key)
    with pytest.raises(ScheduleRefused, match="may sign only province:23 documents, but this holidays is for province:11"):
        install(holidays_doc(level="province", province="11"), key=tehran_key)
    with pytest.raises(ScheduleRefused, match="schedule is for province 11, this office is in province 23"):
        install(schedule_doc(province="11"))
    with pytest.raises(ScheduleRefused, match="schedule is for office 23-9999, this office is 23-1234"):
        install(schedule_doc(level="office", office="23-9999"))
    assert install(schedule_doc(), key=tehran_key).document.scope.key == "province:23"
    assert install(schedule_doc(level="office", office="23-1234")).document.scope.key == "office:23-1234"
    assert len(sstore.audit_entries(action="schedule.refused")) == 4


def test_versions_newer_replaces_older_and_replays_are_refused(sstore, install):
    install(schedule_doc(version=2))
    for v in (2, 1):
        with pytest.raises(ScheduleRefused, match=f"schedule version {v} for province:23 is not newer than "
                                                   "the installed version 2; the installed schedule stays"):
            install(schedule_doc(version=v))
    # kinds keep separate versions: a holiday list v1 still installs
    install(holidays_doc(version=1))
    v3 = install(schedule_doc(version=3, week=dict(schedule_doc()["week"], thursday=[])))
    now = current(sstore, "schedule", "province:23", TODAY)
    assert now.document.version == 3 and now.verification_code == v3.verification_code
    assert [h.document.version for h in history(sstore, "schedule")] == [2, 3]
    audit = sstore.audit_entries(action="schedule.install")
    assert [a["detail"]["version"] for a in audit] == [3, 2]
    assert audit[0]["detail"]["verification_code"] == v3.verification_code
    assert len(sstore.audit_entries(action="holidays.install")) == 1


def test_a_future_effective_date_waits(sstore, install):
    install(schedule_doc(version=1))
    install(schedule_doc(version=2, effective="2026-12-10"))
    assert current(sstore, "schedule", "province:23", TODAY).document.version == 1
    assert current(sstore, "schedule", "province:23", dt.date(2026, 12, 10)).document.version == 2
    assert [p.document.version for p in pending(sstore, TODAY)] == [2]
    assert pending(sstore, dt.date(2026, 12, 10)) == []
    on = in_effect(sstore, province="23", office="23-1234", on=TODAY)
    assert [(d.kind, d.document.scope.key, d.document.version) for d in on] == [("schedule", "province:23", 1)]


def test_the_envelope_is_kept_exactly_and_generation_moves(sstore, install, trusted):
    before = generation(sstore)
    envelope = trusted.sign(schedule_doc())
    installed = install_schedule(sstore, envelope, source="usb", actor="staff", province="23")
    assert generation(sstore) != before
    again = history(sstore)[0]
    assert again.envelope == envelope and again.source == "usb" and again.id == installed.id
    assert again.to_json()["verification_code"] == installed.verification_code


def test_unknown_source_is_refused(sstore, install):
    with pytest.raises(ScheduleRefused, match="source must be one of cli, usb, centre, got 'mqtt'"):
        install(schedule_doc(), source="mqtt")
