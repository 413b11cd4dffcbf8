"""What a signed text field may contain, and showing text safely on a terminal.

A board, schedule or notice is read by customers as the issuer signed it, so a
text field may hold nothing that can make it *read* differently from its
characters in order, or look empty. :func:`check_text` refuses, naming the
field's path, the character, its code point and its position (counted from 1):

- **bidi controls**: embeddings and overrides U+202A–U+202E and isolates
  U+2066–U+2069. An override before ``0001`` shows ``1000``.
- **directional marks** U+200E LRM, U+200F RLM and U+061C ALM: none is
  allowed. They are invisible, yet they change how the runs around them are
  ordered (``1 2 3`` after an RLM in an English title reads ``1 3 2``). The
  renderer gives every field its direction itself (Persian fields right to
  left, ``title_en`` left to right), so a signed field never needs one.
- **other format characters** (category Cf): the byte-order mark U+FEFF,
  zero-width space U+200B, word joiner U+2060, soft hyphen U+00AD, the Arabic
  number signs U+0600–U+0605 that span digits, the deprecated digit-shape
  controls U+206A–U+206F, tag characters, … The only ones allowed are ZWNJ
  U+200C (نیم‌فاصله, which Persian needs) and ZWJ U+200D.
- **control characters** (category Cc: NUL, ESC, DEL, tab, CR, the C1
  controls), and the line and paragraph separators U+2028/U+2029 (which also
  end a bidi paragraph). A line feed is allowed only in a field that allows
  several lines (``lines=True``).
- **unpaired surrogates**, **noncharacters** (U+FDD0–U+FDEF, U+xxFFFE/U+xxFFFF),
  **private-use** and **unassigned** code points: they have no agreed glyph.
- more than :data:`MAX_COMBINING` combining marks on one letter (stacked marks
  draw outside the line; Persian needs at most three, e.g. shadda + fatha).
- text with **no visible character**: a field made only of spaces, ZWNJ, ZWJ
  or combining marks is refused like an empty one. A field that may be empty
  (``allow_empty=True``) accepts exactly ``""``.
- text longer than its field's limit (``max_len`` characters, i.e. code points).

Persian letters and digits, Arabic-Indic digits, Latin text, punctuation
(«»،؛٬), symbols and no-break spaces all stay allowed.

:func:`terminal_safe` and :func:`json_terminal_safe` escape what a terminal
would act on (controls, bidi controls, BOM, surrogates) for CLI output;
:func:`quoted` quotes a value for an error message, escaped and shortened.
"""

from __future__ import annotations

import re
import unicodedata

#: Most combining marks allowed in a row (on one base letter).
MAX_COMBINING = 4

#: Format characters (Cf) a text field may contain: ZWNJ and ZWJ.
ALLOWED_FORMAT = frozenset("\u200c\u200d")

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
DIRECTIONAL_MARKS = frozenset("\u200e\u200f\u061c")

_C0_NAMES = {0x00: "NULL", 0x07: "BELL", 0x08: "BACKSPACE", 0x09: "CHARACTER TABULATION",
             0x0A: "LINE FEED", 0x0B: "LINE TABULATION", 0x0C: "FORM FEED", 0x0D: "CARRIAGE RETURN",
             0x1B: "ESCAPE", 0x7F: "DELETE", 0x85: "NEXT LINE"}


