"""Circulars at the centre (docs/circulars.md, the centre's section):

- :mod:`central.circulars.pool`: the attachments' pool, ``<sha256>.pdf`` files in one folder, served by the
  enrolment server at ``/circulars/pool/<sha256>.pdf`` (:func:`central.enrolment.server.circular_routes`);
- :mod:`central.circulars.index`: one scope's signed index (``pishkhan.circulars/1``): the previous index's
  entries and the new one, bounded;
- :mod:`central.circulars.publisher`: ``pishkhan central publish circular``: pool, build, sign, check with the
  device's own parser, publish retained, record;
- :mod:`central.circulars.wire` and :mod:`central.circulars.ingest`: what a device says it received and what
  its staff acknowledged (``circular_received``/``circular_acknowledged`` events), checked, then kept per office;
- :mod:`central.circulars.view`: per circular and province, offices in scope, received, acknowledged, and the
  ones not acknowledged after N days (the ``/circulars`` page and the ``circular_unacknowledged`` alert).
"""

from __future__ import annotations

import re

from central.errors import CircularNotPublished  # noqa: F401  (re-exported: its home is central.errors)

FORMAT = "pishkhan.circulars/1"
#: The kinds of circular, with their Persian names.
KINDS = {"circular": "بخشنامه", "instruction": "دستورالعمل", "regulation": "آیین‌نامه",
         "tariff_list": "فهرست تعرفه"}
#: A circular's number: 1-40 of Latin or Persian digits, Latin letters, ``/ - . _``, beginning with a letter or a
#: digit (stored with Latin digits; the device's rule, pishkhan.circulars.document).
NUMBER = re.compile(r"[0-9A-Za-z][0-9A-Za-z/._-]{0,39}", re.ASCII)
#: The scopes a circulars index has.
SCOPE = re.compile(r"national|province:[0-9]{2}")
SHA256 = re.compile(r"[0-9a-f]{64}")
#: Bounds of one index and of one entry (design §1).
MAX_ENTRIES = 500
MAX_SUPERSEDES = 20
MAX_TITLE = 200
MAX_ISSUER = 120
MAX_SUMMARY = 2000
MAX_BY = 60
#: The largest attachment the pool takes (the device refuses larger ones too).
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
#: The events a device sends of its circulars.
EVENTS = ("circular_received", "circular_acknowledged")
#: Days after which an office that has not acknowledged a circular is listed (the page's and the rule's default).
DEFAULT_DAYS = 3

_PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def latin_digits(text: str) -> str:
    """*text* with Persian and Arabic-Indic digits as Latin ones."""
    return str(text).translate(_PERSIAN_DIGITS)
