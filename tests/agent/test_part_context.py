"""The parts' side of the agent: a narrow, read-only context, listed statically, no attributes set on the host."""

from __future__ import annotations

import ast
import inspect

import pytest

from edge_agent.agent import PARTS, Agent, add_parts
from pishkhan.config import parse_config


def test_parts_are_listed_statically_and_never_import_the_host():
    for name, register in PARTS.items():
        module = inspect.getmodule(register)
        assert module.__name__ == f"edge_agent.{name}"
        tree = ast.parse(inspect.getsource(module))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        assert not imported & {"agent", "edge_agent.agent"}, name  # a part sees its context, not the Agent


def test_parts_set_nothing_on_the_agent_and_cannot_change_their_context(tmp_path):
    config = parse_config({"device": {"id": "dev-0001", "state_dir": str(tmp_path / "state")},
                           "mqtt": {"enabled": False}})
    agent = Agent(config)
    try:
        before = set(vars(agent))
        add_parts(agent)
        assert set(vars(agent)) == before  # the parts are kept in agent.parts, by name
        assert list(agent.parts) == list(PARTS)
        with pytest.raises(AttributeError, match="read-only"):
            agent.context.compliance = agent.parts["compliance"]
        config.data["office"]["province"] = "24"  # the live view reads the configuration in force
        assert agent.context.settings.get("office.province") == "24"
        assert agent.parts["sync"].filters()[-1].endswith("/province/24/#")
    finally:
        agent.outbox.close()
        if agent._store is not None:
            agent._store.close()

