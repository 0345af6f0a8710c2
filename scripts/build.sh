#!/usr/bin/env bash
# Builds the component: target/wasm32-wasip1/release/envapp.wasm, the file spin.toml names.
# With rustup's wasm32-wasip1 target this is exactly spin.toml's build command; machines set up by
# scripts/wasm-fallback.sh use that route instead.
usage="usage: scripts/build.sh"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 0 ]] || die "$usage"
cd "$ROOT"
if [[ "${ENVAPP_WASM_ROUTE:-}" != fallback ]] && rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
  cargo build --target wasm32-wasip1 --release
elif [[ -f "$TOOLS/wasm-fallback/env.sh" ]]; then
  "$ROOT/scripts/wasm-fallback.sh" build
else
  die "no wasm32-wasip1 toolchain: run 'make setup' (or 'rustup target add wasm32-wasip1')"
fi
log "built $WASM ($(stat -c %s "$WASM") bytes)"
