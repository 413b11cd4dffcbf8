"""The circulars' attachment pool: each PDF as ``<sha256>.pdf`` in one folder.

Like the release pool (:mod:`central.releases.pool`), a file is named by the SHA-256 of its bytes, so a name
never changes its bytes and the server needs no other lookup: the enrolment server serves the folder at
``/circulars/pool/<sha256>.pdf`` (:func:`central.enrolment.server.circular_routes`), GET and HEAD only, the name
matched whole against :data:`POOL_NAME`. What goes in is checked first: a file that does not start with the
PDF magic ``%PDF-`` is refused (``not_a_pdf``), one over :data:`~central.circulars.MAX_ATTACHMENT_BYTES`
(``too_large``) or empty likewise, each with its sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from central.circulars import MAX_ATTACHMENT_BYTES, CircularNotPublished
from central.pool_files import copy_by_hash

#: A pool file's name: 64 lowercase hex digits and ``.pdf``; nothing else is ever served from the pool.
POOL_NAME = re.compile(r"[0-9a-f]{64}\.pdf")
#: The path of an attachment under the server's base URL (the index entry's ``attachment.path``).
POOL_PREFIX = "circulars/pool/"
MEDIA_TYPE = "application/pdf"
MAGIC = b"%PDF-"


@dataclass(frozen=True)
class Attachment:
    """One file in the pool."""

    sha256: str
    size: int

    @property
    def file_name(self) -> str:
        return f"{self.sha256}.pdf"

    @property
    def path(self) -> str:
        return POOL_PREFIX + self.file_name

    def to_json(self) -> dict:
        """The index entry's ``attachment`` object."""
        return {"sha256": self.sha256, "size": self.size, "media_type": MEDIA_TYPE, "path": self.path}


class PdfPool:
    """The pool folder *directory* (made when the first file is added)."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def file(self, sha256: str) -> Path:
        return self.directory / f"{sha256}.pdf"

    @staticmethod
    def check(source) -> int:
        """The size of the PDF at *source*; :exc:`CircularNotPublished` when it is not one the fleet takes."""
        source = Path(source)
        try:
            size = source.stat().st_size
            with open(source, "rb") as f:
                head = f.read(len(MAGIC))
        except OSError as e:
            raise CircularNotPublished(f"{source}: {e.strerror or e}", reason="unreadable") from None
        if size > MAX_ATTACHMENT_BYTES:
            raise CircularNotPublished(f"{source}: {size:,} bytes; an attachment is at most {MAX_ATTACHMENT_BYTES:,} "
                                  "bytes (20 MiB)", reason="too_large")
        if head != MAGIC:
            raise CircularNotPublished(f"{source} is not a PDF (it does not begin with %PDF-)", reason="not_a_pdf")
        return size

    def add(self, source) -> Attachment:
        """Copy the PDF *source* into the pool as ``<sha256>.pdf`` (the same bytes again change nothing)."""
        source = Path(source)
        self.check(source)
        sha, size = copy_by_hash(source, self.directory, suffix=".pdf", max_bytes=MAX_ATTACHMENT_BYTES,
                                 too_large=lambda most: CircularNotPublished(f"{source}: over {most:,} bytes",
                                                                             reason="too_large"))
        return Attachment(sha256=sha, size=size)
