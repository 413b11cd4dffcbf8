"""``pishkhan agent``: the MQTT agent that reports this office to the centre."""

from __future__ import annotations

from . import context


def register(sub, common):
    p = sub.add_parser("agent", parents=[common], help="run the MQTT agent (status, telemetry, outbox to the centre)",
                       description="Run the edge agent: it connects to the centre's MQTT broker in the background "
                                   "(starting without network), publishes a retained birth and telemetry, and keeps "
                                   "everything it sends in a durable outbox until the broker acknowledges it.")
    p.add_argument("--seconds", type=float, default=None, help="stop cleanly after this many seconds")
    p.set_defaults(handler=run)


def run(args) -> int:
    from pishkhan.runtime.memory import tune_heap

    tune_heap()  # before the agent's threads start
    cfg = context.config(args)
    from edge_agent.agent import run_agent

    return run_agent(cfg, seconds=args.seconds)
