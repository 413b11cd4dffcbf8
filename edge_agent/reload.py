"""The configuration in force in the agent, and putting a reloaded one in force.

:meth:`InForce.reload` reads the configuration file again. Every part reads
its settings through the live view (:class:`edge_agent.context.LiveSettings`),
so from then on it sees the new values; a part that must act on a change
registered ``on_change`` with :meth:`InForce.live` and is called with the
changed keys and the old configuration. A changed key is *applied* when a
part declared it live in the agent. The office's other services read the
file when they start, so a changed key one of them reads (:data:`SERVICES`)
is listed in ``restart_needed`` even when the agent applied it, and
``restart`` names the unit to restart for it (``pishkhan-agent`` for a key
no part of the agent applies): nothing is kept at an old value without saying
so.
"""

from __future__ import annotations

import logging

from .context import matches

log = logging.getLogger("pishkhan.agent.reload")

#: The office's other services and the settings they read (at start only): sections, and the lists
#: ``lanes`` and ``counters``. tests/agent/test_reload.py checks every setting their code names is here.
SERVICES = {
    "pishkhan-kiosk": ("device.*", "office.*", "kiosk.*", "printer.*", "queue.*", "hours.*", "hardware.*",
                       "lanes", "counters"),
    "pishkhan-display": ("device.*", "office.*", "display.*", "queue.*", "hours.*", "hardware.*", "lanes",
                         "counters"),
    "pishkhan-panel": ("device.*", "office.*", "hardware.*", "queue.*", "hours.*", "lanes", "counters"),
}
AGENT = "pishkhan-agent"


def flat_settings(config) -> dict:
    """*config*'s settings by ``section.key``, and its ``lanes`` and ``counters`` (lists of tables) by name."""
    flat = {}
    for section, values in config.data.items():
        if isinstance(values, dict):
            for key, value in values.items():
                flat[f"{section}.{key}"] = value
    flat["lanes"], flat["counters"] = list(config.lanes), list(config.counters)
    return flat


class InForce:
    """Holds the configuration in force (:attr:`config`) and which settings the parts apply live."""

    def __init__(self, config):
        self.config = config
        self._live: list[str] = []
        self._listeners: list = []

    def live(self, patterns, *, on_change=None):
        """Changes of the settings matching *patterns* are applied at once; ``on_change(changed, old)`` after a reload."""
        self._live.extend(patterns)
        if on_change is not None:
            self._listeners.append(on_change)

    def reload(self) -> dict:
        """Read the file again and put it in force: ``reloaded``, ``path``, ``changed``, ``applied``,
        ``restart_needed`` and ``restart`` (unit -> the changed keys it still runs on the old values of).

        A :class:`~pishkhan.exc.ConfigError` (the file unreadable or invalid) leaves the old one in force.
        """
        from pishkhan.config import load_config

        path = getattr(self.config, "path", None)
        if path is None:
            return {"reloaded": False, "message": "the agent runs on the built-in defaults; nothing to reload"}
        new = load_config(path)
        before, after = flat_settings(self.config), flat_settings(new)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        old, self.config = self.config, new
        if changed:
            for listener in list(self._listeners):
                try:
                    listener(set(changed), old)
                except Exception as e:  # noqa: BLE001 - one part failing must not keep the others on old values
                    log.exception("applying the reloaded configuration failed in %s: %s", listener, e)
        applied = [k for k in changed if matches(k, self._live)]
        restart = {AGENT: [k for k in changed if k not in applied]}
        for unit, patterns in SERVICES.items():
            restart[unit] = [k for k in changed if matches(k, patterns)]
        restart = {unit: keys for unit, keys in restart.items() if keys}
        needed = sorted({k for keys in restart.values() for k in keys})
        return {"reloaded": True, "path": str(path), "changed": changed, "applied": applied,
                "restart_needed": needed, "restart": restart}
