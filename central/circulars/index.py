"""One scope's circulars index (``pishkhan.circulars/1``, design §1): an entry built from what the operator gave,
and the scope's next index — the previous index's entries and the new one, bounded.

Everything is checked here before it is signed, with the same bounds the devices apply; the built index is
then checked again by the device's own parser (:func:`check_with_device_parser`), so the centre never
publishes what an office would refuse.
"""

from __future__ import annotations

import datetime as dt

import jdatetime

from central.circulars import (FORMAT, KINDS, MAX_ENTRIES, MAX_ISSUER, MAX_SUMMARY, MAX_SUPERSEDES, MAX_TITLE,
                               NUMBER, SCOPE, CircularNotPublished, latin_digits)
from pishkhan.text.safety import refused_character


def _text(name: str, value, *, limit: int, lines: bool = False, empty: bool = False) -> str:
    value = str(value if value is not None else "").strip()
    if not value and not empty:
        raise CircularNotPublished(f"--{name}: empty", reason="bad_field")
    if len(value) > limit:
        raise CircularNotPublished(f"--{name}: {len(value):,} characters; at most {limit:,}", reason="bad_field")
    bad = refused_character(value, lines=lines)
    if bad:
        raise CircularNotPublished(f"--{name}: {bad}", reason="bad_field")
    return value


def number(text, *, option: str = "number") -> str:
    """A circular's number with Latin digits; :exc:`CircularNotPublished` ``bad_field`` unless it is one."""
    value = latin_digits(str(text or "").strip())
    if not NUMBER.fullmatch(value):
        raise CircularNotPublished(f"--{option}: {str(text)[:60]!r} is not a circular number (1-40 of digits, Latin "
                              "letters and / - . _)", reason="bad_field")
    return value


def jalali_date(text, *, option: str) -> jdatetime.date:
    """The Jalali date ``YYYY-MM-DD`` *text* (Persian digits allowed); ``bad_field`` unless it is a real one."""
    value = latin_digits(str(text or "").strip())
    try:
        year, month, day = (int(part) for part in value.split("-"))
        if len(value) != 10:
            raise ValueError(value)
        return jdatetime.date(year, month, day)
    except (ValueError, TypeError):
        raise CircularNotPublished(f"--{option}: {str(text)[:40]!r} is not a Jalali date YYYY-MM-DD (1405-09-16)",
                              reason="bad_field") from None


def scope_document(scope_key: str) -> dict:
    """The index's ``scope`` object of *scope_key* (``national`` or ``province:CODE``)."""
    from pishkhan import provinces

    if scope_key == "national":
        return {"level": "national"}
    level, _, code = str(scope_key).partition(":")
    code = provinces.known(code) if level == "province" else None
    if code is None or not SCOPE.fullmatch(f"province:{code}"):
        raise CircularNotPublished(f"--scope: national or province:CODE (one of the 31 provinces), got {scope_key!r}",
                              reason="bad_scope")
    return {"level": "province", "province": code}


def scope_key(scope: dict) -> str:
    return "national" if scope["level"] == "national" else f"province:{scope['province']}"


def default_issuer(scope: dict) -> str:
    from pishkhan import provinces

    if scope["level"] == "national":
        return "مرکز پیشخوان"
    return f"استان {provinces.name(scope['province']) or scope['province']}"


def entry(*, number_text: str, kind: str, title: str, summary: str, issuer: str, attachment: dict,
          issued_on: str | None = None, effective_on: str | None = None, supersedes=(), urgent: bool = False,
          now: dt.datetime) -> dict:
    """One index entry, every field checked (:exc:`CircularNotPublished` ``bad_field`` names the option)."""
    from pishkhan.text import jalali

    if kind not in KINDS:
        raise CircularNotPublished(f"--kind: one of {', '.join(KINDS)}, got {kind!r}", reason="bad_field")
    issued = jalali_date(issued_on, option="issued-on") if issued_on else \
        jdatetime.date.fromgregorian(date=jalali.today(now))
    effective = jalali_date(effective_on, option="effective-on") if effective_on else issued
    if effective < issued:
        raise CircularNotPublished(f"--effective-on {effective.isoformat()} is before --issued-on {issued.isoformat()}",
                              reason="bad_field")
    numbers = []
    for item in supersedes or ():
        value = number(item, option="supersedes")
        if value not in numbers:
            numbers.append(value)
    if len(numbers) > MAX_SUPERSEDES:
        raise CircularNotPublished(f"--supersedes: at most {MAX_SUPERSEDES} numbers", reason="bad_field")
    own = number(number_text)
    if own in numbers:
        raise CircularNotPublished(f"--supersedes: circular {own} cannot supersede itself", reason="bad_field")
    out = {"number": own, "kind": kind, "title": _text("title", title, limit=MAX_TITLE),
           "issuer": _text("issuer", issuer, limit=MAX_ISSUER), "issued_on": issued.isoformat(),
           "effective_on": effective.isoformat(), "summary": _text("summary", summary, limit=MAX_SUMMARY, lines=True),
           "urgent": bool(urgent), "attachment": dict(attachment)}
    if numbers:
        out["supersedes"] = numbers
    return out


def next_index(previous: dict | None, new_entry: dict, *, scope: dict, version: int, issuer: str,
               now: dt.datetime) -> dict:
    """The scope's next index: *previous*'s entries and *new_entry*, at most :data:`MAX_ENTRIES`.

    A number already listed is refused (``duplicate_number``: a circular's content never changes under its
    number; publish a new one that supersedes it). Over the bound, the oldest superseded entries leave the
    index first, then the oldest issued (an office keeps every circular it ever received anyway)."""
    entries = [dict(e) for e in ((previous or {}).get("circulars") or [])]
    if any(e.get("number") == new_entry["number"] for e in entries):
        raise CircularNotPublished(f"circular {new_entry['number']} is already in the {scope_key(scope)} index; a "
                              "number names one document for good (publish a new number with --supersedes)",
                              reason="duplicate_number")
    entries.append(new_entry)
    superseded = {n for e in entries for n in e.get("supersedes") or ()}
    while len(entries) > MAX_ENTRIES:
        gone = [e for e in entries if e["number"] in superseded and e is not new_entry] or \
            [e for e in entries if e is not new_entry]
        entries.remove(min(gone, key=lambda e: (e.get("issued_on", ""), e["number"])))
    return {"format": FORMAT, "issuer": issuer, "version": int(version), "scope": scope,
            "issued_at": now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "circulars": entries}


def check_with_device_parser(document: dict):
    """Refuse (``invalid``) an index the device's parser (:func:`pishkhan.circulars.document.parse_circulars`)
    refuses; without that parser (the device side not installed) the checks above stand alone."""
    try:
        from pishkhan.circulars.document import parse_circulars
    except ImportError:
        return None
    from pishkhan.exc import PishkhanError

    try:
        return parse_circulars(document)
    except (PishkhanError, ValueError) as e:
        raise CircularNotPublished(f"the index breaks pishkhan.circulars/1 as devices read it: {e}",
                              reason="invalid") from None
