"""A schedule's version has the bounds and the step of every signed document's (they had drifted from boards')."""

from __future__ import annotations

import pytest
from schedule_helpers import holidays_doc

from pishkhan.exc import ScheduleError
from pishkhan.schedule.installed import history


@pytest.mark.parametrize("version", [2 ** 70, 2 ** 63, 2 ** 31])
def test_a_huge_version_is_refused_and_audited_not_an_overflow(install, sstore, sample_schedule, version):
    with pytest.raises(ScheduleError):
        install(sample_schedule | {"version": version})
    assert history(sstore) == []
    assert len(sstore.audit_entries(action="schedule.refused")) == 1


def test_a_version_may_not_jump_beyond_the_step(install, sstore, sample_schedule):
    install(sample_schedule)
    with pytest.raises(ScheduleError):
        install(sample_schedule | {"version": 2 ** 40})
    with pytest.raises(ScheduleError, match="at most 10,000 versions up"):
        install(sample_schedule | {"version": 10_002})
    with pytest.raises(ScheduleError, match="at most 10,000 versions up"):
        install(holidays_doc(version=10_001))
    install(sample_schedule | {"version": 10_001})  # within the step: installed
    assert [d.document.version for d in history(sstore)] == [1, 10_001]
