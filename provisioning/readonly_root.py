"""Turn on the read-only root of an office device: state on its own partition, the journal in RAM.

A technician runs it once on the Pi, after enrolment (``docs/power-and-storage.md``)::

    sudo /opt/pishkhan/.venv/bin/python -m provisioning.readonly_root --state-device /dev/mmcblk0p3 --dry-run
    sudo /opt/pishkhan/.venv/bin/python -m provisioning.readonly_root --state-device /dev/mmcblk0p3

What it makes sure of, each step only when it is not so already (running it
twice changes nothing the second time):

1. ``/etc/fstab`` mounts the state partition (an existing ext4 partition,
   given by ``--state-device`` or ``--state-uuid``) on ``/var/lib/pishkhan``
   with ``noatime,commit=60,errors=remount-ro``, and binds
   ``/var/lib/pishkhan/etc`` on ``/etc/pishkhan`` (the config and the
   device's key and certificate, which enrolment writes and the agent renews,
   must outlive a reboot under the overlay);
2. the journal lives in RAM: ``/etc/systemd/journald.conf.d/pishkhan.conf``
   (:data:`JOURNALD_CONF`, which is ``systemd/journald/pishkhan.conf``);
3. the swap file is off (``dphys-swapfile``), when there is one;
4. on the running system only: the services are stopped, the current state
   and config are copied onto the partition if it is empty, it is mounted;
5. the root overlay is on: ``raspi-config nonint do_overlayfs 0``, and
   ``overlayroot=tmpfs:recurse=0`` in ``cmdline.txt`` so the overlay leaves
   the state partition writable (overlayroot's default would overlay it too,
   and the office's records would vanish at every power-off).

``--dry-run`` prints what would change and changes nothing. ``--root DIR``
works on a system image folder instead of ``/`` (files only: commands that
act on the running system are listed as skipped). The overlay takes effect
at the next reboot. A refusal exits 2 with its reason code.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pishkhan.store.files import write_whole

STATE = "/var/lib/pishkhan"
CONFIG = "/etc/pishkhan"
STATE_OPTIONS = "defaults,noatime,commit=60,errors=remount-ro"
JOURNALD_DROPIN = "etc/systemd/journald.conf.d/pishkhan.conf"
CMDLINES = ("boot/firmware/cmdline.txt", "boot/cmdline.txt")
OVERLAY = "overlayroot=tmpfs:recurse=0"
UNITS = ("pishkhan-agent", "pishkhan-display", "pishkhan-kiosk", "pishkhan-panel")
#: The journald drop-in: ``systemd/journald/pishkhan.conf`` of the repository, carried here so the script
#: works from the installed package too (tests/power/test_readonly_root.py keeps the two the same).
JOURNALD_CONF = """\
# Pishkhan Edge: the journal in RAM (installed as /etc/systemd/journald.conf.d/pishkhan.conf
# by provisioning/readonly_root.py). An office device is switched off at the wall every
# evening and its SD card wears with every write: the logs live in /run and are lost at
# power-off. What must outlive a power cut is not a log line but a fact in the store
# (/var/lib/pishkhan), which is fsynced. See docs/power-and-storage.md.
[Journal]
Storage=volatile
# At most 32 MB of RAM for the journal (a Pi 4/5 with 2 GB or more; the office's
# processes log well under 1 MB an hour at INFO: bench/storage_wear.py).
RuntimeMaxUse=32M
RuntimeMaxFileSize=8M
ForwardToSyslog=no
"""

#: Reason codes of a refusal, with what the technician reads (Persian, then English).
REASONS = {
    "no_state_partition": "پارتیشن وضعیت مشخص نشده است / no state partition: give --state-device or --state-uuid "
                          "(an ext4 partition made for /var/lib/pishkhan)",
    "not_ext4": "پارتیشن وضعیت ext4 نیست / the state partition is not ext4",
    "not_root": "این کار دسترسی root می‌خواهد / run it as root (sudo)",
    "no_cmdline": "فایل cmdline.txt پیدا نشد / no cmdline.txt under /boot/firmware or /boot: is this Raspberry Pi OS?",
    "command_failed": "فرمانی ناموفق بود / a command failed",
}


class Refused(Exception):
    """The device cannot be set up as asked: :attr:`reason` is a key of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        super().__init__(REASONS[reason] + (f": {detail}" if detail else ""))


