"""Attacks on the circulars' library: hostile indexes, a hostile or slowed HTTPS answer, and files planted in
the attachments' folder. Each test is one attack and what must hold."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import ssl
import threading
import time

import pytest
from circular_helpers import PDF, SHA, entry, index
from enrolment_helpers import make_ca

from edge_agent.circulars import HttpsTransport
from pishkhan.circulars.document import parse_circulars
from pishkhan.circulars.files import AttachmentStore
from pishkhan.exc import CircularRefused


# -- the index ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("payload, says", [
    (index(circulars=[entry(f"1405/{i}") for i in range(10_000)]), "at most 500"),
    (index(circulars=[entry(summary="س" * 1_000_000)]), "summary: is 1,000,000 characters"),
    (index(circulars=[entry(issued_on="1405-13-40")]), "issued_on"),
    (index(circulars=[entry(title="بخشنامه\u202e1405")]), "RIGHT-TO-LEFT OVERRIDE"),
    (index(circulars=[entry(summary="a\r\nb")]), "CARRIAGE RETURN"),
    (index(circulars=[entry("1405/1"), entry("۱۴۰۵/۱")]), "listed twice"),
    (index(circulars=[entry("..")]), "number"),
])
def test_a_hostile_index_is_refused_whole_and_fast(payload, says):
    started = time.monotonic()
    with pytest.raises(CircularRefused) as refused:
        parse_circulars(payload)
    assert refused.value.reason == "invalid" and says in str(refused.value)
    assert time.monotonic() - started < 1.0


def test_a_number_with_dots_and_slashes_never_names_a_file(tmp_path):
    """A number like ``1/../../x`` is a valid number, but files are named by the hash alone."""
    doc = parse_circulars(index(circulars=[entry("1/../../x")]))
    assert doc.circulars[0].attachment.file_name == f"{SHA}.pdf"
    files = AttachmentStore(tmp_path / "c", min_free=0)
    for bad in ("../" + SHA[3:], SHA.upper(), "1/../../x"):
        with pytest.raises(ValueError):
            files.path(bad)


# -- planted files ------------------------------------------------------------------------------------
def test_a_symlink_planted_as_the_part_file_is_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    folder = tmp_path / "circulars"
    folder.mkdir()
    (folder / f"{SHA}.part").symlink_to(victim)
    files = AttachmentStore(folder, min_free=0)
    with pytest.raises(CircularRefused):
        files.keep(SHA, len(PDF), [PDF[:-1] + b"X"])  # a write that fails: the victim must not be truncated
    assert victim.read_bytes() == b"precious"
    (folder / f"{SHA}.part").symlink_to(victim)
    files.keep(SHA, len(PDF), [PDF])
    assert victim.read_bytes() == b"precious" and files.verify(SHA)
    assert not (folder / f"{SHA}.pdf").is_symlink()


def test_a_part_left_as_a_directory_does_not_stop_the_agent_starting(tmp_path):
    folder = tmp_path / "circulars"
    (folder / "junk.part").mkdir(parents=True)
    (folder / f"{SHA}.part").write_bytes(b"half")
    assert AttachmentStore(folder).clean() == 1
    assert not (folder / f"{SHA}.part").exists()


# -- a hostile or slowed HTTPS answer -----------------------------------------------------------------
@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca, cert, key = make_ca(tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return {"ca": ca.cert_file, "context": context}


@contextlib.contextmanager
def scripted(tls, script):
    """An HTTPS server on 127.0.0.1 answering one request with *script(sock)*; yields the file's URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with tls["context"].wrap_socket(conn, server_side=True) as sock:
                sock.recv(65536)
                script(sock)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}/circulars/pool/{SHA}.pdf"
    finally:
        listener.close()
        thread.join(5)


def fetch(tls, script, *, max_seconds=30.0, timeout=(2, 2)):
    """Keep the attachment SHA fetched from a scripted server; the refusal's reason (or ``kept``) and seconds."""
    started = time.monotonic()
    with scripted(tls, script) as url, contextlib.ExitStack():
        files = AttachmentStore(fetch.folder, min_free=0)
        try:
            files.keep(SHA, len(PDF), HttpsTransport(ca_file=tls["ca"], timeout=timeout,
                                                     max_seconds=max_seconds).chunks(url, limit=len(PDF)))
            reason = "kept"
        except CircularRefused as e:
            reason = e.reason
    assert not list(fetch.folder.glob("*.part"))
    return reason, time.monotonic() - started


@pytest.fixture(autouse=True)
def _folder(tmp_path):
    fetch.folder = tmp_path / "circulars"


def head(length) -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n".encode()


def test_the_honest_answer_is_kept(tls):
    assert fetch(tls, lambda s: s.sendall(head(len(PDF)) + PDF))[0] == "kept"


