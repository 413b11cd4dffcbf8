"""What an agent part is given: a narrow context, never the whole :class:`~edge_agent.agent.Agent`.

A part (telemetry, compliance, facts, sync, commands, renewal) reaches the
store, the publisher, the topics and the device id; it schedules work on the
main loop (:meth:`PartContext.every`), subscribes to topics
(:meth:`PartContext.subscribe`) and adds to the birth and the telemetry. It
reads its settings through :attr:`PartContext.settings`, a view of the
configuration *in force now*: after a ``reload_config`` every read sees the
new file. A part that must act on a change (subscribe to another province,
forget a cached value) says so with :attr:`PartContext.live`. A part
never sets attributes on the agent; :func:`edge_agent.agent.add_parts`
keeps the parts by name in ``agent.parts``.

Which settings the agent applies without a restart is declared by each
part (``live(LIVE)``, patterns such as ``"compliance.*"``), and only for
settings it reads through the live view or acts on when they change; a
changed key that no part declares live is reported in the
``reload_config`` result's ``restart_needed``.
"""

from __future__ import annotations

import fnmatch
from typing import Callable

from pishkhan.settings import Sections


class LiveSettings(Sections):
    """Reads the agent's configuration in force now: typed sections (``settings.office.province``), :attr:`config`,
    and ``get("section.key")`` for code that names a setting in data."""

    def __init__(self, current: Callable[[], object]):
        self._current = current

    @property
    def data(self) -> dict:
        return self._current().data

    @property
    def config(self):
        """The :class:`~pishkhan.config.Config` in force now (for functions that take a whole config)."""
        return self._current()

    def get(self, key: str):
        return self._current().get(key)


def matches(key: str, patterns) -> bool:
    """Whether setting *key* matches one of *patterns* (``fnmatch`` patterns: ``office.*``)."""
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


class PartContext:
    """The agent as a part sees it. Built by the agent; parts call it, never change it."""

    def __init__(self, *, store: Callable[[], object], publisher, topics, device_id: str, boot_id: str,
                 settings: LiveSettings, session, every, subscribe, unsubscribe, add_birth_part,
                 add_telemetry_part, filter_telemetry, live, rebirth, figures, board_state, reload_config):
        self._store = store
        self.publisher = publisher
        self.topics = topics
        self.device_id = device_id
        self.boot_id = boot_id
        self.settings = settings
        #: The MQTT session, or None with ``mqtt.enabled = false`` (renewal reconnects it).
        self.session = session
        #: ``every(seconds, fn, *, first=None)``: ``fn()`` on the main loop every *seconds*.
        self.every = every
        #: ``subscribe(topic_filter, handler)``: ``handler(topic, payload, retained)`` on the main loop.
        self.subscribe = subscribe
        #: ``unsubscribe(topic_filter, handler)``: stop calling *handler* for *topic_filter*.
        self.unsubscribe = unsubscribe
        #: ``add_birth_part(name, fn)``: ``fn()`` goes into every birth under *name*.
        self.add_birth_part = add_birth_part
        #: ``add_telemetry_part(name, fn)``: ``fn()`` goes under ``readings`` in every telemetry message.
        self.add_telemetry_part = add_telemetry_part
        #: ``filter_telemetry(changes)``: *changes*.filter(readings, figures) picks what each message carries.
        self.filter_telemetry = filter_telemetry
        #: ``live(patterns, *, on_change=None)``: this part applies changes of the settings matching
        #: *patterns* without a restart; ``on_change(changed: set[str], old_config)`` runs on the main
        #: loop after a reload that changed any setting.
        self.live = live
        #: ``rebirth()``: publish a new birth on the live connection (what it says changed).
        self.rebirth = rebirth
        #: ``figures() -> dict``: the agent's own figures (uptime, outbox).
        self.figures = figures
        #: ``board_state() -> dict | None``: the effective board's version and verification code.
        self.board_state = board_state
        #: ``reload_config() -> dict``: read the configuration file again and apply it (the command's detail).
        self.reload_config = reload_config
        self._frozen = True

    def __setattr__(self, name, value):
        if getattr(self, "_frozen", False):
            raise AttributeError(f"a part's context is read-only (tried to set {name!r})")
        super().__setattr__(name, value)

    @property
    def store(self):
        return self._store()
