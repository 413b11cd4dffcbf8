"""The package is fetched over real HTTPS with the centre's CA pinned: a server the CA did not certify is
refused, as are a missing file, a file longer or different than the document says."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import ssl
import threading

import pytest
from enrolment_helpers import make_ca
from updater_world import NEW, make_world, run_here

from updater.download import Downloader, HttpsTransport
from updater.release import Refusal


@contextlib.contextmanager
def https_pool(folder, cert, key):
    """A static HTTPS server of *folder* on 127.0.0.1; yields its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pool")
    ca, cert, key = make_ca(folder / "tls")
    stranger = make_ca(folder / "stranger")[0]
    (folder / "releases/pool").mkdir(parents=True)
    data = b"a package" * 1000
    sha = hashlib.sha256(data).hexdigest()
    (folder / f"releases/pool/{sha}.deb").write_bytes(data)
    with https_pool(folder, cert, key) as url:
        yield {"url": url, "ca": ca.cert_file, "stranger": stranger.cert_file, "sha": sha, "size": len(data),
               "folder": folder}


def test_fetched_with_the_pinned_ca(pool, tmp_path):
    got = Downloader(HttpsTransport(ca_file=pool["ca"])).fetch(
        f"{pool['url']}releases/pool/{pool['sha']}.deb", tmp_path / "p.deb", size=pool["size"], sha256=pool["sha"])
    assert hashlib.sha256(got.read_bytes()).hexdigest() == pool["sha"]


@pytest.mark.parametrize("case, reason", [("stranger", "download_failed"), ("missing", "download_failed"),
                                          ("short_size", "wrong_hash"), ("other_hash", "wrong_hash")])
def test_refused(pool, tmp_path, case, reason):
    ca = pool["stranger"] if case == "stranger" else pool["ca"]
    name = "0" * 64 if case == "missing" else pool["sha"]
    size = pool["size"] - 1 if case == "short_size" else pool["size"]
    sha = "1" * 64 if case == "other_hash" else pool["sha"]
    with pytest.raises(Refusal) as refused:
        Downloader(HttpsTransport(ca_file=ca)).fetch(f"{pool['url']}releases/pool/{name}.deb", tmp_path / "p.deb",
                                                     size=size, sha256=sha)
    assert refused.value.reason == reason
    assert not list(tmp_path.iterdir()), "nothing is left behind"


def test_the_updater_downloads_through_the_pinned_ca_from_the_configured_repository(pool, tmp_path, monkeypatch):
    """The real transport inside a whole run: repository and ca_file from the [update] section."""
    from updater import fakes

    world = make_world(tmp_path)
    world.keep_running()
    release = world.publish(NEW)
    (pool["folder"] / "releases/pool" / f"{release['sha256']}.deb").write_bytes(
        (world.device.folder / "pool" / f"{release['sha256']}.deb").read_bytes())
    (world.device.folder / "pool" / f"{release['sha256']}.deb").unlink()  # only the HTTPS server has it
    (tmp_path / "pishkhan.toml").write_text(f'[update]\nca_file = "{pool["ca"]}"\n'
                                            f'[enrolment]\nserver = "{pool["url"]}enrol"\n')
    monkeypatch.setattr(fakes, "FakeTransport", lambda device: HttpsTransport(ca_file=pool["ca"]))
    env = {k: v for k, v in world.env.items() if k != "PISHKHAN_UPDATE_REPOSITORY"}
    monkeypatch.setattr(type(world), "env", property(lambda w: env))
    world.request()
    assert run_here(world, "run") == 0
    assert world.steps()[-1] == ("healthy", "") and world.device.runs() == NEW


def test_a_server_sending_without_end_is_cut_off_at_the_documents_size(tmp_path):
    """The size cap: a file longer than the document says is not written past it (a full SD card)."""
    from updater.download import CHUNK

    class Endless:
        read_bytes = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n):
            self.read_bytes += n
            assert self.read_bytes <= 1000 + 2 * CHUNK, "read far past the size the document gives"
            return b"x" * n

    stream = Endless()
    with pytest.raises(Refusal) as refused:
        Downloader(type("T", (), {"open": lambda self, url: stream})()).fetch(
            "https://centre.test/releases/pool/x.deb", tmp_path / "p.deb", size=1000, sha256="0" * 64)
    assert refused.value.reason == "wrong_hash" and not list(tmp_path.iterdir())
