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
arch=${ARCH:-amd64}
[ "$(id -u)" = 0 ] || { echo "package-e2e: run as root (debootstrap, chroot, mounts)" >&2; exit 2; }
[ "$arch" = "$(dpkg --print-architecture)" ] || { echo "package-e2e: ARCH=$arch cannot run on this machine" >&2; exit 2; }

build=$PWD/build
mkdir -p "$build" "$build/e2e-apt-cache/partial"
root=$build/e2e-root
cache=$build/debootstrap-bookworm-minbase-$arch.tar
declare -a names=() secs=()

# Each step: its name, then the command; its time is kept for the summary.
step() {
  local name=$1; shift
  echo "== $name"
  local t0; t0=$(date +%s.%N)
  "$@"
  names+=("$name"); secs+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')")
}

mounted=()
cleanup() {
  local rc=$?
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  # Never delete through a mount that is still there (the root holds /dev bound).
  if grep -q " $root/" /proc/mounts; then
    echo "package-e2e: still mounted under $root, not deleting it:" >&2; grep " $root/" /proc/mounts >&2
  elif [ "${E2E_KEEP:-0}" != 1 ]; then
    rm -rf "$root"
  fi
  [ $rc = 0 ] || echo "package-e2e: FAILED (exit $rc); every mount under $root is undone" >&2
}
trap cleanup EXIT

mirror() {
  # The first Debian mirror this machine's apt uses (deb822 or one-line form).
  local m
  m=$(grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
      | grep -v security | head -1 || true)
  [ -n "$m" ] || m=$(grep -h -E '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | grep -v security | awk '{print $2}' | head -1 || true)
  [ -n "$m" ] || { echo "package-e2e: no Debian mirror in /etc/apt/sources.list(.d)" >&2; exit 1; }
  echo "$m"
}

builds() {
  if [ -n "${DEB1:-}" ] && [ -n "${DEB2:-}" ]; then return; fi
  local s; s=$(date -u +%Y%m%d%H%M%S)
  DEB1=$(ARCH=$arch BUILD_STAMP="${s}01" bash packaging/build-deb.sh --lintian | tail -1)
  DEB2=$(ARCH=$arch BUILD_STAMP="${s}02" bash packaging/build-deb.sh | tail -1)
}

fresh_root() {
  local need=()
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v ip >/dev/null || need+=(iproute2)
  [ "${#need[@]}" = 0 ] || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q "${need[@]}" >/dev/null
  rm -rf "$root"
  if [ ! -f "$cache" ]; then
    debootstrap --variant=minbase --arch="$arch" bookworm "$root" "$(mirror)" >"$build/debootstrap.log"
    tar -C "$root" -cf "$cache.tmp" . && mv "$cache.tmp" "$cache"
  else
    mkdir -p "$root" && tar -C "$root" -xf "$cache"
  fi
}

mount_root() {
  mount -t proc proc "$root/proc" && mounted+=("$root/proc")
  mount -t sysfs sysfs "$root/sys" && mounted+=("$root/sys")
  mount --bind /dev "$root/dev" && mounted+=("$root/dev")
  mount --bind /dev/pts "$root/dev/pts" && mounted+=("$root/dev/pts")
  mount --bind "$build/e2e-apt-cache" "$root/var/cache/apt/archives" && mounted+=("$root/var/cache/apt/archives")
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  # No init runs in a chroot: packages' scripts must not start daemons.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 0755 "$root/usr/sbin/policy-rc.d"
  cp "$DEB1" "$DEB2" "$root/root/"
}

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
            DEBIAN_FRONTEND=noninteractive "$@"; }
as_pishkhan() { in_root setpriv --reuid=pishkhan --regid=pishkhan --init-groups \
                env PISHKHAN_CONFIG=/var/tmp/e2e.toml HOME=/var/lib/pishkhan "$@"; }

# apt fetches what Depends names while the network is there; the install
# itself then runs where nothing but loopback exists.
download_deps() {
  in_root apt-get update -q >/dev/null
  in_root apt-get install -y -q --no-install-recommends --download-only "/root/$(basename "$1")" >/dev/null
}

# `apt install ./x.deb` in a network namespace of its own (only loopback), with
# pip told to use an index on a local port where a listener records every
# connection. After it: the listener's count, and pip's own log.
install_offline() {
  local deb=/root/$(basename "$1") log=$build/e2e-index-hits.log
  : >"$log"
  unshare --net bash -euo pipefail -c '
    ip link set lo up
    python3 -c "
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"127.0.0.1\", 3141)); s.listen()
while True:
    c, a = s.accept(); open(sys.argv[1], \"a\").write(f\"connection from {a}\\n\"); c.close()
" "$1" &
    listener=$!
    sleep 0.5
    if python3 -c "import urllib.request; urllib.request.urlopen(\"https://pypi.org/simple/\", timeout=5)" 2>/dev/null; then
      echo "package-e2e: PyPI is reachable inside the namespace" >&2; exit 1
    fi
    chroot "$2" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
      PIP_INDEX_URL=http://127.0.0.1:3141/simple PIP_NO_INDEX=1 \
      apt install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "$3" 2>&1 | grep -v "does not have a stable CLI" | tail -4
    kill $listener' _ "$log" "$root" "$deb"
  echo "   pip index requests while installing: $(wc -l <"$log") (PIP_INDEX_URL was http://127.0.0.1:3141/simple)"
  [ ! -s "$log" ] || { echo "package-e2e: pip asked an index" >&2; exit 1; }
  local piplog; piplog=$(readlink -f "$root/opt/pishkhan/.venv")/pip-install.log
  grep -q "Looking in links: .*/usr/lib/pishkhan/wheels" "$piplog"
  if grep -q "Looking in indexes" "$piplog"; then echo "package-e2e: pip looked in an index" >&2; exit 1; fi
  du -sm "$(readlink -f "$root/opt/pishkhan/.venv")" | awk '{print $1 " MB"}' >"$build/e2e-venv-size"
  echo "   pip's log: $(grep -c 'Processing .*\.whl' "$piplog") wheels from /usr/lib/pishkhan/wheels, no index"
}

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
  for p in /var/lib/pishkhan /etc/pishkhan /opt/pishkhan /lib/systemd/system/pishkhan-agent.service; do
    [ ! -e "$root$p" ] || { echo "package-e2e: $p is still there after purge" >&2; exit 1; }
  done
  ! in_root id pishkhan >/dev/null 2>&1 || { echo "package-e2e: the pishkhan user survived purge" >&2; exit 1; }
  echo "   purged: /var/lib/pishkhan, /etc/pishkhan, /opt/pishkhan and the user are gone"
}

step "build two packages" builds
step "fresh Debian 12 root" fresh_root
step "mount proc, sys, dev" mount_root
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
for i in "${!names[@]}"; do printf '  %7.1f s  %s\n' "${secs[$i]}" "${names[$i]}"; done
for d in "$DEB1" "$DEB2"; do
  awk -v n="$(basename "$d")" -v s="$(stat -c %s "$d")" -v i="$(dpkg-deb -f "$d" Installed-Size)" \
    'BEGIN { printf "  package %s: %.1f MB (unpacked %.0f MB)\n", n, s / 1048576, i / 1024 }'
done
printf '  virtual environment on the device: %s\n' "$(cat "$build/e2e-venv-size" 2>/dev/null || echo '?')"
