"""Revoking a device: its certificates marked revoked, the broker's CRL written again whole, the broker told.

:func:`revoke` does, in this order:

1. in one unit of work of the fleet database: every unrevoked certificate of
   the device is marked revoked (:func:`central.certificates.revoke_in`) and a
   ``revoked`` fact is logged in ``enrolment_log``;
2. the CRL is written whole from every revoked certificate the database holds
   (:func:`central.certificates.revoked_in`), signed by the CA, to the file
   Mosquitto's ``crlfile`` names (a temporary file renamed over it, under a
   lock, so two revocations at once cannot leave one of them out);
3. the broker is made to read it (a :class:`Reloader`);
4. with a :class:`Disconnect`, the device's connection still open is closed:
   the centre connects to its own listener with the device's id as client
   id, Mosquitto hands the id over and closes the device's connection (on the
   certificate listener the client id is the certificate's name,
   ``use_username_as_clientid``); the device's reconnection then meets the
   new CRL and is refused.

On PostgreSQL step 1 first locks the device's certificate rows, as renewal
does (central/enrolment/service.py): a renewal under way finishes first and
its new certificate is revoked too; one that comes after sees the revocation.

A step that fails after step 1 leaves the revocation recorded: running the
command again (or :func:`refresh_crl`) writes the CRL and reloads, and logs
nothing twice. A device already revoked is revoked again without a new fact.

What Mosquitto 2.0.11 does (measured; tests/central/test_revocation.py):
SIGHUP makes it read every listener's ``crlfile`` again, so a new TLS
handshake with a revoked certificate is refused with ``certificate revoked``;
a connection already open stays open until the device disconnects (hence
step 4; a broker restart would cut every device's). The CRL has a ``next_update``
(:data:`CRL_DAYS`); OpenSSL refuses **every** client once it is past, so
:func:`refresh_crl` must run before then (docs/broker.md: a daily timer).

A refusal is :exc:`RevocationRefused` with a ``reason`` from :data:`REASONS`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shlex
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from central import certificates
from central.errors import RevocationRefused
from pishkhan.exc import CentralError

#: Why a revocation was refused or could not be finished.
REASONS = RevocationRefused.reasons
#: Days a CRL is valid (its ``next_update``); refresh it well before (daily).
CRL_DAYS = 30
_MAX_REASON = 300


class Reloader:
    """Makes the broker read its CRL again; :meth:`reload` returns what it did, or raises
    :exc:`RevocationRefused` (``reload_failed``)."""

    def reload(self) -> str:
        raise NotImplementedError


class NoReload(Reloader):
    """Tell nobody (the operator reloads the broker)."""

    def reload(self) -> str:
        return "not reloaded"


class SignalReload(Reloader):
    """SIGHUP to the process whose id is in *pidfile* (Mosquitto's ``pid_file``)."""

    def __init__(self, pidfile):
        self.pidfile = Path(pidfile)

    def reload(self) -> str:
        try:
            pid = int(self.pidfile.read_text().split()[0])
            os.kill(pid, signal.SIGHUP)
        except (OSError, ValueError, IndexError) as e:
            raise RevocationRefused(f"could not send SIGHUP to the broker of {self.pidfile}: {e}",
                                    reason="reload_failed") from None
        return f"SIGHUP to {pid}"


class CommandReload(Reloader):
    """Run *command* (e.g. ``systemctl reload mosquitto``); it must exit 0 within *timeout* seconds."""

    def __init__(self, command: str, *, timeout: float = 60):
        self.command = command
        self.timeout = timeout

    def reload(self) -> str:
        try:
            done = subprocess.run(shlex.split(self.command), capture_output=True, text=True, timeout=self.timeout)
        except (OSError, ValueError, subprocess.TimeoutExpired) as e:
            raise RevocationRefused(f"{self.command!r} failed: {e}", reason="reload_failed") from None
        if done.returncode != 0:
            raise RevocationRefused(f"{self.command!r} exited {done.returncode}: {done.stderr.strip()[-300:]}",
                                    reason="reload_failed")
        return f"ran {self.command}"


class Disconnect:
    """Closes a device's open connection by taking over its client id on the centre's listener
    (*broker*: a :class:`central.publish.Broker` for a centre account)."""

    def __init__(self, broker, *, timeout: float = 10.0):
        self.broker = broker
        self.timeout = timeout

    def disconnect(self, device_id: str) -> str:
        from central.publish import Connection

        try:
            Connection(self.broker, timeout=self.timeout, client_id=device_id).close()
        except CentralError as e:
            raise RevocationRefused(f"the revocation is recorded and the CRL written, but the device's open "
                                    f"connection was not closed: {e}", reason="disconnect_failed") from None
        return f"closed its open connection (client id {device_id} taken over at {self.broker.address})"


@dataclass(frozen=True)
class Revocation:
    """What :func:`revoke` did: the serials it revoked now (empty if already revoked), the CRL written
    and how many certificates it lists, and how the broker was told."""

    device_id: str
    serials: list[str] = field(default_factory=list)
    crl_path: Path | None = None
    listed: int = 0
    reloaded: str = ""
    disconnected: str = ""


def revoke(db, ca, *, device_id: str, reason: str, crl_path=None, reloader: Reloader | None = None,
           disconnect: Disconnect | None = None, now: dt.datetime | None = None) -> Revocation:
    """Revoke *device_id* (see the module's docstring); *crl_path* defaults to the CA's ``crl.pem``."""
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > _MAX_REASON or any(ord(ch) < 32 for ch in reason):
        raise RevocationRefused(f"a revocation needs a reason of 1-{_MAX_REASON} characters on one line",
                                reason="bad_reason")

    def work(c):
        if db.dialect != "?":  # PostgreSQL: a renewal under way finishes first, and its certificate is seen
            c.execute("SELECT serial FROM certificates WHERE device_id = ? FOR UPDATE", (device_id,)).fetchall()
        known = c.execute("SELECT COUNT(*) FROM certificates WHERE device_id = ?", (device_id,)).fetchone()[0]
        if not known:
            return None
        serials = certificates.revoke_in(c, device_id, reason=reason, now=now)
        if serials:
            office = c.execute("SELECT office_id FROM registry WHERE device_id = ?", (device_id,)).fetchone()
            certificates.log(c, "revoked", device_id=device_id, office_id=office[0] if office else "",
                             reason=reason, detail={"serials": serials}, now=now)
        return serials

    serials = db.write(work)
    if serials is None:
        raise RevocationRefused(f"the centre issued no certificate to {device_id!r}: nothing to revoke "
                                "(check the device id with `pishkhan central devices list`)",
                                reason="unknown_device")
    path, listed = refresh_crl(db, ca, crl_path=crl_path, now=now)
    reloaded = (reloader or NoReload()).reload()
    return Revocation(device_id, serials, path, listed, reloaded,
                      disconnect.disconnect(device_id) if disconnect else "")


def refresh_crl(db, ca, *, crl_path=None, now: dt.datetime | None = None) -> tuple[Path, int]:
    """Write the CRL whole from every revoked certificate in *db*; returns its path and how many it lists."""
    target = Path(crl_path) if crl_path else ca.crl_file
    try:
        with open(target.with_name(f".{target.name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            revoked = db.read(certificates.revoked_in)
            ca.write_crl(revoked, now=now, path=target)
    except OSError as e:
        raise RevocationRefused(f"cannot write the CRL {target}: {e.strerror or e}; the folder must exist and be "
                                "writable by this user (docs/broker.md); run the command again once it is",
                                reason="crl_unwritable") from None
    return target, len(revoked)
