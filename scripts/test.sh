#!/usr/bin/env bash
# The whole test suite (`make test`, run by .ci/run): host unit tests, then everything in tests/
# against the real things: the built .wasm on a real host over HTTP, real helm, a real OCI registry.
usage="usage: scripts/test.sh [pytest args, e.g. tests/http -k redact]"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "${1:-}" != -h && "${1:-}" != --help ]] || { echo "$usage"; exit 0; }
need pytest "run 'make setup' first"
cd "$ROOT"
log "unit tests: the component's logic"
cargo test --quiet
log "unit tests: the dev host (release profile, so it reuses the built dependencies)"
cargo test --quiet --release --locked --manifest-path host/Cargo.toml --target-dir "$TOOLS/host-target"
log "building the component and the dev host"
scripts/build.sh
scripts/build-host.sh
log "integration tests"
pytest -q -p no:cacheprovider "${@:-tests}"
