"""``pishkhan circulars list|show|verify`` on a real store and state folder (in process)."""

from __future__ import annotations

import json

from circular_helpers import PDF, SHA, entry, index

from cli.main import main
from pishkhan.boards.signing import SigningKey
from pishkhan.boards.trust import trust_key
from pishkhan.circulars.files import AttachmentStore
from pishkhan.circulars.installed import install_circulars
from pishkhan.config import load_config
from pishkhan.store.database import Store


def test_list_show_verify(tmp_path, capsys):
    path = tmp_path / "pishkhan.toml"
    path.write_text(f'[device]\nstate_dir = "{tmp_path / "state"}"\n', encoding="utf-8")
    cfg = load_config(path)
    key = SigningKey.generate()
    with Store(cfg.store_path) as store:
        trust_key(store, key.public, scope="national", actor="test")
        install_circulars(store, key.sign(index(1, circulars=[entry("1405/123"), entry("1405/7", data=b"other")])),
                          source="cli", actor="test")
        store.execute("UPDATE circulars SET fetched_at = received_at WHERE number = '1405/123'")
    files = AttachmentStore(cfg.state_dir / "circulars", min_free=0)
    files.keep(SHA, len(PDF), [PDF])

    assert main(["--config", str(path), "circulars", "list"]) == 0
    out = capsys.readouterr().out
    assert "1405/123" in out and "بخشنامه" in out and "2 circular(s), 2 unread" in out
    assert main(["--config", str(path), "circulars", "show", "۱۴۰۵/۱۲۳", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["sha256"], shown["file"]) == (SHA, str(files.path(SHA)))
    assert main(["--config", str(path), "circulars", "show", "1405/999"]) == 1
    capsys.readouterr()
    assert main(["--config", str(path), "circulars", "verify"]) == 0
    assert "1 kept file(s) checked, 0 bad" in capsys.readouterr().out
    files.path(SHA).write_bytes(PDF[:-1] + b"!")  # the kept file changed on the card
    assert main(["--config", str(path), "circulars", "verify", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["bad"] == [{"scope": "national", "number": "1405/123", "sha256": SHA,
                                                           "problem": "changed"}]
