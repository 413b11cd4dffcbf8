"""Notices staff post for customers (shown on the kiosk and the wall).

A notice is one line: runs of white space (line breaks too) become one space,
then it must have some text, at most :data:`MAX_LENGTH` characters, and pass
:func:`pishkhan.text.safety.check_text` (no bidi controls or marks, no control
or invisible characters but ZWNJ/ZWJ, something visible), so the wall shows
it as staff typed it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pishkhan.boards.document import MAX_NOTICE
from pishkhan.exc import PishkhanError
from pishkhan.store.database import Store
from pishkhan.text.safety import text_problems

MAX_LENGTH = MAX_NOTICE


@dataclass(frozen=True)
class Notice:
    id: int
    text: str
    posted_at: str
    posted_by: str


def post_notice(store: Store, text: str, *, actor: str = "staff") -> Notice:
    """Post *text*; recorded in the audit log."""
    text = " ".join(str(text).split())
    if not text:
        raise PishkhanError("a notice must have some text")
    if len(text) > MAX_LENGTH:
        raise PishkhanError(f"a notice may have at most {MAX_LENGTH} characters, this one has {len(text)}")
    problems = text_problems(text, max_len=MAX_LENGTH)
    if problems:
        raise PishkhanError("the notice is refused: " + "; ".join(problems))

    def post(c):
        at = store.now_iso()
        cur = c.execute("INSERT INTO notices(text, posted_at, posted_by) VALUES (?,?,?)", (text, at, actor))
        store.audit(actor, "notice.post", str(cur.lastrowid), text=text)
        return Notice(cur.lastrowid, text, at, actor)

    return store.write(post)


def remove_notice(store: Store, notice_id: int, *, actor: str = "staff") -> bool:
    def remove(c):
        done = c.execute("UPDATE notices SET removed_at = ?, removed_by = ? WHERE id = ? AND removed_at IS NULL",
                         (store.now_iso(), actor, notice_id)).rowcount
        if done:
            store.audit(actor, "notice.remove", str(notice_id))
        return bool(done)

    return store.write(remove)


def active_notices(store: Store) -> list[Notice]:
    """Notices on show, oldest first."""
    return [Notice(r["id"], r["text"], r["posted_at"], r["posted_by"]) for r in
            store.query("SELECT * FROM notices WHERE removed_at IS NULL ORDER BY id")]
