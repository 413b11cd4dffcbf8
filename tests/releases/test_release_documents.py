"""Release documents: the refusals of the install path, scope precedence, the window, canaries, the decision."""

from __future__ import annotations

import datetime as dt

import pytest
from release_helpers import release_doc

from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.exc import ReleaseRefused
from pishkhan.releases import WAIT_REASONS, decide
from pishkhan.releases.document import compare_versions, parse_release
from pishkhan.releases.installed import canary_bucket, in_force, install_release, is_canary
from pishkhan.releases.window import may_start
from pishkhan.schedule.hours import WeeklyHours
from pishkhan.store.database import Store
from pishkhan.text.jalali import TEHRAN

OFFICE = {"province": "23", "office": "OFF-1", "device": "dev-0001"}
#: Open 08:00-14:00 every day, Tehran time.
HOURS = WeeklyHours({day: [(dt.time(8), dt.time(14))] for day in range(7)})


def tehran(hh, mm=0, day=10):
    return dt.datetime(2026, 12, day, hh, mm, tzinfo=TEHRAN)


class Clock:
    def __init__(self, at):
        self.at = at

    def __call__(self):
        return self.at


@pytest.fixture(scope="module")
def keys():
    return {name: SigningKey.generate() for name in ("national", "province", "office", "stranger")}


@pytest.fixture
def clock():
    return Clock(tehran(23))


@pytest.fixture
def rstore(tmp_path, keys, clock):
    with Store(tmp_path / "pishkhan.db", clock=clock) as store:
        trust_key(store, keys["national"].public, scope="national", actor="test")
        trust_key(store, keys["province"].public, scope="province:23", actor="test")
        trust_key(store, keys["office"].public, scope="office:OFF-1", actor="test")
        yield store


def install(store, envelope):
    return install_release(store, envelope, source="centre", actor="test", **OFFICE)


def refusal(store, envelope) -> str:
    with pytest.raises(ReleaseRefused) as refused:
        install(store, envelope)
    return refused.value.reason


# -- refusals ------------------------------------------------------------------------------
def test_refusals_of_the_install_path(rstore, keys, clock):
    n, p = keys["national"], keys["province"]
    province = {"level": "province", "province": "23"}
    assert refusal(rstore, n.sign(release_doc(1, expires="2026-12-09T00:00:00Z"))) == "expired"
    assert refusal(rstore, p.sign(release_doc(1, scope=province, rollback=True))) == "wrong_scope"
    assert refusal(rstore, p.sign(release_doc(1, scope=province, urgent=True))) == "wrong_scope"
    assert refusal(rstore, p.sign(release_doc(1))) == "wrong_scope"  # a province key, a national document
    assert refusal(rstore, n.sign(release_doc(1, scope={"level": "device", "device": "dev-0002"}))) == "wrong_scope"
    assert refusal(rstore, n.sign(release_doc(1, scope={"level": "office", "office": "OFF-2"}))) == "wrong_scope"
    assert refusal(rstore, keys["office"].sign(release_doc(1, scope={"level": "device", "device": "dev-0001"}))) \
        == "wrong_scope"  # a device's own document needs a national key
    assert refusal(rstore, n.sign(release_doc(1, window={"start": "25:00", "end": "05:00"}))) == "invalid"
    assert refusal(rstore, n.sign(release_doc(1, package={"sha256": "AB" * 32}))) == "invalid"
    assert refusal(rstore, n.sign(release_doc(1, expires="2027-06-01T00:00:00Z"))) == "invalid"  # > 90 days
    assert refusal(rstore, n.sign(release_doc(1) | {"channel": "beta"})) == "malformed"
    assert rstore.query_one("SELECT COUNT(*) FROM release_documents")[0] == 0
    # the national key may sign rollback, urgent and a device's own document; the province key its province's
    install(rstore, n.sign(release_doc(1, rollback=True, urgent=True)))
    install(rstore, n.sign(release_doc(1, scope={"level": "device", "device": "dev-0001"})))
    install(rstore, p.sign(release_doc(1, scope=province)))
    assert refusal(rstore, n.sign(release_doc(1, rollback=True, urgent=True))) == "replayed"
    assert refusal(rstore, n.sign(release_doc(1, issuer="دیگر"))) == "older"
    assert [e["detail"]["code"] for e in rstore.audit_entries(action="release.refused", limit=3)] == \
        ["older", "replayed", "malformed"]


def test_debian_version_rules():
    assert compare_versions("0.9.0+20261207101500", "0.9.0") > 0
    assert compare_versions("0.10.0", "0.9.0") > 0  # not a string comparison
    assert compare_versions("1.0~rc1", "1.0") < 0
    assert compare_versions("1:0.1", "9.9") > 0  # the epoch wins
    assert compare_versions("0.9.0", "0.9.0") == 0


