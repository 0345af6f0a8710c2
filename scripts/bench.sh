#!/usr/bin/env bash
# The benchmark (`make bench`, `make bench-smoke`): the shipped .wasm on envapp-host, the same logic as
# a native Rust server, and the seed's Flask service, side by side on loopback with wrk.
# Builds (or finds built) everything first, then runs bench/run.py, which writes latest.md/.png/.json.
usage="usage: scripts/bench.sh [--smoke] [--out DIR] [--runs N] [--duration SECONDS] [--levels 1,8,32]
  (default: 3 runs x 6 s at 1, 8 and 32 connections into bench/results, about 3 minutes;
   --smoke: 1 run x 1 s at 1 and 8 connections, about 15 seconds)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "${1:-}" != -h && "${1:-}" != --help ]] || { echo "$usage"; exit 0; }
[[ "$(uname -s)" == Linux ]] || die "the benchmark reads /proc for memory: Linux only"
need cargo "install Rust with rustup (https://rustup.rs)"

"$ROOT/scripts/setup-bench-tools.sh"
"$ROOT/scripts/build.sh"
# Always run it: a no-op when the host is up to date, a rebuild when host/ changed.
"$ROOT/scripts/build-host.sh" || die "envapp-host did not build; build it with: scripts/build-host.sh"
log "building the native server (bench/native)"
cargo build --quiet --release --locked --manifest-path "$ROOT/bench/native/Cargo.toml" --target-dir "$TOOLS/bench-target"

export BENCH_ROOT="$ROOT" BENCH_WASM="$WASM" BENCH_HOST_BIN="$HOST_BIN" \
  BENCH_NATIVE_BIN="$TOOLS/bench-target/release/envapp-native" BENCH_WRK=wrk
exec "$TOOLS/bench-venv/bin/python" "$ROOT/bench/run.py" "$@"
