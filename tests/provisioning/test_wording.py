"""One Persian name for one thing where technicians and ops read it: the claim code is «کد ثبت»
everywhere — the technician hears it on the phone, types it, reads it in `provision check` and
on the dashboard (three names for it were found in a walkthrough: کد ثبت, کد ادعا, کد دعوت)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ_BY_PEOPLE = ["provisioning", "pishkhan/enrolment.py", "central/web", "cli", "docs"]
OTHER_NAMES = ("کد ادعا", "کد دعوت")


def stray_names(root: Path) -> list[str]:
    found = []
    for place in READ_BY_PEOPLE:
        base = root / place
        for path in [base] if base.is_file() else sorted(base.rglob("*")):
            if path.suffix in (".py", ".md", ".html") and path.is_file():
                text = path.read_text(encoding="utf-8")
                found += [f"{path.relative_to(root)}: {name}" for name in OTHER_NAMES if name in text]
    return found


def test_the_claim_code_has_one_persian_name(tmp_path):
    assert stray_names(ROOT) == []
    planted = tmp_path / "docs"
    planted.mkdir()
    (planted / "x.md").write_text("یک کد دعوت", encoding="utf-8")
    assert stray_names(tmp_path) == ["docs/x.md: کد دعوت"]
