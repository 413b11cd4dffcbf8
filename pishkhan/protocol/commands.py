"""Signed commands from the centre: what a device accepts, and why it refuses.

A command is a signed envelope (:mod:`pishkhan.boards.signing`) whose
payload is::

    {"format": "pishkhan.command/1", "id": "<correlation id>",
     "device": "dev-0001", "name": "ping", "args": {},
     "nonce": "<32 hex digits>", "issued_at": "…Z", "expires_at": "…Z"}

The device runs it only when **all** of these hold, checked in this order;
the first that fails is the refusal's ``reason`` (a code the centre reads)
with a sentence saying what was wrong:

=================  ==============================================================
``malformed``      not an object, a field missing or of the wrong type, unknown fields
``unsigned``       not a signed envelope at all
``forged``         the signature does not verify, or the key is not trusted with
                   scope ``command`` (a board issuer's key cannot command a device)
``wrong_device``   addressed to another device
``expired``        ``expires_at`` is past, or the command lives longer than
                   :data:`MAX_LIFETIME`
``not_yet_valid``  ``issued_at`` is more than :data:`CLOCK_SKEW` in the future
``replayed``       its nonce was seen before (nonces are kept until they expire)
``unknown``        its name is not in :data:`COMMANDS`
``bad_args``       its arguments are not the ones that command takes
=================  ==============================================================

Every acceptance and refusal is written to the audit log. Nothing here runs
a command: the agent maps each name to one function, and no command carries
a shell string (a service to restart is a name from a fixed list).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from pishkhan.exc import CommandRefused, SignatureInvalid
from pishkhan.boards.signing import ENVELOPE, verify
from pishkhan.boards.trust import trusted_keys
from pishkhan.store.database import iso, parse_iso

FORMAT = "pishkhan.command/1"
MAX_LIFETIME = dt.timedelta(hours=24)
CLOCK_SKEW = dt.timedelta(minutes=5)
SERVICES = ("kiosk", "display", "panel", "agent")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _no_args(args):
    if args:
        return f"takes no arguments, got {sorted(args)}"
    return None


def _one(name: str, check, expected: str):
    def validate(args):
        if set(args) != {name}:
            return f"takes exactly {{{name!r}}}, got {sorted(args)}"
        if not check(args[name]):
            return f"{name}: expected {expected}, got {args[name]!r}"
        return None
    return validate


#: Each allowed command and the check of its arguments (None when they are right).
COMMANDS = {
    "ping": _no_args,
    "snapshot": _no_args,  # send the wall's current proof-of-display snapshot
    "resend_report": _one("date", lambda v: isinstance(v, str) and bool(_DATE.match(v)), "YYYY-MM-DD"),
    "reload_config": _no_args,
    "set_log_level": _one("level", lambda v: v in LOG_LEVELS, " or ".join(LOG_LEVELS)),
    "restart_service": _one("service", lambda v: v in SERVICES, " or ".join(SERVICES)),
    "screen": _one("power", lambda v: v in ("on", "off"), '"on" or "off"'),
}
FIELDS = {"format": str, "id": str, "device": str, "name": str, "args": dict, "nonce": str,
          "issued_at": str, "expires_at": str}


@dataclass(frozen=True)
class Command:
    id: str
    device: str
    name: str
    args: dict
    nonce: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    key: str


def make_command(key, *, device: str, name: str, args: dict | None = None, lifetime=dt.timedelta(minutes=10),
                 now: dt.datetime | None = None, command_id: str | None = None) -> dict:
    """The signed envelope of a command (the centre's side)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    payload = {"format": FORMAT, "id": command_id or secrets.token_hex(8), "device": device, "name": name,
               "args": dict(args or {}), "nonce": secrets.token_hex(16), "issued_at": iso(now),
               "expires_at": iso(now + lifetime)}
    return key.sign(payload)


def _time(payload, field, command_id):
    try:
        return parse_iso(payload[field])
    except ValueError:
        raise CommandRefused("malformed", f"{field}: expected a UTC time like 2026-12-01T08:30:00.000000Z, "
                             f"got {payload[field]!r}", command_id=command_id) from None


