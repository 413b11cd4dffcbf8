#!/usr/bin/env bash
# The release package end to end (make package-e2e; docs/release.md):
# a fresh Debian 12 root (debootstrap minbase), the package installed with
# `apt install ./pishkhan_….deb` while no package index can be reached (PyPI
# blocked: no network at all, and pip pointed at a local port that records
# every connection), the device check inside it, a ticket issued, an upgrade
# to a second build (the ticket and the configuration kept), then purge
# (state gone). Prints how long each step took and the package's size.
#
#   ARCH                only amd64 runs here (the root is this machine's arch)
#   DEB1, DEB2          use these two builds instead of building them
#   E2E_KEEP=1          keep the root afterwards (build/e2e-root)
# Needs root. The debootstrap root is cached in build/ as a tarball, and
# apt's downloads in build/e2e-apt-cache, so a second run is faster.
set -euo pipefail
cd "$(dirname "$0")/.."
e2e_name=package-e2e
root=$PWD/build/e2e-root
# shellcheck source=packaging/e2e-lib.sh
. packaging/e2e-lib.sh

builds() {
  if [ -n "${DEB1:-}" ] && [ -n "${DEB2:-}" ]; then return; fi
  local s; s=$(date -u +%Y%m%d%H%M%S)
  DEB1=$(ARCH=$arch BUILD_STAMP="${s}01" bash packaging/build-deb.sh --lintian | tail -1)
  DEB2=$(ARCH=$arch BUILD_STAMP="${s}02" bash packaging/build-deb.sh | tail -1)
}

as_pishkhan() { in_root setpriv --reuid=pishkhan --regid=pishkhan --init-groups \
                env PISHKHAN_CONFIG=/var/tmp/e2e.toml HOME=/var/lib/pishkhan "$@"; }

device_check() {
  local out; out=$(in_root env PISHKHAN_CONFIG=/etc/pishkhan/pishkhan.toml pishkhan provision check --json || true)
  echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert isinstance(d["can_open"], bool) and isinstance(d["checks"], list), d
failed = [c["name"] + ":" + c["reason"] for c in d["checks"] if not c["ok"]]
print("   provision check: can_open=%s, %d checks; not ok: %s" % (d["can_open"], len(d["checks"]), ", ".join(failed)))'
  in_root id pishkhan
  in_root stat -c '   %n %a %U:%G' /etc/pishkhan /etc/pishkhan/pishkhan.toml /var/lib/pishkhan
  in_root sh -c "ls -d /etc/systemd/system/*.wants/pishkhan-*"
}

issue_ticket() {
  in_root sh -c 'cp /etc/pishkhan/pishkhan.toml /var/tmp/e2e.toml && sed -i "s/^always_open = false/always_open = true/" /var/tmp/e2e.toml && chmod 0644 /var/tmp/e2e.toml'
  as_pishkhan sh -c '
    set -e; cd /var/tmp
    b=$(/opt/pishkhan/.venv/bin/python -c "import pishkhan.data, os; print(os.path.dirname(pishkhan.data.__file__))")
    pishkhan keys new --out /var/tmp/keys --name e2e >/dev/null
    pishkhan board sign "$b/sample_board.json" --key /var/tmp/keys/e2e.key --out /var/tmp/board.json >/dev/null
    pishkhan keys trust /var/tmp/keys/e2e.pub --label e2e >/dev/null
    pishkhan board install /var/tmp/board.json >/dev/null
    pishkhan counter open 1 >/dev/null
    pishkhan queue issue --service ID-01 --printer fake --json' >"$build/e2e-ticket.json"
  ticket=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); print(t["id"], t["label"], t["issued_at"])' "$build/e2e-ticket.json")
  config_sum=$(sha256sum "$root/etc/pishkhan/pishkhan.toml" | cut -d' ' -f1)
  echo "   ticket issued: $ticket; config sha256 ${config_sum:0:16}…"
}

check_kept() {
  local id after
  id=${ticket%% *}
  after=$(as_pishkhan pishkhan queue reprint "$id" --printer fake --json \
          | python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["id"], t["label"], t["issued_at"])')
  [ "$after" = "$ticket" ] || { echo "package-e2e: the ticket changed: $ticket -> $after" >&2; exit 1; }
  [ "$(sha256sum "$root/etc/pishkhan/pishkhan.toml" | cut -d' ' -f1)" = "$config_sum" ] \
    || { echo "package-e2e: the upgrade changed the configuration" >&2; exit 1; }
  echo "   after the upgrade to $(in_root dpkg-query -W -f='${Version}' pishkhan): ticket $after still there; config unchanged"
  echo "   venv: $(readlink "$root/opt/pishkhan/.venv") ($(ls -d "$root"/opt/pishkhan/venv-* | wc -l) kept)"
}

purge() {
  in_root apt-get purge -y -q pishkhan >/dev/null
  for p in /var/lib/pishkhan /var/lib/pishkhan-update /etc/pishkhan /opt/pishkhan /lib/systemd/system/pishkhan-agent.service; do
    [ ! -e "$root$p" ] || { echo "package-e2e: $p is still there after purge" >&2; exit 1; }
  done
  ! in_root id pishkhan >/dev/null 2>&1 || { echo "package-e2e: the pishkhan user survived purge" >&2; exit 1; }
  echo "   purged: /var/lib/pishkhan, /var/lib/pishkhan-update, /etc/pishkhan, /opt/pishkhan and the user are gone"
}

step "build two packages" builds
step "fresh Debian 12 root" fresh_root
step "mount proc, sys, dev" mount_root "$DEB1" "$DEB2"
step "apt download of Depends (network)" download_deps "$DEB1"
step "apt install ./$(basename "$DEB1") (no network)" install_offline "$DEB1"
step "device check" device_check
step "issue a ticket" issue_ticket
step "apt download for the upgrade (network)" download_deps "$DEB2"
step "apt install ./$(basename "$DEB2") (upgrade, no network)" install_offline "$DEB2"
step "ticket and config kept" check_kept
step "apt purge" purge

echo
echo "package-e2e: passed"
e2e_summary
for d in "$DEB1" "$DEB2"; do deb_size "$d"; done
printf '  virtual environment on the device: %s\n' "$(cat "$build/e2e-venv-size" 2>/dev/null || echo '?')"
