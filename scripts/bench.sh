#!/usr/bin/env bash
# The benchmark (`make bench`, `make bench-smoke`): envapp and the floor component (bench/floor) on every wasm
# host there is -- envapp-host always, `spin up` when spin is on PATH, containerd-shim-spin under a private
# containerd when containerd, ctr and containerd-shim-spin-v2 are on PATH (as root) -- next to the same logic as
# a native Rust server and the seed's Flask service, on loopback with wrk, servers and wrk on separate CPUs.
# Builds (or finds built) everything first, then runs bench/run.py, which writes latest.md/.png/.json.
usage="usage: scripts/bench.sh [--smoke] [--out DIR] [--runs N] [--duration SECONDS] [--levels 1,8,32]
                       [--servers envapp-host,spin,shim,native,flask or e.g. shim:envapp]
  (default: 3 runs x 6 s at 1, 8 and 32 connections of every server available, into target/bench:
   about 5 minutes with envapp-host only, 10 with spin and the shim too;
   --smoke: 1 run x 1 s at 1 and 8 connections, into target/bench/smoke, about a minute once built;
   --out bench/results refreshes the committed report)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "${1:-}" != -h && "${1:-}" != --help ]] || { echo "$usage"; exit 0; }
[[ "$(uname -s)" == Linux ]] || die "the benchmark reads /proc for memory and pins CPUs with taskset: Linux only"
need cargo "install Rust with rustup (https://rustup.rs)"
need taskset "install util-linux (Debian: apt-get install util-linux), which has taskset"

"$ROOT/scripts/setup-bench-tools.sh"
"$ROOT/scripts/build.sh"
# Always run it: a no-op when the host is up to date, a rebuild when host/ changed.
"$ROOT/scripts/build-host.sh" || die "envapp-host did not build; build it with: scripts/build-host.sh"
log "building the floor component (bench/floor)"
wasm_build "$ROOT/bench/floor/Cargo.toml" --locked --quiet
log "building the native server (bench/native)"
cargo build --quiet --release --locked --manifest-path "$ROOT/bench/native/Cargo.toml" --target-dir "$TOOLS/bench-target"

export BENCH_ROOT="$ROOT" BENCH_WASM="$WASM" BENCH_HOST_BIN="$HOST_BIN" \
  BENCH_NATIVE_BIN="$TOOLS/bench-target/release/envapp-native" BENCH_WRK=wrk
exec "$TOOLS/bench-venv/bin/python" "$ROOT/bench/run.py" "$@"
