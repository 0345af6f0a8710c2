#!/usr/bin/env bash
# What `make bench` needs: wrk, the HTTP load generator (the machine's when 4.x, else Debian's package:
# apt-get, system-wide, no service), and $TOOLS/bench-venv with the pinned Flask service, gunicorn and
# matplotlib (bench/requirements.txt). --check says what would be used or installed and changes nothing.
# Idempotent: fast when done.
usage="usage: scripts/setup-bench-tools.sh [--check]   (ENVAPP_TOOLS overrides the tool folder)"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_setup_args "$usage" "" "$@"
need python3 "install Python 3.11 or newer:"$'\n'"$(install_hint python3)"

BENCH_VENV="$TOOLS/bench-venv"

# wrk: a C load generator, so it takes little of the CPU the servers need on a small machine, and installs in
# seconds (crates.io's oha takes about 9 minutes to build here).
resolve_tool - wrk
if [[ "$tool_action" == use ]]; then
  log "$tool_note"
elif can_apt; then
  log "$tool_note: will apt-get install wrk (system-wide, no service)"
  [[ -n "$check" ]] || apt_install wrk
else
  die "$tool_note; set-up installs it only with apt-get as root (or sudo); nothing was changed. Install it yourself:"$'\n'"$(install_hint wrk)"
fi
[[ -z "$check" ]] || exit 0

# bench/requirements.txt includes bench/flask/requirements.txt; both are stamped, so a change to either reinstalls.
pip_requirements "$BENCH_VENV" "$ROOT/bench/requirements.txt" "$ROOT/bench/flask/requirements.txt"
