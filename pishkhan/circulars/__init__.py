"""The office's library of circulars, instructions, regulations and tariff lists.

- :mod:`.document`: the signed circulars index of one scope (``pishkhan.circulars/1``);
- :mod:`.installed`: its :class:`~pishkhan.boards.install.Kind`, installed through the one install path,
  its entries filed one row per circular ever received;
- :mod:`.library`: :class:`~.library.Library` and :class:`~.library.Entry`, what the kiosk, the CLI and the
  agent read, and the staff's acknowledgement;
- :mod:`.files`: the attachments kept in ``<state>/circulars``, written whole or not at all, within bounds.
"""
