"""Circulars on an office store for the kiosk's and the wall's tests: real Persian PDFs drawn with
Pillow (raqm), a signed index installed through the one install path, and the attachments kept
where the library finds them."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, ImageDraw

from pishkhan.render.typeset import draw_text, font

#: A4 at 72 dpi, in points.
A4 = (595, 842)


def persian_pdf(*titles: str) -> bytes:
    """A PDF of one page per title, the title drawn large at the top right of the page."""
    pages = []
    for title in titles:
        page = Image.new("RGB", A4, "white")
        draw = ImageDraw.Draw(page)
        draw_text(draw, (A4[0] - 40, 60), title, font(56, "Bold"))
        draw.line((40, 160, A4[0] - 40, 160), fill="black", width=3)
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=72)
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(number: str, data: bytes, *, kind="circular", title="بخشنامه ساعت کار", issued_on="1405-09-16",
          summary="ساعت کار دفاتر در روزهای پنجشنبه تا ساعت ۱۳ است.", **fields) -> dict:
    return {"number": number, "kind": kind, "title": title, "issuer": "معاونت نظارت", "issued_on": issued_on,
            "effective_on": issued_on, "summary": summary, "urgent": False,
            "attachment": {"sha256": sha(data), "size": len(data), "media_type": "application/pdf",
                           "path": f"circulars/pool/{sha(data)}.pdf"}} | fields


def install(store, key, entries: list[dict], *, version: int = 1):
    """Sign a national index of *entries* with *key* (trusted by *store*) and install it."""
    from pishkhan.circulars.installed import install_circulars

    payload = {"format": "pishkhan.circulars/1", "issuer": "مرکز", "version": version,
               "scope": {"level": "national"}, "issued_at": "2026-12-07T10:00:00Z", "circulars": entries}
    return install_circulars(store, key.sign(payload), source="centre", actor="test")


def keep(store, config, data: bytes, *, number: str, scope_key: str = "national") -> Path:
    """Put *data* where the library keeps attachments and mark the circular fetched (as the agent does)."""
    folder = Path(config.state_dir) / "circulars"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha(data)}.pdf"
    path.write_bytes(data)
    store.write(lambda c: c.execute("UPDATE circulars SET fetched_at = ? WHERE scope_key = ? AND number = ?",
                                    ("2026-12-07T10:05:00Z", scope_key, number)))
    return path
