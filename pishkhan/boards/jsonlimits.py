"""The strict JSON loader for every document that comes from outside.

Boards and signed envelopes from a file, a USB stick or the network (the MQTT
agent, schedules) are read with :func:`load_json` or :func:`load_json_file`,
never with a bare ``json.loads``. On top of JSON itself they refuse, each
with a message naming the source and, where known, the path:

- more than :data:`MAX_DOCUMENT_BYTES` bytes (4 MiB; a board at every schema
  limit fits), or text that is not UTF-8 (a leading byte-order mark is allowed);
- nesting deeper than :data:`MAX_DEPTH` levels (a signed board needs 7);
- a key twice in one object (``"payload"`` twice in an envelope would let
  what is shown differ from what was verified): "last one wins" never applies;
- integers outside the signed 64-bit range (any field has a smaller range of
  its own), ``NaN``/``Infinity`` and numbers too large for a float;
- unpaired surrogates (``"\\ud800"``) in any string or key.

A file is read only if it is a regular file, and at most
``MAX_DOCUMENT_BYTES + 1`` bytes of it are read.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from pishkhan.exc import BoardInvalid
from pishkhan.text.safety import quoted

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 16
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1

_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(Exception):
    """Raised inside the JSON hooks; becomes the caller's error."""


def _object(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise _Refused(f"the key {quoted(key)} appears twice in one object; each key may appear once")
        obj[key] = value
    return obj


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 19:
        raise _Refused(f"the number {text[:12]}… has {len(text.lstrip('-')):,} digits; at most 19 are allowed")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise _Refused(f"the number {text} is outside the 64-bit range")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:24]}{'…' if len(text) > 24 else ''} is too large")
    return value


def _constant(name: str):
    raise _Refused(f"{name} is not a JSON number")


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out or "(document)"


def _walk(value, max_depth: int):
    """Refuse nesting deeper than *max_depth* and unpaired surrogates; iterative."""
    stack = [(value, 1, ())]
    while stack:
        node, depth, parts = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > max_depth:
                raise _Refused(f"{_path(parts)}: nested deeper than {max_depth} levels")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                if isinstance(key, str) and _SURROGATE.search(key):
                    raise _Refused(f"{_path(parts)}: a key holds an unpaired surrogate (not a character)")
                if isinstance(child, (dict, list, str)):
                    stack.append((child, depth + 1, parts + (key,)))
        elif isinstance(node, str) and _SURROGATE.search(node):
            raise _Refused(f"{_path(parts)}: holds an unpaired surrogate (not a character)")


def malformed(errors: list[str]) -> BoardInvalid:
    """The default refusal of the strict loader: :exc:`BoardInvalid` with reason ``malformed``."""
    return BoardInvalid(errors, reason="malformed")


def load_json(data: bytes | str, *, source: str | None = None, max_bytes: int = MAX_DOCUMENT_BYTES,
              max_depth: int = MAX_DEPTH, error=malformed):
    """Parse *data* strictly (the rules are in this module's docstring).

    *source* names the input in messages (a file name, ``mqtt:office/…``):
    they start ``(file): SOURCE``, or ``(document):`` without one. Raises
    ``error([message])``: :exc:`BoardInvalid` (reason ``malformed``) unless told otherwise.
    """
    def refuse(message: str):
        return error([f"(file): {source} {message}" if source else f"(document): {message}"])

    if isinstance(data, str):
        size = len(data.encode("utf-8", "surrogatepass")) if len(data) * 4 > max_bytes else len(data)
        text = data
    else:
        size = len(data)
        text = None
    if size > max_bytes:
        raise refuse(f"is larger than {max_bytes:,} bytes; a document may have at most {max_bytes:,}")
    if text is None:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise refuse(f"is not UTF-8 text ({e.reason} at byte {e.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_int=_int, parse_float=_float,
                           parse_constant=_constant)
        _walk(value, max_depth)
    except _Refused as e:
        raise refuse(f"is refused: {e}") from None
    except RecursionError:
        raise refuse(f"is refused: nested deeper than {max_depth} levels") from None
    except json.JSONDecodeError as e:
        raise refuse(f"is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    return value


def load_json_file(path, *, max_bytes: int = MAX_DOCUMENT_BYTES, max_depth: int = MAX_DEPTH,
                   error=malformed):
    """Read and :func:`load_json` the regular file *path*, reading at most *max_bytes* + 1 bytes."""
    path = Path(path)
    shown = quoted(str(path), limit=200)[1:-1]

    def refuse(message: str):
        return error([f"(file): {shown} {message}"])

    try:
        if not path.exists():
            raise refuse("does not exist")
        if not path.is_file():
            raise refuse("is not a regular file")
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise refuse(f"cannot be read ({e.strerror or e})") from None
    return load_json(data, source=shown, max_bytes=max_bytes, max_depth=max_depth, error=error)
