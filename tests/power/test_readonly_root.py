"""provisioning/readonly_root.py against a fake system root: dry run, apply, idempotence, refusals."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

import pytest

from provisioning import readonly_root
from provisioning.readonly_root import JOURNALD_CONF, JOURNALD_DROPIN, OVERLAY, main

ROOT = Path(__file__).resolve().parents[2]
CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=3a6e5b8c-02 rootfstype=ext4 fsck.repair=yes rootwait"
UUID = "6c1f2d3e-0a4b-4c5d-9e8f-112233445566"


@pytest.fixture
def fake_root(tmp_path):
    """A Raspberry Pi OS (bookworm) root as far as the script looks: fstab, cmdline.txt, a swap unit."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/fstab").write_text("proc /proc proc defaults 0 0\n"
                                    "PARTUUID=3a6e5b8c-01 /boot/firmware vfat defaults 0 2\n"
                                    "PARTUUID=3a6e5b8c-02 / ext4 defaults,noatime 0 1\n")
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/cmdline.txt").write_text(CMDLINE + "\n")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True)
    (wants / "dphys-swapfile.service").symlink_to("/lib/systemd/system/dphys-swapfile.service")
    return root


def tree(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(root.rglob("*"))}


def test_the_script_carries_the_repositorys_journald_dropin():
    assert JOURNALD_CONF == (ROOT / "systemd/journald/pishkhan.conf").read_text(encoding="utf-8")


def test_dry_run_prints_every_step_and_changes_nothing(fake_root, capsys):
    before = tree(fake_root)
    assert main(["--root", str(fake_root), "--state-uuid", UUID, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert tree(fake_root) == before
    for expected in (f"UUID={UUID} /var/lib/pishkhan ext4 defaults,noatime,commit=60,errors=remount-ro 0 2",
                     "/var/lib/pishkhan/etc /etc/pishkhan none bind", "Storage=volatile",
                     "raspi-config nonint do_overlayfs 0", OVERLAY, "systemctl disable --now dphys-swapfile"):
        assert expected in out, out
    assert "skipped: not the running system" in out


def test_applied_to_a_root_it_is_set_up_and_a_second_run_changes_nothing(fake_root, capsys):
    assert main(["--root", str(fake_root), "--state-uuid", UUID]) == 0
    fstab = (fake_root / "etc/fstab").read_text()
    assert fstab.startswith("proc /proc proc defaults 0 0\n")  # what was there stays
    mounts = {line.split()[1]: line.split() for line in fstab.splitlines() if line and not line.startswith("#")}
    assert mounts["/var/lib/pishkhan"][0] == f"UUID={UUID}" and "noatime" in mounts["/var/lib/pishkhan"][3]
    assert mounts["/etc/pishkhan"][:3] == ["/var/lib/pishkhan/etc", "/etc/pishkhan", "none"]
    assert (fake_root / "var/lib/pishkhan").is_dir() and (fake_root / "etc/pishkhan").is_dir()
    dropin = fake_root / JOURNALD_DROPIN
    assert dropin.read_text() == (ROOT / "systemd/journald/pishkhan.conf").read_text()
    journal = configparser.ConfigParser()
    journal.read_string(dropin.read_text())
    assert journal["Journal"]["Storage"] == "volatile"
    assert (fake_root / "boot/firmware/cmdline.txt").read_text() == f"{CMDLINE} {OVERLAY}\n"
    capsys.readouterr()
    before = tree(fake_root)
    assert main(["--root", str(fake_root)]) == 0  # the partition is in fstab now: no UUID needed
    assert "nothing to change" in capsys.readouterr().out
    assert tree(fake_root) == before


def test_raspi_configs_plain_overlay_is_made_to_leave_the_state_partition_alone(fake_root):
    cmdline = fake_root / "boot/firmware/cmdline.txt"
    cmdline.write_text(CMDLINE + " overlayroot=tmpfs\n")  # what do_overlayfs 0 writes
    changes = readonly_root.plan(fake_root, state_uuid=UUID, live=False)
    assert not any(c.command and "raspi-config" in c.command for c in changes)
    readonly_root.apply(changes, live=False, out=lambda _: None)
    assert cmdline.read_text().split().count(OVERLAY) == 1 and "overlayroot=tmpfs " not in cmdline.read_text()


@pytest.mark.parametrize("setup, reason", [
    (lambda root: None, "no_state_partition"),
    (lambda root: [os.remove(root / "boot/firmware/cmdline.txt")], "no_cmdline"),
])
def test_refusals_exit_2_with_their_reason(fake_root, capsys, setup, reason):
    setup(fake_root)
    uuid = [] if reason == "no_state_partition" else ["--state-uuid", UUID]
    before = tree(fake_root)
    assert main(["--root", str(fake_root), *uuid]) == 2
    assert f"readonly_root: {reason}:" in capsys.readouterr().err
    assert tree(fake_root) == before
