"""What the agent tells the centre about the office: birth extras and telemetry readings.

**Birth** (every connect, and again when a reload changes one of
:data:`BIRTH`): ``province``, ``office`` and ``office_name`` (the
``[office]`` settings in force, which the centre groups devices by), ``schedule`` (the
working-hours schedule in effect: version, verification code, scope and
effective date, with the holiday list in effect under ``holidays``; null
until one is installed) and ``clock`` (``synchronized`` true/false/null and
its ``source``, from the store's clock).

**Telemetry** (every ``mqtt.telemetry_seconds``), one object per group under
``readings``:

``device``       every reading of :mod:`pishkhan.hardware.health` (null where the
                 machine has none: absent, never invented) and ``services``: the
                 seconds each of our systemd services has been active
                 (``ActiveEnterTimestampMonotonic``; null where it is not active or
                 systemd is not running) and the agent's own
``peripherals``  the latest fact of the printer, the display (with the board it
                 shows) and the audio: ``{"state", "reason", "at"}``, the display's
                 with ``board``; null when the component never stated anything
``office``       ``waiting`` tickets per lane, ``counters_open``, ``issued_today``
                 and ``served_today`` (today's queue figures)
``clock``        ``synchronized`` and ``source``
``compliance``   the current minute's state (:mod:`edge_agent.compliance`)

**Changes only.** A *full* message (``"full": true``) carries every group and
every key. The ones between (``"full": false``) carry only the keys whose
value changed since it was last sent, and leave out a group with no change.
A full message goes out first after the agent starts, then at least every
:data:`FULL_SECONDS`, and at once after the outbox dropped telemetry (so a
centre that lost a change does not keep a wrong picture for long). What
counts as a change: any difference, except for the noisy readings in
:data:`DEADBANDS` (a change smaller than the band is not sent; the band is
measured against the value last *sent*, so a slow drift is sent once it adds
up) and the clocks in :data:`STEADY` (an uptime that grew as fast as time
passed is no change; a restart is).
"""

from __future__ import annotations

import fnmatch
import logging
import os
import shutil
import subprocess
import time

log = logging.getLogger("pishkhan.agent.telemetry")

#: A full message at least this often (seconds).
FULL_SECONDS = 3600
#: Readings ("group.key[.sub]") whose changes smaller than this are not sent.
DEADBANDS = {"device.cpu_temp_c": 1.0, "device.load_1m": 0.25, "device.mem_available_kb": 20_000,
             "device.disk_free_bytes": 100_000_000, "device.storage_written_bytes": 50_000_000,
             "device.wifi_signal_dbm": 3.0}
#: Seconds-since readings: no change while they grow with time (within 30 s).
STEADY = ("device.uptime_s", "device.services.*")
STEADY_SLACK = 30.0
#: Our systemd services, by the name telemetry gives them.
SERVICES = {"kiosk": "pishkhan-kiosk.service", "display": "pishkhan-display.service",
            "panel": "pishkhan-panel.service"}
PERIPHERALS = ("printer", "display", "audio")
#: Settings read when used (a reload is in force at once); the birth is sent again when one of :data:`BIRTH` changes.
LIVE = ("office.name", "office.province", "office.office_id", "hardware.health", "queue.*", "lanes", "counters",
        "hours.*")
BIRTH = ("office.name", "office.province", "office.office_id")


# -- birth -----------------------------------------------------------------------
def schedule_state(store, config) -> dict | None:
    """The schedule in effect for this office (version, verification code …), or None."""
    from pishkhan.schedule.installed import in_effect
    from pishkhan.text import jalali

    docs = in_effect(store, province=config.office.province, office=config.office.office_id,
                     on=jalali.today(store.now()))

    def brief(doc):
        d = doc.document
        return {"version": d.version, "verification_code": doc.verification_code, "scope": d.scope.key,
                "effective_from": d.effective_from.isoformat()}

    schedule = next((d for d in docs if d.kind == "schedule"), None)
    holidays = next((d for d in docs if d.kind == "holidays"), None)
    if schedule is None:
        return None
    out = brief(schedule)
    if holidays is not None:
        out["holidays"] = brief(holidays)
    return out


def clock_state(store) -> dict:
    """``{"synchronized": bool|None, "source": str}`` from the store's clock."""
    boot = store.boot
    try:
        synced = boot.synced()
    except Exception as e:  # noqa: BLE001 - not known is said as such
        log.warning("cannot read the clock's sync state: %s", e)
        synced = None
    return {"synchronized": None if synced is None else bool(synced), "source": str(getattr(boot, "source", "unknown"))}


# -- telemetry groups ------------------------------------------------------------------
def systemd_running() -> bool:
    """True when systemd is this machine's init (sd_booted(3))."""
    return os.path.isdir("/run/systemd/system") and shutil.which("systemctl") is not None