# -- precedence ----------------------------------------------------------------------------
def test_the_most_specific_scope_wins_then_the_highest_version(rstore, keys, clock):
    n, p, o = keys["national"], keys["province"], keys["office"]
    def force():
        doc = in_force(rstore, device="dev-0001", office="OFF-1", province="23")
        return (doc.release.scope.key, doc.release.version) if doc else None

    assert force() is None
    install(rstore, n.sign(release_doc(1)))
    install(rstore, n.sign(release_doc(2)))
    assert force() == ("national", 2)
    install(rstore, p.sign(release_doc(1, scope={"level": "province", "province": "23"})))
    assert force() == ("province:23", 1)
    install(rstore, n.sign(release_doc(5)))
    assert force() == ("province:23", 1)  # a newer national document does not beat the province's
    install(rstore, o.sign(release_doc(1, scope={"level": "office", "office": "OFF-1"},
                                       expires="2026-12-12T00:00:00Z")))
    assert force() == ("office:OFF-1", 1)
    install(rstore, n.sign(release_doc(1, scope={"level": "device", "device": "dev-0001"},
                                       expires="2026-12-11T00:00:00Z")))
    assert force() == ("device:dev-0001", 1)
    clock.at = tehran(12, day=11)  # the device's document expired: the office's is in force again
    assert force() == ("office:OFF-1", 1)
    clock.at = tehran(12, day=12)
    assert force() == ("province:23", 1)
    assert in_force(rstore, device="dev-0009", office="OFF-9", province="07") \
        .release.scope.key == "national"


# -- the window ------------------------------------------------------------------------------
def doc(**fields):
    return parse_release(release_doc(1, **fields))


@pytest.mark.parametrize("at, fields, reason", [
    (tehran(23), {}, None),                                         # closed, inside 22:00-05:00
    (tehran(3), {}, None),                                          # over midnight, still inside
    (tehran(10), {}, "in_hours"),                                   # open
    (tehran(7, 40), {"window": {"start": "06:00", "end": "09:00"}}, "in_hours"),  # opens within 30 minutes
    (tehran(7, 20), {"window": {"start": "06:00", "end": "09:00"}}, None),        # 40 minutes before: may start
    (tehran(5, 30), {}, "outside_window"),                          # closed, but after the window's end
    (tehran(16), {}, "outside_window"),
    (tehran(16), {"window": None}, None),                           # no window: any time outside hours
    (tehran(10), {"urgent": True}, None),                           # urgent (national) skips hours and window
    (tehran(16), {"urgent": True}, None),
    (tehran(23), {"not_before": "2026-12-11T00:00:00Z"}, "not_yet"),
    (tehran(14, 0), {"window": {"start": "14:00", "end": "20:00"}}, None),        # closing time is closed
])
def test_may_start(at, fields, reason):
    release = doc(**fields)
    wait = may_start(at, release, HOURS, guard_minutes=30)
    assert (wait.reason if wait else None) == reason, wait
    assert wait is None or wait.reason in WAIT_REASONS


def test_the_guard_is_a_setting():
    release = doc(window={"start": "06:00", "end": "09:00"})
    assert may_start(tehran(7, 20), release, HOURS, guard_minutes=60).reason == "in_hours"


# -- canaries and the decision ------------------------------------------------------------------
def test_canaries_are_stable_and_grow_with_the_percentage():
    ids = [f"pi-{n:05d}" for n in range(10_000)]
    assert canary_bucket("pi-00001") == canary_bucket("pi-00001") == \
        int(__import__("hashlib").sha256(b"pi-00001").hexdigest()[:8], 16) % 10000
    five = {d for d in ids if is_canary(d, 5)}
    assert 400 <= len(five) <= 600
    assert five <= {d for d in ids if is_canary(d, 10)}  # a canary at 5 % stays one when promoted
    assert not any(is_canary(d, 0) for d in ids) and all(is_canary(d, 100) for d in ids)
    assert len({d for d in ids if is_canary(d, 0.5)}) < len(five)


def test_decide():
    now = tehran(23)
    kw = {"device_id": "dev-0001", "running": "0.8.0", "hours": HOURS}
    assert decide(now, doc(), **kw).start
    assert decide(now, doc(), **kw | {"running": "0.9.0"}).reason == "up_to_date"
    # The running version's document, its package not kept yet: asked for at once (only kept, the way back).
    running = kw | {"running": "0.9.0"}
    assert decide(tehran(10), doc(), **running | {"kept_versions": {"0.8.0"}}).start
    assert decide(tehran(10), doc(), **running | {"kept_versions": {"0.9.0"}}).reason == "up_to_date"
    assert decide(now, doc(halted=True), **kw).reason == "halted"
    lower = doc(package={"version": "0.7.0"})
    assert (decide(now, lower, **kw).state, decide(now, lower, **kw).reason) == ("refused", "downgrade")
    assert decide(now, doc(package={"version": "0.7.0"}, rollback=True), **kw).start
    assert decide(now, doc(min_version_to_upgrade_from="0.8.5"), **kw).reason == "too_old"
    assert decide(now, doc(), **kw | {"failed_versions": {"0.9.0"}}).reason == "failed_here"
    outsider = next(f"pi-{n}" for n in range(1000) if not is_canary(f"pi-{n}", 5))
    assert decide(now, doc(canary_percent=5), **kw | {"device_id": outsider}).reason == "not_canary"
    assert decide(tehran(10), doc(), **kw).reason == "in_hours"
    assert decide(tehran(12, day=10) + dt.timedelta(days=60), doc(), **kw).reason == "expired"
