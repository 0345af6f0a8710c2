#!/usr/bin/env bash
# Collects what explains a failed `make kind-up` into DIR (the e2e workflow uploads it; docs/kind.md "When it
# fails"): the releases as Kubernetes sees them, events, helm's view, and from each node the CRI config containerd
# runs (crictl info) and containerd's journal, where containerd-shim-spin's errors end up (a failing wasm pod shows
# exit 137 and empty `kubectl logs`). Every step is best effort: a missing cluster or tool is noted, not fatal.
usage="usage: deploy/kind/diagnostics.sh DIR   (ENVAPP_KIND_CLUSTER names the cluster, default envapp)"
set -euo pipefail

[[ $# -eq 1 && "$1" != -* ]] || { printf '%s\n' "$usage" >&2; exit 2; }
out="$1"
cluster="${ENVAPP_KIND_CLUSTER:-envapp}"
context="kind-$cluster"
mkdir -p "$out"

# collect FILE CMD...: CMD's output and errors into DIR/FILE, with the command on the first line.
collect() {
  local file="$out/$1"
  shift
  { printf '$ %s\n' "$*"; "$@"; } >"$file" 2>&1 || printf '(exit %s)\n' "$?" >>"$file"
}

collect nodes.txt kubectl --context "$context" get nodes -o wide
collect pods.txt kubectl --context "$context" get pods --all-namespaces -o wide
collect events.txt kubectl --context "$context" get events --all-namespaces --sort-by=.lastTimestamp
collect top-pods.txt kubectl --context "$context" top pods --all-namespaces
collect helm-list.txt helm --kube-context "$context" list --all-namespaces
for env in dev prod; do
  collect "get-$env.txt" kubectl --context "$context" --namespace "$env" get all,hpa,pdb,networkpolicy -o wide
  collect "describe-$env.txt" kubectl --context "$context" --namespace "$env" describe deployment,replicaset,pod,hpa,service
  collect "helm-status-$env.txt" helm --kube-context "$context" status envapp --namespace "$env" --show-resources
done
collect describe-kube-system.txt kubectl --context "$context" --namespace kube-system describe deployment metrics-server
for node in $(kind get nodes --name "$cluster" 2>/dev/null); do
  collect "crictl-info-$node.json" docker exec "$node" crictl info
  collect "containerd-config-$node.toml" docker exec "$node" cat /etc/containerd/config.toml
  collect "containerd-journal-$node.log" docker exec "$node" journalctl -u containerd --no-pager
done
collect kind-export-logs.txt kind export logs "$out/kind-logs" --name "$cluster"
echo "diagnostics in $out"