def service_uptimes(units: dict[str, str] = SERVICES, *, run=subprocess.run) -> dict[str, float | None]:
    """Seconds each unit has been active, by name; None where not active (or unknown). {} without systemd."""
    if not systemd_running():
        return {}
    try:
        proc = run(["systemctl", "show", "-p", "Id,ActiveState,ActiveEnterTimestampMonotonic", "--", *units.values()],
                   capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning("systemctl show failed: %s", e)
        return {}
    return parse_systemctl_show(proc.stdout, units, now_us=time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)


def parse_systemctl_show(text: str, units: dict[str, str], *, now_us: float) -> dict[str, float | None]:
    """The output of ``systemctl show -p Id,ActiveState,ActiveEnterTimestampMonotonic`` as uptimes."""
    blocks = {}
    for block in text.split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if "Id" in fields:
            blocks[fields["Id"]] = fields
    out = {}
    for name, unit in units.items():
        f = blocks.get(unit, {})
        entered = f.get("ActiveEnterTimestampMonotonic", "0")
        if f.get("ActiveState") == "active" and entered.isdigit() and int(entered) > 0:
            out[name] = round(max(0.0, (now_us - int(entered)) / 1e6), 1)
        else:
            out[name] = None
    return out


class Readings:
    """The telemetry groups of one office, each a method returning a dict. *health*: a fixed health source."""

    def __init__(self, context, *, health=None, services=service_uptimes):
        self.context = context
        self.settings = context.settings
        self._fixed_health = health
        self._health = health
        self._services = services

    @property
    def store(self):
        return self.context.store

    @property
    def health(self):
        if self._health is None:
            from pishkhan.hardware.health import health_from_config
            self._health = health_from_config(self.settings.config)
        return self._health

    def reloaded(self, changed: set, old=None):
        """After a reload: a new ``hardware.health`` source; a new birth when what it says changed."""
        if "hardware.health" in changed:
            self._health = self._fixed_health
        if changed & set(BIRTH):
            self.context.rebirth()

    def device(self) -> dict:
        readings = dict(self.health.read())
        services = self._services()
        services["agent"] = self.context.figures()["uptime_s"]
        readings["services"] = services
        return readings

    def peripherals(self) -> dict:
        out = {}
        for component in PERIPHERALS:
            fact = self.store.last_state(component)
            if fact is None:
                out[component] = None
                continue
            out[component] = {"state": fact["state"], "reason": fact["reason"], "at": fact["at"]}
            if component == "display":
                out[component]["board"] = fact["detail"].get("board")
        return out

    def office(self) -> dict:
        from pishkhan.queue.core import Queue
        from pishkhan.queue.kpi import day_report
        from pishkhan.text import jalali

        config = self.settings.config
        queue = Queue(self.store, config, board=lambda: None)
        waiting = {lane.code: queue.waiting(lane.code) for lane in config.lanes}
        total = day_report(self.store, config, jalali.today(self.store.now()).isoformat())["total"]
        return {"waiting": waiting, "counters_open": queue.open_counters(),
                "issued_today": total["issued"], "served_today": total["served"]}

    def clock(self) -> dict:
        return clock_state(self.store)


# -- changes only ----------------------------------------------------------------------
def _rule(path: str):
    if path in DEADBANDS:
        return "band", DEADBANDS[path]
    if any(fnmatch.fnmatchcase(path, pattern) for pattern in STEADY):
        return "steady", STEADY_SLACK
    return None, None


def changed(path: str, old, new, elapsed: float) -> bool:
    """Whether *new* at *path* differs from *old* (sent *elapsed* seconds ago) enough to send."""
    if isinstance(old, dict) and isinstance(new, dict):
        return any(changed(f"{path}.{k}", old.get(k), new.get(k), elapsed) for k in set(old) | set(new))
    rule, amount = _rule(path)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    if rule == "band" and numbers:
        return abs(new - old) >= amount
    if rule == "steady" and numbers:
        return abs((new - old) - elapsed) > amount
    return old != new


class Changes:
    """Turns each round of readings into what is sent: everything (full) or what changed."""

    def __init__(self, *, full_seconds: float = FULL_SECONDS, clock=time.monotonic):
        self.full_seconds = full_seconds
        self.clock = clock
        self._sent: dict[str, dict[str, tuple]] = {}  # group -> key -> (value, when sent)
        self._last_full: float | None = None
        self._dropped: dict | None = None

    def force_full(self):
        self._last_full = None

    def filter(self, readings: dict, figures: dict) -> tuple[dict, bool]:
        """``(readings to send, full?)`` for this round."""
        now = self.clock()
        dropped = {k: v for k, v in (figures.get("outbox", {}).get("dropped") or {}).items()
                   if k.startswith("telemetry.")}
        full = (self._last_full is None or now - self._last_full >= self.full_seconds
                or (self._dropped is not None and dropped != self._dropped))
        self._dropped = dropped
        if full:
            self._last_full = now
            self._sent = {g: {k: (v, now) for k, v in values.items()} for g, values in readings.items()}
            return readings, True
        out = {}
        for group, values in readings.items():
            sent = self._sent.setdefault(group, {})
            delta = {}
            for key in set(values) | set(sent):
                new = values.get(key)
                old, when = sent.get(key, (None, now))
                if key not in sent or changed(f"{group}.{key}", old, new, now - when):
                    delta[key] = new
                    sent[key] = (new, now)
            if delta:
                out[group] = dict(sorted(delta.items()))
        return out, False


def register(context, *, health=None, services=service_uptimes) -> Readings:
    """Plug the office's birth extras and telemetry groups in through *context* (a PartContext)."""
    settings = context.settings
    context.add_birth_part("province", lambda: settings.office.province)
    context.add_birth_part("office", lambda: settings.office.office_id)
    context.add_birth_part("office_name", lambda: settings.office.name)
    context.add_birth_part("schedule", lambda: schedule_state(context.store, settings.config))
    context.add_birth_part("clock", lambda: clock_state(context.store))
    readings = Readings(context, health=health, services=services)
    for name in ("device", "peripherals", "office", "clock"):
        context.add_telemetry_part(name, getattr(readings, name))
    context.filter_telemetry(Changes())
    context.live(LIVE, on_change=readings.reloaded)
    return readings

