#!/usr/bin/env bash
# Fleet updates end to end (make update-e2e; docs/release.md, "The update check"):
# a fresh Debian 12 root (packaging/e2e-lib.sh, as make package-e2e) with
# version N installed offline; on this machine the centre: its CA, its
# enrolment server serving the package pool over HTTPS, a Mosquitto, a
# national issuer key the root's trust list holds. The centre publishes
#   N    (the device's running version: it downloads and keeps it),
#   N+1  (installs, healthy),
#   N+2  (built with BROKEN=1: installs, fails its health gate, rolls back to
#         N+1 by itself; the journal says so with the reason),
# then the update is killed at every step it records (PISHKHAN_UPDATE_KILL_AT,
# and dpkg killed half-way) and `pishkhan-update recover` runs: after each the
# root runs the old or the new version, never neither.
#
# There is no systemd in the root: the real agent runs for a few seconds after
# each publication (as the user pishkhan, on the centre's Mosquitto: it takes
# the retained document, decides and writes the request file; it sends the
# journal's rows as update events), and this script runs the update unit's
# program directly, as pishkhan-update.path would:
#   chroot ROOT /usr/bin/python3 -I /usr/lib/pishkhan/pishkhan-update run
# Signatures, the package's hash and the pinned CA are checked for real.
#
#   DEBN, DEBN1, DEBN2  use these three builds (N, N+1, N+2 built BROKEN=1)
#   COMPRESS=fast       quicker builds (gzip -1), for trying the script
#   HEALTH_SECONDS      the root's [update] health_seconds (default 30, its least)
#   KILLS="a b …"       only these kill points (default: every one)
#   E2E_KEEP=1          keep the root and the centre's folder afterwards
# Needs root; the debootstrap root is cached in build/ (network the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
e2e_name=update-e2e
root=$PWD/build/update-e2e-root
# shellcheck source=packaging/e2e-lib.sh
. packaging/e2e-lib.sh

centre=$build/update-e2e-centre
health_seconds=${HEALTH_SECONDS:-30}
device=e2e-0001
topic_root=pishkhan/v1
declare -a pids=() figures=()

fail() { echo "$e2e_name: $*" >&2; exit 1; }
figure() { figures+=("$(printf "$@")"); }

e2e_on_exit() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ "${E2E_KEEP:-0}" = 1 ] || rm -rf "$centre"
}

