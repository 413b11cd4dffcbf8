"""Is a device's board the current official one? And which board does a code name?

The ``official`` table holds every signed document the centre published, one
row per (kind, scope, version); the newest version of a scope is its current
document. A device reports the board it shows in its birth (and in
``reported``): ``{"version", "verification_code", "layers": [{"scope",
"version", "verification_code"}, …]}``, national layer first.

:func:`board_currency` judges a device's board against the newest official
boards, layer by layer:

- a layer is **current** when its scope's newest official version is the
  layer's version and the codes agree; **outdated** when a newer version
  exists for its scope (or the same version with another code: not the
  official document); **unknown** when the centre has no official board for
  that scope (an office's own layer, or a table not filled yet);
- a scope that applies to the device (``national``, ``province:P`` of its
  province, ``office:O`` of its office) with an official board the device
  does not show at all is a **missing** layer;
- the board is **outdated** if any layer is outdated or missing, **current**
  if at least one layer is current and none is outdated or missing, and
  **unknown** otherwise (no board reported, or nothing official to compare).

:func:`resolve_code` turns a verification code (a single layer's, or the
effective code a layered board shows, which is a hash of its layers' codes)
into the official documents behind it, for the public verification page;
it vouches only for codes it computes itself from official documents.
"""

from __future__ import annotations

from enum import Enum
from functools import lru_cache

from central import stored
from central.errors import CodeRefused
from pishkhan.boards.layering import layered_code

CURRENT, OUTDATED, UNKNOWN, MISSING = "current", "outdated", "unknown", "missing"


def newest_boards(db) -> dict[str, dict]:
    """The newest official board of every scope: ``{scope_key: row}`` (without the envelope)."""
    rows = db.query("SELECT o.scope_key, o.version, o.verification_code, o.effective_from, o.issuer, "
                    "o.published_at FROM official o JOIN (SELECT scope_key, MAX(version) AS version "
                    "FROM official WHERE kind = 'board' GROUP BY scope_key) n "
                    "ON o.scope_key = n.scope_key AND o.version = n.version WHERE o.kind = 'board'")
    return {r["scope_key"]: r for r in rows}


def applicable_scopes(device: dict) -> list[str]:
    """The scopes whose boards a device should show."""
    scopes = ["national"]
    if device.get("province"):
        scopes.append(f"province:{device['province']}")
    if device.get("office_id"):
        scopes.append(f"office:{device['office_id']}")
    return scopes


def board_currency(device: dict, newest: dict[str, dict], *, tally=None) -> dict:
    """``{"state", "layers": [...], "missing": [...]}`` for *device*'s reported board.

    :param device: a device as :meth:`central.fleet.Fleet.device` returns it
        (``board`` decoded, ``province``, ``office_id``).
    :param newest: :func:`newest_boards`, or any ``{scope_key: {"version",
        "verification_code", …}}``.

    Each layer: ``{"scope", "version", "verification_code", "state",
    "official_version", "official_code", "official_effective_from"}``.
    The board comes from a device: ``layers`` that is not a list, a layer
    that is not an object, a version that is not a whole number or a code
    that is not text are read as unknown and counted in *tally*
    (a :class:`central.stored.Tally`, table ``devices``).
    """
    board = device.get("board") if isinstance(device.get("board"), dict) else None
    reported = (board or {}).get("layers")
    unreadable = 0
    if reported is not None and not isinstance(reported, list):
        reported, unreadable = None, 1
    layers = []
    shown = set()
    for layer in reported or []:
        if not isinstance(layer, dict):
            unreadable += 1
            continue
        scope = layer.get("scope") if isinstance(layer.get("scope"), str) else ""
        version, code = _version(layer.get("version")), layer.get("verification_code")
        code = code if isinstance(code, str) else None
        unreadable += (version is None) + (code is None) + (not scope)
        shown.add(scope)
        official = newest.get(scope)
        entry = {"scope": scope, "version": version, "verification_code": code,
                 "official_version": official["version"] if official else None,
                 "official_code": official["verification_code"] if official else None,
                 "official_effective_from": official.get("effective_from") or None if official else None}
        if official is None:
            entry["state"] = UNKNOWN
        elif version == int(official["version"]) and code == official["verification_code"]:
            entry["state"] = CURRENT
        else:
            entry["state"] = OUTDATED
        layers.append(entry)
    missing = []
    if board is not None:
        for scope in applicable_scopes(device):
            if scope not in shown and scope in newest:
                missing.append({"scope": scope, "official_version": newest[scope]["version"],
                                "official_code": newest[scope]["verification_code"],
                                "official_effective_from": newest[scope].get("effective_from") or None,
                                "state": MISSING})
    if unreadable and tally is not None:
        tally.add("devices", province=device.get("province"), n=unreadable)
    states = {entry["state"] for entry in layers}
    if OUTDATED in states or missing:
        state = OUTDATED
    elif CURRENT in states:
        state = CURRENT
    else:
        state = UNKNOWN
    label = (board or {}).get("version")
    return {"state": state, "version": label if isinstance(label, (str, int)) and not isinstance(label, bool) else None,
            "layers": layers, "missing": missing}


