"""JSON for the monitor, through orjson (four to ten times faster than :mod:`json` here).

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
- ``not_json``: not UTF-8 JSON; ``not_object``: JSON, but not an object.
"""

from __future__ import annotations

import orjson

from pishkhan.boards.jsonlimits import MAX_DEPTH, MAX_DOCUMENT_BYTES
from pishkhan.exc import ProtocolError

#: Largest device message the centre reads: a ``snapshot`` result carries a PNG of up to 2 MiB in base64
#: (edge_agent/commands.py), about 2.7 MiB; everything else is far smaller.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: Why a payload was refused before any schema saw it.
REASONS = ("too_large", "too_deep", "not_json", "not_object")

__all__ = ["MAX_DEPTH", "MAX_DOCUMENT_BYTES", "MAX_MESSAGE_BYTES", "REASONS", "PayloadRefused", "decode"]


class PayloadRefused(ProtocolError):
    """A payload the centre does not read: :attr:`reason` is one of :data:`REASONS`."""

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


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
        raise PayloadRefused(f"payload must be a JSON object, got {type(value).__name__}", reason="not_object")
    if _deeper_than(value, max_depth):
        raise PayloadRefused(f"the payload is nested deeper than {max_depth} levels", reason="too_deep")
    return value


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
