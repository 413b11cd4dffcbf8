"""systemd's notify protocol without a dependency: one datagram to ``$NOTIFY_SOCKET``.

Used by the edge agent and the centre's fleet monitor: ``READY=1`` once the
service has started, ``WATCHDOG=1`` while it is healthy, ``STATUS=…`` a line
for ``systemctl status``, ``STOPPING=1`` on the way out. Without ``$NOTIFY_SOCKET`` (not run by systemd) every call does
nothing. A socket name starting with ``@`` is in the abstract namespace.
A failed send is ignored: notifying must never stop the service.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    """Sends notify messages to *socket_path* (default ``$NOTIFY_SOCKET``)."""

    def __init__(self, socket_path: str | None = None, *, environ=None):
        environ = os.environ if environ is None else environ
        self.path = socket_path if socket_path is not None else environ.get("NOTIFY_SOCKET", "")
        self._watchdog_usec = _watchdog_usec(environ)
        self.last_status = ""

    @property
    def enabled(self) -> bool:
        return bool(self.path)

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between ``WATCHDOG=1`` pings: half of ``$WATCHDOG_USEC``, or None without a watchdog."""
        return self._watchdog_usec / 2e6 if self._watchdog_usec else None

    def send(self, *lines: str) -> bool:
        """Send ``KEY=value`` lines as one datagram; True if it went out."""
        if not self.path:
            return False
        address = "\0" + self.path[1:] if self.path.startswith("@") else self.path
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.connect(address)
                s.sendall("\n".join(lines).encode("utf-8"))
            return True
        except OSError:
            return False

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """Send ``STATUS=text`` if it differs from the last one sent."""
        text = text.replace("\n", " ")
        if text == self.last_status:
            return False
        self.last_status = text
        return self.send(f"STATUS={text}")

    def stopping(self, status: str = "") -> bool:
        return self.send("STOPPING=1", *([f"STATUS={status}"] if status else []))


def _watchdog_usec(environ) -> int | None:
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = environ.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    return usec if usec > 0 else None
