"""A board imported from a USB stick on a full disk (a real small tmpfs): refused with ``disk_full``, in Persian.

The install cannot be written and neither can the refusal's audit row; the staff screen still gets an
:exc:`~pishkhan.exc.ImportRefused`, never a StoreError, and the old board stays.
"""

from __future__ import annotations

import copy
import json

import pytest

from kiosk.staff import ImportRefused, StaffActions
from kiosk.strings import t
from pishkhan.boards.installed import current_board
from pishkhan.config import parse_config
from pishkhan.exc import REASONS
from pishkhan.store.database import Store
from small_disk import fill, small_disk


def test_a_full_disk_refuses_the_import_with_a_reason_and_keeps_the_board(issuer_key, sample_doc, tmp_path):
    from kiosk.model import KioskModel
    from pishkhan.boards.installed import install_board
    from pishkhan.boards.trust import trust_key

    stick = tmp_path / "usb"
    stick.mkdir()
    doc = copy.deepcopy(sample_doc)
    doc["version"] = 2
    (stick / "board.json").write_text(json.dumps(issuer_key.sign(doc), ensure_ascii=False), encoding="utf-8")
    with small_disk("3m") as disk:
        cfg = parse_config({"device": {"state_dir": str(disk / "state")}, "hours": {"always_open": True},
                            "kiosk": {"usb_mount": str(stick)}})
        with Store(cfg.store_path) as store:
            trust_key(store, issuer_key.public, label="test issuer", actor="test")
            install_board(store, issuer_key.sign(sample_doc), source="cli", actor="test")
            staff = StaffActions(KioskModel(store, config=cfg))
            before = current_board(store, "national").verification_code
            filler = fill(disk)
            with pytest.raises(ImportRefused) as e:
                staff.import_board(stick / "board.json")
            assert (e.value.reason, e.value.kind) == ("disk_full", "disk")
            assert e.value.sentence == REASONS["disk_full"] and "پر است" in t("refused_disk", "fa")
            assert current_board(store, "national").verification_code == before
            filler.unlink()  # room again: the same stick installs
            assert staff.import_board(stick / "board.json").board.version == 2
            rows = store.audit_entries(action="staff.board_import", limit=5)
            assert [r["detail"]["ok"] for r in rows][:1] == [True]
