"""Installed boards: install a signed board, keep history, find the current one.

:func:`install_board` is the one path for every source — the CLI, a USB
stick in staff mode, and the centre through the agent. It verifies the
signature against the trusted keys, validates the schema, checks the scope
and version (newer than the installed one for its scope, and at most
:data:`~pishkhan.boards.document.MAX_VERSION_STEP` above it), and only
then writes. A refused board leaves everything as it was and says why.

:func:`board_signature` is the one answer to "may the effective board have
changed?" (a board installed, a service marked, a new day); the queue and
the wall compare it before re-reading the board.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from pishkhan.text import jalali
from pishkhan.boards.document import MAX_VERSION_STEP, Board, parse_board
from pishkhan.exc import BoardError, BoardRefused, SignatureInvalid
from pishkhan.boards.layering import EffectiveBoard, Layer, layer_boards
from pishkhan.boards.signing import verification_code, verify
from pishkhan.store.database import Store, parse_iso
from pishkhan.boards.trust import scope_allows, trusted_keys
from pishkhan.text.safety import ensure_text

#: Longest reason staff may give for a service being unavailable.
MAX_REASON = 120


@dataclass(frozen=True)
class InstalledBoard:
    id: int
    board: Board
    verification_code: str
    key_fingerprint: str
    source: str
    installed_at: str
    envelope: dict

    @property
    def layer(self) -> Layer:
        return Layer(self.board, self.verification_code, self.key_fingerprint)


def check_signed_board(store: Store, envelope: dict) -> tuple[Board, str]:
    """Verify and validate *envelope* against the store's trust list.

    Returns ``(board, key_fingerprint)``; raises :exc:`SignatureInvalid`,
    :exc:`~pishkhan.exc.BoardInvalid` or :exc:`BoardRefused`.
    """
    keys = trusted_keys(store)
    if not keys:
        raise SignatureInvalid("no issuer key is trusted on this device yet (add one with `pishkhan keys trust PUB`)")
    payload, key = verify(envelope, {fp: k for fp, (k, _) in keys.items()})
    board = parse_board(payload)
    key_scope = keys[key.fingerprint][1]
    if not scope_allows(key_scope, board.scope.key):
        raise BoardRefused(f"key {key.fingerprint} may sign only {key_scope} boards, "
                           f"but this board is for {board.scope.key}")
    return board, key.fingerprint


def install_board(store: Store, envelope: dict, *, source: str, actor: str,
                  province: str | None = None, office: str | None = None) -> InstalledBoard:
    """Install a signed board for good, or raise a :exc:`BoardError` saying why not.

    :param source: where it came from: ``cli``, ``usb`` or ``centre``.
    :param actor: who did it, for the audit log.
    :param province: this office's province; a board for another is refused.
    :param office: this office's id; a board for another office is refused.
    """
    try:
        board, fingerprint = check_signed_board(store, envelope)
        if board.scope.level == "province" and province is not None and board.scope.province != province:
            raise BoardRefused(f"board is for province {board.scope.province}, this office is in province {province}")
        if board.scope.level == "office" and office is not None and board.scope.office != office:
            raise BoardRefused(f"board is for office {board.scope.office}, this office is {office}")
        code = verification_code(envelope)

        def install(c):
            row = c.execute("SELECT MAX(version) FROM boards WHERE scope_key = ?", (board.scope.key,)).fetchone()
            installed = row[0] or 0
            if board.version <= installed:
                raise BoardRefused(f"board version {board.version} for {board.scope.key} is not newer than "
                                   f"the installed version {installed}; the installed board stays")
            if board.version > installed + MAX_VERSION_STEP:
                raise BoardRefused(
                    f"board version {board.version:,} for {board.scope.key} is {board.version - installed:,} "
                    f"above the installed version {installed}; a board may go at most {MAX_VERSION_STEP:,} "
                    "versions up, so that a mistyped version cannot leave no room for later boards")
            cur = c.execute(
                "INSERT INTO boards(scope_key, version, effective_from, issuer, key_fingerprint, "
                "verification_code, envelope, source, installed_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (board.scope.key, board.version, board.effective_from.isoformat(), board.issuer, fingerprint,
                 code, json.dumps(envelope, ensure_ascii=False), source, store.now_iso()))
            store.audit(actor, "board.install", board.scope.key, version=board.version, source=source,
                        effective_from=board.effective_from.isoformat(), verification_code=code,
                        key=fingerprint)
            return InstalledBoard(cur.lastrowid, board, code, fingerprint, source, store.now_iso(), envelope)

        return store.write(install)
    except BoardError as e:
        store.audit(actor, "board.refused", source, reason=str(e))
        raise


def _row(row) -> InstalledBoard:
    envelope = json.loads(row["envelope"])
    return InstalledBoard(row["id"], parse_board(envelope["payload"]), row["verification_code"],
                          row["key_fingerprint"], row["source"], row["installed_at"], envelope)


def history(store: Store, scope_key: str | None = None) -> list[InstalledBoard]:
    """Every installed board, oldest first (the full list ever communicated)."""
    if scope_key:
        rows = store.query("SELECT * FROM boards WHERE scope_key = ? ORDER BY id", (scope_key,))
    else:
        rows = store.query("SELECT * FROM boards ORDER BY id")
    return [_row(r) for r in rows]


def current_board(store: Store, scope_key: str, on: dt.date | None = None) -> InstalledBoard | None:
    """The highest version for *scope_key* already in effect on *on* (Tehran date)."""
    on = on or jalali.today()
    row = store.query_one("SELECT * FROM boards WHERE scope_key = ? AND effective_from <= ? "
                          "ORDER BY version DESC LIMIT 1", (scope_key, on.isoformat()))
    return _row(row) if row else None


def pending_boards(store: Store, on: dt.date | None = None) -> list[InstalledBoard]:
    """Boards installed with a future effective date, soonest first."""
    on = on or jalali.today()
    rows = store.query("SELECT * FROM boards WHERE effective_from > ? ORDER BY effective_from, id", (on.isoformat(),))
    return [_row(r) for r in rows]


def board_signature(store: Store, day: dt.date | None = None) -> tuple:
    """A cheap fingerprint of what decides the effective board on *day*
    (default: today in Tehran by the store's clock).

    It differs whenever a board is installed or staff mark a service, and
    from day to day; equal fingerprints mean the same effective board, so
    callers re-read the board only when it changes.
    """
    day = day or jalali.today(store.now())
    row = store.query_one("SELECT (SELECT COALESCE(MAX(id), 0) FROM boards), "
                          "(SELECT value FROM settings WHERE key = ?)", (_UNAVAILABLE,))
    return (row[0], row[1], day.isoformat())


def board_day(store: Store) -> dt.date:
    """The day whose board to show: today, or the day the newest board was
    installed if the clock is behind it (a Pi booting before its clock is set)."""
    today = jalali.today(store.now())
    row = store.query_one("SELECT MAX(installed_at) FROM boards")
    if row and row[0]:
        return max(today, jalali.today(parse_iso(row[0])))
    return today


#: The setting holding staff's unavailable marks.
_UNAVAILABLE = "unavailable_services"


def unavailable_services(store: Store) -> dict[str, str]:
    """Services staff marked unavailable: code -> reason."""
    return store.get_setting(_UNAVAILABLE, {}) or {}


def set_unavailable(store: Store, code: str, reason: str | None, *, actor: str = "staff"):
    """Mark a service unavailable with *reason*, or available again with ``None``.

    The reason is shown to customers: one line of at most
    :data:`MAX_REASON` characters passing :func:`~pishkhan.text.safety.check_text`.
    """
    if reason:
        reason = " ".join(str(reason).split())
        ensure_text(reason, "reason", max_len=MAX_REASON)

    def mark(c):
        current = unavailable_services(store)
        if reason:
            current[code] = reason
        else:
            current.pop(code, None)
        store.set_setting(_UNAVAILABLE, current)
        store.audit(actor, "service.unavailable" if reason else "service.available", code, reason=reason or "")

    store.write(mark)


def effective_board(store: Store, *, province: str | None, office: str | None,
                    on: dt.date | None = None) -> EffectiveBoard | None:
    """The effective board on *on* (default today in Tehran), or None without a national board.

    Staff's "unavailable" marks are applied.
    """
    on = on or jalali.today()
    national = current_board(store, "national", on)
    if national is None:
        return None
    layers = [national.layer]
    if province:
        p = current_board(store, f"province:{province}", on)
        if p:
            layers.append(p.layer)
    if office:
        o = current_board(store, f"office:{office}", on)
        if o:
            layers.append(o.layer)
    return layer_boards(layers).with_unavailable(unavailable_services(store))


def effective_for_config(store: Store, config, on: dt.date | None = None) -> EffectiveBoard | None:
    """:func:`effective_board` for the office named in *config*."""
    return effective_board(store, province=config.get("office.province"),
                           office=config.get("office.office_id"), on=on)