@dataclass(frozen=True)
class Change:
    """One step: a file written whole (*path* and *content*) or a command on the running system."""

    what: str
    path: Path | None = None
    content: str | None = None
    command: tuple[str, ...] | None = None
    live_only: bool = False  # acts on the running system: skipped for --root DIR
    edit: object = None  # ``edit(text) -> text``, applied to the file as it is when the step runs
    remove: bool = False  # remove *path* (a unit's enabling link)


def _fstab_lines(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def plan(root: Path, *, state_uuid: str | None, live: bool) -> list[Change]:
    """The changes *root* still needs (empty when it is set up already)."""
    changes: list[Change] = []
    fstab = root / "etc/fstab"
    text = fstab.read_text(encoding="utf-8") if fstab.exists() else ""
    mounted = {fields[1] for fields in _fstab_lines(text) if len(fields) >= 2}
    add = []
    if STATE not in mounted:
        if not state_uuid:
            raise Refused("no_state_partition")
        add.append(f"UUID={state_uuid} {STATE} ext4 {STATE_OPTIONS} 0 2")
    if CONFIG not in mounted:
        add.append(f"{STATE}/etc {CONFIG} none bind,x-systemd.requires-mounts-for={STATE} 0 0")
    if add:
        body = text if not text or text.endswith("\n") else text + "\n"
        body += "# Pishkhan Edge: state and config on the writable partition (provisioning/readonly_root.py)\n"
        changes.append(Change(f"/etc/fstab: add {'; '.join(add)}", fstab, body + "\n".join(add) + "\n"))
    for folder in (STATE, CONFIG):
        if not (root / folder.lstrip("/")).is_dir():
            changes.append(Change(f"make the mount point {folder}", command=("mkdir", "-p", str(root / folder.lstrip("/")))))

    dropin = root / JOURNALD_DROPIN
    wanted = JOURNALD_CONF
    if not dropin.exists() or dropin.read_text(encoding="utf-8") != wanted:
        changes.append(Change("the journal in RAM: /" + JOURNALD_DROPIN + " (Storage=volatile)", dropin, wanted))
        changes.append(Change("restart journald with it", command=("systemctl", "restart", "systemd-journald"),
                              live_only=True))

    swap = root / "etc/systemd/system/multi-user.target.wants/dphys-swapfile.service"
    if swap.exists() or swap.is_symlink():
        changes.append(Change("switch the swap file off (it writes to the card)",
                              command=("systemctl", "disable", "--now", "dphys-swapfile"), live_only=True))
        changes.append(Change("dphys-swapfile no longer starts at boot", swap, remove=True))

    if live and not _mounted(STATE):
        units = [f"{u}.service" for u in UNITS]
        changes += [
            Change("stop the office's services while their state moves",
                   command=("systemctl", "stop", *units), live_only=True),
            Change("copy the state and config onto the partition (only when it is empty) and mount it",
                   command=("sh", "-c", _move_script(state_uuid)), live_only=True),
            Change("start the office's services again", command=("systemctl", "start", *units), live_only=True),
        ]

    cmdline = next((root / c for c in CMDLINES if (root / c).exists()), None)
    if cmdline is None:
        raise Refused("no_cmdline")
    line = cmdline.read_text(encoding="utf-8").strip()
    words = line.split()
    overlay = [w for w in words if w.startswith("overlayroot=")]
    if not overlay:
        changes.append(Change("turn the root overlay on (takes effect at the next reboot)",
                              command=("raspi-config", "nonint", "do_overlayfs", "0"), live_only=True))
    if overlay != [OVERLAY]:  # after raspi-config, which writes plain overlayroot=tmpfs
        changes.append(Change(f"/{cmdline.relative_to(root)}: {OVERLAY} (the overlay leaves {STATE} writable)",
                              cmdline, _with_overlay(line), edit=_with_overlay))
    return changes


def _with_overlay(cmdline: str) -> str:
    """The kernel command line with exactly one ``overlayroot=tmpfs:recurse=0``."""
    return " ".join([w for w in cmdline.split() if not w.startswith("overlayroot=")] + [OVERLAY]) + "\n"


def _move_script(state_uuid: str | None) -> str:
    tmp = "/run/pishkhan-state"
    uuid = shlex.quote(f"UUID={state_uuid}")
    return (f"set -e; mkdir -p {tmp}; mount {uuid} {tmp}; "
            f"if [ -z \"$(ls -A {tmp} | grep -v '^lost+found$')\" ]; then "
            f"cp -a {STATE}/. {tmp}/ 2>/dev/null || true; mkdir -p {tmp}/etc; cp -a {CONFIG}/. {tmp}/etc/; fi; "
            f"umount {tmp}; mount {STATE}; mkdir -p {STATE}/etc; mount {CONFIG}; "
            f"if id pishkhan >/dev/null 2>&1; then chown pishkhan:pishkhan {STATE}; chmod 0750 {STATE}; fi")


def _mounted(folder: str) -> bool:
    try:
        return any(line.split()[1] == folder for line in Path("/proc/mounts").read_text().splitlines())
    except OSError:
        return False


def partition_uuid(device: str) -> str:
    """The UUID of the ext4 partition *device* (``blkid``); refused when it is not ext4."""
    def blkid(tag):
        return subprocess.run(["blkid", "-s", tag, "-o", "value", device], capture_output=True, text=True).stdout.strip()

    kind = blkid("TYPE")
    if kind != "ext4":
        raise Refused("not_ext4", f"{device} is {kind or 'not a file system'}")
    return blkid("UUID")


def apply(changes: list[Change], *, live: bool, out=print) -> None:
    """Make *changes*: files written whole, commands run (those on the running system only when *live*)."""
    for change in changes:
        if change.command is not None:
            if change.live_only and not live:
                out(f"  skipped (not the running system): {change.what}")
                continue
            out(f"  {change.what}: {shlex.join(change.command)}")
            done = subprocess.run(list(change.command))
            if done.returncode != 0:
                raise Refused("command_failed", f"{shlex.join(change.command)} exited {done.returncode}")
            continue
        out(f"  {change.what}")
        if change.remove:
            change.path.unlink(missing_ok=True)
            continue
        change.path.parent.mkdir(parents=True, exist_ok=True)
        content = change.edit(change.path.read_text(encoding="utf-8")) if change.edit else change.content
        write_whole(change.path, content.encode("utf-8"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="readonly_root", description=__doc__.splitlines()[0])
    ap.add_argument("--state-device", help="the ext4 partition for /var/lib/pishkhan, e.g. /dev/mmcblk0p3")
    ap.add_argument("--state-uuid", help="its UUID instead (as blkid prints it)")
    ap.add_argument("--root", default="/", help="a system image folder instead of the running system")
    ap.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    args = ap.parse_args(argv)
    root = Path(args.root)
    live = root.resolve() == Path("/")
    try:
        if live and not args.dry_run and os.geteuid() != 0:
            raise Refused("not_root")
        uuid = args.state_uuid or (partition_uuid(args.state_device) if args.state_device else None)
        changes = plan(root, state_uuid=uuid, live=live)
        if not changes:
            print("همه چیز آماده است / nothing to change: the read-only root is set up")
            return 0
        if args.dry_run:
            print(f"would change ({len(changes)} steps) / این تغییرها انجام می‌شود:")
            for change in changes:
                how = f": {shlex.join(change.command)}" if change.command else ""
                skip = " (skipped: not the running system)" if change.live_only and not live else ""
                print(f"  {change.what}{how}{skip}")
            return 0
        print(f"changing ({len(changes)} steps) / در حال تغییر:")
        apply(changes, live=live)
        print("done; reboot to start with the read-only root / انجام شد؛ برای فعال شدن، دستگاه را دوباره راه‌اندازی کنید")
        return 0
    except Refused as e:
        print(f"readonly_root: {e.reason}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
