"""`pishkhan queue …`, `pishkhan counter …` and `pishkhan panel` end to end, as staff use them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from cli_runner import BIN, run
from queue_raster import decode_raster, ocr, ocr_number

from pishkhan.boards.installed import install_board
from pishkhan.config import load_config
from pishkhan.text.persian import normalise
from pishkhan.store.database import Store
from pishkhan.boards.trust import trust_key

@pytest.fixture
def env(tmp_path, issuer_key, signed_board):
    """A device configured by `pishkhan config init --always-open`, with the sample board
    installed (in-process: the board commands have their own tests)."""
    e = dict(os.environ, PISHKHAN_STATE_DIR=str(tmp_path / "state"), PISHKHAN_CONFIG=str(tmp_path / "p.toml"))
    run("config", "init", "--always-open", "--out", tmp_path / "p.toml", env=e)
    cfg = load_config(tmp_path / "p.toml")
    assert cfg.get("hours.always_open") is True
    with Store(tmp_path / "state" / "pishkhan.db") as st:  # where the commands will look
        trust_key(st, issuer_key.public, label="m", actor="test")
        install_board(st, signed_board, source="cli", actor="test")
    return e


def test_ticket_through_the_cli_prints_correct_persian(env, tmp_path):
    out = tmp_path / "printer.bin"
    refused = run("queue", "issue", "--service", "ID-02", "--printer", f"file:{out}", env=env, ok=False)
    assert refused.returncode == 2 and "no_counter" in refused.stderr and "باجه" in refused.stderr
    assert not out.exists()
    assert "counter 1 open" in run("counter", "open", "1", env=env).stdout
    first = run("queue", "issue", "--service", "ID-01", env=env).stdout
    assert first.startswith("A001")
    t = json.loads(run("queue", "issue", "--service", "ID-02", "--printer", f"file:{out}", "--json", env=env).stdout)
    assert (t["label"], t["display_label"], t["lane"], t["people_ahead"], t["printed"]) == \
        ("A002", "A۰۰۲", "A", 1, True)
    assert t["wait_minutes"] == 6 and t["print_state"] == "ok"
    [image] = decode_raster(out.read_bytes())
    assert ocr_number(image, prefixed=True) == "A۰۰۲"
    read = normalise(ocr(image).replace("\n", " "))
    assert normalise(t["service_title"]) in read  # «صدور کارت هوشمند ملی المثنی (مفقودی یا سرقتی)»


def test_staff_flow_next_recall_status_report(env):
    run("counter", "open", "1", env=env)
    run("counter", "open", "2", env=env)
    for service in ("ID-01", "VEH-01", "POST-01"):
        run("queue", "issue", "--service", service, env=env)
    assert run("queue", "next", "--counter", "1", env=env).stdout.startswith("A001  called at counter 1")
    called = json.loads(run("queue", "next", "--counter", "2", "--json", env=env).stdout)
    assert (called["label"], called["state"], called["counter"]) == ("101", "called", 2)
    assert json.loads(run("queue", "recall", "--counter", "2", "--json", env=env).stdout)["recalls"] == 1
    status = json.loads(run("queue", "status", "--json", env=env).stdout)
    assert status["accepting"] is True
    assert status["waiting"] == {"A": 0, "B": 0, "C": 1}
    assert [c["ticket"] for c in status["counters"]] == ["A001", "101", None]
    assert status["recent_calls"][0] == status["recent_calls"][0] | {"label": "101", "recall": 1}
    text = run("queue", "status", env=env).stdout
    assert "counter 3 (C/A/B): closed" in text
    run("queue", "next", "--counter", "1", env=env)  # A001 done, C001 called
    day = status["day"]
    report = json.loads(run("queue", "report", "--date", day, "--json", env=env).stdout)
    assert report["total"]["issued"] == 3 and report["total"]["served"] == 1
    assert report["lanes"]["A"]["served"] == 1 and report["counters"]["1"]["called"] == 2
    table = run("queue", "report", "--date", day, env=env).stdout
    assert "lane B" in table and "counter 2" in table and "longest queue" in table
    bad = run("queue", "report", "--date", "1405/09/07", env=env, ok=False)
    assert "YYYY-MM-DD" in bad.stderr
    assert "closed" in run("counter", "close", "2", env=env).stdout
    assert "counter 2 is closed" in run("queue", "next", "--counter", "2", env=env, ok=False).stderr
    assert "day closed: 2" in run("queue", "end-of-day", env=env).stdout


def test_printer_out_of_paper_is_reported_but_the_ticket_stands(env, tmp_path):
    run("counter", "open", "1", env=env)
    proc = run("queue", "issue", "--service", "ID-01", "--printer", "net:127.0.0.1:9", "--json", env=env, ok=None)
    assert proc.returncode == 3
    t = json.loads(proc.stdout)
    assert (t["label"], t["printed"], t["printer_state"], t["print_state"]) == ("A001", False, "offline", "offline")
    unprinted = json.loads(run("queue", "unprinted", "--json", env=env).stdout)
    assert [u["label"] for u in unprinted] == ["A001"]
    out = tmp_path / "p.bin"
    run("queue", "reprint", str(t["id"]), "--printer", f"file:{out}", env=env)
    assert len(decode_raster(out.read_bytes())) == 1
    assert json.loads(run("queue", "unprinted", "--json", env=env).stdout) == []


def test_bad_input_gets_a_clear_error(env):
    run("counter", "open", "1", env=env)
    assert "unknown service 'NOPE'" in run("queue", "issue", "--service", "NOPE", env=env, ok=False).stderr
    assert "no counter 9" in run("counter", "open", "9", env=env, ok=False).stderr
    assert "unknown printer URI" in run("queue", "issue", "--service", "ID-01", "--printer", "lpt1", env=env,
                                        ok=False).stderr


def test_panel_command_runs_on_mock_pins_and_stops_on_sigterm(env):
    proc = subprocess.Popen([str(BIN), "panel", "--pin-factory", "mock"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline and "panel running" not in line:
            line = proc.stdout.readline()
        assert "panel running: counters [1, 2, 3]" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        proc.kill()
