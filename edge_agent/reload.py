"""The configuration in force in the agent, and putting a reloaded one in force.

:meth:`InForce.reload` reads the configuration file again. Every part reads
its settings through the live view (:class:`edge_agent.context.LiveSettings`),
so from then on it sees the new values; a part that must act on a change
registered ``on_change`` with :meth:`InForce.live` and is called with the
changed keys and the old configuration. A changed key is *applied* when a
part declared it live, else it is listed in ``restart_needed``: nothing is
kept at an old value without saying so.
"""

from __future__ import annotations

import logging

from .context import matches

log = logging.getLogger("pishkhan.agent.reload")


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
        """Read the file again and put it in force: ``reloaded``, ``path``, ``changed``, ``applied``, ``restart_needed``.

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
        return {"reloaded": True, "path": str(path), "changed": changed, "applied": applied,
                "restart_needed": [k for k in changed if k not in applied]}
