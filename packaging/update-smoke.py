"""The updater with the REAL dpkg, in a temporary root (``dpkg --root``), without systemd: a quick check
beside the end-to-end one, not part of ``make test`` (about a minute; needs root).

    .venv/bin/python packaging/update-smoke.py OLD.deb NEW.deb [--healthy]

OLD is installed into the root and kept (``pishkhan-update keep``); NEW is served over HTTPS (a CA made
here, pinned) and asked for. The health command is a stand-in that imports the root's ``cli.main`` (a
``BROKEN=1`` build fails it). Then the same update is cut inside dpkg (``PISHKHAN_UPDATE_KILL_AT=dpkg-mid``)
and ``recover`` runs. Every run prints its journal; the script exits non-zero when the device would run
neither version. Build the packages with ``--no-wheelhouse`` (the suite's venv lends the dependencies).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import json
import os
import site
import ssl
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from enrolment_helpers import make_ca  # noqa: E402


def base_root(root: Path) -> None:
    """An empty dpkg database and a base system's users and groups."""
    (root / "var/lib/dpkg/updates").mkdir(parents=True)
    (root / "var/lib/dpkg/info").mkdir()
    (root / "var/lib/dpkg/status").touch()
    etc = root / "etc"
    etc.mkdir()
    groups = ["root:x:0:", "lp:x:7:", "dialout:x:20:", "audio:x:29:", "video:x:44:"]
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\nlp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin\n")
    (etc / "shadow").write_text("root:*:19000:0:99999:7:::\nlp:*:19000:0:99999:7:::\n")
    (etc / "group").write_text("".join(g + "\n" for g in groups))
    (etc / "gshadow").write_text("".join(g.split(":")[0] + ":*::\n" for g in groups))


def serve(folder: Path, cert: Path, key: Path) -> str:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"https://127.0.0.1:{server.server_address[1]}/"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--healthy", action="store_true", help="NEW is expected healthy (else rolled back)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="update-smoke."))
    root = work / "root"
    base_root(root)
    deps = os.pathsep.join(site.getsitepackages())
    dpkg = f"dpkg --root={root} --force-script-chrootless --force-depends --force-not-root"
    subprocess.run([*dpkg.split(), "--install", str(args.old)], env=dict(os.environ, PYTHONPATH=deps), check=True,
                   capture_output=True)
    ca, cert, key = make_ca(work / "tls")
    data = args.new.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    (work / "srv/releases/pool").mkdir(parents=True)
    (work / f"srv/releases/pool/{sha}.deb").write_bytes(data)
    url = serve(work / "srv", cert, key)

    def field(deb, name):
        return subprocess.run(["dpkg-deb", "--field", str(deb), name], capture_output=True, text=True).stdout.strip()

    old_v, new_v = field(args.old, "Version"), field(args.new, "Version")
    release = {"version": new_v, "sha256": sha, "size": len(data), "path": f"releases/pool/{sha}.deb",
               "rollout": "R-smoke", "document_code": "smoke"}
    stand_in = work / "pishkhan"
    stand_in.write_text(f"""#!/bin/sh
case "$2" in
verify) echo '{json.dumps(release)}' ;;
health) cd / && if PYTHONPATH={deps} {root}/opt/pishkhan/.venv/bin/python -c "import cli.main" >/dev/null 2>&1; then
          echo '{{"healthy": true, "checks": [{{"name": "imports", "ok": true, "detail": ""}}]}}'; exit 0; fi
        echo '{{"healthy": false, "checks": [{{"name": "imports", "ok": false, "detail": "cli.main exits"}}]}}'; exit 1 ;;
esac
""")
    stand_in.chmod(0o755)
    updater = work / "pishkhan-update"
    subprocess.run(["bash", str(ROOT / "packaging/updater-zip.sh"), str(updater)], check=True)
    request = root / "var/lib/pishkhan/update/request.json"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PISHKHAN_CONFIG": str(root / "etc/pishkhan/pishkhan.toml"),
           "PISHKHAN_UPDATE_REQUEST": str(request),
           "PISHKHAN_UPDATE_JOURNAL": str(root / "var/lib/pishkhan-update/journal.sqlite"),
           "PISHKHAN_UPDATE_KEPT": str(root / "var/lib/pishkhan-update/kept"),
           "PISHKHAN_UPDATE_VERSION_FILE": str(root / "usr/lib/pishkhan/VERSION"),
           "PISHKHAN_UPDATE_REPOSITORY": url, "PISHKHAN_UPDATE_CA_FILE": str(ca.cert_file),
           "PISHKHAN_UPDATE_PISHKHAN": str(stand_in), "PISHKHAN_UPDATE_AS_USER": "",
           "PISHKHAN_UPDATE_DPKG": dpkg, "PISHKHAN_UPDATE_HEALTH_SECONDS": "3", "PISHKHAN_UPDATE_HEALTH_INTERVAL": "1"}

    def update(*argv, kill=""):
        e = dict(env, **({"PISHKHAN_UPDATE_KILL_AT": kill} if kill else {}))
        done = subprocess.run([str(updater), *argv], env=e, capture_output=True, text=True)
        print(f"$ pishkhan-update {' '.join(argv)}{' (killed at ' + kill + ')' if kill else ''}: exit {done.returncode}")
        print(done.stdout + done.stderr[-1500:])
        return done.returncode

    def installed() -> tuple[str, str]:
        out = subprocess.run(["dpkg-query", f"--root={root}", "--show", "--showformat=${Version}\t${db:Status-Status}",
                              "pishkhan"], capture_output=True, text=True).stdout
        return tuple(out.split("\t"))

    ok = update("keep", str(args.old)) == 0
    request.write_text('{"envelope": {}}')
    code = update("run")
    ok &= code == (0 if args.healthy else 4) and installed() == ((new_v if args.healthy else old_v), "installed")
    if args.healthy:
        return 0 if ok else 1
    request.write_text('{"envelope": {}}')
    ok &= update("run", kill="dpkg-mid") == 137
    print("after the cut:", installed())
    ok &= update("recover") == 0 and installed() == (old_v, "installed")
    ok &= (root / "usr/lib/pishkhan/VERSION").read_text().strip() == old_v
    print("the device runs", installed(), "OK" if ok else "FAILED", f"(root kept in {work})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
