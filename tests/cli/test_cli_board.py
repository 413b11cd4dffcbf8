"""The `pishkhan` command end to end: config, keys, board validate/sign/verify/install/show."""

from __future__ import annotations

import json
import os

import pytest
from cli_runner import run

@pytest.fixture
def env(tmp_path):
    e = dict(os.environ, PISHKHAN_STATE_DIR=str(tmp_path / "state"))
    e.pop("PISHKHAN_CONFIG", None)
    return e


@pytest.fixture
def sample_file(tmp_path, sample_doc):
    path = tmp_path / "board.json"
    path.write_text(json.dumps(sample_doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_every_subcommand_has_help(env):
    for args in (["--help"], ["board", "--help"], ["board", "install", "--help"], ["keys", "trust", "--help"],
                 ["config", "init", "--help"]):
        assert "usage: pishkhan" in run(*args, env=env).stdout


def test_config_init_writes_every_setting_commented(tmp_path, env):
    out = tmp_path / "c.toml"
    run("config", "init", "--out", out, "--always-open", env=env)
    text = out.read_text(encoding="utf-8")
    assert "always_open = true" in text and text.count("#") > 30
    for section in ("[device]", "[office]", "[hours]", "[[lanes]]", "[[counters]]", "[printer]", "[kiosk]", "[display]"):
        assert section in text
    assert "exists" in run("config", "init", "--out", out, env=env, ok=False).stderr
    assert "ok:" in run("--config", out, "config", "check", env=env).stdout


def test_validate_lists_errors_and_exits_1(tmp_path, env, sample_doc):
    sample_doc["categories"][2]["services"][1]["office_fee"] = "12,000"
    sample_doc["version"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(sample_doc, ensure_ascii=False), encoding="utf-8")
    proc = run("board", "validate", bad, env=env, ok=False)
    assert proc.returncode == 1
    assert 'categories[2].services[1].office_fee: must be a non-negative integer, got "12,000"' in proc.stdout
    assert "version: must be a positive integer, got -1" in proc.stdout
    notjson = tmp_path / "x.json"
    notjson.write_text("{broken", encoding="utf-8")
    assert "is not valid JSON" in run("board", "validate", notjson, env=env, ok=False).stdout


def test_sign_verify_trust_install_show(tmp_path, env, sample_file):
    keys = tmp_path / "keys"
    run("keys", "new", "--out", keys, env=env)
    signed = tmp_path / "signed.json"
    out = run("board", "sign", sample_file, "--key", keys / "issuer.key", "--out", signed, env=env).stdout
    code = out.strip().rsplit(" ", 1)[-1]
    assert run("board", "verify", signed, "--trust", keys / "issuer.pub", env=env).stdout.endswith(code + "\n")

    # Not trusted yet: refused, nothing installed.
    assert "no issuer key is trusted" in run("board", "install", signed, env=env, ok=False).stderr
    assert run("board", "show", env=env, ok=False).returncode == 1

    run("keys", "trust", keys / "issuer.pub", "--label", "ministry", env=env)
    assert f"verification code {code}" in run("board", "install", signed, env=env).stdout
    shown = json.loads(run("board", "show", "--json", "--history", env=env).stdout)
    assert shown["verification_code"] == code and shown["version"] == "1"
    assert shown["layers"][0]["scope"] == "national"
    assert len(shown["history"]) == 1
    assert "not newer than the installed version 1" in run("board", "install", signed, env=env, ok=False).stderr

    # Tampered: one fee changed after signing.
    doc = json.loads(signed.read_text(encoding="utf-8"))
    doc["payload"]["categories"][0]["services"][0]["government_fee"] += 10
    doc["payload"]["version"] = 2
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert "signature does not match" in run("board", "verify", tampered, "--trust", keys / "issuer.pub",
                                             env=env, ok=False).stderr
    assert "signature does not match" in run("board", "install", tampered, env=env, ok=False).stderr
    assert json.loads(run("board", "show", "--json", env=env).stdout)["verification_code"] == code


def test_signing_an_invalid_board_is_refused(tmp_path, env, sample_doc):
    run("keys", "new", "--out", tmp_path / "k", env=env)
    sample_doc.pop("issuer")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(sample_doc), encoding="utf-8")
    proc = run("board", "sign", bad, "--key", tmp_path / "k" / "issuer.key", "--out", tmp_path / "s.json",
               env=env, ok=False)
    assert "issuer: is required" in proc.stderr and not (tmp_path / "s.json").exists()
