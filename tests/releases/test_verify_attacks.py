"""Request files crafted by the agent's user (docs/security.md: ``pishkhan`` is less trusted than root):
``pishkhan update verify`` refuses every one the root updater must not act on, in process on a real store."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from release_helpers import release_doc

from central.trust import TrustList
from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.config import load_config
from pishkhan.releases.installed import install_release
from pishkhan.releases.verify import VerifyRefusal, verify_request
from pishkhan.store.database import Store
from pishkhan.text.jalali import TEHRAN

NATIONAL, PROVINCE, OTHER_PROVINCE = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
#: Root's anchor (update.release_keys): the same keys as the store's, with the same scopes.
ANCHOR = ((NATIONAL, "national"), (PROVINCE, "province:23"), (OTHER_PROVINCE, "province:05"))
#: Saturday 11:00 in Tehran: the office is open (the default weekly hours); 23:00: closed, inside the window.
IN_HOURS = dt.datetime(2026, 12, 12, 11, 0, tzinfo=TEHRAN)
NIGHT = dt.datetime(2026, 12, 12, 23, 0, tzinfo=TEHRAN)


@pytest.fixture
def device(tmp_path):
    config = tmp_path / "pishkhan.toml"
    anchor = tmp_path / "release-keys.pem"
    anchor.write_text("".join(TrustList.entry(k.public, s) for k, s in ANCHOR), encoding="utf-8")
    anchor.chmod(0o644)
    config.write_text(f'[device]\nid = "dev-0001"\nstate_dir = "{tmp_path / "state"}"\n'
                      '[office]\nprovince = "23"\noffice_id = "OFF-1"\n'
                      f'[update]\nrelease_keys = "{anchor}"\n', encoding="utf-8")
    cfg = load_config(config)
    with Store(cfg.store_path) as store:
        trust_key(store, NATIONAL.public, scope="national", actor="test")
        trust_key(store, PROVINCE.public, scope="province:23", actor="test")
        trust_key(store, OTHER_PROVINCE.public, scope="province:05", actor="test")
        yield cfg, store, tmp_path


def verify(device, request_body, *, now=NIGHT, running="0.8.0", raw: bytes | None = None):
    cfg, store, folder = device
    path = folder / "request.json"
    path.write_bytes(raw if raw is not None else json.dumps(request_body).encode())
    return verify_request(cfg, store, path, running=running, architecture="arm64", now=now, check_window=True)


def asked(envelope) -> dict:
    return {"envelope": envelope, "requested_at": "2026-12-12T19:30:00Z", "device_id": "dev-0001"}


def refused(device, body=None, **kw) -> str:
    with pytest.raises(VerifyRefusal) as e:
        verify(device, body, **kw)
    return e.value.reason


def test_the_plain_request_passes(device):
    assert verify(device, asked(NATIONAL.sign(release_doc(1))))["version"] == "0.9.0"


@pytest.mark.parametrize("case, envelope, reason", [
    ("another device's document", NATIONAL.sign(release_doc(1, scope={"level": "device", "device": "dev-0002"})),
     "wrong_scope"),
    ("another province's document", OTHER_PROVINCE.sign(release_doc(1, scope={"level": "province",
                                                                               "province": "05"})), "wrong_scope"),
    ("urgent from a province key", PROVINCE.sign(release_doc(1, scope={"level": "province", "province": "23"},
                                                             urgent=True)), "wrong_scope"),
    ("rollback from a province key", PROVINCE.sign(release_doc(1, scope={"level": "province", "province": "23"},
                                                               rollback=True)), "wrong_scope"),
    ("a province key signing national", PROVINCE.sign(release_doc(1)), "wrong_scope"),
    ("expired", NATIONAL.sign(release_doc(1, expires="2026-12-10T00:00:00Z")), "expired"),
    ("a package path into /etc", NATIONAL.sign(release_doc(1, package={"path": "../../../etc/shadow"})), None),
    ("a package path elsewhere on the centre", NATIONAL.sign(release_doc(1, package={"path": "enrol/v1/ca.pem"})),
     None),
    ("a board, not a release", NATIONAL.sign({"format": "pishkhan.board/1", "version": 1}), None),
    ("a forged signature", dict(NATIONAL.sign(release_doc(1)), payload=release_doc(1, package={"version": "9.9"})),
     None),
])
def test_a_crafted_request_is_refused(device, case, envelope, reason):
    got = refused(device, asked(envelope))
    assert got == reason if reason else got


def test_a_downgrade_without_the_national_rollback_flag_is_refused(device):
    assert refused(device, asked(NATIONAL.sign(release_doc(1))), running="1.0.0") == "downgrade"
    assert verify(device, asked(NATIONAL.sign(release_doc(1, rollback=True))), running="1.0.0")["rollback"] is True


def test_an_older_document_of_its_scope_replayed_is_refused(device):
    cfg, store, _ = device
    old = NATIONAL.sign(release_doc(1))
    install_release(store, NATIONAL.sign(release_doc(2, halted=True)), source="centre", actor="test")
    assert refused(device, asked(old)) == "older"


def test_in_office_hours_only_a_national_urgent_document_starts(device):
    assert refused(device, asked(NATIONAL.sign(release_doc(1))), now=IN_HOURS) == "in_hours"
    assert verify(device, asked(NATIONAL.sign(release_doc(1, urgent=True))), now=IN_HOURS)["urgent"] is True


def test_a_device_outside_the_canaries_cannot_start_a_canary_release_by_asking(device):
    """The agent's user writes a request for a release still in its canary stage on a device that is not a canary:
    root does not install it before the centre promotes it (canary_percent 100)."""
    from pishkhan.releases.installed import is_canary

    assert not is_canary("dev-0001", 5), "the test's device is not a 5 % canary"
    assert refused(device, asked(NATIONAL.sign(release_doc(1, canary_percent=5)))) == "not_canary"
    assert verify(device, asked(NATIONAL.sign(release_doc(1, canary_percent=100))))["version"] == "0.9.0"


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"envelope": "x"}', b"\xff\xfe", b"{" + b" " * 9_000_000 + b"}"])
def test_a_request_that_is_not_a_request_is_refused(device, raw):
    assert refused(device, raw=raw)


def test_a_key_the_agents_user_added_to_its_store_is_not_trusted_by_root(device):
    cfg, store, _ = device
    mine = SigningKey.generate()
    trust_key(store, mine.public, scope="national", actor="pishkhan")  # what the agent's user can do to its store
    assert refused(device, asked(mine.sign(release_doc(1, rollback=True, urgent=True))), running="1.0.0",
                   now=IN_HOURS) == "untrusted_key"


def test_a_key_the_agents_user_raised_to_national_in_its_store_keeps_its_anchor_scope(device):
    """The province key's store scope changed to national: root's anchor still says province:23."""
    cfg, store, _ = device
    trust_key(store, PROVINCE.public, scope="national", actor="pishkhan")
    assert refused(device, asked(PROVINCE.sign(release_doc(1, rollback=True))), running="1.0.0") == "wrong_scope"


@pytest.mark.parametrize("spoil", ["missing", "group_writable", "link", "empty"])
def test_without_a_sound_anchor_file_nothing_is_verified(device, spoil):
    cfg, store, folder = device
    anchor = folder / "release-keys.pem"
    if spoil == "missing":
        anchor.unlink()
    elif spoil == "group_writable":
        anchor.chmod(0o664)
    elif spoil == "link":
        anchor.rename(folder / "real.pem")
        anchor.symlink_to(folder / "real.pem")
    else:
        anchor.write_text("Scope: national\n")
    assert refused(device, asked(NATIONAL.sign(release_doc(1)))) == "untrusted_key"
