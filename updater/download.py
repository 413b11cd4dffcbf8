"""Fetching the package: ``{repository}{path}`` over HTTPS with the centre's CA pinned, into a temporary file,
cut off past the size the signed document gave, its sha256 checked, synced, renamed into place.

A transport opens the URL (the real one :class:`HttpsTransport`; the suite's fake serves files); the checks
are :class:`Downloader`'s, the same for both.
"""

from __future__ import annotations

import hashlib
import http.client
import os
from pathlib import Path

from updater.kept import sync_dir
from updater.release import Refusal

CHUNK = 1 << 16


class HttpsTransport:
    """urllib over TLS trusting only *ca_file* (hostname checked), no proxy, bounded waits."""

    def __init__(self, *, ca_file: Path, timeout: float = 30):
        self.ca_file = Path(ca_file)
        self.timeout = timeout

    def open(self, url: str):
        import ssl
        import urllib.error
        import urllib.request

        if not url.startswith("https://"):
            raise Refusal(f"{url}: not an https:// URL", reason="download_failed")
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file))
        except (OSError, ssl.SSLError) as e:
            raise Refusal(f"the pinned CA {self.ca_file} cannot be read: {e}", reason="download_failed") from None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=context))
        try:
            return opener.open(urllib.request.Request(url, headers={"User-Agent": "pishkhan-update"}),
                               timeout=self.timeout)
        except urllib.error.HTTPError as e:
            raise Refusal(f"{url}: HTTP {e.code}", reason="download_failed") from None
        except (urllib.error.URLError, OSError, ssl.SSLError) as e:
            raise Refusal(f"{url}: {getattr(e, 'reason', e)}", reason="download_failed") from None


class Downloader:
    """Fetch through *transport* with the checks."""

    def __init__(self, transport):
        self.transport = transport

    def fetch(self, url: str, dest: Path, *, size: int, sha256: str) -> Path:
        """*url* at *dest*, exactly *size* bytes hashing to *sha256*; Refusal wrong_hash or download_failed."""
        dest.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        h, got = hashlib.sha256(), 0
        try:
            with self.transport.open(url) as stream, open(part, "wb") as out:
                while True:
                    try:
                        block = stream.read(CHUNK)
                    except (OSError, ValueError, http.client.HTTPException) as e:
                        raise Refusal(f"{url}: the download broke off after {got} bytes: {e}",
                                      reason="download_failed") from None
                    if not block:
                        break
                    got += len(block)
                    if got > size:
                        raise Refusal(f"{url}: more than the {size} bytes the document gives", reason="wrong_hash")
                    h.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            if got != size:
                raise Refusal(f"{url}: {got} bytes, the document gives {size}", reason="wrong_hash")
            if h.hexdigest() != sha256:
                raise Refusal(f"{url}: sha256 {h.hexdigest()}, the document gives {sha256}", reason="wrong_hash")
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, dest)
        sync_dir(dest.parent)
        return dest
