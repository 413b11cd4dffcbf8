"""Board page rendering: Pillow (this project) against headless Chromium.

Prints, for the sample board at 1920x1080:

- cold: a fresh Python that starts, loads the signed board, lays it out,
  draws page 1 and writes it as PNG (wall clock from spawn to exit, CPU time,
  and that process's peak RSS);
- warm: every page laid out and drawn again and again in one running
  process, handed on as raw RGB bytes as the wall display uses them (ms per
  page, and the process's peak RSS over the run); the same with a PNG file
  written per page is shown beside it;

and the same figures for headless Chromium rendering an equivalent HTML page
(the rows of page 1, the same Vazirmatn font via @font-face file://), when
Chromium is installed: cold is one ``chromium --headless --screenshot``
process; warm drives one running Chromium over its DevTools pipe (navigate,
wait for load, capture the screenshot with ``optimizeForSpeed``) page after
page -- a screenshot is the only way to get Chromium's pixels out. Chromium's
memory is the peak of the summed RSS of its whole process tree, polled from
/proc every 5 ms (polling can only miss peaks, which flatters Chromium); its
CPU column counts only what the launcher process reaped. The first cold run
of each is not counted (it fills byte-code and disk caches). Then the ratios
against the target: at least 5x faster and 5x less memory, from this run.

    .venv/bin/python bench/render.py [--rounds 5] [--cold 3] [--no-chromium]
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (1920, 1080)
TARGET = 5.0


def _board():
    from pishkhan.boards.layering import preview
    from pishkhan.boards.signing import SigningKey

    doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
    return preview(SigningKey.generate().sign(doc))


def _config(tmp: str):
    from pishkhan.config import parse_config

    return parse_config({"device": {"state_dir": tmp}})


# --------------------------------------------------------------------------- child modes

#: The cold child: a fresh Python that imports only what the display needs,
#: loads the signed board, lays it out, draws page 1 and writes the PNG.
COLD_CHILD = """
import json, sys
from pathlib import Path
from pishkhan.render.board_layout import layout_pages
from pishkhan.render.board_pages import draw_page
from pishkhan.config import parse_config
from pishkhan.boards.layering import preview
board = preview(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
config = parse_config({"device": {"state_dir": sys.argv[3]}})
draw_page(layout_pages(board, config=config, size=(%d, %d))[0]).save(sys.argv[2], compress_level=1)
""" % SIZE


def child_warm(out: str, rounds: int) -> None:
    """Lay out and draw every page *rounds* times, one page alive at a time,
    handing each on as raw RGB bytes as the wall display does (it blits them
    into a texture; it never encodes PNG). Also times the same with a PNG
    written per page, for comparison. Prints ms per page as JSON."""
    from pishkhan.render.board_pages import iter_pages

    with tempfile.TemporaryDirectory() as tmp:
        board, cfg = _board(), _config(tmp)
        for image in iter_pages(board, config=cfg, size=SIZE):  # fonts loaded, caches warm
            pass
        bitmap, png = [], []
        for _ in range(rounds):
            for sink, times in ((lambda im, n: im.tobytes(), bitmap),
                                (lambda im, n: im.save(f"{out}-{n}.png", compress_level=1), png)):
                start = time.perf_counter()
                count = 0
                for image in iter_pages(board, config=cfg, size=SIZE):
                    sink(image, count)
                    count += 1
                times.append((time.perf_counter() - start) * 1000 / count)
        print(json.dumps({"ms_per_page": statistics.median(bitmap), "ms_per_page_png": statistics.median(png),
                          "pages": count}))


# --------------------------------------------------------------------------- measuring

def _run_child(args: list[str]) -> tuple[float, int, float, str]:
    """Run a fresh Python with *args*; (wall ms, peak RSS KiB, CPU ms, stdout).

    Byte-code caching is allowed in the child (a device has its .pyc files),
    and the caller makes one uncounted run first, so "cold" means a fresh
    process, not a first-ever compile."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, cwd=str(ROOT), env=env)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child {args} failed with {proc.returncode}")
    return wall, usage.ru_maxrss, (usage.ru_utime + usage.ru_stime) * 1000, out


