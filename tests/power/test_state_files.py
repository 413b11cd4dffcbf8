"""Lost unflushed writes: every state file the device writes survives a power cut whole.

A SIGKILL keeps the kernel's page cache, so the power-cut test cannot lose a
write the kernel accepted; a real power cut can. SQLite's files are safe by
their ``synchronous`` setting (the store FULL; the outbox FULL for a message,
NORMAL for an acknowledgement, documented in ``edge_agent/outbox.py``). Every
other file is checked here, statically: in the code that runs on the device
(``pishkhan/``, ``kiosk/``, ``display/``, ``panel/``, ``edge_agent/``), a
method or function that writes a file (``write_text``, ``write_bytes``,
``open``/``os.fdopen``/``wave.open`` for writing, ``os.open`` with
``O_WRONLY``/``O_RDWR``, an image's ``save``) or renames one (``os.replace``, ``os.rename``) must
write it through :func:`pishkhan.store.files.write_whole` or fsync it
itself, unless it is listed in :data:`NOT_STATE` with the reason. The rule is
tested by planting a breach. :func:`write_whole` itself is tested on a
recording file system: the data is fsynced before the rename, the folder after.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from pishkhan.store import files

ROOT = Path(__file__).resolve().parents[2]
DEVICE_PACKAGES = ("pishkhan", "kiosk", "display", "panel", "edge_agent", "provisioning")

#: Writers that do not write the device's state, each with why it is allowed.
NOT_STATE = {
    "display/events.py:EventLog.__init__": "the --events log for tests and benchmarks, not device state",
    "display/events.py:FrameReporter._save_screenshot": "--screenshots for tests and the demo, not device state",
    "pishkhan/boards/signing.py:SigningKey.save": "issuer keys made by `pishkhan keys new` on an issuer's "
                                                  "machine, not on the device",
    "pishkhan/hardware/printer.py:FilePrinter.write": "the printer's device node (or a demo's file): "
                                                       "paper, not state",
    "display/announce.py:FileSink.play": 'the "file:PATH" sound sink of tests and demos, not device state',
    "pishkhan/render/poster.py:write_poster": "the printable poster the CLI writes where it is told, not state",
    "provisioning/machine.py:RealMachine.printer_state": "opens the printer's device node to ask its state, "
                                                         "not a file",
    "pishkhan/render/pdf.py:PageRenderer.page": "renames a page the child (_draw_main) wrote and fsynced: a "
                                                "cache of a kept PDF, drawn again if lost",
}

FLUSHES = {"fsync", "write_whole", "fdatasync", "fsync_dir"}  # fsync_dir: renames of files already synced


def _attr_chain(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _mode(call: ast.Call, position: int) -> str:
    arg = call.args[position] if len(call.args) > position else next(
        (k.value for k in call.keywords if k.arg == "mode"), None)
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else ""


def _writes(call: ast.Call) -> str | None:
    """What kind of file write *call* is, or None."""
    name = _attr_chain(call.func)
    last = name.rsplit(".", 1)[-1]
    if last in ("write_text", "write_bytes"):
        return last
    if name in ("os.replace", "os.rename"):
        return name
    if last == "save" and call.args:  # PIL's Image.save: a path or a file object
        return f"{name}()"
    if name in ("open", "io.open") and any(c in _mode(call, 1) for c in "wax+"):
        return f"open({_mode(call, 1)!r})"
    if name in ("os.fdopen", "wave.open") and any(c in _mode(call, 1) for c in "wax+"):
        return f"{name}({_mode(call, 1)!r})"
    if name == "os.open" and len(call.args) > 1 and any(
            flag in ast.dump(call.args[1]) for flag in ("O_WRONLY", "O_RDWR")):
        return "os.open(write)"
    return None


def _flushes(call: ast.Call) -> bool:
    return _attr_chain(call.func).rsplit(".", 1)[-1] in FLUSHES


def unflushed_writers(source: str, filename: str) -> dict[str, list[str]]:
    """``{"file:Qualified.name": [writes]}`` for each outermost function that writes without fsync."""
    tree = ast.parse(source, filename)
    found: dict[str, list[str]] = {}

    def visit(node, prefix: str):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                calls = [n for n in ast.walk(child) if isinstance(n, ast.Call)]
                writes = [w for w in map(_writes, calls) if w]
                if writes and not any(map(_flushes, calls)):
                    found[f"{filename}:{prefix}{child.name}"] = writes
            elif not isinstance(child, (ast.Lambda,)):
                visit(child, prefix)

    visit(tree, "")
    return found


def device_sources():
    for package in DEVICE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def test_every_state_file_is_written_whole():
    found = {}
    for name, source in device_sources():
        found.update(unflushed_writers(source, name))
    unexplained = {k: v for k, v in found.items() if k not in NOT_STATE}
    assert unexplained == {}, (
        "these write a file without fsync: a power cut can leave it empty or half written. Use "
        f"pishkhan.store.files.write_whole, or list it in NOT_STATE with the reason: {unexplained}")
    stale = sorted(set(NOT_STATE) - set(found))
    assert stale == [], f"NOT_STATE lists writers that no longer write without fsync: {stale}"


@pytest.mark.parametrize("body", [
    "    path.write_bytes(data)\n",
    "    tmp.write_text(text)\n    os.replace(tmp, path)\n",
    "    with open(path, 'wb') as f:\n        f.write(data)\n",
    "    with wave.open(str(tmp), 'wb') as out:\n        out.writeframes(data)\n",
    "    fd = os.open(path, os.O_WRONLY | os.O_CREAT)\n",
    "    image.save(path, 'PNG')\n",
])
def test_a_planted_unflushed_write_is_found(body):
    source = "import os, wave\n\n\ndef keep(path, data, text, tmp, image):\n" + body
    assert list(unflushed_writers(source, "planted.py")) == ["planted.py:keep"]
    flushed = source + "    os.fsync(3)\n"
    assert unflushed_writers(flushed, "planted.py") == {}
    whole = "import os, wave\n\n\ndef keep(path, data, text, tmp):\n    write_whole(path, lambda f: f.write(data))\n"
    assert unflushed_writers(whole, "planted.py") == {}


def test_write_whole_flushes_the_data_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    done = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        target = os.readlink(f"/proc/self/fd/{fd}")
        done.append(("fsync", "folder" if os.path.isdir(target) else "file"))
        real_fsync(fd)

    def replace(a, b):
        done.append(("replace", Path(b).name))
        real_replace(a, b)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    import pishkhan.store.database as database
    monkeypatch.setattr(database.os, "fsync", fsync)
    target = tmp_path / "page.png"
    target.write_bytes(b"old")
    files.write_whole(target, lambda f: f.write(b"new page"))
    assert done == [("fsync", "file"), ("replace", "page.png"), ("fsync", "folder")]
    assert target.read_bytes() == b"new page"
    assert [p.name for p in tmp_path.iterdir()] == ["page.png"]


def test_write_whole_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "meta.json"
    target.write_bytes(b"old")

    def fails(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        files.write_whole(target, fails)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["meta.json"]
