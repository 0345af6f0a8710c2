#!/usr/bin/env bash
# Installs what `make bench` needs, from the package registries only:
#   wrk (Debian; the HTTP load generator), and $TOOLS/bench-venv with the pinned
#   Flask service, gunicorn and matplotlib (bench/requirements.txt). Idempotent: fast when done.
usage="usage: scripts/setup-bench-tools.sh   (no arguments; ENVAPP_TOOLS overrides the tool folder)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 0 ]] || die "$usage"
need python3 "install Python 3 (Debian: apt-get install python3 python3-venv)"

BENCH_VENV="$TOOLS/bench-venv"

# wrk (Debian): a C load generator, so it takes little of the CPU the servers need on a small
# machine, and installs in seconds (crates.io's oha takes about 9 minutes to build here).
if ! command -v wrk >/dev/null 2>&1; then
  need apt-get "install wrk with your package manager"
  sudo=()
  [[ $EUID -eq 0 ]] || sudo=(sudo)
  log "apt-get install wrk"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends wrk >&2
else
  log "wrk already installed"
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
