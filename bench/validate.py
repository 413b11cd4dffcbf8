"""How long does it take to read and validate the largest board the schema allows?

Builds a board at every limit (500 services, each with a 200-character title
and title_en, 10 documents of 150 characters and 500 characters of notes),
signs it, and times the strict loader (:func:`pishkhan.boards.jsonlimits.load_json`),
:func:`~pishkhan.boards.document.parse_board` and signature verification —
once with Persian text (the regular-expression fast path) and once with text
outside the common scripts (the per-character path). Also times the refusal
of hostile inputs: a megabyte title, 100,000 levels of nesting, 5,000 digits.

    .venv/bin/python bench/validate.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import time

from pishkhan.boards import document as D
from pishkhan.boards.jsonlimits import load_json
from pishkhan.boards.signing import SigningKey, verify
from pishkhan.exc import BoardInvalid


def _text(seed: str, n: int) -> str:
    return (seed * (n // len(seed) + 1))[:n].strip()


def largest_board(seed: str) -> dict:
    per = D.MAX_SERVICES // 10
    return {"format": D.FORMAT, "issuer": _text(seed, D.MAX_ISSUER), "scope": {"level": "national"},
            "version": 1, "effective_from": "2026-03-21",
            "notices": [_text(seed, D.MAX_NOTICE)] * D.MAX_NOTICES,
            "categories": [{"code": f"c{c}", "title": _text(seed, D.MAX_CATEGORY_TITLE), "services": [
                {"code": f"S{c}-{i}", "title": _text(seed, D.MAX_TITLE),
                 "title_en": _text("Smart card issue ", D.MAX_TITLE),
                 "government_fee": D.MAX_FEE, "office_fee": 1,
                 "documents": [_text(seed, D.MAX_DOCUMENT)] * D.MAX_DOCUMENTS,
                 "notes": _text(seed, D.MAX_NOTES)} for i in range(per)]} for c in range(10)]}


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def refused(fn):
    try:
        fn()
    except BoardInvalid:
        return
    raise AssertionError("expected a refusal")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    key = SigningKey.generate()
    for label, seed in (("Persian", "ثبت‌نام و صدور کارت هوشمند ملی "), ("CJK/emoji", "漢字 ✓ 書類 ")):
        envelope = key.sign(largest_board(seed))
        raw = json.dumps(envelope, ensure_ascii=False, indent=1).encode("utf-8")
        load = timed(lambda: load_json(raw), args.repeat)
        payload = load_json(raw)["payload"]
        check = timed(lambda: D.parse_board(payload), args.repeat)
        sig = timed(lambda: verify(envelope, [key.public]), args.repeat)
        print(f"largest board, {label}: {len(raw) / 1e6:.2f} MB; load {load:.0f} ms, validate {check:.0f} ms, "
              f"verify {sig:.0f} ms")
    title = dict(largest_board("ب "), issuer="ب" * 1_000_000)
    print(f"refuse a 1,000,000-character issuer: {timed(lambda: refused(lambda: D.parse_board(title)), args.repeat):.0f} ms")
    deep = "[" * 100_000 + "]" * 100_000
    print(f"refuse 100,000 levels of nesting: {timed(lambda: refused(lambda: load_json(deep)), args.repeat):.0f} ms")
    digits = '{"version": ' + "9" * 5000 + "}"
    print(f"refuse a 5,000-digit number: {timed(lambda: refused(lambda: load_json(digits)), args.repeat):.1f} ms")


if __name__ == "__main__":
    main()
