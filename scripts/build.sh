#!/usr/bin/env bash
# Builds the component: target/wasm32-wasip1/release/envapp.wasm, the file spin.toml names.
# With a wasm32-wasip1 target in the Rust toolchain (rustup's) this is exactly spin.toml's build command;
# machines set up with scripts/wasm-fallback.sh use that route instead. lib.sh's wasm_build decides.
usage="usage: scripts/build.sh"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 0 ]] || die "$usage"
need cargo "install Rust with rustup (https://rustup.rs), then: rustup target add wasm32-wasip1"
wasm_build "$ROOT/Cargo.toml"
log "built $WASM ($(wc -c <"$WASM" | tr -d ' ') bytes)"
