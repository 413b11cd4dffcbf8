"""A real enrolment server over real TLS for the tests: a CA, its server certificate, uvicorn in a thread."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from services import free_port

from central.ca import CertificateAuthority, cert_pem, key_pem
from central.enrolment.server import create_app, uvicorn_config
from central.enrolment.service import Enrolment
from pishkhan.tls import write_file

BROKER = "mqtts://broker.test:8883"


def make_ca(folder: Path) -> tuple[CertificateAuthority, Path, Path]:
    """A CA in *folder* and a server certificate for 127.0.0.1 (its PEM and key files)."""
    ca = CertificateAuthority.create(folder / "ca")
    cert, key = ca.issue_server(["127.0.0.1", "localhost"])
    write_file(folder / "server.pem", cert_pem(cert), mode=0o644)
    write_file(folder / "server.key", key_pem(key), mode=0o600)
    return ca, folder / "server.pem", folder / "server.key"


@contextlib.contextmanager
def serving(service: Enrolment, *, tls_cert: Path, tls_key: Path, port: int | None = None):
    """Serve *service* over HTTPS on 127.0.0.1:*port* (a free one by default); yields the base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn_config(create_app(service), host="127.0.0.1", port=port, tls_cert=tls_cert,
                                           tls_key=tls_key, log_level=os.environ.get("UVL","warning")))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError(f"the enrolment server did not start on port {port}")
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = server.force_exit = True  # idle TLS connections would hold a graceful stop
        thread.join(10)
