"""The one install path: the same hostile envelopes against every kind of signed document, the same refusal."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
from release_helpers import live_dates, release_doc

from pishkhan.boards.installed import install_board
from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.boards.trustlist import VERSION_SETTING, install_trust_list
from pishkhan.exc import REASONS, BoardError, Refused, ScheduleError
from pishkhan.releases.installed import install_release
from pishkhan.schedule.installed import install_schedule

OFFICE = {"province": "23", "office": "23-1234"}


def _data(name: str) -> dict:
    return json.loads(resources.files("pishkhan.data").joinpath(name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def keys() -> dict:
    """national: trusted for national documents; office: for office 23-1234; stranger: not trusted."""
    return {name: SigningKey.generate() for name in ("national", "office", "stranger")}


@pytest.fixture(scope="module")
def added_key() -> str:
    return SigningKey.generate().public.pem()


class Board:
    name, refused_action, error = "board", "board.refused", BoardError

    def __init__(self, keys, added):
        self.base = _data("sample_board.json")

    def doc(self, version, *, scope=None):
        return copy.deepcopy(self.base) | {"version": version, "scope": scope or {"level": "national"}}

    def install(self, store, envelope):
        return install_board(store, envelope, source="centre", actor="test", **OFFICE)

    def count(self, store):
        return store.query_one("SELECT COUNT(*) FROM boards")[0]


class Schedule(Board):
    name, refused_action, error = "schedule", "schedule.refused", ScheduleError

    def __init__(self, keys, added):
        self.base = _data("sample_schedule.json")

    def install(self, store, envelope):
        return install_schedule(store, envelope, source="centre", actor="test", **OFFICE)

    def count(self, store):
        return store.query_one("SELECT COUNT(*) FROM schedule_documents")[0]


class Holidays(Schedule):
    name = "holidays"

    def __init__(self, keys, added):
        self.base = {"format": "pishkhan.holidays/1", "issuer": "مرکز", "effective_from": "2026-03-21",
                     "covers": {"from": "2026-03-21", "to": "2027-03-20"},
                     "holidays": [{"date": "2026-03-21", "reason": "عید نوروز"}]}


class Trust(Board):
    name, refused_action, error = "trust", "trust.refused", Refused

    def __init__(self, keys, added):
        self.base = {"format": "pishkhan.trust/1", "issuer": "مرکز",
                     "add": [{"pem": added, "scope": "command", "label": "ops"}]}

    def doc(self, version, *, scope=None):
        return copy.deepcopy(self.base) | {"version": version}

    def install(self, store, envelope):
        return install_trust_list(store, envelope, source="centre", actor="test")

    def count(self, store):
        return store.get_setting(VERSION_SETTING, 0)


class Release(Board):
    name, refused_action, error = "release", "release.refused", Refused  # forged: SignatureInvalid, as for trust

    def __init__(self, keys, added):
        self.base = release_doc() | live_dates()

    def install(self, store, envelope):
        return install_release(store, envelope, source="centre", actor="test", device="dev-0001", **OFFICE)

    def count(self, store):
        return store.query_one("SELECT COUNT(*) FROM release_documents")[0]


class Circulars(Board):
    name, refused_action, error = "circulars", "circulars.refused", Refused  # forged: SignatureInvalid

    def __init__(self, keys, added):
        from circular_helpers import index

        self.base = index()

    def install(self, store, envelope):
        from pishkhan.circulars.installed import install_circulars

        return install_circulars(store, envelope, source="centre", actor="test", **OFFICE)

    def count(self, store):
        return store.query_one("SELECT COUNT(*) FROM circular_indexes")[0]


KINDS = [Board, Schedule, Holidays, Trust, Release, Circulars]


def _tampered(keys, kind):
    envelope = keys["national"].sign(kind.doc(2))
    envelope["payload"]["version"] = 3
    return envelope


#: (case, envelopes to install first, the hostile envelope, the refusal every kind gives).
CASES = [
    ("huge version", [], lambda k, kind: k["national"].sign(kind.doc(2 ** 70)), "invalid"),
    ("negative version", [], lambda k, kind: k["national"].sign(kind.doc(-1)), "invalid"),
    ("version zero", [], lambda k, kind: k["national"].sign(kind.doc(0)), "invalid"),
    ("a version jump beyond the step", [1], lambda k, kind: k["national"].sign(kind.doc(10_002)), "too_far"),
    ("a first version beyond the step", [], lambda k, kind: k["national"].sign(kind.doc(2 ** 31 - 1)), "too_far"),
    ("a key of another scope", [], lambda k, kind: k["office"].sign(kind.doc(1)), "wrong_scope"),
    ("a stranger's key", [], lambda k, kind: k["stranger"].sign(kind.doc(1)), "untrusted_key"),
    ("changed after signing", [], _tampered, "forged"),
    ("no signature", [], lambda k, kind: {"format": "pishkhan.signed/1", "payload": kind.doc(1)}, "forged"),
    ("the same envelope again", [1], lambda k, kind: k["national"].sign(kind.doc(1)), "replayed"),
    ("an older version", [2], lambda k, kind: k["national"].sign(kind.doc(1)), "older"),
    ("the same version re-signed", [2], lambda k, kind: k["national"].sign(kind.doc(2) | {"issuer": "دیگر"}),
     "older"),
    ("a payload that is not an object", [], lambda k, kind: k["national"].sign([1, 2]), "malformed"),
    ("not an envelope", [], lambda k, kind: "a string", "malformed"),
]


@pytest.fixture
def trusted_store(store, keys):
    trust_key(store, keys["national"].public, scope="national", actor="test")
    trust_key(store, keys["office"].public, scope="office:23-1234", actor="test")
    return store


@pytest.mark.parametrize("kind_class", KINDS, ids=lambda k: k.__name__.lower())
@pytest.mark.parametrize("case, before, hostile, reason", CASES, ids=[c[0] for c in CASES])
def test_the_same_hostile_envelope_gets_the_same_refusal_for_every_kind(trusted_store, keys, added_key, kind_class,
                                                                       case, before, hostile, reason):
    kind = kind_class(keys, added_key)
    store = trusted_store
    for version in before:  # Ed25519 is deterministic: "the same envelope again" signs the very same bytes
        kind.install(store, keys["national"].sign(kind.doc(version)))
    installed = kind.count(store)
    envelope = hostile(keys, kind)
    with pytest.raises(Refused) as refused:
        kind.install(store, envelope)
    assert refused.value.reason == reason, str(refused.value)
    assert isinstance(refused.value, kind.error) and reason in REASONS
    assert kind.count(store) == installed  # nothing changed
    audit = store.audit_entries(action=kind.refused_action)[0]
    assert audit["detail"]["code"] == reason and audit["detail"]["reason"] == str(refused.value)


@pytest.mark.parametrize("kind_class", [Board, Schedule, Holidays, Release, Circulars], ids=lambda k: k.__name__.lower())
def test_a_document_for_another_province_is_the_wrong_scope_for_every_scoped_kind(trusted_store, keys, added_key,
                                                                                 kind_class):
    kind = kind_class(keys, added_key)
    trust_key(trusted_store, keys["stranger"].public, scope="any", actor="test")
    with pytest.raises(Refused) as refused:
        kind.install(trusted_store, keys["stranger"].sign(kind.doc(1, scope={"level": "province", "province": "07"})))
    assert refused.value.reason == "wrong_scope" and kind.count(trusted_store) == 0


@pytest.mark.parametrize("kind_class", KINDS, ids=lambda k: k.__name__.lower())
def test_every_kind_counts_up_within_the_step(trusted_store, keys, added_key, kind_class):
    kind = kind_class(keys, added_key)
    for version in (1, 10_001, 20_001):
        kind.install(trusted_store, keys["national"].sign(kind.doc(version)))
    assert kind.count(trusted_store) in (3, 20_001)


def test_a_refusal_names_a_listed_reason_or_is_a_mistake():
    with pytest.raises(ValueError, match="unknown refusal reason"):
        Refused("whatever", reason="not_newer")
    assert all(len(words) == 2 and all(words) for words in REASONS.values())


def test_the_staff_screen_reads_the_reason_not_the_message():
    from kiosk.staff import refusal_kind
    from pishkhan.exc import BoardFileError, BoardInvalid, BoardRefused, SignatureInvalid

    assert refusal_kind(BoardRefused("board version 9 … is not newer than …", reason="wrong_scope")) == "scope"
    assert refusal_kind(BoardRefused("board version 20,000 is 19,999 above …", reason="too_far")) == "version"
    assert refusal_kind(BoardRefused("…", reason="replayed")) == refusal_kind(BoardRefused("…", reason="older")) \
        == "version"
    assert refusal_kind(SignatureInvalid("…")) == "signature"
    assert refusal_kind(BoardFileError("…")) == refusal_kind(OSError("…")) == "file"
    assert refusal_kind(BoardInvalid(["…"])) == "invalid"


def test_every_refusal_reason_is_documented_once_in_the_protocol():
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "mqtt.md").read_text(encoding="utf-8")
    table = text[text.index("### Refusal reasons"):]
    rows = [line.split("|")[1].strip().strip("`") for line in table.splitlines() if line.startswith("| `")]
    assert sorted(rows) == sorted(REASONS)
