#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine, from the package registries only
# (crates.io, PyPI, Debian apt, npm). Idempotent: each step checks first and is fast when done.
# Users with rustup's wasm32-wasip1 target and Spin do not need it for `spin build --up`.
usage="usage: scripts/setup.sh   (no arguments; ENVAPP_TOOLS overrides the tool folder, default ~/.cache/envapp)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 0 ]] || die "$usage"
need cargo "install Rust with rustup (https://rustup.rs)"
need python3 "install Python 3 (Debian: apt-get install python3 python3-venv)"
mkdir -p "$TOOLS/bin"

# The wasm32-wasip1 target: rustup's, as every Spin user has it; else scripts/wasm-fallback.sh
# builds std from source with Debian's Rust and zig's wasi-libc (see that script for why).
setup_wasm_target() {
  if [[ "${ENVAPP_WASM_ROUTE:-}" != fallback ]] && rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
    log "rustup target wasm32-wasip1 already installed"
  # The download may be refused or hang where only the package registries are reachable: bound it.
  elif [[ "${ENVAPP_WASM_ROUTE:-}" != fallback ]] && timeout 300 rustup target add wasm32-wasip1 >&2; then
    log "rustup target wasm32-wasip1 installed"
  else
    log "rustup cannot provide wasm32-wasip1 here: setting up the fallback route"
    "$ROOT/scripts/wasm-fallback.sh" setup
  fi
}

apt_install shellcheck unzip
setup_wasm_target
pip_requirements "$VENV" "$ROOT/tests/requirements.txt"
"$ROOT/scripts/setup-k8s-tools.sh"
"$ROOT/scripts/setup-registry-tools.sh"
[[ ! -x "$ROOT/scripts/setup-bench-tools.sh" ]] || "$ROOT/scripts/setup-bench-tools.sh"
"$ROOT/scripts/build-host.sh"
log "setup done: tools in $TOOLS"
