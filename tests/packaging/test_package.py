"""The release package (packaging/build-deb.sh): its files and modes, the units
and udev rule it lays, its control fields, lintian, and its maintainer scripts
run by dpkg into a temporary root (``dpkg --root DIR --force-script-chrootless``:
the scripts get ``DPKG_ROOT`` and touch nothing of this machine).

One build of the checkout is made for the module (and repacked as a later
build for the upgrade), as the ``--no-wheelhouse`` stand-in: the project's own wheel installed without its
dependencies. Making the real virtual environment from the whole wheelhouse
takes about 20 s more, so here the dependencies come from the suite's own
virtual environment through ``PYTHONPATH`` (postinst's pip ignores
``PYTHONPATH``; ``pishkhan config init`` sees it). ``make package-e2e`` installs
the real package, wheelhouse and all, into a fresh Debian 12 root.
"""

from __future__ import annotations

import os
import shutil
import site
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "packaging" / "build-deb.sh"
ALLOW = "PISHKHAN_ALLOW_MISSING_TOOLS"
#: What the device needs at run time, as control's Depends must name it.
NEEDED = ("python3", "python3-venv", "libraqm0", "libfribidi0", "libsdl2-2.0-0", "libgl1", "libegl1",
          "libmtdev1", "libusb-1.0-0", "espeak-ng", "init-system-helpers", "xserver-xorg-core",
          "xserver-xorg-input-libinput", "xauth")
GROUPS = ("video", "render", "input", "gpio", "lp", "audio", "dialout")
UDEV_RULE = "lib/udev/rules.d/60-pishkhan-printer.rules"


def _require(ok: bool, why: str):
    if ok:
        return
    if os.environ.get(ALLOW) == "1":
        pytest.skip(f"{why}; skipped because {ALLOW}=1")
    pytest.fail(f"{why} (make test installs it), or set {ALLOW}=1 to skip", pytrace=False)


def _units_in_checkout() -> list[str]:
    return sorted(p.name for pattern in ("*.service", "*.timer", "*.path")
                  for p in (ROOT / "systemd").glob(pattern))


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    """A stand-in build and the same repacked as a later build: {"old": path, "new": path}."""
    _require(shutil.which("dpkg-deb") is not None, "dpkg-deb is missing")
    out = tmp_path_factory.mktemp("deb")
    from central.ca import CertificateAuthority

    centre = CertificateAuthority.create(out / "centre-ca")
    env = dict(os.environ, ARCH="amd64", COMPRESS="fast", BUILD_STAMP="20000101000000", TMPDIR=str(out),
               CENTRE_CA=str(centre.cert_file))
    done = subprocess.run(["bash", str(BUILD), "--out", str(out), "--no-wheelhouse"], env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    old = Path(done.stdout.strip().splitlines()[-1])
    # A second build differs only in its stamp: repacking saves building the wheel again.
    tree = out / "tree"
    subprocess.run(["dpkg-deb", "--raw-extract", str(old), str(tree)], check=True)
    for script in (tree / "DEBIAN").iterdir():
        script.write_text(script.read_text().replace("+20000101000000", "+20000101000001"))
    new = out / old.name.replace("+20000101000000", "+20000101000001")
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", str(tree), str(new)],
                   check=True, capture_output=True)
    return {"old": old, "new": new}


def _contents(deb: Path) -> dict[str, tuple[str, str]]:
    """path -> (mode string, owner/group) of every entry in the data part."""
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    entries = {}
    for line in listing.splitlines():
        mode, owner, _size, _date, _time, path, *_link = line.split(maxsplit=6)
        entries[path.removeprefix("./").rstrip("/")] = (mode, owner)
    return entries


