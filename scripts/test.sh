#!/usr/bin/env bash
# The tests (`make test`, run by .ci/run): with no arguments, the unit tests of both crates, every suite in
# tests/ and the end-to-end checks of deploy/kind/e2e (when the kind cluster answers), against the real things
# (the built .wasm on a real host over HTTP, real helm, a real OCI registry, a real cluster).
# Each suite gets only the set-up it needs, so `scripts/test.sh tests/http -k redact` checks no chart or
# registry tools; on a machine set up before, the checks take about a second.
usage="usage: scripts/test.sh [--unit | PYTEST_ARGS...]   (e.g. tests/http -k redact; --unit: cargo test only)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case "${1:-}" in
  -h | --help) echo "$usage"; exit 0 ;;
esac
need cargo "install Rust with rustup (https://rustup.rs)"
cd "$ROOT"

unit_tests() {
  log "unit tests: the component's logic"
  cargo test --quiet
  log "unit tests: the dev host (release profile, so it reuses the built dependencies)"
  cargo test --quiet --release --locked --manifest-path host/Cargo.toml --target-dir "$TOOLS/host-target"
}

if [[ "${1:-}" == --unit ]]; then
  [[ $# -eq 1 ]] || die "$usage"
  unit_tests
  exit 0
fi

# The suites the arguments name (tests/<suite>[/...]); none named means all of them.
suites=""
for arg in "$@"; do
  case "$arg" in
    tests/*) suite="${arg#tests/}"; suite="${suite%%/*}"; suite="${suite%%::*}"; suites="$suites $suite" ;;
  esac
done
[[ $# -gt 0 && -n "$suites" ]] || suites=" $(cd tests && for d in */; do [[ "$d" == __* ]] || printf '%s ' "${d%/}"; done)"

# What each suite needs before it runs, as commands; each runs once even when several suites need it.
steps=""
add_step() { [[ "$steps" == *"|$*|"* ]] || steps="$steps|$*|"; }
for suite in $suites; do
  case "$suite" in
    http)
      add_step scripts/setup.sh wasm; add_step scripts/build.sh; add_step scripts/build-host.sh
      add_step scripts/setup-k8s-tools.sh helm ;;
    chart) add_step scripts/setup-k8s-tools.sh helm checkov ;;
    publish)
      add_step scripts/setup.sh wasm; add_step scripts/build.sh
      add_step scripts/setup-registry-tools.sh; add_step scripts/setup-k8s-tools.sh helm
      add_step scripts/setup-release-tools.sh ;;
    deploy) add_step scripts/setup.sh lint deploy; add_step scripts/setup-k8s-tools.sh helm kubectl ;;
    # bench: scripts/bench.sh sets up and builds what it needs itself.
  esac
done

[[ $# -gt 0 ]] || unit_tests
log "set-up for:$suites"
pip_requirements "$VENV" "$ROOT/tests/requirements.txt"
rest="$steps"
while [[ -n "$rest" ]]; do
  rest="${rest#|}"
  step="${rest%%|*}"
  rest="${rest#*|}"
  [[ -z "$step" ]] || $step  # a step is a command and its words (no spaces inside a word)
done
log "integration tests"
if [[ $# -gt 0 ]]; then
  exec "$VENV/bin/pytest" -q -p no:cacheprovider "$@"
fi
# With every suite, the end-to-end checks too, against the kind cluster `make kind-up` made: they skip, saying so,
# when no cluster answers there (never against another kube context: `make e2e` is for those).
export ENVAPP_E2E_CONTEXT="kind-${ENVAPP_KIND_CLUSTER:-envapp}"
exec "$VENV/bin/pytest" -q -p no:cacheprovider -rs tests deploy/kind/e2e
