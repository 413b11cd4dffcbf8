"""The Prometheus alert rules and the Alertmanager example shipped in central/prometheus: valid, tested with
``promtool test rules``, and querying only series the centre's ``/metrics`` exposes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from central import metrics
from tests.required_tools import require_tool

HERE = Path(__file__).resolve().parents[2] / "central" / "prometheus"
RULES = HERE / "pishkhan-alerts.yml"


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=HERE, capture_output=True, text=True, timeout=60)


def test_rules_are_valid_and_pass_their_unit_tests():
    require_tool("promtool")
    check = _run("promtool", "check", "rules", RULES.name)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = _run("promtool", "test", "rules", "pishkhan-alerts.test.yml")
    assert unit.returncode == 0, unit.stdout + unit.stderr


def test_alertmanager_example_is_valid():
    require_tool("amtool")
    check = _run("amtool", "check-config", "alertmanager.example.yml")
    assert check.returncode == 0, check.stdout + check.stderr


def test_rules_query_only_exposed_series_and_carry_severity_and_both_summaries():
    text = RULES.read_text(encoding="utf-8")
    exposed = set(metrics.METRIC_NAMES) | {f"{c}_total" for c in metrics.COUNTER_NAMES}
    used = set(re.findall(r"\bpishkhan_[a-z_]+\b", "\n".join(
        line for line in text.splitlines() if line.strip().startswith(("expr:", "pishkhan", "/", "and", "or")))))
    assert used and used <= exposed, used - exposed
    alerts = text.count("- alert:")
    assert alerts == text.count("severity:") == text.count(" summary:") == text.count("summary_en:") >= 15
    persian = re.findall(r"^\s+summary: \"(.*)\"$", text, flags=re.M)
    assert len(persian) == alerts and all(re.search("[\u0600-\u06ff]", s) for s in persian)
