#!/usr/bin/env bash
# The end-to-end checks of deploy/kind/e2e (`make e2e`; `make kind-up` runs them last): real requests against the
# cluster of a kube context, where `make kind-up` (or your GitOps) installed envapp in dev and prod. They read the
# releases, curl them through port-forward, run `helm test`, and install a release of their own in the namespace
# envapp-e2e to disrupt (rolling upgrade, deleted pod, drained node, HPA scale-up and down) and uninstall.
usage="usage: deploy/kind/e2e.sh [--context CONTEXT] [PYTEST_ARGS...]   (make e2e [E2E_CONTEXT=...])
  --context   the kube context to check (default: kubectl's current context)
  env: ENVAPP_E2E_DRAIN=1 also drains a node on a cluster that is not kind (on kind it always does)."
set -euo pipefail
# shellcheck source=deploy/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

context=""
case "${1:-}" in
  -h | --help) printf '%s\n' "$usage"; exit 0 ;;
  --context)
    [[ $# -ge 2 && -n "$2" ]] || die "$usage"
    context="$2"
    shift 2 ;;
esac
check_prereqs "kubectl|$HINT_KUBECTL" "helm|$HINT_HELM" "python3|$HINT_PYTHON"
cd "$ROOT"

if [[ -z "$context" ]]; then
  context="$(kubectl config current-context 2>/dev/null)" \
    || die "kubectl has no current context: name one with --context (make e2e E2E_CONTEXT=kind-envapp)"
fi
pip_requirements "$VENV" "$ROOT/tests/requirements.txt"
log "end-to-end checks against kube context $context"
ENVAPP_E2E_CONTEXT="$context" exec "$VENV/bin/pytest" -p no:cacheprovider -rs deploy/kind/e2e "$@"
