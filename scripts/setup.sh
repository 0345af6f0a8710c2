#!/usr/bin/env bash
# Prepares this machine for the whole project, from the package registries only (crates.io, PyPI, Debian apt,
# npm), using every tool the machine already has in a supported version (docs/setup.md says which, and what
# goes where). It first checks every part and stops, having changed nothing, when one cannot be set up here,
# saying per platform what to install. Idempotent: a few seconds when done.
# Parts (default: all):
#   wasm        the wasm32-wasip1 target: the toolchain's (rustup's), else scripts/wasm-fallback.sh
#   python      the tests' Python packages, in a virtualenv of the tool folder (tests/requirements.txt)
#   k8s         helm, kubectl, checkov (scripts/setup-k8s-tools.sh)
#   registry    skopeo, a CNCF distribution registry binary (scripts/setup-registry-tools.sh)
#   release     cosign and cargo-cyclonedx, to sign and verify releases (scripts/setup-release-tools.sh)
#   lint        ShellCheck, the shell linter the tests run
#   deploy      what the kind and GitOps tests need (scripts/setup-deploy-tools.sh, when present)
#   bench       wrk and the benchmark's Python packages (scripts/setup-bench-tools.sh)
# The dev host (envapp-host) is not a part: `make up` and the tests build it on first use when Spin is absent.
usage="usage: scripts/setup.sh [--check] [wasm|python|k8s|registry|release|lint|deploy|bench]...
  (--check: say what would be used or installed, change nothing; ENVAPP_TOOLS overrides the tool folder,
   default ~/.cache/envapp; ENVAPP_USE_PINNED=1 installs the pinned copies even where the machine has a tool)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_setup_args "$usage" "wasm python k8s registry release lint deploy bench" "$@"
parts="$wanted"

need python3 "install Python 3.11 or newer:"$'\n'"$(install_hint python3)"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "python3 is $(python3 -V 2>&1), older than 3.11 (the scripts and tests use tomllib):"$'\n'"$(install_hint python3)"
DEPLOY_SETUP="$ROOT/scripts/setup-deploy-tools.sh"

# Phase 1: check every part; nothing changes unless all of them can be set up.
check_wasm() {
  need cargo "install Rust with rustup (https://rustup.rs)"
  if [[ "$(wasm_route)" != none ]]; then
    log "wasm32-wasip1: the $(wasm_route) route (see wasm_route in scripts/lib.sh)"
  elif [[ "${ENVAPP_WASM_ROUTE:-}" != fallback ]] && command -v rustup >/dev/null 2>&1; then
    log "wasm32-wasip1: will run 'rustup target add wasm32-wasip1', else set up the fallback route"
  else
    "$ROOT/scripts/wasm-fallback.sh" check
    log "wasm32-wasip1: will set up the fallback route (scripts/wasm-fallback.sh; Debian's Rust, system-wide)"
  fi
}

check_shellcheck() {
  resolve_tool - shellcheck
  if [[ "$tool_action" == use ]]; then
    log "$tool_note"
  elif can_apt; then
    log "$tool_note: will apt-get install shellcheck (system-wide)"
  else
    die "$tool_note; set-up installs it only with apt-get as root (or sudo); nothing was changed. Install it:"$'\n'"$(install_hint shellcheck)"
  fi
}

check_part() {
  case "$1" in
    wasm) check_wasm ;;
    python) log "python: the tests' packages in $VENV (a virtualenv of the tool folder; never the user's Python)" ;;
    k8s) "$ROOT/scripts/setup-k8s-tools.sh" --check ;;
    registry) "$ROOT/scripts/setup-registry-tools.sh" --check ;;
    release) "$ROOT/scripts/setup-release-tools.sh" --check ;;
    lint) check_shellcheck ;;
    deploy)
      if [[ ! -x "$DEPLOY_SETUP" ]]; then
        log "deploy: nothing to set up ($DEPLOY_SETUP does not exist)"
      elif grep -q -- '--check' "$DEPLOY_SETUP"; then
        "$DEPLOY_SETUP" --check
      else
        log "deploy: will run $DEPLOY_SETUP"
      fi ;;
    bench) "$ROOT/scripts/setup-bench-tools.sh" --check ;;
  esac
}
# The checks' report is shown with --check or when one fails; a real run logs each step again as it goes.
check_all() {
  local part status=0
  # A subshell per part: a part that dies does not hide what the others would say.
  for part in $parts; do (check_part "$part") || status=1; done
  return "$status"
}
if ! report="$(check_all 2>&1)"; then
  printf '%s\n' "$report" >&2
  die "set-up stopped before changing anything: see above for what to install"
fi
[[ -z "$check" ]] || { printf '%s\n' "$report" >&2; exit 0; }

# Phase 2: set up. Each step is quick when its part is already there.
setup_wasm() {
  if [[ "$(wasm_route)" != none ]]; then
    log "wasm32-wasip1: the $(wasm_route) route"
    return
  fi
  # The download may be refused or hang where only the package registries are reachable: bound it where we can.
  local bound=""
  command -v timeout >/dev/null 2>&1 && bound="timeout 300"
  if [[ "${ENVAPP_WASM_ROUTE:-}" != fallback ]] && command -v rustup >/dev/null 2>&1 \
    && $bound rustup target add wasm32-wasip1 >&2 && wasm_target_installed; then
    log "rustup target wasm32-wasip1 installed"
  else
    log "rustup cannot provide wasm32-wasip1 here: setting up the fallback route"
    "$ROOT/scripts/wasm-fallback.sh" setup
  fi
}

for part in $parts; do
  case "$part" in
    wasm) setup_wasm ;;
    python) pip_requirements "$VENV" "$ROOT/tests/requirements.txt" ;;
    k8s) "$ROOT/scripts/setup-k8s-tools.sh" ;;
    registry) "$ROOT/scripts/setup-registry-tools.sh" ;;
    release) "$ROOT/scripts/setup-release-tools.sh" ;;
    lint)
      resolve_tool - shellcheck
      if [[ "$tool_action" == use ]]; then log "$tool_note"; else apt_install shellcheck; fi ;;
    deploy) [[ ! -x "$DEPLOY_SETUP" ]] || "$DEPLOY_SETUP" ;;
    bench) "$ROOT/scripts/setup-bench-tools.sh" ;;
  esac
done
log "set-up done:${parts} (tool folder $TOOLS)"
