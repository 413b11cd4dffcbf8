"""JSON for the monitor, through orjson (faster than :mod:`json` here: docs/performance.md).

:func:`decode` is the one loader for everything the monitor reads — the
device streams and the centre's signed documents on ``all/#`` and
``province/+/#``. Same rules as :func:`pishkhan.protocol.payloads.decode`
(one UTF-8 JSON object), and stricter where orjson is: ``NaN`` and lone
surrogates are refused. An integer beyond 64 bits is read as a float, which
the schemas refuse wherever an integer belongs (``seq``, counts, fees).
On top, bounds no payload passes, each refusal a :exc:`PayloadRefused`
with a :attr:`~PayloadRefused.reason` from :data:`REASONS`:

- ``too_large``: more than *max_bytes* (:data:`MAX_MESSAGE_BYTES` for a
  device's message, :data:`MAX_DOCUMENT_BYTES` for a signed document);
- ``too_deep``: nested deeper than *max_depth* levels
  (:data:`MAX_DEPTH`, the limit devices apply to the documents they install)
  — a 5,000-level document never reaches code that recurses;
- ``not_json``: not one UTF-8 JSON object;
- ``duplicate_key``: a key twice in one object (orjson would keep the last;
  the device refuses it, so the centre does too).
"""

from __future__ import annotations

import re

import orjson

from central.errors import PayloadRefused
from pishkhan.boards.jsonlimits import MAX_DEPTH, MAX_DOCUMENT_BYTES
from pishkhan.exc import ProtocolError
from pishkhan.protocol import payloads

#: Largest device message the centre reads: a ``snapshot`` result carries a PNG of up to 2 MiB in base64
#: (edge_agent/commands.py), about 2.7 MiB; everything else is far smaller.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: Why a payload was refused before any schema saw it.
REASONS = ("too_large", "too_deep", "not_json", "duplicate_key")
#: The end of a key in JSON text: a closing quote, maybe blanks, a colon.
_KEY_END = re.compile(rb'"[ \t\r\n]*:')

__all__ = ["MAX_DEPTH", "MAX_DOCUMENT_BYTES", "MAX_MESSAGE_BYTES", "REASONS", "PayloadRefused", "decode"]


def decode(data: bytes | str, *, max_bytes: int = MAX_MESSAGE_BYTES, max_depth: int = MAX_DEPTH) -> dict:
    """A payload as a dict; :exc:`PayloadRefused` saying why not."""
    size = len(data)
    if size > max_bytes:
        raise PayloadRefused(f"the payload has {size:,} bytes, more than the {max_bytes:,} allowed", reason="too_large")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        if "depth limit" in str(e) or "ecursion" in str(e):  # orjson's own limit, 1,024 levels
            raise PayloadRefused(f"the payload is nested deeper than {max_depth} levels", reason="too_deep") from None
        raise PayloadRefused(f"payload is not UTF-8 JSON: {e}", reason="not_json") from None
    if not isinstance(value, dict):
        raise PayloadRefused(f"payload must be a JSON object, got {type(value).__name__}", reason="not_json")
    if _deeper_than(value, max_depth):
        raise PayloadRefused(f"the payload is nested deeper than {max_depth} levels", reason="too_deep")
    _unique_keys(data, value)
    return value


def _unique_keys(data: bytes | str, value: dict) -> None:
    """Refuse a key twice in one object (``duplicate_key``).

    What orjson writes back of the value never has a key twice: when that is
    the payload byte for byte (what the agent sends usually is), it had none.
    Otherwise, in text without a backslash a quote, blanks and a colon end a
    key and nothing else, so the keys written are counted against the value's;
    a backslash or a difference, and the payload is read again by
    :func:`pishkhan.protocol.payloads.decode`'s strict parser, which names the key.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    again = orjson.dumps(value)
    if again != raw and (b"\\" in raw or len(_KEY_END.findall(raw)) != again.count(b'":')):
        try:
            payloads.decode(raw)
        except ProtocolError as e:
            raise PayloadRefused(str(e), reason=e.reason) from None


def _deeper_than(value, limit: int) -> bool:
    """True if *value* nests more than *limit* levels (the object itself is level 1); iterative."""
    level, nodes = 1, [value]
    while nodes:
        children = []
        for node in nodes:
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, (dict, list)):
                    children.append(child)
        if children:
            level += 1
            if level > limit:
                return True
        nodes = children
    return False


def loads(text: str | bytes):
    """A value the centre stored itself."""
    return orjson.loads(text)


def dumps(value) -> str:
    """*value* as compact JSON text, non-ASCII kept as it is."""
    return orjson.dumps(value).decode("utf-8")
