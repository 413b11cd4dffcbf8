#!/usr/bin/env bash
# Build the release package: build/pishkhan_VERSION_ARCH.deb (docs/release.md).
#
#   ARCH=arm64|amd64   the target (default: this machine's); arm64 builds on amd64
#   BUILD_STAMP=…      the build suffix of the version (default: the UTC time,
#                      so each build is an upgrade of the one before)
#   COMPRESS=xz|fast   dpkg-deb's compression: xz (default), fast = gzip -1 (tests)
#   PY=…               the Python that builds the wheel and runs pip download
#                      (default: .venv/bin/python, else python3)
#   CENTRE_CA=FILE     the centre's CA certificate (PEM): laid as the conffile
#                      /etc/pishkhan/centre-ca.pem, the pin `provision enroll`
#                      trusts (docs/enrolment.md). Without it a technician puts
#                      the CA beside the claim file (its `ca =` line).
#   BROKEN=1           TEST ONLY: a deliberately broken package for the update end-to-end check
#                      (its `pishkhan` command exits 1 on import, so the health gate fails and the
#                      updater rolls back). Its description says so; refused with --lintian (a release).
#
#   --out DIR          where the .deb goes (default build/)
#   --no-wheelhouse    a stand-in for content tests: only the project's own
#                      wheel, installed without its dependencies. Never a release.
#   --lintian          run lintian on the result (fails on an error or warning)
#
# The last line printed is the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

out=build
wheelhouse=yes
run_lintian=no
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --no-wheelhouse) wheelhouse=no; shift ;;
    --lintian) run_lintian=yes; shift ;;
    *) echo "build-deb.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

broken=${BROKEN:-0}
if [ "$broken" = 1 ] && [ "$run_lintian" = yes ]; then
  echo "build-deb.sh: BROKEN=1 makes a deliberately broken test package, never a release (--lintian)" >&2
  exit 2
fi

arch=${ARCH:-$(dpkg --print-architecture)}
case "$arch" in
  arm64) machine=aarch64 ;;
  amd64) machine=x86_64 ;;
  *) echo "build-deb.sh: ARCH must be arm64 or amd64, not $arch" >&2; exit 2 ;;
