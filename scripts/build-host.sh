#!/usr/bin/env bash
# Builds envapp-host, the dev host that serves the component when Spin is not installed. `make up` and the
# tests run it on first use; afterwards cargo rebuilds only when host/ changed (a second or so when nothing did).
# It is a tool, so it builds outside the clone ($TOOLS/host-target): a second clone rebuilds nothing.
usage="usage: scripts/build-host.sh"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 0 ]] || die "$usage"
need cargo "install Rust with rustup (https://rustup.rs)"
[[ -x "$HOST_BIN" ]] || log "building envapp-host into $TOOLS/host-target (about 10 minutes the first time)"
cargo build --quiet --release --locked --manifest-path "$ROOT/host/Cargo.toml" --target-dir "$TOOLS/host-target"