def _field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "--field", str(deb), name], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_every_unit_and_the_udev_rule_are_laid_root_owned_and_read_only(debs):
    entries = _contents(debs["new"])
    expected = _units_in_checkout()
    assert expected, "the checkout has no unit in systemd/"
    laid = sorted(p.rsplit("/", 1)[1] for p in entries if p.startswith("lib/systemd/system/") and "." in p)
    assert laid == expected
    for path in [f"lib/systemd/system/{u}" for u in expected] + [UDEV_RULE]:
        assert entries[path] == ("-rw-r--r--", "root/root"), path
    assert all(owner == "root/root" for _mode, owner in entries.values())
    wheels = [p for p in entries if p.startswith("usr/lib/pishkhan/wheels/")]
    assert any(p.rsplit("/", 1)[1].startswith("pishkhan_edge-") for p in wheels)
    assert "usr/lib/pishkhan/wheels/wheels.list" in entries
    assert "usr/share/fonts/truetype/vazirmatn/Vazirmatn-Regular.ttf" in entries
    assert entries["usr/bin/pishkhan"][0].startswith("l")
    assert "usr/share/doc/pishkhan/copyright" in entries

    laid_in_etc = {"etc", "etc/pishkhan", "etc/pishkhan/centre-ca.pem"}  # the CA only: CENTRE_CA below
    assert not any(p.startswith(("opt/", "etc/", "var/")) and p not in laid_in_etc for p in entries), \
        "state and the venv are made at install"


def test_the_centres_ca_is_a_conffile_enrolment_pins(debs, tmp_path):
    """CENTRE_CA lays the centre's CA where `provision enroll` looks by default, kept across upgrades."""
    from provisioning.enroll import DEFAULT_CA

    entries = _contents(debs["new"])
    assert entries[str(DEFAULT_CA).lstrip("/")] == ("-rw-r--r--", "root/root")
    subprocess.run(["dpkg-deb", "--control", str(debs["new"]), str(tmp_path / "control")], check=True)
    assert (tmp_path / "control" / "conffiles").read_text().split() == [str(DEFAULT_CA)]


def test_the_udev_rule_names_usb_printers_for_the_lp_group_and_the_stable_link(debs, tmp_path):
    subprocess.run(["dpkg-deb", "-x", str(debs["new"]), str(tmp_path)], check=True)
    rules = [line for line in (tmp_path / UDEV_RULE).read_text().splitlines() if line and not line.startswith("#")]
    assert rules and all('GROUP="lp"' in r and 'MODE="0660"' in r for r in rules)
    assert any('ATTRS{bInterfaceClass}=="07"' in r and 'SYMLINK+="pishkhan-printer"' in r for r in rules)
    assert any("ID_USB_INTERFACES" in r and ":07" in r for r in rules)


def test_control_names_the_system_packages_and_a_newer_build_is_an_upgrade(debs):
    depends = [d.split()[0] for d in _field(debs["new"], "Depends").split(",")]
    assert set(NEEDED) <= set(depends)
    assert _field(debs["new"], "Architecture") == "amd64"
    old, new = _field(debs["old"], "Version"), _field(debs["new"], "Version")
    assert subprocess.run(["dpkg", "--compare-versions", new, "gt", old]).returncode == 0


def test_maintainer_scripts_are_complete_and_never_call_apt(debs, tmp_path):
    subprocess.run(["dpkg-deb", "-e", str(debs["new"]), str(tmp_path)], check=True)
    for name in ("postinst", "prerm", "postrm"):
        script = tmp_path / name
        assert stat.S_IMODE(script.stat().st_mode) == 0o755
        text = script.read_text()
        assert "#PISHKHAN-LIB#" not in text and "@" + "UNITS@" not in text
        subprocess.run(["sh", "-n", str(script)], check=True)
        assert not any(word in text.split() for word in ("apt", "apt-get", "aptitude")), name
    lib_units = next(line for line in (tmp_path / "postinst").read_text().splitlines()
                     if line.startswith("PISHKHAN_UNITS="))
    assert sorted(lib_units.split("=", 1)[1].strip('"').split()) == _units_in_checkout()


