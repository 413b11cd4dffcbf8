"""Circulars indexes for the tests: a valid payload with anything replaced, and a real PDF-ish attachment."""

from __future__ import annotations

import copy
import hashlib

#: A small attachment (not a real PDF: the office keeps bytes by their hash).
PDF = b"%PDF-1.4\n% pishkhan test circular\n" + b"0123456789" * 100 + b"\n%%EOF\n"
SHA = hashlib.sha256(PDF).hexdigest()


def attachment(data: bytes = PDF) -> dict:
    sha = hashlib.sha256(data).hexdigest()
    return {"sha256": sha, "size": len(data), "media_type": "application/pdf", "path": f"circulars/pool/{sha}.pdf"}


def entry(number: str = "1405/123", *, data: bytes = PDF, **fields) -> dict:
    """One circular of an index, its attachment *data*'s hash and size, any field replaced."""
    return {"number": number, "kind": "circular", "title": "بخشنامهٔ ساعت کار دفاتر",
            "issuer": "معاونت نظارت", "issued_on": "1405-09-16", "effective_on": "1405-09-20",
            "summary": "ساعت کار دفاتر در روزهای پنجشنبه تا ساعت ۱۳ است.", "urgent": False,
            "attachment": attachment(data)} | fields


def index(version: int = 1, *, scope=None, circulars=None, **fields) -> dict:
    """A circulars index payload of *version* (default national scope, one entry)."""
    return copy.deepcopy({"format": "pishkhan.circulars/1", "issuer": "مرکز", "version": version,
                          "scope": scope or {"level": "national"}, "issued_at": "2026-12-07T10:00:00Z",
                          "circulars": [entry()] if circulars is None else circulars} | fields)
