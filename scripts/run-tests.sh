#!/usr/bin/env bash
# Run the test suite: start Xvfb when there is no display, point Kivy at the
# pil text provider, keep every state file in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
cleanup() { [ -n "${xvfb_pid:-}" ] && kill "$xvfb_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

if [ -z "${DISPLAY:-}" ]; then
  for n in $(seq 90 120); do [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || break; done
  Xvfb ":$n" -screen 0 1920x1920x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
  xvfb_pid=$!
  export DISPLAY=":$n"
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
fi
export KIVY_TEXT=pil KIVY_NO_ARGS=1 KIVY_NO_CONSOLELOG=1 KIVY_HOME="$tmp/kivy" KIVY_LOG_MODE=PYTHON
export PISHKHAN_STATE_DIR="$tmp/state"
export PYTHONDONTWRITEBYTECODE=1
# Under pytest-xdist (-n N) each worker starts its own Xvfb (tests/conftest.py).
export PISHKHAN_TEST_XVFB_PER_WORKER=1
# The checkout being tested comes first (a git worktree may share the venv of another).
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
.venv/bin/python -m pytest "$@"
