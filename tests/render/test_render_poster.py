"""The printable poster: a PDF at 300 dpi with as many pages as the layout
says, A3 fewer than A4, and the same layout rules as the screens."""

from __future__ import annotations

import re
import subprocess

import pytest
from required_tools import require_tool

from pishkhan.render.board_layout import paper_size
from pishkhan.render.poster import poster_pages, write_poster

POINTS = {"A4": (595.3, 841.9), "A3": (841.9, 1190.6)}


def _pdfinfo(path) -> dict[str, str]:
    require_tool("pdfinfo")
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


@pytest.fixture(scope="module")
def posters(signed_board, render_config, tmp_path_factory):
    out = {}
    for paper in ("A4", "A3"):
        path = tmp_path_factory.mktemp("poster") / f"board-{paper}.pdf"
        count = write_poster(signed_board, config=render_config, paper=paper, out=path)
        out[paper] = (path, count, poster_pages(signed_board, config=render_config, paper=paper))
    return out


@pytest.mark.parametrize("paper", ["A4", "A3"])
def test_poster_page_count_and_size(posters, paper):
    path, count, pages = posters[paper]
    info = _pdfinfo(path)
    assert int(info["Pages"]) == count == len(pages)
    w, h = (float(v) for v in re.findall(r"[\d.]+", info["Page size"])[:2])
    assert (round(w), round(h)) == tuple(round(v) for v in POINTS[paper])  # 300 dpi pixels -> paper size
    assert all(p.size == paper_size(paper) for p in pages)
    assert paper_size("A4") == (2480, 3508)


def test_a3_needs_fewer_pages_than_a4(posters):
    assert posters["A3"][1] < posters["A4"][1]
    assert posters["A4"][1] >= 2  # the sample board runs over several A4 pages


@pytest.mark.parametrize("paper", ["A4", "A3"])
def test_poster_keeps_the_layout_rules(posters, signed_board, paper):
    pages = posters[paper][2]
    shown = []
    for page in pages:
        assert page.rows[-1].kind == "service"
        shown += [r.code for r in page.rows if r.kind == "service"]
        for block in page.texts():
            assert block.cell.contains(block.box)
        footer = {b.role: b.text for b in page.texts("footer:")}
        assert signed_board.verification_code in footer["footer:code"]
    assert shown == [s.code for s in signed_board.services()]


def test_cli_writes_the_poster(tmp_path):
    from importlib import resources

    sample = resources.files("pishkhan.data").joinpath("sample_board.json")
    out = tmp_path / "board.pdf"
    from cli.main import main

    assert main(["board", "poster", str(sample), "--paper", "A3", "--out", str(out)]) in (0, None)
    assert int(_pdfinfo(out)["Pages"]) >= 1
