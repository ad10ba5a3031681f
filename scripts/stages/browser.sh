#!/usr/bin/env bash
# End-to-end test in a real headless browser: Debian's Chromium, driven by playwright-core, posts
# and reads a twoot through the Swagger UI that the release binary serves at /docs.
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
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

rm -rf "$SPEC_DIR/artifacts"

# PORT=0 lets the kernel choose a free port, which the ready log line then names, so two runs at
# once never race for one. The temporary working directory keeps a developer's .env out.
(cd "$tmp" && exec env DATABASE_URL="sqlite:$tmp/e2e.db" HOST=127.0.0.1 PORT=0 LOG_FORMAT=json RATE_LIMITS=off \
  RUST_LOG=info "$bin" serve >"$tmp/server.log" 2>&1) &
server_pid=$!

server_log() {
  echo "--- server log (last 40 lines) ---" >&2
  tail -n 40 "$tmp/server.log" >&2 || true
}

address=
for _ in $(seq 1 300); do
  address=$(jq -rR 'fromjson? | .address? // empty' "$tmp/server.log" 2>/dev/null | head -n 1 || true)
  [ -n "$address" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "the server exited before it was ready" >&2; server_log; exit 1; }
  sleep 0.1
done
[ -n "$address" ] || { echo "the server did not log its address within 30 s" >&2; server_log; exit 1; }
base_url="http://$address"

ready=
for _ in $(seq 1 100); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base_url/readyz")" = 200 ]; then
    ready=1
    break
  fi
  sleep 0.1
done
[ -n "$ready" ] || { echo "$base_url/readyz did not answer 200 within 10 s" >&2; server_log; exit 1; }
echo "server ready at $base_url"

status=0
BASE_URL="$base_url" CHROMIUM_PATH="$CHROMIUM" node --test --test-reporter=spec "$SPEC_DIR/docs.spec.mjs" || status=$?
[ "$status" = 0 ] || server_log
echo "browser stage: install and build ${install_seconds}s, test $((SECONDS - run_started))s"
exit "$status"
