"""Installed boards: install a signed board, keep history, find the current one.

:func:`install_board` installs a board by the one install path of every
signed document (:func:`pishkhan.boards.install.install_signed`) and for
every source — the CLI, a USB stick in staff mode, and the centre through
the agent: signature, schema, scope, version (newer than the installed one
for its scope, at most :data:`~pishkhan.boards.document.MAX_VERSION_STEP`
above it), and only then a write. A refused board leaves everything as it
was and says why (:attr:`~pishkhan.exc.Refused.reason`).

:func:`board_signature` is the one answer to "may the effective board have
changed?" (a board installed, a service marked, a new day); the queue and
the wall compare it before re-reading the board.

**A stored board is checked again when it is loaded.** The file may be
edited behind the device's back or damaged on the card, so every row read
from ``boards`` is verified once more: its envelope's signature against the
keys trusted now, its key's scope, and its verification code against the one
recorded at install. A row that fails is treated as not installed (the
previous version for its scope shows instead), and the refusal is logged and
recorded as a state-log fact (component ``board:<row id>``, state
``refused``). Verifying costs an Ed25519 check and loading ``cryptography``
(memory the kiosk does not carry day to day: docs/performance.md), so a sound answer is remembered
by the row's id, a hash of its stored envelope and a hash of the trust list:
in the process, and in a small file beside the store
(``<store stem>.boards.verified``, written by whoever verified, the install
included). A changed envelope or trust list misses and is verified again;
an unchanged one never is. A key no longer trusted thus withdraws the boards
it signed. (The remembered answers only spare work: a fee edited in the file
changes the envelope's hash, so it is always checked.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from pathlib import Path

from pishkhan.text import jalali
from pishkhan.boards.document import Board, parse_board
from pishkhan.boards.install import Installed, Kind, TableShelf, check_signed, install_signed
from pishkhan.exc import BoardRefused, PishkhanError, StoreError
from pishkhan.boards.layering import EffectiveBoard, Layer, layer_boards
from pishkhan.boards.signing import verification_code
from pishkhan.store.database import Store, parse_iso
from pishkhan.store.files import write_whole
from pishkhan.text.safety import ensure_text

#: Longest reason staff may give for a service being unavailable.
MAX_REASON = 120


class InstalledBoard(Installed):
    """A board as installed (:attr:`board` is its document)."""

    @property
    def board(self) -> Board:
        return self.document

    @property
    def layer(self) -> Layer:
        return Layer(self.board, self.verification_code, self.key_fingerprint)


#: Boards, to :func:`~pishkhan.boards.install.install_signed`.
BOARD = Kind(name="board", parse=parse_board, shelf=TableShelf("boards"), refused=BoardRefused,
             refused_action="board.refused", result=InstalledBoard, plural="boards")


def check_signed_board(store: Store, envelope: dict) -> tuple[Board, str]:
    """Verify and validate *envelope* against the store's trust list: ``(board, key_fingerprint)``,
    or a :exc:`~pishkhan.exc.Refused` board error."""
    return check_signed(store, envelope, BOARD)


def install_board(store: Store, envelope: dict, *, source: str, actor: str,
                  province: str | None = None, office: str | None = None) -> InstalledBoard:
    """Install a signed board for good (:func:`~pishkhan.boards.install.install_signed`), or raise a
    :exc:`BoardError` saying why not; a sound install is remembered as verified."""
    done = install_signed(store, envelope, BOARD, source=source, actor=actor, province=province, office=office)
    _remember(store, _token({"id": done.id, "scope_key": done.board.scope.key, "version": done.board.version,
                             "verification_code": done.verification_code, "key_fingerprint": done.key_fingerprint,
                             "envelope": json.dumps(envelope, ensure_ascii=False)}, _trust_hash(store)))
    return done


log = logging.getLogger(__name__)

#: (store file, row id, envelope hash, trust list hash) -> None (sound) or the refusal.
_checked: dict[tuple, str | None] = {}
_checked_lock = threading.Lock()


def _trust_hash(store: Store) -> str:
    rows = store.query("SELECT fingerprint, pem, scope FROM trusted_keys ORDER BY fingerprint")
    return hashlib.sha256(json.dumps([tuple(r) for r in rows]).encode()).hexdigest()


def _recheck(store: Store, row) -> str | None:
    """Why the stored board *row* may not be shown, or None when it verifies as installed."""
    try:
        envelope = json.loads(row["envelope"])
        board, fingerprint = check_signed_board(store, envelope)
        code = verification_code(envelope)
    except (PishkhanError, ValueError, TypeError, RecursionError) as e:
        return str(e).splitlines()[0][:300] or type(e).__name__
    recorded = (row["scope_key"], row["version"], row["verification_code"], row["key_fingerprint"])
    if (board.scope.key, board.version, code, fingerprint) != recorded:
        return (f"the stored envelope does not match what was installed (verification code {code}, "
                f"recorded {row['verification_code']})")
    return None


def verified_path(store_path) -> Path:
    """The file of board rows known to verify, beside the store at *store_path*."""
    store_path = Path(store_path)
    return store_path.with_name(f"{store_path.stem}.boards.verified")


#: Sound rows remembered in the file (the newest kept).
KEEP_VERIFIED = 256


def _token(row, trust: str) -> str:
    """What a sound answer is remembered by: the row's recorded columns, its envelope and the trust list."""
    head = json.dumps([row["id"], row["scope_key"], row["version"], row["verification_code"],
                       row["key_fingerprint"], trust])
    return hashlib.sha256(head.encode() + b"\n" + str(row["envelope"]).encode()).hexdigest()


