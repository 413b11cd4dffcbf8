"""Customer ratings of the service (طرح تکریم ارباب رجوع): one per ticket number and business day.

After a ticket was served (its state is ``done``; a transferred ticket counts
by the row that was served) the customer may rate the service once, on the
kiosk, by typing the ticket number: a score from 1 (very poor) to 5 (very
good). Nothing personal is asked or kept: the row is ``ratings(day,
ticket_number, score, at)``, the business day being the queue's (Tehran date
of now), and each rating is also an audited fact (``rating.given``, actor
``customer``, subject the ticket number).

Refusals are :exc:`~pishkhan.exc.RatingRefused` with a reason:
``unknown_ticket`` (no ticket of that number today, or not a ticket number
at all), ``not_served`` (issued but not done yet: waiting, called, being
served, no-show or cancelled), ``already_rated`` (a second rating of the
same number the same day; the first stands) and ``invalid`` (a score other
than 1-5). The check and the insert are one ``BEGIN IMMEDIATE`` unit of work,
and the primary key ``(day, ticket_number)`` backs it.

A typed number is read loosely: Persian or Latin digits, a lower-case lane
letter, leading zeros optional (``a12``, ``A۰۱۲`` and ``A012`` are one ticket).
"""

from __future__ import annotations

import re

from pishkhan.exc import RatingRefused
from pishkhan.text import jalali

SCORES = (1, 2, 3, 4, 5)
#: The longest ticket number a customer may type (a prefix letter and digits).
MAX_TYPED = 8
_TYPED = re.compile(r"([A-Z]?)0*([0-9]{1,6})")


def normalise_number(typed: str) -> str | None:
    """The ticket label a customer's typed *typed* names (``a12`` → ``A012``), or None if it is no number."""
    if not isinstance(typed, str) or not typed or len(typed) > MAX_TYPED:
        return None
    text = typed.strip().upper().translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789"))
    match = _TYPED.fullmatch(text)
    if not match:
        return None
    prefix, digits = match.groups()
    return f"{prefix}{int(digits):03d}" if prefix else str(int(digits))


class Ratings:
    """The office's ratings, on the shared store (its clock is the day's clock)."""

    def __init__(self, store):
        self.store = store

    def today(self) -> str:
        return jalali.today(self.store.now()).isoformat()

    def served_today(self) -> bool:
        """Whether any ticket was served today (the kiosk offers rating only then)."""
        return self.store.query_one("SELECT 1 FROM tickets WHERE day = ? AND state = 'done' LIMIT 1",
                                    (self.today(),)) is not None

    def check(self, typed: str) -> str:
        """The label of a ticket that may be rated now; raises :exc:`RatingRefused` otherwise."""
        return self.store.read(lambda c: self._check(c, typed, self.today()))

    def _check(self, c, typed: str, day: str) -> str:
        label = normalise_number(typed)
        if label is None:
            raise RatingRefused(f"{typed!r} is not a ticket number", reason="unknown_ticket")
        states = {r[0] for r in c.execute("SELECT state FROM tickets WHERE day = ? AND label = ?", (day, label))}
        if not states:
            raise RatingRefused(f"no ticket {label} was issued on {day}", reason="unknown_ticket")
        if "done" not in states:
            raise RatingRefused(f"ticket {label} was not served yet ({', '.join(sorted(states))})",
                                reason="not_served")
        if c.execute("SELECT 1 FROM ratings WHERE day = ? AND ticket_number = ?", (day, label)).fetchone():
            raise RatingRefused(f"ticket {label} was rated already on {day}", reason="already_rated")
        return label

    def rate(self, typed: str, score: int) -> dict:
        """Keep the rating *score* (1-5) of the ticket numbered *typed* today; returns the stored row."""
        if isinstance(score, bool) or score not in SCORES:
            raise RatingRefused(f"a score is 1 to 5, got {score!r}", reason="invalid")
        day, at = self.today(), self.store.now_iso()

        def work(c):
            label = self._check(c, typed, day)
            c.execute("INSERT INTO ratings(day, ticket_number, score, at) VALUES (?,?,?,?)", (day, label, score, at))
            self.store.audit("customer", "rating.given", label, day=day, score=score)
            return {"day": day, "ticket_number": label, "score": score, "at": at}

        return self.store.write(work)  # BEGIN IMMEDIATE: the check and the insert see one state of the file


def day_figures(store, day: str) -> dict:
    """Business day *day*'s ratings: ``{"count": n, "by_score": {"1": a, …, "5": e}}`` (every score listed)."""
    by = {str(s): 0 for s in SCORES}
    for score, n in store.query("SELECT score, COUNT(*) FROM ratings WHERE day = ? GROUP BY score", (day,)):
        if str(score) in by:
            by[str(score)] = n
    return {"count": sum(by.values()), "by_score": by}
