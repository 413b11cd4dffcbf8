#!/usr/bin/env bash
# Install the system packages Pishkhan needs (Debian 12 / Raspberry Pi OS),
# and the Vazirmatn font. Safe to run again. Without root (and no sudo) it
# only checks and tells what is missing.
set -euo pipefail
mode="${1:-run}"   # run | test (run: the demo's broker and browser too; test adds OCR, Xvfb, PostgreSQL)

pkgs=(python3-venv libfribidi0 libraqm0 libmtdev1 libgl1 libegl1 libsdl2-2.0-0 xclip
      espeak-ng sox v4l-utils xvfb xauth mosquitto mosquitto-clients chromium chromium-driver)
test_pkgs=(xvfb xauth mosquitto mosquitto-clients tesseract-ocr tesseract-ocr-fas poppler-utils
           xdotool imagemagick zbar-tools libzbar0 postgresql chromium chromium-driver lintian
           prometheus prometheus-alertmanager libfaketime)
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")

# On a Pi's first boot unattended-upgrades holds the dpkg lock for minutes:
# apt waits for it (up to PISHKHAN_APT_LOCK_WAIT seconds) instead of failing at once.
# DPkg::Lock::Timeout covers dpkg's lock; `apt-get update` takes the package
# lists' lock, which that option does not cover, so update is tried again.
lock_wait="${PISHKHAN_APT_LOCK_WAIT:-900}"
apt_get() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$lock_wait" "$@"; }
apt_update() {
  local until=$((SECONDS + lock_wait)) err
  err=$(mktemp)
  until apt_get update -q >/dev/null 2>"$err"; do
    if ! grep -q -i "lock" "$err" || [ "$SECONDS" -ge "$until" ]; then cat "$err" >&2; rm -f "$err"; return 1; fi
    echo "waiting for the package lists' lock (another apt, e.g. unattended-upgrades)…" >&2
    sleep "${PISHKHAN_APT_RETRY_SECONDS:-5}"
  done
  rm -f "$err"
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$SUDO" = none ]; then
    echo "missing system packages (install them as root): ${missing[*]}" >&2
  else
    echo "installing: ${missing[*]}"
    apt_update
    apt_get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
# Neither the demo nor the tests need a running system broker or database: they start their own.
if [ "$SUDO" != none ] && command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
  $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || true
  # The tests only run promtool and amtool (alert rules): no Prometheus server or Alertmanager.
  $SUDO systemctl disable --now prometheus prometheus-alertmanager >/dev/null 2>&1 || true
fi

# Font: the Debian package where the distribution has it, else the npm package.
have_font() {
  for d in /usr/share/fonts/truetype/vazirmatn /usr/local/share/fonts/vazirmatn "$HOME/.local/share/fonts/vazirmatn"; do
    [ -f "$d/Vazirmatn-Regular.ttf" ] && return 0
  done
  return 1
}
if ! have_font; then
  if [ "$SUDO" != none ] && apt-cache show fonts-vazirmatn >/dev/null 2>&1; then
    apt_get install -y -q fonts-vazirmatn >/dev/null
  fi
fi
if ! have_font; then
  if ! command -v npm >/dev/null; then
    [ "$SUDO" != none ] && apt_get install -y -q npm >/dev/null
  fi
  if [ "$(id -u)" -eq 0 ]; then dest=/usr/local/share/fonts/vazirmatn; else dest="$HOME/.local/share/fonts/vazirmatn"; fi
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent vazirmatn >/dev/null && tar xzf vazirmatn-*.tgz)
  mkdir -p "$dest"
  cp "$tmp"/package/fonts/ttf/Vazirmatn-*.ttf "$dest"/
  cp "$tmp"/package/OFL.txt "$dest"/ 2>/dev/null || true
  rm -rf "$tmp"
  command -v fc-cache >/dev/null && fc-cache -f "$dest" >/dev/null 2>&1 || true
  echo "installed the Vazirmatn font into $dest"
fi
