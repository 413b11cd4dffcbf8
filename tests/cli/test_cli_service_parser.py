"""The office's long-running commands build only their own module's part of the parser (memory at rest)."""

import argparse
import subprocess
import sys

import pytest

from cli.main import COMMAND_MODULES, SERVICE_MODULES, build_parser, parser_for


def _commands(parser) -> set[str]:
    return {name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices}


def test_each_service_command_is_registered_by_the_module_named_for_it():
    assert set(SERVICE_MODULES.values()) <= set(COMMAND_MODULES)
    for command, module in SERVICE_MODULES.items():
        assert command in _commands(build_parser([module])), (command, module)


@pytest.mark.parametrize("argv, whole", [
    (["panel", "--pin-factory", "mock"], False),
    (["--config", "kiosk", "display", "--size", "1920x1080"], False),  # a file named like a command
    (["--config=/etc/pishkhan.toml", "agent"], False),
    (["queue", "status"], True),
    (["--help", "kiosk"], True),  # the help lists every command
    (["nonsense"], True),  # so does the mistake
    ([], True),
])
def test_the_parser_holds_every_command_unless_a_service_runs(argv, whole):
    commands = _commands(parser_for(argv))
    assert ("central" in commands) is whole
    if not whole:
        assert len(commands) < len(_commands(build_parser()))


def test_the_agent_process_imports_no_other_command_module():
    code = ("import sys; from cli.main import parser_for; parser_for(['agent']).parse_args(['agent']); "
            "print(sorted(m for m in sys.modules if m.startswith(('cli.', 'central', 'provisioning'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "['cli.agent', 'cli.context', 'cli.main']", out.stdout
