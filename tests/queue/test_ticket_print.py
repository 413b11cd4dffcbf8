"""Tickets on paper: the ESC/POS bytes decode to a readable Persian ticket; printer
trouble never loses a ticket."""

from __future__ import annotations

import pytest
from PIL import Image, ImageOps, ImageStat
from queue_helpers import LANE_A, LANE_B
from queue_raster import bands, decode_raster, ocr, ocr_number
from required_tools import require_tool

from pishkhan.exc import PrinterError
from pishkhan.queue.issuing import issue_and_print, reprint
from pishkhan.hardware.printer import FakePrinter, PrinterStatus, encode_image, open_printer
from pishkhan.render.ticket import qr_payload, render_ticket


@pytest.fixture
def printer():
    with FakePrinter() as p:
        yield p


def test_printed_bytes_read_back_as_the_ticket(queue, printer, config):
    queue.issue(LANE_A)                        # A001 printed elsewhere
    queue.issue(LANE_B)                        # 101
    a = issue_and_print(queue, printer, LANE_A, config=config)    # A002
    b = issue_and_print(queue, printer, "VEH-02", config=config)  # 102
    assert a.printed and b.printed and a.printer_state == "ok"
    assert queue.ticket(a.ticket.id).print_state == "ok"
    tickets = decode_raster(printer.data)
    assert len(tickets) == 2 and tickets[0].width == 576
    assert printer.data.count(b"\x1dV") == 2  # each ticket is cut
    for result, image in zip((a, b), tickets):
        t = result.ticket
        assert ocr_number(image, prefixed=t.label[0].isalpha()) == t.display_label
        text = ocr(image)
        assert t.service_title.split("(")[0].strip() in text
        assert "نفرات پیش از شما" in text and "زمان تقریبی انتظار" in text
    assert "اصل شناسنامه عکس‌دار" in ocr(tickets[0])  # the documents to bring


def test_58mm_ticket_is_384_dots(queue, config, make_config):
    t = queue.issue(LANE_A)
    image = render_ticket(t, config=config, paper="58mm")
    assert image.size[0] == 384 and image.mode == "1"
    assert "کارت هوشمند ملی" in ocr(decode_raster(encode_image(image))[0])


def test_image_is_pure_black_and_white_and_encoding_is_exact(queue, config):
    t = queue.issue(LANE_A, priority=True)
    image = render_ticket(t, config=config)
    assert image.mode == "1"
    assert set(image.convert("L").tobytes()) <= {0, 255}
    decoded = decode_raster(encode_image(image))[0]
    assert decoded.size == image.size
    assert decoded.tobytes() == image.convert("L").tobytes()  # every dot as rendered
    # the priority mark is white on black: read it inverted
    marks = []
    for top, bottom in bands(decoded):
        band = decoded.crop((0, top, decoded.width, bottom))
        box = ImageOps.invert(band).getbbox()
        if bottom - top >= 20 and ImageStat.Stat(band.crop(box)).mean[0] < 128:  # a filled box
            marks.append(ocr(ImageOps.invert(band.crop(box))))
            # a box around the words, centred, not a bar across the paper
            assert box[2] - box[0] < decoded.width // 2
            assert abs((box[0] + box[2]) - decoded.width) <= 4
    assert any("بت ویژه" in m for m in marks), marks  # (tesseract often reads نوبت as توبت)


def test_qr_holds_office_date_and_number_only(queue, config):
    require_tool("zbar")
    from pyzbar.pyzbar import decode

    t = queue.issue(LANE_A)
    image = render_ticket(t, config=config).convert("L")
    codes = decode(image)
    assert [c.data.decode() for c in codes] == [f"PISHKHAN:23-1234:2026-11-28:A001"]
    assert qr_payload(t, office_id="23-1234") == "PISHKHAN:23-1234:2026-11-28:A001"


@pytest.mark.parametrize("state", ["paper_out", "offline", "cover_open"])
def test_printer_failure_keeps_the_ticket_and_records_it(queue, printer, config, qstore, state):
    printer.fail_with(state)
    result = issue_and_print(queue, printer, LANE_A, config=config)
    assert not result.printed and result.printer_state == state and state in result.error
    assert printer.data == b""
    t = queue.ticket(result.ticket.id)
    assert (t.state, t.print_state) == ("waiting", state)
    assert [u.id for u in queue.unprinted()] == [t.id]
    assert qstore.last_state("printer")["state"] == state
    assert [e["event"] for e in queue.events(t.id)] == ["waiting", "print_failed"]
    # paper changed: reprint, and the record follows
    printer.recover()
    again = reprint(queue, printer, t.id, config=config)
    assert again.printed and queue.unprinted() == []
    assert qstore.last_state("printer")["state"] == "ok"
    assert len(decode_raster(printer.data)) == 1
    # the next ticket's number is unaffected
    assert queue.issue(LANE_A).label == "A002"


def test_ticket_never_printed_is_known_after_restart(queue, config, qstore):
    t = queue.issue(LANE_A)  # the process died before printing
    from pishkhan.queue.core import Queue

    assert [u.label for u in Queue(qstore, config).unprinted()] == [t.label]


def test_file_printer_appends_bytes(tmp_path, queue, config):
    path = tmp_path / "out" / "printer.bin"
    with open_printer(f"file:{path}") as p:
        issue_and_print(queue, p, LANE_A, config=config)
    with open_printer(f"file:{path}") as p:
        issue_and_print(queue, p, LANE_A, config=config)
    assert len(decode_raster(path.read_bytes())) == 2


