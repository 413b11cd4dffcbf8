"""A local TCP proxy between the agent and the broker that can stall both ways (a network partition).

:class:`StallProxy` listens on a free loopback port and forwards every
connection to *target*. :meth:`StallProxy.partition` stops forwarding in
both directions without closing anything: the sockets stay open, bytes wait
in the kernel's buffers, and neither end learns of it except by its own
timeouts (MQTT keepalive) — as when a router drops packets. :meth:`heal`
forwards again what waited. :meth:`cut` closes every connection (a reset).
"""

from __future__ import annotations

import selectors
import socket
import threading


class StallProxy:
    """Forwards loopback TCP to *target* ``(host, port)``; stalls on request."""

    def __init__(self, target: tuple[str, int], *, host: str = "127.0.0.1"):
        self.target = target
        self.listener = socket.create_server((host, 0))
        self.listener.setblocking(False)
        self.host, self.port = self.listener.getsockname()[:2]
        self.stalled = threading.Event()
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.listener, selectors.EVENT_READ)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="stall-proxy", daemon=True)
        self._thread.start()

    def partition(self):
        """Stop forwarding both ways; connections stay open."""
        self.stalled.set()

    def heal(self):
        self.stalled.clear()

    def cut(self):
        """Close every forwarded connection (both ends see a reset)."""
        with self._lock:
            for s in list(self._pairs):
                self._drop(s)

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.cut()
        self.listener.close()
        self._sel.close()

    # -- the loop ---------------------------------------------------------------------
    def _drop(self, s):
        peer = self._pairs.pop(s, None)
        for one in (s, peer):
            if one is None:
                continue
            self._pairs.pop(one, None)
            try:
                self._sel.unregister(one)
            except (KeyError, ValueError):
                pass
            one.close()

    def _accept(self):
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()  # the broker is down: the agent sees a refused connection
            return
        for s in (client, upstream):
            s.setblocking(False)
        self._pairs[client], self._pairs[upstream] = upstream, client
        self._sel.register(client, selectors.EVENT_READ)
        self._sel.register(upstream, selectors.EVENT_READ)

    def _run(self):
        while not self._stop.is_set():
            if self.stalled.is_set():
                self._stop.wait(0.05)  # nothing is read: the kernel buffers fill and both ends wait
                continue
            for key, _ in self._sel.select(0.05):
                with self._lock:
                    s = key.fileobj
                    if s is self.listener:
                        self._accept()
                        continue
                    if s not in self._pairs:
                        continue
                    try:
                        data = s.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        self._drop(s)
                        continue
                    try:
                        self._pairs[s].setblocking(True)
                        self._pairs[s].sendall(data)
                        self._pairs[s].setblocking(False)
                    except OSError:
                        self._drop(s)
