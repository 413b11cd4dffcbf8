"""The typed sections (``config.kiosk.idle_timeout``): generated from SETTINGS, equal to it,
and every ``config.<section>.<key>`` in the tree names a real setting."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from pishkhan import settings as typed
from pishkhan.config import SECTIONS, SETTINGS, Float, ListOf, Shifts, parse_config, settings_module

ROOT = Path(__file__).resolve().parents[2]
KNOWN = {(s.section, s.key) for s in SETTINGS}
#: Folders whose ``config.get("section.key")`` calls are not yet typed (being restructured elsewhere).
UNTYPED: tuple[str, ...] = ()


#: Text a file must hold to be parsed: a typed read or a ``.get("section.key")`` (parsing all is slow).
_MENTIONS = re.compile(rf"""(config|cfg)\.({'|'.join(SECTIONS)})\.|\.get\(f?["']({'|'.join(SECTIONS)})\.""")


@pytest.fixture(scope="module")
def trees() -> dict[str, ast.Module]:
    """Every Python file of the repository that mentions a setting, parsed once."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0].startswith(".") or rel.parts[0] in ("build", "demo-out", "node_modules"):
            continue
        text = path.read_text(encoding="utf-8")
        if _MENTIONS.search(text):
            out[rel.as_posix()] = ast.parse(text, filename=str(rel))
    return out


def _names_config(node: ast.expr) -> bool:
    """Whether *node* is, by its name, the configuration (``config``, ``cfg``, ``self.config``, ``render_config``)."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name.endswith(("config", "cfg"))


def test_committed_module_is_the_generated_one():
    committed = (ROOT / "pishkhan" / "settings.py").read_text(encoding="utf-8")
    assert committed == settings_module(), \
        "pishkhan/settings.py is stale: run `pishkhan config typed --out pishkhan/settings.py`"


def test_config_typed_command(tmp_path, capsys):
    from cli.main import main

    assert main(["config", "typed"]) == 0
    assert capsys.readouterr().out == settings_module()
    assert main(["config", "typed", "--out", str(tmp_path / "s.py")]) == 0
    assert (tmp_path / "s.py").read_text(encoding="utf-8") == settings_module()


def test_every_setting_is_a_typed_field_with_the_parsed_value():
    cfg = parse_config({"kiosk": {"idle_timeout": 45, "text_scale": 2}, "display": {"screen_power": ["drm"]},
                        "hours": {"monday": ["08:00-12:00", "13:00-15:00"]}, "mqtt": {"reconnect_max_seconds": 60}})
    fields = {(section, f.name) for section in SECTIONS for f in dataclasses.fields(getattr(cfg, section))}
    assert fields == KNOWN
    for s in SETTINGS:
        value = getattr(getattr(cfg, s.section), s.key)
        parsed = cfg.get(s.name)
        if isinstance(s.kind, (ListOf, Shifts)):
            assert value == tuple(parsed) and isinstance(value, tuple), s.name
        elif isinstance(s.kind, Float):
            assert value == parsed and type(value) is float, s.name  # a whole number given becomes a float
        else:
            assert value == parsed and type(value) is type(parsed), s.name
    assert cfg.kiosk.idle_timeout == 45 and cfg.kiosk.text_scale == 2.0
    assert cfg.hours.monday == ("08:00-12:00", "13:00-15:00") and cfg.display.screen_power == ("drm",)


def test_a_mistyped_key_fails_at_first_use_and_a_section_is_frozen():
    cfg = parse_config({})
    with pytest.raises(AttributeError, match="idel_timeout"):
        getattr(cfg.kiosk, "idel_timeout")  # as cfg.kiosk.idel_timeout would, which the walk below refuses
    with pytest.raises(AttributeError):
        cfg.kiosk_settings  # noqa: B018
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.kiosk.idle_timeout = 5  # type: ignore[misc]
    assert isinstance(cfg.kiosk, typed.Kiosk)


def test_a_section_reads_the_data_as_it_is_now():
    """Code that sets a value behind the table's back (tests do) is seen by the next read."""
    cfg = parse_config({})
    cfg.data["office"]["name"] = "دفتر دیگر"
    assert cfg.office.name == "دفتر دیگر"


def test_every_typed_setting_used_in_the_tree_exists(trees):
    """``<config>.<section>.<key>`` anywhere in the repository names a row of SETTINGS, whether or not it runs."""
    used, unknown = 0, []
    for rel, tree in trees.items():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                    and node.value.attr in SECTIONS and _names_config(node.value.value)):
                used += 1
                if (node.value.attr, node.attr) not in KNOWN:
                    unknown.append(f"{rel}:{node.lineno}: {node.value.attr}.{node.attr}")
    assert not unknown, "no such setting:\n  " + "\n  ".join(unknown)
    assert used >= 60, used  # the walk sees the tree's call sites


_DOTTED = re.compile(rf"({'|'.join(SECTIONS)})\.(\w+)")


def _string_gets(trees):
    """``(file, line, section, key)`` of each ``x.get("section.key")`` call with a literal key."""
    for rel, tree in trees.items():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                m = _DOTTED.fullmatch(node.args[0].value)
                if m:
                    yield rel, node.lineno, m.group(1), m.group(2)


def test_string_keys_left_name_real_settings_and_only_where_untyped(trees):
    """``config.get("…")`` stays for code that names a setting in data; the apps use the typed sections."""
    found = list(_string_gets(trees))
    unknown = [f"{rel}:{line}: {section}.{key}" for rel, line, section, key in found if (section, key) not in KNOWN]
    assert not unknown, "no such setting:\n  " + "\n  ".join(unknown)
    untyped = [f"{rel}:{line}: {section}.{key}" for rel, line, section, key in found
               if not rel.startswith(("tests/", *(f"{folder}/" for folder in UNTYPED)))]
    assert not untyped, "use the typed section (config.section.key):\n  " + "\n  ".join(untyped)
