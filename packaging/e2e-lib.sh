# Shared by the end-to-end checks (sourced, not run): packaging/e2e.sh
# (make package-e2e) and packaging/update-e2e.sh (make update-e2e).
#
# A fresh Debian 12 root from debootstrap (cached in build/ as a tarball), its
# proc/sys/dev mounts (undone on exit, failed or not), commands run inside it,
# and the package installed with apt while no network is there. The caller
# sets, before sourcing:
#   e2e_name   its name in messages (package-e2e, update-e2e)
#   root       the root's folder (deleted on exit unless E2E_KEEP=1)
# and may define e2e_on_exit (called first on exit: stop what it started).
# Each step's time is kept in names[]/secs[] for the summary (e2e_summary).

arch=${ARCH:-amd64}
[ "$(id -u)" = 0 ] || { echo "$e2e_name: run as root (debootstrap, chroot, mounts)" >&2; exit 2; }
[ "$arch" = "$(dpkg --print-architecture)" ] || { echo "$e2e_name: ARCH=$arch cannot run on this machine" >&2; exit 2; }

build=$PWD/build
mkdir -p "$build" "$build/e2e-apt-cache/partial"
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

e2e_summary() {
  for i in "${!names[@]}"; do printf '  %7.1f s  %s\n' "${secs[$i]}" "${names[$i]}"; done
}

mounted=()
cleanup() {
  local rc=$?
  if declare -F e2e_on_exit >/dev/null; then e2e_on_exit || true; fi
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  # Never delete through a mount that is still there (the root holds /dev bound).
  if grep -q " $root/" /proc/mounts; then
    echo "$e2e_name: still mounted under $root, not deleting it:" >&2; grep " $root/" /proc/mounts >&2
  elif [ "${E2E_KEEP:-0}" != 1 ]; then
    rm -rf "$root"
  fi
  [ $rc = 0 ] || echo "$e2e_name: FAILED (exit $rc); every mount under $root is undone" >&2
}
trap cleanup EXIT

mirror() {
  # The first Debian mirror this machine's apt uses (deb822 or one-line form).
  local m
  m=$(grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
      | grep -v security | head -1 || true)
  [ -n "$m" ] || m=$(grep -h -E '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | grep -v security | awk '{print $2}' | head -1 || true)
  [ -n "$m" ] || { echo "$e2e_name: no Debian mirror in /etc/apt/sources.list(.d)" >&2; exit 1; }
  echo "$m"
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

# proc, sys, dev (and apt's cache) mounted; then the given files copied to /root.
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
  [ $# = 0 ] || cp "$@" "$root/root/"
}

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
            DEBIAN_FRONTEND=noninteractive "$@"; }

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
      echo "$4: PyPI is reachable inside the namespace" >&2; exit 1
    fi
    chroot "$2" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
      PIP_INDEX_URL=http://127.0.0.1:3141/simple PIP_NO_INDEX=1 \
      apt install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "$3" 2>&1 | grep -v "does not have a stable CLI" | tail -4
    kill $listener' _ "$log" "$root" "$deb" "$e2e_name"
  echo "   pip index requests while installing: $(wc -l <"$log") (PIP_INDEX_URL was http://127.0.0.1:3141/simple)"
  [ ! -s "$log" ] || { echo "$e2e_name: pip asked an index" >&2; exit 1; }
  local piplog; piplog=$(readlink -f "$root/opt/pishkhan/.venv")/pip-install.log
  grep -q "Looking in links: .*/usr/lib/pishkhan/wheels" "$piplog"
  if grep -q "Looking in indexes" "$piplog"; then echo "$e2e_name: pip looked in an index" >&2; exit 1; fi
  du -sm "$(readlink -f "$root/opt/pishkhan/.venv")" | awk '{print $1 " MB"}' >"$build/e2e-venv-size"
  echo "   pip's log: $(grep -c 'Processing .*\.whl' "$piplog") wheels from /usr/lib/pishkhan/wheels, no index"
}

# A package's size line for the summary.
deb_size() {
  awk -v n="$(basename "$1")" -v s="$(stat -c %s "$1")" -v i="$(dpkg-deb -f "$1" Installed-Size)" \
    'BEGIN { printf "  package %s: %.1f MB (unpacked %.0f MB)\n", n, s / 1048576, i / 1024 }'
}
