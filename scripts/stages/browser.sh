#!/usr/bin/env bash
# End-to-end tests in a real headless browser: Debian's Chromium, driven by playwright-core, posts
# and reads a twoot through the Swagger UI that the release binary serves at /docs, and calls the
# admin-only statistics route before and after "Authorize" with a key made here (docs.spec.mjs);
# and uses the web client at /app on two instances of one database (app.spec.mjs).
#
# Outside CI a missing browser or Node.js skips the stage with one line saying why; with CI=true
# nothing may be skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."

CHROMIUM=/usr/bin/chromium
SPEC_DIR=tests/browser
in_ci() { [ "${CI:-}" = "true" ]; }

skip() {
  if in_ci; then
    echo "browser test cannot run in CI: $1" >&2
    exit 1
  fi
  echo "SKIPPED: browser test: $1"
  exit 0
}

install_started=$SECONDS

if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    skip "$CHROMIUM is missing and cannot be installed here (needs root and apt-get)"
  fi
  echo "installing Debian's chromium" >&2
  apt_log=$(mktemp)
  if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >"$apt_log" 2>&1; then
    why=$(grep -v '^\s*$' "$apt_log" | tail -n 1)
    rm -f "$apt_log"
    skip "apt-get could not install chromium (${why:-no output})"
  fi
  rm -f "$apt_log"
  [ -x "$CHROMIUM" ] || skip "the chromium package did not provide $CHROMIUM"
fi

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || skip "Node.js and npm are not installed"

# --ignore-scripts: no install step may fetch a browser build; the test drives Debian's Chromium.
(cd "$SPEC_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

cargo build --locked --release
bin="$PWD/target/release/twooter"
install_seconds=$((SECONDS - install_started))

run_started=$SECONDS
tmp=$(mktemp -d)
server_pids=()
cleanup() {
  for pid in "${server_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

rm -rf "$SPEC_DIR/artifacts"

# One database for both instances: the web client's live test posts on one and reads on the other.
database="sqlite:$tmp/e2e.db"
scroll_tag=scroll500
# 500 twoots under one tag, a minute apart in 2023, for the infinite-scroll test.
awk -v tag="$scroll_tag" 'BEGIN {
  print "message,tag,timestamp"
  for (i = 0; i < 500; i++) printf "Twoot %d of the scroll test,%s,%s\n", i, tag, strftime("%Y-%m-%dT%H:%M:%SZ", 1672531200 + i * 60, 1)
}' >"$tmp/scroll.csv"
(cd "$tmp" && DATABASE_URL="$database" "$bin" import scroll.csv >/dev/null)
# The key is the one line of the command's output that is not a JSON log line.
admin_key=$(cd "$tmp" && env DATABASE_URL="$database" LOG_FORMAT=json "$bin" keys create \
  --name browser --role admin | grep '^twt_')
[ -n "$admin_key" ] || { echo "twooter keys create printed no key" >&2; exit 1; }

server_log() {
  for log in "$tmp"/server-*.log; do
    echo "--- $(basename "$log") (last 40 lines) ---" >&2
    tail -n 40 "$log" >&2 || true
  done
}

# Starts an instance and prints its base URL once /readyz answers 200. PORT=0 lets the kernel
# choose a free port, which the ready log line then names, so two runs at once never race for
# one. The temporary working directory keeps a developer's .env out.
start_server() {
  local name=$1 log="$tmp/server-$1.log" pid address=
  (cd "$tmp" && exec env DATABASE_URL="$database" HOST=127.0.0.1 PORT=0 LOG_FORMAT=json RATE_LIMITS=off \
    RUST_LOG=info "$bin" serve >"$log" 2>&1) &
  pid=$!
  server_pids+=("$pid")
  for _ in $(seq 1 300); do
    address=$(jq -rR 'fromjson? | .address? // empty' "$log" 2>/dev/null | head -n 1 || true)
    [ -n "$address" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "server $name exited before it was ready" >&2; return 1; }
    sleep 0.1
  done
  [ -n "$address" ] || { echo "server $name did not log its address within 30 s" >&2; return 1; }
  for _ in $(seq 1 100); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$address/readyz")" = 200 ]; then
      echo "http://$address"
      return 0
    fi
    sleep 0.1
  done
  echo "server $name: /readyz did not answer 200 within 10 s" >&2
  return 1
}

# Started one after the other: the second must not race the first for the database's migration.
start_server a >"$tmp/url-a" || { server_log; exit 1; }
start_server b >"$tmp/url-b" || { server_log; exit 1; }
base_url=$(cat "$tmp/url-a")
base_url_b=$(cat "$tmp/url-b")
echo "servers ready at $base_url and $base_url_b"

status=0
BASE_URL="$base_url" BASE_URL_B="$base_url_b" SCROLL_TAG="$scroll_tag" ADMIN_KEY="$admin_key" \
  CHROMIUM_PATH="$CHROMIUM" node --test --test-reporter=spec --test-concurrency=1 \
  "$SPEC_DIR/docs.spec.mjs" "$SPEC_DIR/app.spec.mjs" || status=$?
[ "$status" = 0 ] || server_log
echo "browser stage: install and build ${install_seconds}s, test $((SECONDS - run_started))s"
exit "$status"