def test_printer_uris():
    assert isinstance(open_printer("fake"), FakePrinter)
    for uri in ("usb:0x0416:0x5011", "lp:/dev/usb/lp0", "serial:/dev/ttyUSB0:9600", "net:192.0.2.10",
                "net:192.0.2.10:9100"):
        assert open_printer(uri).uri == uri
    for bad in ("", "usb:zz", "bluetooth:1", "usb:0x1:nothex"):
        with pytest.raises(PrinterError, match="printer URI"):
            open_printer(bad)


def test_unreachable_network_printer_is_offline_and_fails_cleanly():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with open_printer(f"net:127.0.0.1:{port}") as p:
        assert p.status().state == "offline"
        with pytest.raises(PrinterError) as info:
            p.print_image(Image.new("1", (576, 10), 1))
        assert info.value.state == "offline"


def test_network_printer_status_and_bytes(tmp_path):
    """A tiny ESC/POS network printer: answers DLE EOT and records what it gets."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received = bytearray()
    answers = {1: 0x16, 2: 0x12 | 0x20, 4: 0x12 | 0x60}  # paper end

    def serve():
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(65536):
                received.extend(chunk)
                if chunk[:2] == b"\x10\x04":
                    conn.sendall(bytes([answers[chunk[2]]]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with open_printer(f"net:127.0.0.1:{server.getsockname()[1]}") as p:
        status = p.status()
        assert (status.state, status.paper_out, status.online) == ("paper_out", True, True)
        with pytest.raises(PrinterError) as info:
            p.print_image(Image.new("1", (576, 10), 1))
        assert info.value.state == "paper_out"
        answers.update({2: 0x12, 4: 0x12})
        assert p.status() == PrinterStatus(True, False, False, False, "ok")
        p.print_image(Image.new("1", (576, 10), 1))
    thread.join(5)  # the printer has read everything once the connection closes
    server.close()
    assert b"\x1dv0" in received


@pytest.mark.parametrize("paper", ["80mm", "58mm"])
def test_fast_raster_is_byte_for_byte_python_escpos(queue, config, paper):
    t = queue.issue(LANE_A, priority=True)
    image = render_ticket(t, config=config, paper=paper)
    assert encode_image(image) == encode_image(image, engine="escpos")
    odd = Image.new("1", (301, 2100), 1)  # width not a multiple of 8, taller than one raster block
    odd.paste(0, (3, 5, 290, 2090))
    assert encode_image(odd) == encode_image(odd, engine="escpos")
    [back] = decode_raster(encode_image(odd))
    assert back.crop((0, 0, 301, 2100)).tobytes() == odd.convert("L").tobytes()


def test_network_printer_that_never_answers_status_still_prints():
    """Many printers ignore DLE EOT: the state is "unknown" and tickets still print."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    received = bytearray()

    def serve():
        conn, _ = server.accept()
        with conn:
            while chunk := conn.recv(65536):
                received.extend(chunk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with open_printer(f"net:127.0.0.1:{server.getsockname()[1]}") as p:
        assert p.status().state == "unknown"
        p.print_image(Image.new("1", (576, 10), 1))
        assert p.status().state == "unknown"  # asked once, not again
    thread.join(5)
    server.close()
    assert received.count(b"\x10\x04\x01") == 1 and b"\x1dv0" in received


def test_threshold_does_not_dither():
    from pishkhan.render.ticket import threshold

    grey = Image.new("L", (64, 8), 127)
    grey.paste(128, (32, 0, 64, 8))
    out = threshold(grey).convert("L")
    # dithering would scatter white dots in the 127 half and black ones in the 128 half
    assert set(out.crop((0, 0, 32, 8)).tobytes()) == {0}
    assert set(out.crop((32, 0, 64, 8)).tobytes()) == {255}


def test_ticket_keeps_only_the_lines_that_repeat(queue, config):
    """A day of tickets must not fill memory with numbers, queue figures and times drawn once."""
    import datetime as dt

    from pishkhan.render import ticket as ticket_image

    ticket_image._kept_strip.cache_clear()
    start = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.timezone.utc)
    render_ticket(queue.issue(LANE_A), config=config, now=start)
    kept = ticket_image._kept_strip.cache_info().currsize
    for minute in range(1, 30):
        render_ticket(queue.issue(LANE_A), config=config, now=start + dt.timedelta(minutes=minute))
    info = ticket_image._kept_strip.cache_info()
    assert info.currsize == kept, "a line that changes per ticket is being kept"
    assert info.hits >= 29 * kept  # the repeating lines are drawn once


def test_issuing_and_printing_never_load_cryptography(queue, tmp_path):
    """Signatures are checked when a board is installed, not when it is used: the
    kiosk's everyday life must not carry cryptography's 8 MB."""
    import subprocess
    import sys

    script = f"""
import sys
from pishkhan.config import parse_config
from pishkhan.queue.issuing import issue_and_print
from pishkhan.hardware.printer import FakePrinter
from pishkhan.queue.core import Queue
from pishkhan.store.database import Store
cfg = parse_config({{"device": {{"state_dir": {str(tmp_path / "state")!r}}}, "hours": {{"always_open": True}}}})
with Store(cfg.store_path) as store:
    queue = Queue(store, cfg)
    result = issue_and_print(queue, FakePrinter(), {LANE_A!r}, config=cfg)
    assert result.ticket.label == "A001", result
print("loaded" if "cryptography" in sys.modules else "not loaded")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "not loaded"
