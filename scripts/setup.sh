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

# apt_install PKG...: installs the Debian packages that are missing, and nothing when none is.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  need apt-get "install ${missing[*]} with your package manager (Debian names)"
  local sudo=()
  [[ $EUID -eq 0 ]] || sudo=(sudo)
  log "apt-get install ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

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

setup_python() {
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  local stamp="$VENV/.requirements"
  if ! cmp -s "$ROOT/tests/requirements.txt" "$stamp"; then
    log "pip install -r tests/requirements.txt into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/tests/requirements.txt"
    cp "$ROOT/tests/requirements.txt" "$stamp"
  else
    log "python test dependencies already in $VENV"
  fi
}

apt_install shellcheck unzip
setup_wasm_target
setup_python
"$ROOT/scripts/setup-k8s-tools.sh"
"$ROOT/scripts/setup-registry-tools.sh"
[[ ! -x "$ROOT/scripts/setup-bench-tools.sh" ]] || "$ROOT/scripts/setup-bench-tools.sh"
"$ROOT/scripts/build-host.sh"
log "setup done: tools in $TOOLS"