class TreeRSS:
    """Peak summed RSS (KiB) of a process and all its descendants, polled."""

    def __init__(self, pid: int, interval: float = 0.005):
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    @staticmethod
    def _children() -> dict[int, list[int]]:
        kids: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read().decode(errors="replace")
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
        return kids

    def sample(self) -> int:
        kids, todo, total = self._children(), [self.pid], 0
        while todo:
            pid = todo.pop()
            todo += kids.get(pid, [])
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
                            break
            except OSError:
                pass
        return total

    def _poll(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            time.sleep(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


# --------------------------------------------------------------------------- the HTML page

def board_html(font_dir: Path) -> str:
    """Page 1 of the board as HTML: the same header, column heads, rows and
    footer as the Pillow page, in Vazirmatn, right to left."""
    from pishkhan.render import strings
    from pishkhan.render.board_layout import COLOURS, STYLES, layout_pages
    from pishkhan.text.persian import format_money, unit_name

    with tempfile.TemporaryDirectory() as tmp:
        cfg = _config(tmp)
        board = _board()
        page = layout_pages(board, config=cfg, size=SIZE)[0]
    texts = {b.role: b.text for b in page.texts()}
    from pishkhan.render.board_layout import QRCode
    from pishkhan.render.board_pages import qr_image
    import io
    qr = next((i for i in page.items if isinstance(i, QRCode)), None)
    qr_html = ""
    if qr is not None:
        buf = io.BytesIO()
        qr_image(qr.data, qr.box.w).save(buf, "PNG")
        qr_html = (f'<img style="position:absolute;left:40px;bottom:18px" src="data:image/png;base64,'
                   f'{base64.b64encode(buf.getvalue()).decode()}">')
    rgb = {k: "rgb({},{},{})".format(*v) for k, v in COLOURS.items()}
    weights = {"Regular": 400, "Medium": 500, "SemiBold": 600, "Bold": 700, "ExtraBold": 800, "Black": 900}
    faces = "\n".join(
        f"@font-face {{ font-family: Vazirmatn; font-weight: {w}; src: url('file://{font_dir}/Vazirmatn-{name}.ttf'); }}"
        for name, w in weights.items())

    def st(style):
        weight, size = STYLES[style]
        return f"font-weight:{weights[weight]};font-size:{size}px"

    unit = unit_name(cfg.office.currency_unit)
    rows = []
    for row in page.rows:
        if row.kind == "heading":
            title = next(b.text for b in page.texts(f"heading:{row.category}"))
            rows.append(f'<tr class="h"><td colspan="4" style="{st("heading")}">{html.escape(title)}</td></tr>')
            continue
        s = board.service(row.code)
        cells = [f'<td class="t" style="{st("title")}">{html.escape(s.title)}</td>']
        for value, style in ((s.government_fee, "amount"), (s.office_fee, "amount"), (s.total_fee, "total")):
            cells.append(f'<td class="a" style="{st(style)}">{format_money(value, with_unit=False)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    heads = "".join(f'<th class="a" style="{st("col_head")}">{h}<br><small>({unit})</small></th>'
                    for h in (strings.COL_GOVERNMENT, strings.COL_OFFICE, strings.COL_TOTAL))
    return f"""<!doctype html><html lang="fa" dir="rtl"><head><meta charset="utf-8"><style>
{faces}
html, body {{ margin: 0; width: {SIZE[0]}px; height: {SIZE[1]}px; overflow: hidden; background: {rgb['background']};
  color: {rgb['ink']}; font-family: Vazirmatn; }}
header {{ background: {rgb['header']}; color: {rgb['on_header']}; padding: 16px 40px; display: flex;
  justify-content: space-between; }}
table {{ width: calc(100% - 80px); margin: 10px 40px; border-collapse: collapse; }}
th {{ background: {rgb['col_head']}; text-align: right; padding: 10px; }}
td {{ padding: 9px 14px; }} td.a, th.a {{ text-align: right; font-feature-settings: "tnum"; white-space: nowrap; }}
tr:nth-child(even) td {{ background: {rgb['stripe']}; }}
tr.h td {{ background: {rgb['heading']}; color: {rgb['on_heading']}; }}
footer {{ position: absolute; bottom: 0; left: 0; right: 0; background: {rgb['footer_bg']}; padding: 18px 40px;
  {st('footer')}; }}
</style></head><body>
<header><div><div style="{st('office')}">{html.escape(texts.get('header:office', ''))}</div>
<div style="{st('licence')}">{html.escape(texts.get('header:licence', ''))}</div></div>
<div style="text-align:left"><div style="{st('board_title')}">{html.escape(texts['header:title'])}</div>
<div style="{st('date')}">{html.escape(texts['header:date'])}</div></div></header>
<table><tr><th style="{st('col_head')}">{strings.COL_TITLE}</th>{heads}</tr>
{''.join(rows)}</table>
<footer>{html.escape(texts.get('footer:version', ''))} | {html.escape(texts.get('footer:effective', ''))} |
{html.escape(texts.get('footer:issuer', ''))}<br><b>{html.escape(texts.get('footer:code', ''))}</b>
&nbsp; {html.escape(texts['footer:page'])}{qr_html}</footer>
</body></html>"""


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--force-device-scale-factor=1"]


def chromium_cold(chromium: str, url: str, tmp: Path, n: int, skip_first: bool = False) -> tuple[float, int, float]:
    """One ``--screenshot`` per process, *n* times: (median wall ms, peak tree
    RSS KiB, median CPU ms of the tree); with *skip_first* the first run only
    fills the disk caches."""
    walls, peaks, cpus = [], [], []
    for i in range(n):
        profile = tmp / f"profile-cold-{i}"
        shot = tmp / f"chromium-cold-{i}.png"
        start = time.perf_counter()
        proc = subprocess.Popen([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                                 f"--window-size={SIZE[0]},{SIZE[1]}", url],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        watch = TreeRSS(proc.pid)
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        walls.append((time.perf_counter() - start) * 1000)
        peaks.append(watch.stop())
        cpus.append((usage.ru_utime + usage.ru_stime) * 1000)
        if not shot.is_file():
            raise RuntimeError("chromium made no screenshot")
    if skip_first:
        walls, peaks, cpus = walls[1:], peaks[1:], cpus[1:]
    return statistics.median(walls), max(peaks), statistics.median(cpus)


class DevToolsPipe:
    """The Chrome DevTools protocol over ``--remote-debugging-pipe``
    (fd 3 to Chromium, fd 4 from it; messages end with NUL)."""

    def __init__(self, chromium: str, profile: Path):
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()
        # the child must see our pipe ends as fds 3 and 4 (moved out of the
        # way first, in case one of them already is 3 or 4)
        def setup():
            import fcntl
            a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
        self.proc = subprocess.Popen([chromium, *CHROMIUM_FLAGS, "--remote-debugging-pipe",
                                      f"--user-data-dir={profile}", f"--window-size={SIZE[0]},{SIZE[1]}",
                                      "about:blank"], preexec_fn=setup, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read())
        raise TimeoutError(method)

    def _read(self) -> dict:
        while b"\0" not in self._buf:
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)


def chromium_warm(chromium: str, url: str, tmp: Path, rounds: int) -> tuple[float, int]:
    """One running Chromium, page after page: (median ms per page, peak tree RSS KiB)."""
    cdp = DevToolsPipe(chromium, tmp / "profile-warm")
    watch = TreeRSS(cdp.proc.pid)
    try:
        target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        cdp.send("Page.enable", session=session)
        cdp.send("Emulation.setDeviceMetricsOverride",
                 {"width": SIZE[0], "height": SIZE[1], "deviceScaleFactor": 1, "mobile": False}, session=session)
        times = []
        for i in range(rounds + 1):  # the first one warms up
            start = time.perf_counter()
            cdp.send("Page.navigate", {"url": url}, session=session)
            cdp.wait_event("Page.loadEventFired")
            data = cdp.send("Page.captureScreenshot", {"format": "png", "optimizeForSpeed": True},
                            session=session)["data"]
            (tmp / f"chromium-warm-{i}.png").write_bytes(base64.b64decode(data))
            if i:
                times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times), watch.stop()
    finally:
        watch.stop()
        cdp.close()


# --------------------------------------------------------------------------- main

def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="warm rounds (each renders every page)")
    ap.add_argument("--cold", type=int, default=3, help="cold processes to start (median is shown)")
    ap.add_argument("--no-chromium", action="store_true")
    ap.add_argument("--child", choices=["warm"], help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child == "warm":
        child_warm(args.out, args.rounds)
        return 0

    from pishkhan.text.fonts import font_path

    with tempfile.TemporaryDirectory(prefix="pishkhan-bench-") as tmpdir:
        tmp = Path(tmpdir)
        board_file = tmp / "board.signed.json"
        from pishkhan.boards.signing import SigningKey
        doc = json.loads(resources.files("pishkhan.data").joinpath("sample_board.json").read_text(encoding="utf-8"))
        board_file.write_text(json.dumps(SigningKey.generate().sign(doc), ensure_ascii=False), encoding="utf-8")
        cold = [_run_child(["-c", COLD_CHILD, str(board_file), str(tmp / f"cold-{i}.png"), str(tmp / "state")])
                for i in range(args.cold + 1)][1:]  # the first run only fills byte-code and disk caches
        cold_ms = statistics.median(c[0] for c in cold)
        cold_kib = max(c[1] for c in cold)
        cold_cpu = statistics.median(c[2] for c in cold)
        _, warm_kib, _, out = _run_child([__file__, "--child", "warm", "--rounds", str(args.rounds),
                                          "--out", str(tmp / "warm")])
        warm = json.loads(out)
        print(f"board pages at {SIZE[0]}x{SIZE[1]}: sample board, {warm['pages']} pages")
        print(f"{'':22}{'cold ms/page':>14}{'(cpu ms)':>10}{'warm ms/page':>14}{'peak MiB cold':>15}"
              f"{'peak MiB warm':>15}")
        print(f"{'Pillow (pishkhan)':22}{cold_ms:14.0f}{cold_cpu:10.0f}{warm['ms_per_page']:14.1f}"
              f"{cold_kib / 1024:15.1f}{warm_kib / 1024:15.1f}")
        chromium = None if args.no_chromium else _find_chromium()
        if not chromium:
            print("headless Chromium: not installed (apt-get install chromium); no comparison")
            return 0
        page = tmp / "board.html"
        page.write_text(board_html(font_path("Regular").parent), encoding="utf-8")
        url = page.as_uri()
        c_cold_ms, c_cold_kib, c_cold_cpu = chromium_cold(chromium, url, tmp, args.cold + 1, skip_first=True)
        c_warm_ms, c_warm_kib = chromium_warm(chromium, url, tmp, args.rounds * 2)
        print(f"{'  (warm, with a PNG per page)':36}{warm['ms_per_page_png']:14.1f}")
        print(f"{'headless Chromium':22}{c_cold_ms:14.0f}{c_cold_cpu:10.0f}{c_warm_ms:14.1f}"
              f"{c_cold_kib / 1024:15.1f}{c_warm_kib / 1024:15.1f}")
        ratios = {
            "faster, cold": c_cold_ms / cold_ms,
            "faster, warm": c_warm_ms / warm["ms_per_page"],
            "less memory, cold": c_cold_kib / cold_kib,
            "less memory, warm": c_warm_kib / warm_kib,
        }
        print(f"target: at least {TARGET:.0f}x faster and {TARGET:.0f}x less memory than Chromium")
        ok = True
        for name, ratio in ratios.items():
            met = ratio >= TARGET
            ok &= met
            print(f"  {name:20} {ratio:6.1f}x  {'met' if met else 'NOT met'}")
        print("all targets met" if ok else "some targets NOT met")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