def test_a_trickled_answer_is_cut_at_the_time_bound(tls):
    """A man in the middle delays every byte (each within the read timeout): the whole-file bound still holds."""
    def trickle(sock):
        sock.sendall(head(len(PDF)))
        for byte in PDF:
            sock.sendall(bytes([byte]))
            time.sleep(0.05)
    reason, took = fetch(tls, trickle, max_seconds=0.5)
    assert reason == "download_failed" and took < 3


def test_a_short_body_under_a_longer_content_length_is_a_failed_download(tls):
    assert fetch(tls, lambda s: s.sendall(head(len(PDF)) + PDF[:100]))[0] == "download_failed"


def test_more_bytes_than_the_index_names_are_refused(tls):
    extra = PDF + b"x" * 200_000
    assert fetch(tls, lambda s: s.sendall(head(len(extra)) + extra))[0] == "wrong_hash"
    assert fetch(tls, lambda s: s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + extra))[0] == "wrong_hash"


def test_a_redirect_to_another_host_is_not_followed(tls):
    moved = b"HTTP/1.1 302 Found\r\nLocation: https://attacker.test/x.pdf\r\nContent-Length: 0\r\n\r\n"
    assert fetch(tls, lambda s: s.sendall(moved))[0] == "download_failed"


def test_same_bytes_under_another_name_hash_checked(tls):
    other = b"%PDF-1.4 not this circular" + b"." * (len(PDF) - 26)
    assert len(other) == len(PDF) and hashlib.sha256(other).hexdigest() != SHA
    assert fetch(tls, lambda s: s.sendall(head(len(other)) + other))[0] == "wrong_hash"
    assert not os.path.exists(fetch.folder / f"{SHA}.pdf")


# -- a PDF bomb at the kiosk (the renderer runs in the kiosk's process) -------------------------------
def _pdf(objects: list[bytes]) -> bytes:
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def _one_page(*, box=b"[0 0 595 842]", resources=b"<< >>", kids=b"[3 0 R]", count=1) -> bytes:
    content = b"0 0 m 1 1 l S"
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids %s /Count %d >>" % (kids, count),
                 b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Resources %s /Contents 4 0 R >>" % (box, resources),
                 b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)])


@pytest.mark.parametrize("name, data", [
    ("needle-thin page", _one_page(box=b"[0 0 0.01 10000000]")),
    ("huge page", _one_page(box=b"[0 0 14400000 14400000]")),
    ("100,000 pages", _one_page(kids=b"[" + b" ".join([b"3 0 R"] * 100_000) + b"]", count=100_000)),
    ("a lying page count", _one_page(count=2_000_000_000)),
    ("200,000 nested arrays", _one_page(resources=b"<< /X " + b"[" * 200_000 + b"]" * 200_000 + b" >>")),
])
def test_a_pdf_bomb_gives_a_small_page_quickly(tmp_path, name, data):
    from PIL import Image

    from pishkhan.render.pdf import MAX_PIXELS, MAX_SIDE, PageRenderer
    path = tmp_path / "bomb.pdf"
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    renderer = PageRenderer(tmp_path / "pages")
    started = time.monotonic()
    assert 1 <= renderer.info(path, sha256=sha).shown <= 60
    with Image.open(renderer.page(path, sha256=sha, n=1)) as image:
        w, h = image.size
    assert w <= MAX_SIDE and h <= MAX_SIDE and w * h <= MAX_PIXELS
    assert time.monotonic() - started < 2.0


# -- the board's complaint channel, shown on the kiosk (Kivy markup) and printed (ESC/POS) -----------
@pytest.mark.parametrize("value", [
    {"url": "javascript:alert(1)"},
    {"url": "https://tekrim.example.ir/\u202egnp.exe"},
    {"url": "https://tekrim.example.ir/[color=ff0000]x[/color]"},
    {"url": "https://tekrim.example.ir/\x1b@"},
    {"url": "https://tekrim.example.ir\u2215evil.example"},
    {"phone": "0" * 10_000},
    {"phone": "021\u202e1112"},
    {"phone": "[b]1112[/b]"},
    {"short_code": "۳۰۰۰\u200f1"},
])
def test_a_hostile_complaint_channel_is_refused(sample_doc, value):
    from pishkhan.boards.document import parse_board
    from pishkhan.exc import BoardInvalid

    doc = dict(sample_doc, complaints=value)
    with pytest.raises(BoardInvalid) as refused:
        parse_board(doc)
    assert any(e.startswith("complaints.") for e in refused.value.errors), refused.value.errors