def char_name(ch: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: the code point and its Unicode name."""
    cp = ord(ch)
    name = unicodedata.name(ch, None)
    if name is None:
        cat = unicodedata.category(ch)
        name = (_C0_NAMES.get(cp) or {"Cc": "CONTROL CHARACTER", "Cs": "UNPAIRED SURROGATE",
                                       "Co": "PRIVATE-USE CHARACTER"}.get(cat)
                or ("NONCHARACTER" if _noncharacter(cp) else "UNASSIGNED CODE POINT"))
    return f"U+{cp:04X} {name}"


def _noncharacter(cp: int) -> bool:
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def refusal(ch: str, *, lines: bool = False) -> str | None:
    """Why *ch* may not stand in a signed text field, or None when it may."""
    cp = ord(ch)
    cat = unicodedata.category(ch)
    if cat == "Cc":
        if ch == "\n" and lines:
            return None
        return "a control character" + ("" if ch != "\n" else "; this field is one line")
    if cat == "Cf":
        if ch in ALLOWED_FORMAT:
            return None
        if ch in BIDI_CONTROLS:
            return "a bidi control: it makes text read in another order than it is written"
        if ch in DIRECTIONAL_MARKS:
            return "a directional mark: invisible, it reorders the numbers and words around it"
        return "an invisible format character"
    if cat in ("Zl", "Zp"):
        return "a line or paragraph separator"
    if cat == "Cs":
        return "an unpaired surrogate, not a character"
    if cat == "Co":
        return "a private-use character, with no agreed glyph"
    if cat == "Cn":
        return "a noncharacter" if _noncharacter(cp) else "unassigned in Unicode"
    return None


def _class(ranges, keep) -> str:
    """A regex character class of the code points in *ranges* for which *keep* holds."""
    out = []
    for lo, hi in ranges:
        start = None
        for cp in range(lo, hi + 2):
            good = cp <= hi and keep(chr(cp))
            if good and start is None:
                start = cp
            elif not good and start is not None:
                out.append(re.escape(chr(start)) + ("-" + re.escape(chr(cp - 1)) if cp - 1 > start else ""))
                start = None
    return "[" + "".join(out) + "]"


# The scripts nearly every board is written in; text made only of these is
# checked with regular expressions instead of a loop over its characters.
_COMMON = ((0x0020, 0x036F), (0x0600, 0x06FF), (0x0750, 0x077F), (0x2000, 0x206F), (0x20A0, 0x20CF),
           (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
_FAST_SAFE = re.compile(_class(_COMMON, lambda ch: refusal(ch) is None) + "*")
_FAST_VISIBLE = re.compile(_class(_COMMON, lambda ch: unicodedata.category(ch)[0] in "LNPS"))
_FAST_MARKS = re.compile(_class(_COMMON, lambda ch: unicodedata.category(ch)[0] == "M")
                         + "{%d,}" % (MAX_COMBINING + 1))


def text_problems(value, *, max_len: int, lines: bool = False, allow_empty: bool = False) -> list[str]:
    """What is wrong with *value* as a text field, as messages (empty when it is fine)."""
    if not isinstance(value, str):
        return [f"must be a string, got {describe(value)}"]
    problems = []
    if len(value) > max_len:
        problems.append(f"is {len(value):,} characters long; at most {max_len:,} are allowed")
    if value == "" and allow_empty:
        return problems
    scan = value[:max_len + 1]  # a text far too long costs no more than one at the limit
    if not _FAST_SAFE.fullmatch(scan):
        # judge each distinct character once, then find them with a regex: linear at C speed
        chars = set(scan)
        bad = {ch: why for ch in chars if (why := refusal(ch, lines=lines))}
        if bad:
            found = re.compile("[" + "".join(map(re.escape, bad)) + "]")
            first = found.search(scan)
            more = len(scan) - len(found.sub("", scan)) - 1
            problems.append(f"{char_name(first.group())} at position {first.start() + 1} is not allowed "
                            f"({bad[first.group()]})"
                            + (f"; {more} more such character{'s follow' if more != 1 else ' follows'}" if more else ""))
        marks = [ch for ch in chars if unicodedata.category(ch)[0] == "M"]
        if marks and (m := re.search("[" + "".join(map(re.escape, marks)) + "]{%d,}" % (MAX_COMBINING + 1), scan)):
            problems.append(f"has {len(m.group())} combining marks in a row at position {m.start() + 1}; "
                            f"at most {MAX_COMBINING} are allowed")
        visible = any(unicodedata.category(ch)[0] in "LNPS" for ch in chars)
    else:
        if m := _FAST_MARKS.search(scan):
            problems.append(f"has {len(m.group())} combining marks in a row at position {m.start() + 1}; "
                            f"at most {MAX_COMBINING} are allowed")
        visible = _FAST_VISIBLE.search(scan) is not None
    if not visible:
        problems.append("must not be empty" if value == "" or value.isspace()
                        else "has no visible character (only spaces, zero-width characters or marks)")
    return problems


def refused_character(value: str, *, lines: bool = False) -> str | None:
    """The first character of *value* the rules above refuse, named with its position and why; None if none.

    The character rules alone (no length, emptiness or combining-mark limit):
    what the centre applies to every string a device sends.
    """
    if _FAST_SAFE.fullmatch(value):
        return None
    bad = {ch: why for ch in set(value) if (why := refusal(ch, lines=lines))}
    if not bad:
        return None
    first = re.compile("[" + "".join(map(re.escape, bad)) + "]").search(value)
    return f"{char_name(first.group())} at position {first.start() + 1} is not allowed ({bad[first.group()]})"


def check_text(value, path: str, *, max_len: int, lines: bool = False, allow_empty: bool = False) -> list[str]:
    """Check one text field; returns ``"path: problem"`` messages, empty when it is fine.

    *max_len* is the field's limit in characters; *lines* allows line feeds;
    *allow_empty* accepts exactly ``""``. The rules are in this module's docstring.
    """
    return [f"{path}: {p}" for p in text_problems(value, max_len=max_len, lines=lines, allow_empty=allow_empty)]


def ensure_text(value, path: str, *, max_len: int, lines: bool = False, allow_empty: bool = False,
                error=None):
    """:func:`check_text`, raising *error* (default :exc:`~pishkhan.exc.PishkhanError`) with the problems."""
    problems = check_text(value, path, max_len=max_len, lines=lines, allow_empty=allow_empty)
    if problems:
        if error is None:
            from pishkhan.exc import PishkhanError as error
        raise error("; ".join(problems))
    return value


# --------------------------------------------------------------------- output

# Everything a terminal acts on or that reorders what it shows: C0 and C1
# controls (but the line feed), bidi controls and marks, other invisible format
# characters but ZWNJ/ZWJ, line/paragraph separators, surrogates.
_TERMINAL_UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]")


def _escape(m: re.Match) -> str:
    cp = ord(m.group())
    return f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}"


def terminal_safe(text: str, *, newlines: bool = True) -> str:
    """*text* with every control and invisible direction-changing character escaped
    (``\\x1b``, ``\\u202e``), so a terminal shows it as written. Line feeds stay
    when *newlines* is true."""
    text = _TERMINAL_UNSAFE.sub(_escape, str(text))
    return text if newlines else text.replace("\n", "\\n")


def _json_escape(m: re.Match) -> str:
    cp = ord(m.group())
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    cp -= 0x10000
    return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"


def json_terminal_safe(text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with the same
    characters written as ``\\uXXXX`` escapes: still the same JSON, safe to print.
    Line feeds stay (JSON puts them only between tokens)."""
    return _TERMINAL_UNSAFE.sub(_json_escape, text)


def quoted(value: str, *, limit: int = 60) -> str:
    """*value* in double quotes for a message: escaped like JSON and the
    terminal, and cut after *limit* characters (the length is then given)."""
    import json

    shown = value if len(value) <= limit else value[:limit]
    text = terminal_safe(json.dumps(shown, ensure_ascii=False), newlines=False)
    return text if len(value) <= limit else f"{text[:-1]}…\" ({len(value):,} characters)"


def describe(value) -> str:
    """A JSON value named for an error message: a quoted string, a number, ``null``, ``an array``."""
    if isinstance(value, str):
        return quoted(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, int):
        digits = len(str(abs(value))) if abs(value) < 10 ** 30 else None
        return repr(value) if digits is not None and digits <= 20 else "a number with more than 20 digits"
    return terminal_safe(repr(value), newlines=False)[:60]
