#!/usr/bin/env bash
# Fuzzes the running service from its own OpenAPI document with schemathesis: every check, positive
# and negative data, a fixed seed. Fails when schemathesis finds anything, when it errors, or when
# it ran fewer cases than asked. Run from the repository root.
#
# Settings (environment): SCHEMATHESIS_MAX_EXAMPLES (cases per operation and phase) and
# SCHEMATHESIS_SEED. A run counts only with at least MIN_CASES cases, whatever they say.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
VENV=target/schemathesis-venv
REPORT_DIR=target/schemathesis-report
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-300}
SEED=${SCHEMATHESIS_SEED:-20240601}
MIN_CASES=1000

[ -f Cargo.toml ] && [ -d src/http ] || {
  echo "run this from the repository root" >&2
  exit 2
}
root=$PWD

tmp=$(mktemp -d)
server_pid=
cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    # A stuck server must not keep the script alive past its grace period.
    for _ in $(seq 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "schemathesis: $*" >&2
  exit 1
}

installed_version() {
  "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata
print(importlib.metadata.version("schemathesis"))
EOF
}

# The venv is kept between runs; it is rebuilt only when its pin or interpreter no longer holds.
if [ "$(installed_version || true)" != "$SCHEMATHESIS_VERSION" ]; then
  echo "==> installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  PIP_ROOT_USER_ACTION=ignore "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION"
  [ "$(installed_version)" = "$SCHEMATHESIS_VERSION" ] || fail "schemathesis $SCHEMATHESIS_VERSION did not install"
fi

echo "==> building the release binary"
cargo build --locked --release
bin="$root/target/release/twooter"
[ -x "$bin" ] || fail "no binary at $bin"

# The statistics need an admin key; schemathesis sends it, and checks that leaving it out is
# refused.
echo "==> making an admin key"
admin_key=$(
  cd "$tmp" &&
    env -i PATH="$PATH" HOME="$tmp" DATABASE_URL="sqlite:$tmp/fuzz.db" LOG_FORMAT=json \
      "$bin" keys create --name fuzz --role admin | grep '^twt_'
) || fail "twooter keys create failed"

# A clean environment and working directory, so no .env file, demo database or exported setting
# of the caller changes what is fuzzed.
echo "==> starting twooter on a fresh SQLite database"
(
  cd "$tmp"
  exec env -i PATH="$PATH" HOME="$tmp" \
    HOST=127.0.0.1 PORT=0 DATABASE_URL="sqlite:$tmp/fuzz.db" \
    LOG_FORMAT=json RUST_LOG=info REQUEST_TIMEOUT=10s RATE_LIMITS=off \
    "$bin" serve
) >"$tmp/server.log" 2>&1 &
server_pid=$!

address=
for _ in $(seq 300); do
  kill -0 "$server_pid" 2>/dev/null || {
    cat "$tmp/server.log" >&2
    fail "the server exited during start-up"
  }
  address=$(
    "$VENV/bin/python" - "$tmp/server.log" <<'EOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if str(event.get("message", "")).startswith("ready") and "address" in event:
        print(event["address"])
        break
EOF
  )
  [ -n "$address" ] && break
  sleep 0.1
done
[ -n "$address" ] || fail "the server did not log its address within 30 s"
port=${address##*:}
case $port in '' | *[!0-9]*) fail "cannot read a port from the address '$address'" ;; esac
# Only this machine's loopback is ever a target, whatever address the server reported.
base="http://127.0.0.1:$port"

ready=
for _ in $(seq 100); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ]; then
    ready=1
    break
  fi
  sleep 0.1
done
[ -n "$ready" ] || fail "$base/readyz did not answer 200 within 10 s"

# Reads and the statistics then have twoots to return, and pages to link.
echo "==> seeding twoots"
seeded=0
for tag in coffee Hiking rust_lang night-owl; do
  for n in 1 2 3 4 5; do
    body=$(printf '{"text": "Twoot %s about %s, with ünïcödé and \\"quotes\\".", "tag": "%s"}' "$n" "$tag" "$tag")
    status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/messages" \
      -H 'Content-Type: application/json' --data-binary "$body" || true)
    [ "$status" = 201 ] || fail "seeding POST /messages answered $status"
    seeded=$((seeded + 1))
  done
done
echo "seeded $seeded twoots"

rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"
report=$(cd "$REPORT_DIR" && pwd)
echo "==> schemathesis $SCHEMATHESIS_VERSION against $base (seed $SEED, up to $MAX_EXAMPLES cases per operation)"
# From inside the report folder, so that its caches (and `st replay` of what failed) stay with
# this run's report instead of carrying over into the next run or the repository root.
st_status=0
(
  cd "$report"
  export HYPOTHESIS_STORAGE_DIRECTORY="$report/.hypothesis"
  export SCHEMATHESIS_HOOKS="$root/scripts/stages/schemathesis_hooks.py"
  # The live stream never ends, so every case would run into the request timeout; its
  # parameters, headers and limits are tested in tests/stream.
  exec "$root/$VENV/bin/schemathesis" run "$base/openapi.json" \
    --exclude-path /messages/stream \
    --checks all \
    --mode all \
    --header "Authorization: Bearer $admin_key" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 30 \
    --generation-database none \
    --no-color \
    --report json,junit \
    --report-json-path "$report/report.json" \
    --report-junit-path "$report/junit.xml"
) || st_status=$?

if grep -q '"level":"ERROR"' "$tmp/server.log"; then
  echo "server errors during the run:" >&2
  grep '"level":"ERROR"' "$tmp/server.log" | head -20 >&2
  server_errors=1
else
  server_errors=0
fi
kill -0 "$server_pid" 2>/dev/null || fail "the server died during the run"

[ -f "$REPORT_DIR/report.json" ] || fail "no report (schemathesis exited $st_status)"
summary=$(
  "$VENV/bin/python" - "$REPORT_DIR/report.json" "$MIN_CASES" "$st_status" "$server_errors" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1], encoding="utf-8"))
min_cases, st_status, server_errors = (int(arg) for arg in sys.argv[2:5])
cases = report["test_cases"]
errors = sum(error["count"] for error in report["errors"])
failures = cases["unique_failures"]
ok = (
    st_status == 0
    and report["complete"]
    and failures == 0
    and errors == 0
    and server_errors == 0
    and cases["generated"] >= min_cases
)
notes = []
if cases["generated"] < min_cases:
    notes.append(f"fewer than the {min_cases} cases required")
if server_errors:
    notes.append("the server logged errors")
print(
    f"schemathesis: {'passed' if ok else 'FAILED'}: {cases['generated']} cases, "
    f"{failures} failures ({cases['with_failures']} failing cases), {errors} errors, "
    f"{(report['operations'] or {}).get('tested', 0)} operations, seed {report['seed']}, "
    f"{report['running_time'] or 0:.1f}s" + "".join(f"; {note}" for note in notes)
)
sys.exit(0 if ok else 1)
EOF
) && passed=1 || passed=0
echo "$summary"
[ "$passed" = 1 ]
