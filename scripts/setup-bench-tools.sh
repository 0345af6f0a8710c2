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
apt_install wrk

# bench/requirements.txt includes bench/flask/requirements.txt; both are stamped, so a change to either reinstalls.
pip_requirements "$BENCH_VENV" "$ROOT/bench/requirements.txt" "$ROOT/bench/flask/requirements.txt"
