"""Signed commands: accepted once when right; forged, expired, replayed, unknown and the rest refused."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.protocol.commands import CommandRefused, check_command, make_command

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)
DEVICE = "dev-0001"


@pytest.fixture(scope="module")
def command_key():
    return SigningKey.generate()


@pytest.fixture
def cstore(store, command_key, issuer_key):
    trust_key(store, command_key.public, scope="command", label="centre commands", actor="test")
    trust_key(store, issuer_key.public, scope="national", label="board issuer", actor="test")
    return store


def refused(store, envelope, reason, *, now=NOW, device=DEVICE):
    with pytest.raises(CommandRefused) as info:
        check_command(store, envelope, device_id=device, now=now)
    assert info.value.reason == reason, str(info.value)
    return info.value


def test_a_right_command_runs_once_and_is_audited(cstore, command_key):
    env = make_command(command_key, device=DEVICE, name="resend_report", args={"date": "2026-11-30"}, now=NOW)
    command = check_command(cstore, env, device_id=DEVICE, now=NOW + dt.timedelta(seconds=5))
    assert (command.name, command.args, command.key) == ("resend_report", {"date": "2026-11-30"},
                                                         command_key.public.fingerprint)
    refused(cstore, env, "replayed", now=NOW + dt.timedelta(seconds=6))
    actions = [(a["action"], a["detail"].get("reason")) for a in cstore.audit_entries(limit=10)
               if a["action"].startswith("command.")]
    assert actions == [("command.refuse", "replayed"), ("command.accept", None)]


def test_forged_commands_are_refused(cstore, command_key, issuer_key):
    env = make_command(command_key, device=DEVICE, name="ping", now=NOW)
    changed = copy.deepcopy(env)
    changed["payload"]["name"] = "restart_service"
    changed["payload"]["args"] = {"service": "kiosk"}
    refused(cstore, changed, "forged")
    stranger = make_command(SigningKey.generate(), device=DEVICE, name="ping", now=NOW)
    refused(cstore, stranger, "forged")
    board_key = make_command(issuer_key, device=DEVICE, name="ping", now=NOW)  # trusted, but for boards
    assert "scope \"command\"" in str(refused(cstore, board_key, "forged"))
    unsigned = {"format": "pishkhan.command/1", "name": "ping"}
    refused(cstore, unsigned, "unsigned")
    refused(cstore, "ping", "malformed")


def test_expired_and_future_commands_are_refused(cstore, command_key):
    env = make_command(command_key, device=DEVICE, name="ping", now=NOW, lifetime=dt.timedelta(minutes=10))
    refused(cstore, env, "expired", now=NOW + dt.timedelta(minutes=10))
    too_long = make_command(command_key, device=DEVICE, name="ping", now=NOW, lifetime=dt.timedelta(days=2))
    refused(cstore, too_long, "expired")
    future = make_command(command_key, device=DEVICE, name="ping", now=NOW + dt.timedelta(hours=1))
    refused(cstore, future, "not_yet_valid")
    # a command that expired is refused as expired, not run, however often it comes
    refused(cstore, env, "expired", now=NOW + dt.timedelta(hours=1))


def test_unknown_wrong_device_and_bad_arguments_are_refused(cstore, command_key):
    refused(cstore, make_command(command_key, device=DEVICE, name="shell", args={"cmd": "rm -rf /"}, now=NOW),
            "unknown")
    refused(cstore, make_command(command_key, device="dev-0002", name="ping", now=NOW), "wrong_device")
    for name, args in [("restart_service", {"service": "sshd"}), ("restart_service", {"service": "kiosk; reboot"}),
                       ("set_log_level", {"level": "TRACE"}), ("screen", {"power": "maybe"}),
                       ("ping", {"x": 1}), ("resend_report", {"date": "yesterday"}), ("resend_report", {})]:
        e = refused(cstore, make_command(command_key, device=DEVICE, name=name, args=args, now=NOW), "bad_args")
        assert name in str(e)


def test_malformed_payloads_name_the_field(cstore, command_key):
    env = make_command(command_key, device=DEVICE, name="ping", now=NOW)
    payload = dict(env["payload"], expires_at="tomorrow")
    assert "expires_at" in str(refused(cstore, command_key.sign(payload), "malformed"))
    payload = dict(env["payload"], extra=1)
    assert "extra" in str(refused(cstore, command_key.sign(payload), "malformed"))
    payload = {k: v for k, v in env["payload"].items() if k != "nonce"}
    assert "nonce" in str(refused(cstore, command_key.sign(payload), "malformed"))


def test_nonces_are_forgotten_only_after_their_command_expired(cstore, command_key):
    for i in range(5):
        check_command(cstore, make_command(command_key, device=DEVICE, name="ping", now=NOW), device_id=DEVICE, now=NOW)
    assert cstore.query_one("SELECT count(*) FROM command_nonces")[0] == 5
    later = NOW + dt.timedelta(hours=1)
    check_command(cstore, make_command(command_key, device=DEVICE, name="ping", now=later), device_id=DEVICE, now=later)
    assert cstore.query_one("SELECT count(*) FROM command_nonces")[0] == 1
