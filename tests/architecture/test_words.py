"""Code and docs name no issue of this project: they say what and why, which outlives the tracker.

Another project's bug, cited as theirs (``paho-mqtt issue 893``), is a fact about that library and stays.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("pishkhan", "kiosk", "display", "panel", "edge_agent", "provisioning", "central", "cli", "bench",
           "updater", "scripts", "packaging", "systemd", "docs", "tests")
ENDINGS = {".py", ".md", ".json", ".sh", ".toml", ".service", ".conf", ".txt", ".kv"}
#: "issue 12", "issue #12", "issue-12", "(CI, stop 25)"; not "paho issue 893".
MENTION = re.compile(r"(?<![\w-]mqtt )(?<!paho )\bissues?[ -]?#?\d+|\bCI, stop \d+", re.IGNORECASE)
#: file -> why its mention may stay for now.
STAYING: dict[str, str] = {}


def mentions(root: Path) -> list[str]:
    """``path:line`` for each mention of an issue number under *root*, bar :data:`STAYING`."""
    found = []
    files = [root / "README.md", root / "Makefile", root / "pyproject.toml"]
    for folder in FOLDERS:
        files += [p for p in sorted((root / folder).rglob("*")) if p.suffix in ENDINGS and p.is_file()]
    for path in files:
        if not path.exists() or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root).as_posix()
        if rel == "tests/architecture/test_words.py":  # its own examples
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if MENTION.search(line) and STAYING.get(rel, "\0") not in line:
                found.append(f"{rel}:{number}")
    return sorted(found)


def test_no_issue_numbers_in_code_or_docs():
    assert mentions(ROOT) == []


def test_a_mention_is_caught(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "pishkhan").mkdir()
    (tmp_path / "docs" / "x.md").write_text("Fixed in issue 21.\nSee paho-mqtt issue 893.\npaho issue 7\n",
                                            encoding="utf-8")
    (tmp_path / "pishkhan" / "y.py").write_text('"""As issue #4 asked."""\n# flaky (CI, stop 25)\n'
                                                "x = 1  # issue-9\n", encoding="utf-8")
    assert mentions(tmp_path) == ["docs/x.md:1", "pishkhan/y.py:1", "pishkhan/y.py:2", "pishkhan/y.py:3"]