def _verified_tokens(store: Store) -> list[str]:
    try:
        tokens = json.loads(verified_path(store.path).read_text(encoding="ascii"))
        return [t for t in tokens if isinstance(t, str)] if isinstance(tokens, list) else []
    except (OSError, ValueError):
        return []  # missing or damaged: verify again


def _remember(store: Store, token: str):
    """Add *token* to the verified file (best effort: it only spares work)."""
    path = verified_path(store.path)
    tokens = [t for t in _verified_tokens(store) if t != token][-(KEEP_VERIFIED - 1):] + [token]
    try:
        write_whole(path, json.dumps(tokens).encode("ascii"))
    except OSError as e:
        log.warning("could not remember a verified board in %s: %s", path, e)


def _sound(store: Store, row, trust: str) -> bool:
    token = _token(row, trust)
    key = (str(store.path), token)
    with _checked_lock:
        known = key in _checked
        refusal = _checked.get(key)
    if not known:
        if token in _verified_tokens(store):
            refusal = None
        else:
            refusal = _recheck(store, row)
            if refusal is None:
                _remember(store, token)
        with _checked_lock:
            if len(_checked) > 1024:
                _checked.clear()
            _checked[key] = refusal
        if refusal is not None:
            log.error("installed board %s (row %s, version %s) refused on loading: %s",
                      row["scope_key"], row["id"], row["version"], refusal)
            try:
                store.record_state(f"board:{row['id']}", "refused", refusal, scope=row["scope_key"],
                                   version=row["version"])
            except StoreError as e:  # a read-only store, or loaded inside a read: the log line stays
                log.error("could not record the refused board: %s", e)
    return refusal is None


def _rows(store: Store, sql: str, params=()) -> list[InstalledBoard]:
    """The stored boards *sql* selects that still verify (see the module's docstring)."""
    rows = store.query(sql, params)
    if not rows:
        return []
    trust = _trust_hash(store)
    return [_row(r) for r in rows if _sound(store, r, trust)]


def _row(row) -> InstalledBoard:
    return InstalledBoard.from_row(row, parse_board)


def history(store: Store, scope_key: str | None = None) -> list[InstalledBoard]:
    """Every installed board that still verifies, oldest first (the full list ever communicated)."""
    if scope_key:
        return _rows(store, "SELECT * FROM boards WHERE scope_key = ? ORDER BY id", (scope_key,))
    return _rows(store, "SELECT * FROM boards ORDER BY id")


def current_board(store: Store, scope_key: str, on: dt.date | None = None) -> InstalledBoard | None:
    """The highest version for *scope_key* already in effect on *on* (Tehran date) that still verifies."""
    on = on or jalali.today()
    rows = store.query("SELECT id FROM boards WHERE scope_key = ? AND effective_from <= ? "
                       "ORDER BY version DESC", (scope_key, on.isoformat()))
    if not rows:
        return None
    trust = _trust_hash(store)
    for slim in rows:  # the newest sound one; usually the first, and verified once per process
        row = store.query_one("SELECT * FROM boards WHERE id = ?", (slim["id"],))
        if row is not None and _sound(store, row, trust):
            return _row(row)
    return None


def pending_boards(store: Store, on: dt.date | None = None) -> list[InstalledBoard]:
    """Boards installed with a future effective date that still verify, soonest first."""
    on = on or jalali.today()
    return _rows(store, "SELECT * FROM boards WHERE effective_from > ? ORDER BY effective_from, id",
                 (on.isoformat(),))


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
    return effective_board(store, province=config.office.province,
                           office=config.office.office_id, on=on)
