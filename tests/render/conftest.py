"""Fixtures for the board renderer tests: the sample board (signed and as an
unsigned preview) and its laid-out and rendered pages per size. The read-back
helpers are in render_helpers.py."""

from __future__ import annotations

import pytest

from pishkhan.render.board_layout import layout_pages
from pishkhan.render.board_pages import draw_page
from pishkhan.config import parse_config
from pishkhan.boards.layering import preview
from render_helpers import SIZES


@pytest.fixture(scope="session")
def render_config(tmp_path_factory):
    return parse_config({"device": {"state_dir": str(tmp_path_factory.mktemp("state"))}})


@pytest.fixture(scope="session")
def signed_board(sample_doc_session, issuer_key):
    """The sample board as the device shows it: signed, with a verification code."""
    return preview(issuer_key.sign(sample_doc_session))


@pytest.fixture(scope="session")
def preview_board(sample_doc_session):
    """The sample board unsigned (a preview)."""
    return preview(sample_doc_session)


@pytest.fixture(scope="session")
def layouts(signed_board, render_config):
    """Laid-out pages of the signed sample board for each screen size."""
    return {size: layout_pages(signed_board, config=render_config, size=size) for size in SIZES}


@pytest.fixture(scope="session")
def images(layouts):
    """Rendered pages, with the ink box of every text block: {size: [(page, image, inks)]}."""
    out = {}
    for size, pages in layouts.items():
        rendered = []
        for page in pages:
            inks: list = []
            rendered.append((page, draw_page(page, ink_boxes=inks), inks))
        out[size] = rendered
    return out
