#!/usr/bin/env bash
# Installs what `make bench` needs, from the package registries only, into $TOOLS:
#   oha (crates.io; the HTTP load generator) in $TOOLS/bin, and $TOOLS/bench-venv with the pinned
#   Flask service, gunicorn and matplotlib (bench/requirements.txt). Idempotent: fast when done.
usage="usage: scripts/setup-bench-tools.sh   (no arguments; ENVAPP_TOOLS overrides the tool folder)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 0 ]] || die "$usage"
need cargo "install Rust with rustup (https://rustup.rs)"
need python3 "install Python 3 (Debian: apt-get install python3 python3-venv)"

OHA_VERSION=1.16.0
BENCH_VENV="$TOOLS/bench-venv"
mkdir -p "$TOOLS/bin"

# oha without its default TLS feature: the benchmark is plain HTTP on loopback, and rustls would
# double the build time.
if [[ "$("$TOOLS/bin/oha" --version 2>/dev/null)" == "oha $OHA_VERSION" ]]; then
  log "oha $OHA_VERSION already in $TOOLS/bin"
else
  log "cargo install oha $OHA_VERSION (about 3 minutes the first time)"
  cargo install --quiet --locked --no-default-features oha --version "$OHA_VERSION" --root "$TOOLS"
fi

[[ -x "$BENCH_VENV/bin/python" ]] || python3 -m venv "$BENCH_VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
# The stamp holds both requirement files, so a change to either reinstalls.
stamp="$BENCH_VENV/.requirements"
if ! cat "$ROOT/bench/requirements.txt" "$ROOT/bench/flask/requirements.txt" | cmp -s - "$stamp"; then
  log "pip install -r bench/requirements.txt into $BENCH_VENV"
  (cd "$ROOT/bench" && "$BENCH_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt)
  cat "$ROOT/bench/requirements.txt" "$ROOT/bench/flask/requirements.txt" >"$stamp"
else
  log "bench Python packages already in $BENCH_VENV"
fi