# The centre's commands, from this checkout (not the venv's editable source).
central() { PYTHONPATH=$PWD .venv/bin/python -m cli.main central "$@"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- What this check drives, looked for before anything slow. -------------
pieces() {
  local missing=() py=(env PYTHONPATH="$PWD" .venv/bin/python -m cli.main)
  grep -q 'BROKEN' packaging/build-deb.sh \
    || missing+=("packaging/build-deb.sh has no BROKEN=1 switch (UPDATER engineer, h21/updater)")
  grep -q 'pishkhan-update' packaging/build-deb.sh \
    || missing+=("packaging/build-deb.sh does not lay /usr/lib/pishkhan/pishkhan-update (UPDATER engineer, h21/updater)")
  "${py[@]}" update verify --help >/dev/null 2>&1 \
    || missing+=("no 'pishkhan update verify' (CORE engineer, h21/core)")
  "${py[@]}" update health --help >/dev/null 2>&1 \
    || missing+=("no 'pishkhan update health' (CORE engineer, h21/core)")
  "${py[@]}" --version >/dev/null 2>&1 \
    || missing+=("no 'pishkhan --version' (cli/main.py)")
  "${py[@]}" central release publish --help >/dev/null 2>&1 \
    || missing+=("no 'pishkhan central release publish' (CENTRE engineer, h21/centre)")
  "${py[@]}" central enroll-server --help 2>/dev/null | grep -q -- '--pool' \
    || missing+=("the enrolment server has no --pool (the pool route; CENTRE engineer, h21/centre)")
  if [ ${#missing[@]} -gt 0 ]; then
    printf '%s: missing: %s\n' "$e2e_name" "${missing[@]}" >&2
    exit 3
  fi
  echo "   every piece is there"
}

# --- N, N+1 and a broken N+2: one stamp each, N+2 with BROKEN=1. ----------
builds() {
  if [ -n "${DEBN:-}" ] && [ -n "${DEBN1:-}" ] && [ -n "${DEBN2:-}" ]; then :; else
    local s; s=$(date -u +%Y%m%d%H%M%S)
    DEBN=$(ARCH=$arch BUILD_STAMP="${s}01" bash packaging/build-deb.sh | tail -1)
    DEBN1=$(ARCH=$arch BUILD_STAMP="${s}02" bash packaging/build-deb.sh | tail -1)
    DEBN2=$(ARCH=$arch BUILD_STAMP="${s}03" BROKEN=1 bash packaging/build-deb.sh | tail -1)
  fi
  VN=$(dpkg-deb -f "$DEBN" Version); VN1=$(dpkg-deb -f "$DEBN1" Version); VN2=$(dpkg-deb -f "$DEBN2" Version)
  dpkg --compare-versions "$VN" lt "$VN1" && dpkg --compare-versions "$VN1" lt "$VN2" \
    || fail "the builds are not in order: $VN, $VN1, $VN2"
  for d in "$DEBN" "$DEBN1" "$DEBN2"; do
    dpkg-deb -c "$d" | grep ' \./usr/lib/pishkhan/pishkhan-update$' >/dev/null \
      || fail "$(basename "$d") has no /usr/lib/pishkhan/pishkhan-update"
  done
  echo "   N $VN, N+1 $VN1, N+2 $VN2 (BROKEN=1)"
}

# --- The centre: CA and TLS certificate, keys, trust list, broker, pool server.
start_centre() {
  rm -rf "$centre"; mkdir -p "$centre/pool" "$centre/keys"
  central ca init --dir "$centre/ca" >/dev/null 2>&1
  central ca server-cert --dir "$centre/ca" --host 127.0.0.1 --host localhost --out "$centre/server" >/dev/null 2>&1
  PYTHONPATH=$PWD .venv/bin/python -m cli.main keys new --out "$centre/keys" --name national >/dev/null
  { echo "Scope: national"; cat "$centre/keys/national.pub"; } >"$centre/trust.txt"
  mqtt_port=$(free_port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$mqtt_port" >"$centre/mosquitto.conf"
  mosquitto -c "$centre/mosquitto.conf" >"$centre/mosquitto.log" 2>&1 &
  pids+=($!)
  sleep 0.3
  # Everything the device says on the wire, kept for the checks of its update events and reported state.
  mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -V mqttv5 -t "$topic_root/dev/$device/#" -v >"$centre/wire.log" 2>&1 &
  pids+=($!)
  https_port=$(free_port)
  # Not through central(): $! must be the server's own process, which cleanup stops.
  PYTHONPATH=$PWD .venv/bin/python -m cli.main central enroll-server --ca "$centre/ca" --db "sqlite:///$centre/fleet.db" --listen "127.0.0.1:$https_port" \
    --tls-cert "$centre/server.pem" --tls-key "$centre/server.key" --broker-url "mqtts://127.0.0.1:8883" \
    --pool "$centre/pool" >"$centre/server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    curl -s --cacert "$centre/ca/ca.pem" -o /dev/null "https://127.0.0.1:$https_port/" && break
    sleep 0.2
  done
  curl -s --cacert "$centre/ca/ca.pem" -o /dev/null "https://127.0.0.1:$https_port/" \
    || { cat "$centre/server.log" >&2; fail "the enrolment server did not come up"; }
  echo "   enrolment server with the pool on https://127.0.0.1:$https_port/, Mosquitto on 127.0.0.1:$mqtt_port"
}

# --- The device: its settings, the centre's CA pinned, the national key trusted.
as_pishkhan() { in_root setpriv --reuid=pishkhan --regid=pishkhan --init-groups \
                env PISHKHAN_CONFIG=/etc/pishkhan/pishkhan.toml HOME=/var/lib/pishkhan "$@"; }

# set_toml FILE SECTION KEY VALUE (VALUE as TOML): the key's line in its section replaced, or added.
set_toml() {
  python3 - "$@" <<'PY'
import sys
path, section, key, value = sys.argv[1:]
lines = open(path).read().splitlines()
out, here, done = [], False, False
for line in lines:
    s = line.strip()
    if s.startswith("["):
        if here and not done:
            out.append(f"{key} = {value}"); done = True
        here = s == f"[{section}]"
    elif here and not done and s.split("=")[0].strip() == key:
        line, done = f"{key} = {value}", True
    out.append(line)
if not done:
    if not here:
        out += ["", f"[{section}]"]
    out.append(f"{key} = {value}")
open(path, "w").write("\n".join(out) + "\n")
PY
}

device_setup() {
  local conf=$root/etc/pishkhan/pishkhan.toml
  set_toml "$conf" device id "\"$device\""
  set_toml "$conf" update repository "\"https://127.0.0.1:$https_port/\""
  set_toml "$conf" update ca_file '"/etc/pishkhan/centre-ca.pem"'
  set_toml "$conf" update health_seconds "$health_seconds"
  set_toml "$conf" mqtt host '"127.0.0.1"'
  set_toml "$conf" mqtt port "$mqtt_port"
  # Closed every day: the office's hours never stop an update here; the release's window decides.
  local day
  for day in saturday sunday monday tuesday wednesday thursday friday; do set_toml "$conf" hours "$day" '[]'; done
  install -m 0644 "$centre/ca/ca.pem" "$root/etc/pishkhan/centre-ca.pem"
  # Root's anchor of the keys that may sign releases, laid by hand as root (docs/updates.md; a release build lays
  # it with RELEASE_KEYS=FILE): without it every release is refused untrusted_key.
  install -m 0644 -o root -g root "$centre/trust.txt" "$root/etc/pishkhan/release-keys.pem"
  install -m 0644 "$centre/keys/national.pub" "$root/var/tmp/national.pub"
  as_pishkhan pishkhan config check >"$centre/config-check.out" 2>&1 \
    || { cat "$centre/config-check.out" >&2; fail "the device's configuration does not load"; }
  as_pishkhan pishkhan keys trust /var/tmp/national.pub --scope national --label "e2e centre" >/dev/null
  echo "   device $device, repository https://127.0.0.1:$https_port/ (CA pinned), health_seconds $health_seconds, national key trusted"
  echo "   its agent: mqtt://127.0.0.1:$mqtt_port; the office closed every day (only the release's window decides)"
}

# --- One update: the centre publishes, the device (this script as its agent) asks, the updater runs.
publish() {  # publish DEB [extra publish options…]: the document's envelope into $centre/envelope.json
  local deb=$1; shift
  central release publish "$deb" --scope national --key "$centre/keys/national.key" --trust "$centre/trust.txt" \
    --pool "$centre/pool" --db "sqlite:///$centre/fleet.db" --broker "mqtt://127.0.0.1:$mqtt_port" --canary 100% \
    --window "$(window_now)" "$@" >"$centre/publish.out"
  mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -t "$topic_root/all/release" -C 1 -W 10 >"$centre/envelope.json" \
    || fail "no retained release document on $topic_root/all/release"
  python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["payload"]; print("   published: document %s, package %s, %s bytes" % (p["version"], p["package"]["version"], p["package"]["size"]))' \
    "$centre/envelope.json"
}

# The agent's request: written as the user pishkhan, atomically, 0640.
# The release's window: from an hour ago to two hours on, Tehran time (HH:MM-HH:MM).
window_now() {
  python3 -c 'import datetime as d, zoneinfo; n = d.datetime.now(zoneinfo.ZoneInfo("Asia/Tehran"))
print((n - d.timedelta(hours=1)).strftime("%H:%M") + "-" + (n + d.timedelta(hours=2)).strftime("%H:%M"))'
}

request_file=/var/lib/pishkhan/update/request.json
# The real agent, as the user pishkhan, for a few seconds: it takes the retained release document through the
# one install path, decides (canary, window, hours, failed here), writes the request file when it may start,
# and sends each new journal row as an update event. (systemd would keep it running and restart it after an
# install; here it runs between the updater's runs.)
agent() {
  as_pishkhan pishkhan agent --seconds "${1:-10}" >>"$centre/agent.log" 2>&1 \
    || { tail -20 "$centre/agent.log" >&2; fail "the agent failed"; }
}
# What the agent last reported of the release (reported.applied.release), from the wire.
reported_release() {
  python3 - "$centre/wire.log" <<'PY'
import json, sys
last = None
for line in open(sys.argv[1], encoding="utf-8"):
    topic, _, body = line.partition(" ")
    if topic.endswith("/reported"):
        release = json.loads(body).get("applied", {}).get("release")
        if release:
            last = release
print(f"{last['state']} ({last['reason'] or 'no reason'}), running {last['running_version']}" if last else "nothing")
PY
}
# The agent's decision on the document just published: it asks (the request file appears) or says why not.
agent_asks() {  # agent_asks yes|no
  in_root rm -f "$request_file"
  agent 10
  local asked=no; [ -f "$root$request_file" ] && asked=yes
  echo "   the agent: $( [ $asked = yes ] && echo "asked for the update (the request file)" || echo "did not ask"); reported: $(reported_release)"
  [ "$asked" = "$1" ] || fail "the agent $( [ $asked = yes ] && echo asked || echo "did not ask"), expected $1"
}

# The request as the agent writes it (edge_agent.updates.write_request, as the user pishkhan), for the
# document last published: where the agent would not ask (its running version; one already rolled back).
request() {
  install -m 0644 "$centre/envelope.json" "$root/var/tmp/envelope.json"
  as_pishkhan /opt/pishkhan/.venv/bin/python -c 'import json, sys, datetime as d
from edge_agent.updates import write_request
now = d.datetime.now(d.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
write_request(sys.argv[1], json.load(open("/var/tmp/envelope.json")), device_id=sys.argv[2], now=now)' \
    "$request_file" "$device"
}

# The update unit's program, as pishkhan-update.service runs it (KILL_AT: fault injection).
updater() {  # updater run|recover [KILL_AT]
  in_root env ${2:+PISHKHAN_UPDATE_KILL_AT=$2} /usr/bin/python3 -I /usr/lib/pishkhan/pishkhan-update "$1"
}

journal_db=/var/lib/pishkhan-update/journal.sqlite
# The journal's rows after id $1 (default: all), one per line: id step reason from→to.
journal() {
  python3 - "$root$journal_db" "${1:-0}" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for r in db.execute("SELECT id, at, step, reason, from_version, to_version FROM update_steps WHERE id > ? ORDER BY id",
                    (int(sys.argv[2]),)):
    print(*r[:3], r[3] or "-", *r[4:])
PY
}
last_id() { journal | tail -1 | awk '{print $1+0}'; }
steps_since() { journal "$1" | awk '{print $3}' | tr '\n' ' '; }
detail_of() {  # detail_of SINCE STEP: that row's reason and detail
  python3 - "$root$journal_db" "$1" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
row = db.execute("SELECT reason, detail FROM update_steps WHERE id > ? AND step = ? ORDER BY id DESC LIMIT 1",
                 (int(sys.argv[2]), sys.argv[3])).fetchone()
print(row[0] if row else "", (row[1] if row else "")[:600], sep="\n")
PY
}
# Seconds between the first row of step $2 and the last row of step $3 after id $1.
between() {
  python3 - "$root$journal_db" "$@" <<'PY'
import datetime as dt, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
since, a, b = int(sys.argv[2]), sys.argv[3], sys.argv[4]
t = lambda step, order: db.execute(f"SELECT at FROM update_steps WHERE id > ? AND step = ? ORDER BY id {order} LIMIT 1",
                                   (since, step)).fetchone()
ta, tb = t(a, "ASC"), t(b, "DESC")
p = lambda s: dt.datetime.fromisoformat(s[0].replace("Z", "+00:00"))
print(f"{(p(tb) - p(ta)).total_seconds():.1f}" if ta and tb else "?")
PY
}

# The root runs one of the given versions, whole: dpkg says installed, the command answers.
runs_one_of() {
  local status version out
  status=$(in_root dpkg-query -W -f='${Status}' pishkhan)
  version=$(in_root dpkg-query -W -f='${Version}' pishkhan)
  [ "$status" = "install ok installed" ] || fail "dpkg -s pishkhan: '$status' ($version), not 'install ok installed'"
  out=$(in_root /opt/pishkhan/.venv/bin/pishkhan --version 2>&1) \
    || fail "/opt/pishkhan/.venv/bin/pishkhan --version failed: $out"
  [ "$out" = "pishkhan $version" ] || fail "the venv says '$out' while dpkg says $version"
  local v ok=no
  for v in "$@"; do [ "$version" = "$v" ] && ok=yes; done
  [ $ok = yes ] || fail "the root runs $version, none of: $*"
  running=$version
  echo "   runs $version (dpkg: $status; pishkhan --version: $out)"
}

expect_steps() {  # expect_steps SINCE STEP…: each step recorded, in this order, after SINCE
  local got; got=$(steps_since "$1"); shift
  python3 - "$got" "$@" <<'PY' || fail "journal: expected steps $* in order; got: $got"
import sys
got, want = sys.argv[1].split(), sys.argv[2:]
i = 0
for s in got:
    if i < len(want) and s == want[i]:
        i += 1
sys.exit(0 if i == len(want) else 1)
PY
  echo "   journal: $got"
}

update_to_n() {
  local since; since=$(last_id 2>/dev/null || echo 0)
  publish "$DEBN"; agent_asks yes
  echo "   (the version it runs, not kept yet: the agent asks, and the updater only keeps it, the way back)"
  updater run || true
  expect_steps "$since" requested downloading downloaded kept healthy
  runs_one_of "$VN"
  [ -n "$(ls "$root/var/lib/pishkhan-update/kept/" 2>/dev/null)" ] || fail "nothing in kept/ after the document for N"
  echo "   kept/: $(ls "$root/var/lib/pishkhan-update/kept/" | tr '\n' ' ')"
}

update_to_n1() {
  local since; since=$(last_id)
  publish "$DEBN1"; agent_asks yes; updater run || true
  expect_steps "$since" requested downloading downloaded kept installing installed healthy
  runs_one_of "$VN1"
  figure '  N -> N+1: downloaded to healthy in %s s (journal)' "$(between "$since" downloading healthy)"
}

update_to_n2() {
  local since; since=$(last_id)
  publish "$DEBN2"; agent_asks yes; updater run || true
  expect_steps "$since" requested downloading downloaded kept installing installed unhealthy rolling_back rolled_back
  runs_one_of "$VN1"
  local d; d=$(detail_of "$since" rolled_back)
  [ "$(echo "$d" | head -1)" = unhealthy ] || fail "rolled_back's reason is '$(echo "$d" | head -1)', not unhealthy"
  echo "   rolled_back, reason unhealthy; detail: $(echo "$d" | tail -n +2 | head -c 400)"
  in_root rm -f "$request_file"
  agent 10
  [ ! -f "$root$request_file" ] || fail "the agent asked again for $VN2, which was rolled back here"
  echo "   the agent, run again: does not ask again for $VN2 (rolled back here)"
  wire_says_rolled_back
  figure '  N+1 -> N+2 -> N+1: health gate failed after %s s; rollback (rolling_back to rolled_back) %s s; installed to rolled_back %s s' \
    "$(between "$since" installed unhealthy)" "$(between "$since" rolling_back rolled_back)" "$(between "$since" installed rolled_back)"
}

# The agent's update event for the rollback (reason unhealthy, the failed checks) and its reported state.
wire_says_rolled_back() {
  python3 - "$centre/wire.log" "$VN2" <<'PY' || fail "the wire does not say N+2 was rolled back (see $centre/wire.log)"
import json, sys
events, reported = [], None
for line in open(sys.argv[1], encoding="utf-8"):
    topic, _, body = line.partition(" ")
    msg = json.loads(body)
    if topic.endswith("/event") and msg.get("event") == "update":
        events.append(msg["detail"])
    elif topic.endswith("/reported") and msg.get("applied", {}).get("release"):
        reported = msg["applied"]["release"]
back = [e for e in events if e["step"] == "rolled_back" and e["to_version"] == sys.argv[2]]
assert back and back[-1]["reason"] == "unhealthy", back
assert reported and reported["state"] == "rolled_back" and reported["reason"] == "unhealthy", reported
print(f"   on the wire: {len(events)} update events; the last rolled_back: reason {back[-1]['reason']}, "
      f"{back[-1]['from_version']} -> {back[-1]['to_version']}, detail {back[-1]['detail'][:160]}…")
print(f"   reported.release: state {reported['state']}, reason {reported['reason']}, running {reported['running_version']}")
PY
}

# --- Killed at every step, then recover: old or new, never neither. ------
# Each kill point, and the last journal row it leaves (dpkg killed half-way records nothing itself).
kill_points=(requested downloading downloaded kept installing dpkg-mid installed unhealthy rolling_back dpkg-mid:2
             rolled_back)
last_row_of() { case $1 in dpkg-mid) echo installing ;; dpkg-mid:2) echo rolling_back ;; *) echo "$1" ;; esac; }

# killed_at K OLD NEW: the pending request run with the kill at K, then recover; old or new after it.
killed_at() {
  local k=$1 old=$2 new=$3 since rc t0 after
  # Each kill point starts from a journal with no verdict on N+2 (the earlier one is kept beside it): the series
  # tests recovery; that a version rolled back for a verdict is not installed again is the N+2 step's check.
  in_root sh -c "[ ! -f $journal_db ] || mv $journal_db $journal_db.before-$k"
  since=0; t0=$(date +%s.%N)
  request
  set +e; updater run "$k" >"$centre/run.out" 2>&1; rc=$?; set -e
  after=$(steps_since "$since")
  [ $rc = 137 ] || { cat "$centre/run.out" >&2; fail "killed at $k: the updater exited $rc, not 137 (journal: $after)"; }
  [ "$(echo "$after" | awk '{print $NF}')" = "$(last_row_of "$k")" ] \
    || fail "killed at $k: the journal ends with: $after"
  local cut; cut=$(in_root dpkg-query -W -f='${Version} ${Status}' pishkhan)
  updater recover >"$centre/recover.out" 2>&1 || { cat "$centre/recover.out" >&2; fail "recover after a kill at $k failed"; }
  local end; end=$(journal "$since" | tail -1 | awk '{print $3 " (" ($4 == "-" ? "no reason" : $4) ")"}')
  echo "   killed at $k: $after(dpkg: $cut) → recover: $end"
  runs_one_of "$old" "$new"
  figure '  killed at %-13s then recover: %5.1f s, runs %s (%s)' "$k" \
    "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" "$running" \
    "$( [ "$running" = "$old" ] && echo "the version it came from" || echo "the version it went to")"
}

# From N+1 towards the broken N+2 (its document is the last published), killed at every step.
kills() {
  local k
  for k in ${KILLS:-${kill_points[@]}}; do killed_at "$k" "$VN1" "$VN2"; done
}

# The one step left: healthy. A national rollback document (rollback: true) for N, killed right after healthy.
kill_healthy() {
  publish "$DEBN" --rollback
  killed_at healthy "$VN1" "$VN"
}

step "the pieces this check drives" pieces
step "build N, N+1 and N+2 (BROKEN=1)" builds
step "fresh Debian 12 root" fresh_root
step "mount proc, sys, dev" mount_root "$DEBN"
step "apt download of Depends (network)" download_deps "$DEBN"
step "apt install N (no network)" install_offline "$DEBN"
step "the centre: CA, pool over HTTPS, broker, key" start_centre
step "the device: settings, pinned CA, trusted key" device_setup
step "publish N: the device keeps it" update_to_n
step "publish N+1: installs, healthy" update_to_n1
step "publish N+2 (broken): unhealthy, rolls back to N+1" update_to_n2
step "killed at every step to N+2, then recover" kills
step "national rollback to N, killed at healthy, then recover" kill_healthy

echo
echo "$e2e_name: passed"
e2e_summary
for d in "$DEBN" "$DEBN1" "$DEBN2"; do deb_size "$d"; done
printf '%s\n' "${figures[@]}"
