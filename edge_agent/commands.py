"""Commands from the centre on ``dev/{id}/cmd``: verify, run one of the allowed set, publish the result.

Every message is parsed with the strict loader and checked by
:func:`pishkhan.protocol.commands.check_command` (signature by a ``command``
key, device, expiry, nonce, name, arguments; it audits acceptance and
refusal). A refusal is published as a result with ``ok`` false, ``reason``
the refusal's code and ``detail.message`` the sentence; so is a command that
fails while running (reason ``failed``). Results carry the command's id as
``correlation_id``.

The allowed set, each one function here (no shell strings anywhere):

``ping``             ``detail``: agent and software version, uptime, outbox figures.
``snapshot``         the newest proof-of-display snapshot the wall recorded
                     (``display_snapshots`` and its PNG): ``png_base64``,
                     ``sha256`` (checked against the file), ``board_version``,
                     ``verification_code``, ``at``, size. None recorded: ``ok``
                     false, reason ``no_snapshot``.
``resend_report``    the daily report of ``date`` again on ``report``.
``reload_config``    re-reads the configuration file and puts it in force
                     (:meth:`edge_agent.agent.Agent.reload_config`): ``changed``,
                     ``applied`` (in force now) and ``restart_needed`` (the rest).
``set_log_level``    the agent's log level, until it restarts.
``restart_service``  ``systemctl restart pishkhan-{service}.service`` as an
                     argument list; restarting the agent itself runs after its
                     result is safe in the outbox.
``screen``           writes the store setting ``display.screen_override``:
                     ``{"power": "on"|"off", "until": "…Z", "command": id,
                     "set_at": "…Z"}``, audited; the wall honours it until
                     ``until`` (:data:`pishkhan.screen_override.LASTS`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import subprocess
from pathlib import Path

from pishkhan.boards.jsonlimits import load_json
from pishkhan.exc import CommandFailed, CommandRefused
from pishkhan.protocol.commands import check_command
from pishkhan.screen_override import set_override

from .compliance import send_report

log = logging.getLogger("pishkhan.agent.commands")

#: The largest snapshot PNG sent in a result (the wall keeps small ones; a larger file is refused).
MAX_SNAPSHOT_BYTES = 2 * 1024 * 1024


def run_command(args: list[str]) -> subprocess.CompletedProcess:
    """Run *args* (a list, never a shell string), capturing output, at most 60 s."""
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


class Commands:
    """Runs the centre's commands through *context* (a PartContext). *runner* runs a process (tests pass a fake)."""

    def __init__(self, context, *, runner=run_command):
        self.context = context
        self.runner = runner
        self._after = []  # what runs once a result is in the outbox (restarting the agent itself)

    @property
    def store(self):
        return self.context.store

    def attach(self):
        self.context.subscribe(self.context.topics.cmd(self.context.device_id), self.handle)

    def handle(self, topic: str, payload: bytes, retained: bool = False) -> dict | None:
        """Check and run one command; publish and return its result (None for an empty payload)."""
        if not payload:
            return None
        try:
            envelope = load_json(payload, source=f"mqtt:{topic}",
                                 error=lambda errors: CommandRefused("malformed", "; ".join(errors)))
        except CommandRefused as refusal:  # before its signature is read: audited like every refusal
            self.store.audit("centre", "command.refuse", "", reason=refusal.reason, message=str(refusal))
            log.warning("refused a command on %s: %s", topic, refusal)
            return self._result("", "", False, refusal.reason, {"message": str(refusal)})
        name = ""
        if isinstance(envelope, dict) and isinstance(envelope.get("payload"), dict):
            raw = envelope["payload"].get("name")
            name = raw if isinstance(raw, str) else ""
        try:
            command = check_command(self.store, envelope, device_id=self.context.device_id)
        except CommandRefused as refusal:
            log.warning("refused command %s (%s): %s", refusal.command_id, name, refusal)
            return self._result(refusal.command_id or "", name, False, refusal.reason, {"message": str(refusal)})
        try:
            detail = getattr(self, f"do_{command.name}")(command)
        except CommandFailed as e:
            log.warning("command %s %s failed: %s", command.id, command.name, e)
            self.store.audit("agent", "command.failed", command.id, name=command.name, reason=e.reason,
                             message=str(e))
            return self._result(command.id, command.name, False, e.reason, {"message": str(e)})
        except Exception as e:  # noqa: BLE001 - a failing command is reported, never crashes the agent
            log.exception("command %s %s failed", command.id, command.name)
            self.store.audit("agent", "command.failed", command.id, name=command.name, reason="failed",
                             message=str(e))
            return self._result(command.id, command.name, False, "failed", {"message": str(e)})
        result = self._result(command.id, command.name, True, None, detail)
        after, self._after = self._after, []
        for fn in after:
            fn()
        return result

    def _result(self, correlation_id, command, ok, reason, detail) -> dict:
        self.context.publisher.result(correlation_id, command, ok, reason=reason, detail=detail)
        body = {"correlation_id": correlation_id, "command": command, "ok": ok, "detail": detail}
        return body | ({"reason": reason} if reason else {})

    # -- the allowed set ---------------------------------------------------------------
    def do_ping(self, command) -> dict:
        from pishkhan.releases import running_version

        from . import __version__ as agent_version

        return {"pong": True, "agent_version": agent_version, "software_version": running_version(),
                "boot_id": self.context.boot_id, **self.context.figures()}

    def do_snapshot(self, command) -> dict:
        row = self.store.query_one("SELECT * FROM display_snapshots ORDER BY id DESC LIMIT 1")
        if row is None:
            raise CommandFailed("no_snapshot", "the wall display has recorded no snapshot yet")
        path = Path(row["path"])
        if not path.is_absolute():
            path = self.context.settings.config.state_dir / "snapshots" / path
        try:
            if path.stat().st_size > MAX_SNAPSHOT_BYTES:
                raise CommandFailed("snapshot_too_large", f"{path} is larger than {MAX_SNAPSHOT_BYTES:,} bytes")
            data = path.read_bytes()
        except OSError as e:
            raise CommandFailed("no_snapshot", f"the snapshot file {path} cannot be read: {e.strerror or e}") from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != row["sha256"]:
            raise CommandFailed("snapshot_corrupt", f"{path} does not match its recorded hash "
                                             f"({digest[:12]}… instead of {row['sha256'][:12]}…)")
        return {"at": row["at"], "sha256": digest, "board_version": row["board_version"],
                "verification_code": row["verification_code"], "screen_state": row["screen_state"],
                "width": row["width"], "height": row["height"], "bytes": len(data),
                "png_base64": base64.b64encode(data).decode("ascii")}

    def do_resend_report(self, command) -> dict:
        day = command.args["date"]
        try:
            date = dt.date.fromisoformat(day)
        except ValueError:
            raise CommandFailed("bad_args", f"date: {day!r} is not a calendar date") from None
        send_report(self.context, date)  # no key: a re-send is a new message
        return {"date": day}

    def do_reload_config(self, command) -> dict:
        detail = self.context.reload_config()  # a ConfigError is the result's reason
        if detail.get("reloaded"):
            self.store.audit("centre", "config.reload", detail["path"], changed=detail["changed"],
                             restart_needed=detail["restart_needed"])
        return detail

    def do_set_log_level(self, command) -> dict:
        level = command.args["level"]
        for name in ("", "pishkhan"):
            logging.getLogger(name).setLevel(level)
        self.store.audit("centre", "log.level", level)
        return {"level": level}

    def do_restart_service(self, command) -> dict:
        service = command.args["service"]
        args = ["systemctl", "restart", f"pishkhan-{service}.service"]
        self.store.audit("centre", "service.restart", service, command=command.id)
        if service == "agent":  # the result must be in the outbox before this process goes
            self._after.append(lambda: self._run(args))
            return {"service": service, "args": args, "restarting": True}
        done = self._run(args)
        if done.returncode != 0:
            raise CommandFailed("failed", f"{' '.join(args)} exited with {done.returncode}: "
                                   f"{(done.stderr or '').strip()[:500]}")
        return {"service": service, "args": args, "returncode": done.returncode}

    def _run(self, args):
        try:
            return self.runner(args)
        except (OSError, subprocess.SubprocessError) as e:
            raise CommandFailed("failed", f"{args[0]} could not run: {e}") from None

    def do_screen(self, command) -> dict:
        return set_override(self.store, command.args["power"], command=command.id)


def register(context, *, runner=run_command) -> Commands:
    """Plug the commands in through *context* (listed in :data:`edge_agent.agent.PARTS`)."""
    commands = Commands(context, runner=runner)
    commands.attach()
    return commands
