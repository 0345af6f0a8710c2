#!/usr/bin/env bash
# Removes what deploy/kind/up.sh created (`make kind-down`): the kind cluster and the local registry container,
# and only those. The registry container is removed only when kind-up started it (it carries kind-up's label); a
# kind-registry of your own is left alone. Safe to run when either is already gone.
usage="usage: deploy/kind/down.sh [--dry-run]   (make kind-down)
  --dry-run   print every command, one per line prefixed '+ ', as run when both exist; run nothing.
  env: ENVAPP_KIND_CLUSTER (default envapp) names the kind cluster."
set -euo pipefail
# shellcheck source=deploy/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_dry_run_arg "$usage" "$@"
cd "$ROOT"

check_prereqs "docker|$HINT_DOCKER" "kind|$HINT_KIND"

# A dry run shows the teardown of a full setup, so its queries answer "present".
clusters="" ours=""
capture clusters "$CLUSTER" kind get clusters
if grep -qx "$CLUSTER" <<<"$clusters"; then
  run kind delete cluster --name "$CLUSTER"
else
  log "no kind cluster $CLUSTER: nothing to delete"
fi

capture ours "$REG_NAME" docker ps --all --filter "name=^${REG_NAME}\$" \
  --filter "label=$REG_LABEL_KEY=$REG_LABEL_VALUE" --format '{{.Names}}'
if [[ "$ours" == "$REG_NAME" ]]; then
  run docker rm -f "$REG_NAME"
else
  log "no $REG_NAME container started by up.sh: nothing to remove"
fi

((DRY_RUN)) && note "dry run: nothing was executed"
exit 0
