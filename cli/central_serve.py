"""What serving the dashboard needs from the command line, for ``pishkhan central dashboard`` and
``pishkhan central monitor --listen``: the address and the session-signing secret."""

from __future__ import annotations


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` as ``(host, port)``; :exc:`ConfigError` naming ``--listen`` otherwise."""
    from pishkhan.exc import ConfigError

    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--listen: expected HOST:PORT, e.g. 127.0.0.1:8080, got {text!r}")
    return host.strip("[]"), int(port)


def session_secret(path) -> bytes | None:
    """The secret in *path* (made, mode 0600, if missing); None without a path (a new one per run)."""
    import os
    import secrets
    from pathlib import Path

    if not path:
        return None
    path = Path(path)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip().encode()