def test_lintian_is_clean(debs):
    _require(shutil.which("lintian") is not None, "lintian is missing")
    done = subprocess.run(["lintian", "--fail-on", "error,warning", str(debs["new"])],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- the maintainer scripts, run by dpkg in a temporary root ----------------------------

def _passwd_files(root: Path):
    """A base system's users and groups (as Debian's base-passwd has them) in *root*/etc."""
    etc = root / "etc"
    etc.mkdir(parents=True)
    users = ["root:x:0:0:root:/root:/bin/bash", "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
             "lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin"]
    groups = ["root:x:0:", "daemon:x:1:", "lp:x:7:", "dialout:x:20:", "audio:x:29:", "video:x:44:"]
    (etc / "passwd").write_text("".join(u + "\n" for u in users))
    (etc / "shadow").write_text("".join(u.split(":")[0] + ":*:19000:0:99999:7:::\n" for u in users))
    (etc / "group").write_text("".join(g + "\n" for g in groups))
    (etc / "gshadow").write_text("".join(g.split(":")[0] + ":*::\n" for g in groups))
    for name in ("shadow", "gshadow"):
        (etc / name).chmod(0o640)


def _dpkg(root: Path, *args: str):
    paths = [*site.getsitepackages()]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    done = subprocess.run(["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
                           "--force-not-root", *args], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _entry(root: Path, table: str, name: str) -> list[str] | None:
    for line in (root / "etc" / table).read_text().splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    return None


def _owner_mode(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test_install_upgrade_remove_and_purge_in_a_temporary_root(debs, tmp_path):
    _require(os.geteuid() == 0, "dpkg must run as root to set the owners the scripts set")
    root = tmp_path / "root"
    (root / "var/lib/dpkg/updates").mkdir(parents=True)
    (root / "var/lib/dpkg/info").mkdir()
    (root / "var/lib/dpkg/status").touch()
    _passwd_files(root)

    _dpkg(root, "--install", str(debs["old"]))
    user = _entry(root, "passwd", "pishkhan")
    assert user and user[5] == "/var/lib/pishkhan" and user[6] == "/usr/sbin/nologin"
    uid, gid = int(user[2]), int(_entry(root, "group", "pishkhan")[2])
    assert uid < 1000 and int(user[3]) == gid, "a system user with its own group"
    for group in GROUPS:
        entry = _entry(root, "group", group)
        assert entry and "pishkhan" in entry[3].split(","), group
    assert _owner_mode(root / "etc/pishkhan") == (0, gid, 0o750)
    assert _owner_mode(root / "var/lib/pishkhan") == (uid, gid, 0o750)
    config = root / "etc/pishkhan/pishkhan.toml"
    assert _owner_mode(config) == (0, gid, 0o640)
    assert _owner_mode(root / "var/lib/pishkhan-update") == (0, 0, 0o755), "the updater's journal and kept/"
    assert _owner_mode(root / "var/lib/pishkhan/update") == (uid, gid, 0o750), "where the agent asks for an update"
    assert (root / "usr/lib/pishkhan/VERSION").read_text().strip() == _field(debs["old"], "Version")
    assert 'uri = "lp:/dev/pishkhan-printer"' in config.read_text()
    venv = root / "opt/pishkhan/.venv"
    assert venv.is_symlink() and (venv / "bin/python").exists()
    assert "Looking in indexes" not in (venv / "pip-install.log").read_text()
    wants = {p.name for p in (root / "etc/systemd/system").glob("*.target.wants/*")}
    assert wants == {u for u in _units_in_checkout()
                     if "[Install]" in (ROOT / "systemd" / u).read_text() and u != "pishkhan-monitor.service"}

    config.write_text(config.read_text() + "# the technician's change\n")
    (root / "var/lib/pishkhan/pishkhan.db").write_bytes(b"the store")
    (root / "var/lib/pishkhan/outbox.db").write_bytes(b"the outbox")
    old_venv = venv.resolve()

    _dpkg(root, "--install", str(debs["new"]))
    assert config.read_text().endswith("# the technician's change\n")
    assert (root / "var/lib/pishkhan/pishkhan.db").read_bytes() == b"the store"
    assert (root / "var/lib/pishkhan/outbox.db").read_bytes() == b"the outbox"
    assert venv.resolve() != old_venv and not old_venv.exists(), "the new version's venv, the old one gone"
    assert _entry(root, "passwd", "pishkhan")[2] == str(uid)

    _dpkg(root, "--remove", "pishkhan")
    assert not (root / "opt/pishkhan").exists() and not (root / UDEV_RULE).exists()
    assert (root / "var/lib/pishkhan/outbox.db").exists() and config.exists()
    assert _entry(root, "passwd", "pishkhan")

    _dpkg(root, "--purge", "pishkhan")
    assert not (root / "var/lib/pishkhan").exists() and not (root / "etc/pishkhan").exists()
    assert not (root / "var/lib/pishkhan-update").exists()
    assert _entry(root, "passwd", "pishkhan") is None and _entry(root, "group", "pishkhan") is None
    assert _entry(root, "group", "video"), "groups the system has are kept"
