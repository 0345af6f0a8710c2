#!/usr/bin/env bash
# Serves the built component on $LISTEN (default 127.0.0.1:3000): with `spin up` when Spin is
# installed, else with envapp-host, which runs the same .wasm the way Spin does (built here on first use).
# PROD=true (or false) is handed in as the Spin variable `prod`, as containerd-shim-spin does in a pod.
usage="usage: [PROD=true|false] [LISTEN=addr:port] scripts/up.sh [-- extra spin up / envapp-host args, e.g. --env K=V]"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "${1:-}" != -h && "${1:-}" != --help ]] || { echo "$usage"; exit 0; }
[[ "${1:-}" != -- ]] || shift
listen="${LISTEN:-127.0.0.1:3000}"
[[ -f "$WASM" ]] || die "$WASM not built: run 'make build'"
[[ -z "${PROD:-}" ]] || export SPIN_VARIABLE_PROD="$PROD"

cd "$ROOT"
if command -v spin >/dev/null 2>&1; then
  log "spin up on http://$listen"
  exec spin up --listen "$listen" "$@"
fi
log "Spin not installed: serving with envapp-host (install Spin to use spin up: https://spinframework.dev)"
# Built on first use, rebuilt when host/ changed (cargo decides; a second when nothing did).
"$ROOT/scripts/build-host.sh"
exec "$HOST_BIN" --listen "$listen" "$@" spin.toml