esac
if [ -z "${PY:-}" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
upstream=$("$PY" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
stamp=${BUILD_STAMP:-$(date -u +%Y%m%d%H%M%S)}
version="$upstream+$stamp"
maintainer=${DEB_MAINTAINER:-"Pishkhan Edge developers <pishkhan-edge@example.org>"}

mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/pishkhan-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
pkg=$work/pkg
wheels=$pkg/usr/lib/pishkhan/wheels
install -d "$wheels"

# 1. The project's own wheel (pure Python), built from a copy of this checkout's
#    files (tracked and new, not ignored) so no build folder lands in the tree.
mkdir -p "$work/src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z -co --exclude-standard | grep -z -v '^\.venv' | xargs -0 cp --parents -t "$work/src" 2>/dev/null || true
else
  tar --exclude=./build --exclude=./.venv -cf - . | tar -xf - -C "$work/src"
fi
if [ "$broken" = 1 ]; then
  # TEST ONLY (BROKEN=1): the entry point exits 1 as soon as it is imported.
  printf '\n%s\n' 'raise SystemExit("pishkhan: a deliberately broken test build (BROKEN=1), not a release")' \
    >>"$work/src/cli/main.py"
  echo "build-deb.sh: BROKEN=1: a deliberately broken TEST package, never a release" >&2
fi
"$PY" -m pip wheel -q --no-deps -w "$work/own" "$work/src" >/dev/null
own=$(ls "$work"/own/pishkhan_edge-*.whl)
cp "$own" "$wheels/"

# 2. The wheelhouse: every dependency as a binary wheel for cp311 on the target.
#    pip resolves for the target, not for this machine, so an arm64 build on amd64
#    fails here if any dependency has no aarch64 wheel. Debian 12 has glibc 2.36:
#    every manylinux tag up to 2_36 is accepted (pip matches --platform exactly).
#    The versions are those the suite runs with (pip freeze of the build's venv).
if [ "$wheelhouse" = yes ]; then
  platforms=(--platform "manylinux2014_$machine")
  for minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${minor}_$machine"); done
  constraints=$work/constraints.txt
  "$PY" -m pip freeze --exclude-editable 2>/dev/null | grep -v -i '^pishkhan-edge' >"$constraints" || true
  extra=()
  # gpiozero's pin library on the Pi 5 (and the Pi 4): only for the Pi.
  [ "$arch" = arm64 ] && extra+=(lgpio)
  if ! "$PY" -m pip download -q --dest "$wheels" --only-binary=:all: "${platforms[@]}" \
      --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
      --constraint "$constraints" "$own" "${extra[@]}" 2>"$work/pip.err"; then
    grep -v "^WARNING: Location" "$work/pip.err" >&2 || true
    echo "build-deb.sh: a dependency has no binary wheel for cp311 on $machine (pip's words above)" >&2
    exit 1
  fi
  ls "$wheels"/*.whl >/dev/null
  # One line per wheel, NAME==VERSION: postinst installs exactly these.
  for w in "$wheels"/*.whl; do
    b=$(basename "$w"); n=${b%%-*}; rest=${b#*-}; echo "$n==${rest%%-*}"
  done >"$wheels/wheels.list"
  [ "$(grep -c -i '^pishkhan_edge==' "$wheels/wheels.list")" = 1 ]
  for dep in $(python3 - "$own" <<'PY'
import re, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    for line in z.read(meta).decode().splitlines():
        if line.startswith("Requires-Dist:") and "extra ==" not in line:
            print(re.split(r"[ ;<>=!~\[(]", line.split(":", 1)[1].strip())[0])
PY
  ); do
    norm=$(echo "$dep" | tr 'A-Z-.' 'a-z__')
    tr 'A-Z-.' 'a-z__' <"$wheels/wheels.list" | grep -q "^$norm==" \
      || { echo "build-deb.sh: no $machine wheel for $dep" >&2; exit 1; }
  done
else
  echo "build-deb.sh: --no-wheelhouse: a content-test stand-in, not a release" >&2
  echo "--no-deps pishkhan-edge==$upstream" >"$wheels/wheels.list"
fi

# 3. Units: every systemd/*.service, *.timer and *.path of the checkout, as they are.
units=()
install -d "$pkg/lib/systemd/system"
for f in systemd/*.service systemd/*.timer systemd/*.path; do
  [ -e "$f" ] || continue
  install -m 0644 "$f" "$pkg/lib/systemd/system/"
  units+=("$(basename "$f")")
done
[ "${#units[@]}" -gt 0 ] || { echo "build-deb.sh: no unit in systemd/" >&2; exit 1; }
# Enabled at install: every unit with an [Install] section, less those for the centre.
enable=()
for u in "${units[@]}"; do
  grep -q '^\[Install\]' "systemd/$u" || continue
  grep -qx "$u" <(grep -v '^#' packaging/not-enabled.txt | awk '{print $1}') && continue
  enable+=("$u")
done

# 4. udev rule for USB ESC/POS printers.
install -D -m 0644 packaging/debian/60-pishkhan-printer.rules "$pkg/lib/udev/rules.d/60-pishkhan-printer.rules"

# 4b. The centre's CA, pinned by enrolment (a conffile: an upgrade keeps a CA a technician replaced).
conffiles=()
if [ -n "${CENTRE_CA:-}" ]; then
  "$PY" - "$CENTRE_CA" <<'PYCA'
import sys
from cryptography import x509
cert = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
print(f"   centre CA: {cert.subject.rfc4514_string()}, until {cert.not_valid_after_utc:%Y-%m-%d}")
PYCA
  install -D -m 0644 "$CENTRE_CA" "$pkg/etc/pishkhan/centre-ca.pem"
  conffiles+=(/etc/pishkhan/centre-ca.pem)
fi

# 5. The Vazirmatn font: Debian 12 has no fonts-vazirmatn, so it travels inside.
fontdir=""
for d in /usr/share/fonts/truetype/vazirmatn /usr/local/share/fonts/vazirmatn "$HOME/.local/share/fonts/vazirmatn"; do
  if [ -f "$d/Vazirmatn-Regular.ttf" ]; then fontdir=$d; break; fi
done
if [ -z "$fontdir" ]; then
  (cd "$work" && npm pack --silent vazirmatn >/dev/null && tar xzf vazirmatn-*.tgz)
  fontdir=$work/package/fonts/ttf
  cp "$work/package/OFL.txt" "$fontdir/" 2>/dev/null || true
fi
install -d "$pkg/usr/share/fonts/truetype/vazirmatn"
install -m 0644 "$fontdir"/Vazirmatn-*.ttf "$pkg/usr/share/fonts/truetype/vazirmatn/"

# 6. The updater (one zip, standard library only: docs/updates-on-device.md), the package's version
#    (pishkhan.releases.running_version reads it), the command on PATH, documentation, lintian's overrides.
bash packaging/updater-zip.sh "$pkg/usr/lib/pishkhan/pishkhan-update"
echo "$version" >"$pkg/usr/lib/pishkhan/VERSION"
chmod 0644 "$pkg/usr/lib/pishkhan/VERSION"
install -d "$pkg/usr/bin"
ln -s /opt/pishkhan/.venv/bin/pishkhan "$pkg/usr/bin/pishkhan"
doc=$pkg/usr/share/doc/pishkhan
install -d "$doc"
install -m 0644 packaging/debian/copyright "$doc/copyright"
if [ -f "$fontdir/OFL.txt" ]; then install -m 0644 "$fontdir/OFL.txt" "$doc/OFL.txt"; fi
{
  echo "pishkhan ($version) unstable; urgency=medium"
  echo
  echo "  * Release build $stamp of pishkhan-edge $upstream."
  echo
  echo " -- $maintainer  $(date -u -R)"
} | gzip -n -9 >"$doc/changelog.gz"
install -d "$pkg/usr/share/man/man1"
gzip -n -9 <packaging/debian/pishkhan.1 >"$pkg/usr/share/man/man1/pishkhan.1.gz"
install -D -m 0644 packaging/debian/lintian-overrides "$pkg/usr/share/lintian/overrides/pishkhan"
chmod 0644 "$wheels"/*
find "$pkg" -type d -exec chmod 0755 {} +

# 7. Control and maintainer scripts (the shared pieces put in place of #PISHKHAN-LIB#).
install -d "$pkg/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" -e "s|@MAINTAINER@|$maintainer|" \
    packaging/debian/control.in >"$pkg/DEBIAN/control"
if [ "$broken" = 1 ]; then
  sed -i 's/^Description: .*/Description: TEST BUILD, DELIBERATELY BROKEN (BROKEN=1): never install on a device/' \
    "$pkg/DEBIAN/control"
fi
lib=$(sed -e "s|@VERSION@|$version|" -e "s|@UNITS@|${units[*]}|" -e "s|@ENABLE@|${enable[*]}|" \
      packaging/debian/maint-lib.sh)
for s in postinst prerm postrm; do
  awk -v lib="$lib" '$0 == "#PISHKHAN-LIB#" { print lib; next } { print }' "packaging/debian/$s" >"$pkg/DEBIAN/$s"
  chmod 0755 "$pkg/DEBIAN/$s"
done
if [ ${#conffiles[@]} -gt 0 ]; then printf '%s\n' "${conffiles[@]}" >"$pkg/DEBIAN/conffiles"; fi
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
  >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"

deb="$out/pishkhan_${version}_${arch}.deb"
case "${COMPRESS:-xz}" in
  fast) compress=(-Zgzip -z1) ;;
  *) compress=(-Z"${COMPRESS:-xz}") ;;
esac
dpkg-deb --root-owner-group "${compress[@]}" --build "$pkg" "$deb" >/dev/null
echo "built $deb: $(du -m "$deb" | cut -f1) MB, ${#units[@]} units (${enable[*]} enabled)" >&2
if [ "$run_lintian" = yes ]; then
  lintian --fail-on error,warning "$deb" >&2
fi
echo "$deb"
