"""Every error class lives in pishkhan/exc.py (the device's and the core's) or central/errors.py (the centre's).

Read from the source, not imported: a class is an error when it derives from a
built-in exception or from another error. A private class (``_Name``) is one
module's own control flow and may stay there. The few public ones that stay
where they are, and why, are listed in :data:`STAYING` (docs/architecture.md
says the same).
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pishkhan", "kiosk", "display", "panel", "edge_agent", "provisioning", "central", "cli")
HOMES = ("pishkhan/exc.py", "central/errors.py")
#: file -> error classes that stay beside the code that gives them meaning.
STAYING = {
    # its exit codes and sentences are the enrolment command's own (provisioning/enroll_messages.py)
    "provisioning/enroll.py": {"EnrolmentFailed"},
    # its reasons are the read-only root installer's own table
    "provisioning/readonly_root.py": {"Refused"},
    # the agent's parts are being reshaped; it moves with them
    # Starlette's AuthenticationError: the web framework's signal, not one of ours
    "central/web/auth.py": {"Locked"},
}


def _classes(root: Path):
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    bases = {b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases}
                    yield path.relative_to(root).as_posix(), node.name, bases


def errors_outside_their_homes(root: Path) -> list[str]:
    """``file:Class`` for each public error class defined outside :data:`HOMES` and :data:`STAYING`."""
    classes = list(_classes(root))
    errors = {name for name in dir(builtins) if isinstance(getattr(builtins, name), type)
              and issubclass(getattr(builtins, name), BaseException)}
    errors |= {"AuthenticationError"}  # Starlette's
    while True:
        more = {name for _, name, bases in classes if bases & errors} - errors
        if not more:
            break
        errors |= more
    return sorted(f"{path}:{name}" for path, name, bases in classes
                  if bases & errors and path not in HOMES and not name.startswith("_")
                  and name not in STAYING.get(path, ()))


def test_every_error_class_lives_in_one_of_two_places():
    assert errors_outside_their_homes(ROOT) == []


def test_an_error_class_defined_elsewhere_is_caught(tmp_path):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    for home in HOMES:
        (tmp_path / home).write_text((ROOT / home).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "central" / "planted.py").write_text(
        "from pishkhan.exc import CentralError\n\n\nclass Planted(CentralError):\n    pass\n\n\n"
        "class Deeper(Planted):\n    pass\n\n\nclass _Private(Exception):\n    pass\n", encoding="utf-8")
    (tmp_path / "kiosk" / "planted.py").write_text("class Oops(ValueError):\n    pass\n", encoding="utf-8")
    assert errors_outside_their_homes(tmp_path) == ["central/planted.py:Deeper", "central/planted.py:Planted",
                                                    "kiosk/planted.py:Oops"]