def check_command(store, envelope, *, device_id: str, now: dt.datetime | None = None) -> Command:
    """Verify *envelope* and claim its nonce; raise :exc:`CommandRefused` with the reason.

    Audits the outcome either way.
    """
    now = now or store.now()
    command_id = None
    try:
        if isinstance(envelope, dict) and isinstance(envelope.get("payload"), dict):
            raw_id = envelope["payload"].get("id")
            command_id = raw_id if isinstance(raw_id, str) else None
        command = _check(store, envelope, device_id, now, command_id)
    except CommandRefused as refusal:
        store.audit("centre", "command.refuse", command_id or "", reason=refusal.reason, message=str(refusal))
        raise
    store.audit("centre", "command.accept", command.id, name=command.name, args=command.args, key=command.key)
    return command


def _check(store, envelope, device_id, now, command_id) -> Command:
    if not isinstance(envelope, dict):
        raise CommandRefused("malformed", f"a command is a JSON object, got {type(envelope).__name__}")
    if envelope.get("format") != ENVELOPE or "signature" not in envelope:
        raise CommandRefused("unsigned", f"a command must be a signed envelope ({ENVELOPE})", command_id=command_id)
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        raise CommandRefused("malformed", "payload: expected an object", command_id=command_id)
    for field, kind in FIELDS.items():
        if not isinstance(payload.get(field), kind):
            raise CommandRefused("malformed", f"{field}: expected {kind.__name__}, got {payload.get(field)!r}",
                                 command_id=command_id)
    extra = set(payload) - set(FIELDS)
    if extra:
        raise CommandRefused("malformed", f"unknown fields {sorted(extra)}", command_id=command_id)
    if payload["format"] != FORMAT:
        raise CommandRefused("malformed", f"format: expected {FORMAT!r}, got {payload['format']!r}",
                             command_id=command_id)
    keys = {fp: key for fp, (key, scope) in trusted_keys(store).items() if scope == "command"}
    try:
        _, key = verify(envelope, keys)
    except SignatureInvalid as e:
        raise CommandRefused("forged", f"{e} (only keys trusted with scope \"command\" may command a device)",
                             command_id=command_id) from None
    if payload["device"] != device_id:
        raise CommandRefused("wrong_device", f"addressed to {payload['device']!r}, this is {device_id!r}",
                             command_id=command_id)
    issued, expires = _time(payload, "issued_at", command_id), _time(payload, "expires_at", command_id)
    if expires - issued > MAX_LIFETIME:
        raise CommandRefused("expired", f"a command may live at most {MAX_LIFETIME}, this one {expires - issued}",
                             command_id=command_id)
    if now >= expires:
        raise CommandRefused("expired", f"expired at {payload['expires_at']} (now {iso(now)})", command_id=command_id)
    if issued - now > CLOCK_SKEW:
        raise CommandRefused("not_yet_valid", f"issued at {payload['issued_at']}, in the future (now {iso(now)})",
                             command_id=command_id)
    if not _claim_nonce(store, payload["nonce"], payload["id"], payload["expires_at"], now):
        raise CommandRefused("replayed", f"nonce {payload['nonce']} was used before", command_id=command_id)
    check = COMMANDS.get(payload["name"])
    if check is None:
        raise CommandRefused("unknown", f"no command {payload['name']!r}; known: {sorted(COMMANDS)}",
                             command_id=command_id)
    problem = check(payload["args"])
    if problem:
        raise CommandRefused("bad_args", f"{payload['name']} {problem}", command_id=command_id)
    return Command(payload["id"], payload["device"], payload["name"], payload["args"], payload["nonce"],
                   issued, expires, key.fingerprint)


def _claim_nonce(store, nonce: str, command_id: str, expires_at: str, now: dt.datetime) -> bool:
    """Record *nonce* as used; False when it already was. Forgets nonces whose commands expired."""
    def claim(c):
        c.execute("DELETE FROM command_nonces WHERE expires_at < ?", (iso(now - CLOCK_SKEW),))
        if c.execute("SELECT 1 FROM command_nonces WHERE nonce = ?", (nonce,)).fetchone():
            return False
        c.execute("INSERT INTO command_nonces(nonce, command_id, expires_at, seen_at) VALUES (?,?,?,?)",
                  (nonce, command_id, expires_at, iso(now)))
        return True

    return store.write(claim)