# -- supersedes across scopes, and cycles ---------------------------------------------------------------
def test_a_province_index_cannot_supersede_a_national_circular_nor_replace_its_file(tmp_path):
    import datetime as dt

    from pishkhan.boards.signing import SigningKey
    from pishkhan.boards.trust import trust_key
    from pishkhan.circulars.installed import install_circulars
    from pishkhan.circulars.library import Library
    from pishkhan.store.database import Store

    national, province = SigningKey.generate(), SigningKey.generate()
    now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.timezone.utc)
    with Store(tmp_path / "pishkhan.db", clock=lambda: now) as store:
        trust_key(store, national.public, scope="national", actor="test")
        trust_key(store, province.public, scope="province:23", actor="test")

        def install(key, payload):
            return install_circulars(store, key.sign(payload), source="centre", actor="test", province="23")
        install(national, index(1, circulars=[entry("1405/1", urgent=True)]))
        install(province, index(1, scope={"level": "province", "province": "23"},
                                circulars=[entry("1405/2", supersedes=["1405/1"], data=b"province's")]))
        install(national, index(2, circulars=[entry("1405/1", data=b"another file", urgent=True)]))
        library = Library(store, tmp_path / "circulars")
        held = library.entry("national", "1405/1")
        assert held.superseded_by is None and held.sha256 == SHA
        assert library.unread_count() == 2
        refused = store.audit_entries(action="circular.refused")
        assert [e["detail"]["code"] for e in refused] == ["invalid"]


def test_a_symlink_planted_as_a_page_part_file_is_not_followed(tmp_path):
    from pishkhan.render.pdf import PageRenderer

    data = _one_page()
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "a.pdf").write_bytes(data)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / f"{sha}-1.png.part").symlink_to(victim)
    page = PageRenderer(tmp_path / "pages").page(tmp_path / "a.pdf", sha256=sha, n=1)
    assert victim.read_bytes() == b"precious" and not page.is_symlink()


def test_a_page_that_takes_forever_to_draw_is_refused_in_time_and_the_kiosk_goes_on(tmp_path, monkeypatch):
    """100,000 filled triangles in 10 KB (hours of PDFium's time): drawn in a child process, cut at its bound."""
    import zlib

    from pishkhan.render import pdf as pdf_module
    from pishkhan.render.pdf import PageRenderer, PdfRefused

    content = zlib.compress(b"0.5 w 10 10 m 500 800 l 300 10 l h B\n" * 100_000, 9)
    data = _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                 b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> /Contents 4 0 R >>",
                 b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(content), content)])
    (tmp_path / "slow.pdf").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    monkeypatch.setattr(pdf_module, "DRAW_SECONDS", 1.0)
    renderer = PageRenderer(tmp_path / "pages")
    for _ in range(2):  # the second time at once: the same bytes are not tried again
        started = time.monotonic()
        with pytest.raises(PdfRefused) as refused:
            renderer.page(tmp_path / "slow.pdf", sha256=sha, n=1)
        assert refused.value.reason == "malformed" and "longer than 1 s" in str(refused.value)
        assert time.monotonic() - started < 3
    assert list((tmp_path / "pages").iterdir()) == []


def test_the_largest_index_the_parser_takes_still_fits_the_documents_byte_bound():
    """Else a scope's retained index would be refused by every office as too large, its channel stuck."""
    import json

    from pishkhan.boards.jsonlimits import MAX_DOCUMENT_BYTES
    wide = "ی\u200c"  # three bytes a character in UTF-8: the widest safe text
    entries = [entry(f"1405/{i:035d}", title=wide * 100, issuer=wide * 60, summary=wide * 1000,
                     supersedes=[f"1404/{j:035d}" for j in range(20)]) for i in range(500)]
    payload = index(circulars=entries, issuer=wide * 60)
    assert len(parse_circulars(payload).circulars) == 500
    envelope = {"format": "pishkhan.signed/1", "payload": payload, "signature": {"key": "k" * 16, "value": "v" * 88}}
    assert len(json.dumps(envelope, ensure_ascii=False).encode("utf-8")) < MAX_DOCUMENT_BYTES


def test_a_chunked_answer_is_read_whole(tls):
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(PDF[i:i + 100]), PDF[i:i + 100]) for i in range(0, len(PDF), 100))
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n"
    assert fetch(tls, lambda s: s.sendall(answer))[0] == "kept"


def test_a_gzip_bomb_is_cut_at_the_named_size_without_inflating_it_all(tls):
    import resource
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    bomb = b"".join(packer.compress(zeros) for _ in range(96)) + packer.flush()  # 96 MiB in about 100 KB
    answer = (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
              % len(bomb)) + bomb
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert fetch(tls, lambda s: s.sendall(answer))[0] == "wrong_hash"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB: never the 96 MiB
