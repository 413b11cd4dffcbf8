#!/usr/bin/env bash
# Pack updater/ as one executable zip (python3 -I runs it): packaging/updater-zip.sh OUT
# build-deb.sh lays it as /usr/lib/pishkhan/pishkhan-update (docs/updates-on-device.md). The suite's fakes
# (updater/fakes.py) stay out.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
stage=$(mktemp -d "${TMPDIR:-/tmp}/pishkhan-update.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/updater"
for f in updater/*.py; do
  [ "$(basename "$f")" = fakes.py ] || cp "$f" "$stage/updater/"
done
cp updater/__main__.py "$stage/__main__.py"
python3 -m zipapp "$stage" --output "$out" --python "/usr/bin/python3 -I"
chmod 0755 "$out"
