"""Drawing with Pillow: everything more than one app renders.

:mod:`~pishkhan.render.typeset` draws shaped right-to-left text in boxes;
:mod:`~pishkhan.render.board_layout` lays a board out in pages for a screen or
paper size; :mod:`~pishkhan.render.board_pages` draws those pages;
:mod:`~pishkhan.render.poster` writes the printable PDF poster;
:mod:`~pishkhan.render.ticket` draws the 1-bit queue ticket;
:mod:`~pishkhan.render.strings` holds the board's Persian text.
"""