def _version(value) -> int | None:
    """A layer's version as a device reported it: a whole number (or its digits), else None."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 63:
        return value
    return None


class CodeRefusal(str, Enum):
    """Why a verification code is refused before it is looked up."""

    TOO_LONG = "too_long"


#: Every code the centre makes is ``XXXX-XXXX`` (a document's, or a layered board's).
MAX_CODE_LENGTH = len("XXXX-XXXX")
#: The newest versions of each scope combined when a layered code is looked for without a hint.
COMBINED_VERSIONS = 20
LEVELS = ("national", "province", "office")


def resolve_code(db, code: str) -> dict:
    """The official documents behind verification *code*, vouched for only when the centre computes
    *code* itself from official documents.

    Returns ``{"code", "found", "layered", "documents": [row...], "superseded"}``: each document row
    is an ``official`` row with ``envelope`` decoded and ``newest_version`` of its scope.

    - A document's own code is found when an official board's code, computed again from its stored
      envelope (:func:`pishkhan.boards.signing.verification_code`), is *code*.
    - A layered board's code (:func:`pishkhan.boards.layering.layered_code` of its layers' codes,
      national first) is found when official boards, at most one a level, give *code*: every
      national board with every province board (the :data:`COMBINED_VERSIONS` newest of each scope),
      and the layers that devices showing *code* report. What a device reports only says which
      layers to try; a layer that is not an official document, or layers whose codes do not give
      *code*, vouch for nothing (a device's ``FAKE-0000`` stays unknown).

    :raises CodeRefused: *code* is longer than any code the centre makes (``too_long``).
    """
    if len(code) > MAX_CODE_LENGTH:
        raise CodeRefused(f"a verification code has {MAX_CODE_LENGTH} characters (XXXX-XXXX); "
                          f"this one has {len(code):,}", reason=CodeRefusal.TOO_LONG)
    boards = db.query("SELECT scope_key, version, verification_code FROM official WHERE kind = 'board' "
                      "ORDER BY version DESC")
    newest = {}
    for row in boards:
        newest.setdefault(row["scope_key"], row)
    rows = [r for r in (_official(db, b) for b in boards if b["verification_code"] == code) if r][:1]
    layered = False
    if not rows:
        for combination in _combinations(db, code, boards):
            found = [_official(db, b) for b in combination]
            if all(found):
                rows, layered = found, True
                break
    documents = []
    for row in rows:
        doc = dict(row)
        top = newest.get(doc["scope_key"])
        doc["newest_version"] = top["version"] if top else doc["version"]
        doc["superseded"] = int(doc["newest_version"]) > int(doc["version"])
        documents.append(doc)
    return {"code": code, "found": bool(documents), "layered": layered, "documents": documents,
            "superseded": any(d["superseded"] for d in documents)}


def _level(scope_key: str) -> int | None:
    level = scope_key.partition(":")[0]
    return LEVELS.index(level) if level in LEVELS else None


def _combinations(db, code: str, boards: list[dict]):
    """Official boards (``official`` rows without the envelope) whose codes give layered *code*,
    each list in layer order: first the layers devices showing *code* report, then national × province."""
    by_code: dict[str, dict] = {}
    for b in boards:
        by_code.setdefault(b["verification_code"], b)
    escaped = code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    for d in db.query("SELECT board FROM devices WHERE board LIKE ? ESCAPE '\\' LIMIT 20", (f"%{escaped}%",)):
        board = stored.loads(d["board"])
        layers = board.get("layers") if board and board.get("verification_code") == code else None
        if not isinstance(layers, list) or not 1 < len(layers) <= len(LEVELS):
            continue
        hinted = [by_code.get(l.get("verification_code")) if isinstance(l, dict) and
                  isinstance(l.get("verification_code"), str) else None for l in layers]
        if all(hinted):
            levels = [_level(b["scope_key"]) for b in hinted]
            if None not in levels and levels == sorted(set(levels)) and \
                    layered_code([b["verification_code"] for b in hinted]) == code:
                yield hinted
    keys = tuple((b["scope_key"], b["version"], b["verification_code"]) for b in boards)
    for pair in _national_and_province(keys).get(code, ()):
        yield [next(b for b in boards if (b["scope_key"], b["version"]) == key) for key in pair]


@lru_cache(maxsize=4)
def _national_and_province(boards: tuple) -> dict[str, list]:
    """``{layered code: [((scope, version), (scope, version)), …]}`` of every national board with
    every province board (the :data:`COMBINED_VERSIONS` newest of each scope), for *boards*
    (``(scope_key, version, code)``, newest first); kept while the official boards stay the same."""
    per_scope: dict[str, list] = {}
    for scope, version, code in boards:
        versions = per_scope.setdefault(scope, [])
        if len(versions) < COMBINED_VERSIONS:
            versions.append(((scope, version), code))
    out: dict[str, list] = {}
    for scope, versions in per_scope.items():
        if _level(scope) == 1:
            for national, national_code in per_scope.get("national", []):
                for province, province_code in versions:
                    out.setdefault(layered_code([national_code, province_code]), []).append((national, province))
    return out


def _official(db, board: dict) -> dict | None:
    """The whole ``official`` row of *board* with its envelope decoded, if the code computed again
    from that envelope is the row's code; else None (a row the centre cannot vouch for)."""
    from pishkhan.boards.signing import verification_code
    from pishkhan.exc import PishkhanError

    row = db.query_one("SELECT * FROM official WHERE kind = 'board' AND scope_key = ? AND version = ?",
                       (board["scope_key"], board["version"]))
    envelope = stored.loads(row["envelope"], kind=dict, bounded=False) if row else None
    try:
        if envelope is None or verification_code(envelope) != row["verification_code"]:
            return None
    except PishkhanError:
        return None
    return dict(row) | {"envelope": envelope}
