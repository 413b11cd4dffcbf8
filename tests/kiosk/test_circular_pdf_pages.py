"""pishkhan.render.pdf: a kept PDF drawn page by page — checked, bounded and cached — and every bad file
refused with a reason, never a crash."""

from __future__ import annotations

import pytest
from circulars_for_screens import persian_pdf, sha
from PIL import Image

from pishkhan.render import pdf as pdf_module
from pishkhan.render.pdf import MAX_PIXELS, PageRenderer, PdfRefused


@pytest.fixture(scope="module")
def three_pages():
    return persian_pdf("یک", "دو", "سه")


def kept(tmp_path, data: bytes):
    path = tmp_path / f"{sha(data)}.pdf"
    path.write_bytes(data)
    return path


def reason(fn) -> str:
    with pytest.raises(PdfRefused) as refused:
        fn()
    return refused.value.reason


def test_pages_are_drawn_bounded_and_cached_by_hash(tmp_path, three_pages):
    path = kept(tmp_path, three_pages)
    r = PageRenderer(tmp_path / "pages", width=400, max_pages=2)
    info = r.info(path, sha256=sha(three_pages))
    assert (info.pages, info.shown) == (3, 2)
    first = r.page(path, sha256=sha(three_pages), n=1)
    assert first.name == f"{sha(three_pages)}-1.png" and abs(Image.open(first).size[0] - 400) <= 1
    with pytest.raises(ValueError):
        r.page(path, sha256=sha(three_pages), n=3)  # beyond the bound
    path.unlink()  # a cached page needs no PDF any more
    assert r.page(path, sha256=sha(three_pages), n=1) == first
    assert not list((tmp_path / "pages").glob("*.part"))


def test_every_bad_file_is_refused_with_its_reason(tmp_path, three_pages, monkeypatch):
    r = PageRenderer(tmp_path / "pages")
    garbage = b"%PDF-1.4\n" + b"\x00\xff" * 300
    assert reason(lambda: r.info(kept(tmp_path, garbage), sha256=sha(garbage))) == "malformed"
    assert reason(lambda: r.page(tmp_path / "x.pdf", sha256=sha(garbage), n=1)) == "malformed"  # remembered
    assert reason(lambda: r.info(tmp_path / "none.pdf", sha256="0" * 64)) == "not_a_file"
    path = kept(tmp_path, three_pages)
    assert reason(lambda: r.info(path, sha256="1" * 64)) == "wrong_hash"
    assert reason(lambda: r.info(path, sha256="not a hash")) == "malformed"
    monkeypatch.setattr(pdf_module, "MAX_FILE_BYTES", len(three_pages) - 1)
    assert reason(lambda: r.info(path, sha256=sha(three_pages))) == "not_a_file"  # too large


def test_an_absurd_page_size_gives_a_bounded_image(tmp_path):
    # a one-page PDF whose page is 14400 x 14400 points (PDF's largest): never a 200-megapixel image
    body = b"BT ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(body), body)]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, o in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, o)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    data = bytes(out)
    r = PageRenderer(tmp_path / "pages", width=20000)
    w, h = Image.open(r.page(kept(tmp_path, data), sha256=sha(data), n=1)).size
    assert w * h <= MAX_PIXELS * 1.01


def test_the_cache_stays_under_its_bound(tmp_path, three_pages):
    path = kept(tmp_path, three_pages)
    r = PageRenderer(tmp_path / "pages", width=300, max_cache_bytes=1)
    for n in (1, 2, 3):
        r.page(path, sha256=sha(three_pages), n=n)
    assert [p.name for p in (tmp_path / "pages").iterdir()] == [f"{sha(three_pages)}-3.png"]  # the newest kept
