#!/usr/bin/env bash
# From zero to curl on a wasm-enabled kind cluster (`make kind-up`):
#   local registry -> kind cluster with containerd-shim-spin (deploy/kind/cluster.yaml) -> registry wiring ->
#   metrics-server -> RuntimeClass -> push the app -> helm install dev and prod -> port-forward + curl /env ->
#   pods on different nodes -> helm test.
# Safe to re-run: an existing registry, cluster and releases are reused (helm upgrade --install).
# Every step goes through run/capture/probe (scripts/kind-lib.sh), so `--dry-run` prints exactly what a real run
# executes, in order, and needs none of the tools.
usage="usage: scripts/kind-up.sh [--dry-run]   (make kind-up, make kind-up DRY_RUN=1)
  --dry-run   print every command, one per line prefixed '+ ', as run on a machine with nothing created yet;
              run nothing (docker and kind need not be installed). '<...>' stands for values known only at run time.
  env: ENVAPP_KIND_CLUSTER (default envapp) names the kind cluster; kubectl and helm use its context kind-<name>.
       ENVAPP_PUSH=auto|spin|image (default auto: spin when installed, else scripts/push.sh) picks the publisher."
set -euo pipefail
# shellcheck source=scripts/kind-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/kind-lib.sh"

parse_dry_run_arg "$usage" "$@"
cd "$ROOT"

# The metrics-server chart, pinned: 3.13.1 (2026-02-27, metrics-server 0.8.1) is the newest release in the chart's
# CHANGELOG (kubernetes-sigs/metrics-server charts/metrics-server/CHANGELOG.md). The HPA of the chart needs it.
METRICS_SERVER_REPO="https://kubernetes-sigs.github.io/metrics-server/"
METRICS_SERVER_VERSION="3.13.1"
RELEASE="envapp"
# The registry as the nodes see it: hosts.toml maps localhost:5001 to kind-registry:5000 on the kind network.
HUB="localhost:$REG_PORT"

# Publishing: Spin's own artifact when Spin is installed (the shim precompiles its wasm at pull time), otherwise
# the daemonless FROM-scratch image (scripts/push.sh: oci_image.py + skopeo, from the `make build` output). Both print REGISTRY/envapp@sha256:<hex> as their last line.
push_with="${ENVAPP_PUSH:-auto}"
if [[ "$push_with" == auto ]]; then
  push_with=image
  command -v spin >/dev/null 2>&1 && push_with=spin
fi
if [[ "$push_with" == spin ]]; then
  PUSH=(scripts/push-spin.sh "$HUB" --insecure)
  PUSH_TOOLS=("spin|install Spin (https://github.com/spinframework/spin/releases)")
elif [[ "$push_with" == image ]]; then
  PUSH=(scripts/push.sh "$HUB" --insecure)
  # scripts/push.sh packs the built .wasm with scripts/oci_image.py (python3, checked below) and copies it with skopeo.
  PUSH_TOOLS=("skopeo|install skopeo (Debian: apt-get install --no-install-recommends skopeo), or install Spin (https://github.com/spinframework/spin/releases)")
else
  die "ENVAPP_PUSH must be auto, spin or image (got: $push_with)"
fi

check_prereqs \
  "docker|$HINT_DOCKER" "kind|$HINT_KIND" "helm|$HINT_HELM" "kubectl|$HINT_KUBECTL" \
  "${PUSH_TOOLS[@]}" "curl|$HINT_CURL" "python3|$HINT_PYTHON"
if [[ ! -f "$WASM" ]]; then
  ((DRY_RUN)) || die "$WASM not found: run 'make build' first (the push scripts publish that file); nothing was changed"
  printf 'warning: %s not found: run make build before a real run\n' "$WASM" >&2
fi

k() { run kubectl --context "$KUBE_CONTEXT" "$@"; }
h() { run helm --kube-context "$KUBE_CONTEXT" "$@"; }

# Port-forwards run in the background; they are always stopped, whatever happens.
FORWARD_PIDS=()
FORWARD_LOGS=()
stop_forwards() {
  local pid
  for pid in "${FORWARD_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${FORWARD_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  ((${#FORWARD_LOGS[@]} == 0)) || rm -f "${FORWARD_LOGS[@]}"
}
trap stop_forwards EXIT

# Values that steps below capture at run time (a dry run shows placeholders).
state="" network="" pushed="" service="" body="" placed=""

# 1. Local registry container (kind local-registry guide, step 1), bound to 127.0.0.1 only.
registry_state state
case "$state" in
  running) log "registry container $REG_NAME is running: reusing it" ;;
  "") run docker run -d --restart=always -p "127.0.0.1:$REG_PORT:5000" --network bridge --name "$REG_NAME" \
        --label "$REG_LABEL_KEY=$REG_LABEL_VALUE" "$REG_IMAGE" ;;
  *) run docker start "$REG_NAME" ;;
esac

# 2. The cluster: shim node image, spin runtime, registry config dir (deploy/kind/cluster.yaml).
if cluster_exists; then
  log "kind cluster $CLUSTER exists: reusing it"
else
  run kind create cluster --name "$CLUSTER" --config deploy/kind/cluster.yaml
fi

# 3. Every node resolves localhost:5001 to the registry container (guide, step 3).
show kind get nodes --name "$CLUSTER"
mapfile -t nodes < <(kind_nodes)
((${#nodes[@]} > 0)) || die "kind reports no nodes for cluster $CLUSTER"
for node in "${nodes[@]}"; do
  run docker exec "$node" mkdir -p "/etc/containerd/certs.d/$HUB"
  run_stdin deploy/kind/hosts.toml docker exec -i "$node" cp /dev/stdin "/etc/containerd/certs.d/$HUB/hosts.toml"
done

# 4. The registry joins the kind network, once (guide, step 4).
capture network null docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$REG_NAME"
if [[ "$network" == null ]]; then
  run docker network connect kind "$REG_NAME"
fi

# 5. Document the registry in-cluster (guide, step 5; KEP-1755).
k apply -f deploy/kind/local-registry-hosting.yaml

# 6. metrics-server: the HPA's CPU source. kind's kubelets serve self-signed certificates, hence
# --kubelet-insecure-tls (kind's metrics-server example; the chart's `args` value adds to its defaultArgs).
h upgrade --install metrics-server metrics-server --repo "$METRICS_SERVER_REPO" --version "$METRICS_SERVER_VERSION" \
  --namespace kube-system --set 'args={--kubelet-insecure-tls}' --wait --timeout 5m

# 7. The RuntimeClass the chart's pods name (wasmtime-spin-v2 -> handler spin -> the spin runtime of step 2).
k apply -f runtime-class.yaml

# 8. Publish the app to the local registry; the last line of the push is REF@sha256:<hex>.
capture pushed "$HUB/envapp@sha256:<digest>" "${PUSH[@]}"
pushed="${pushed##*$'\n'}"
[[ "$pushed" == "$HUB/envapp@sha256:"* ]] || die "push did not end with $HUB/envapp@sha256:<hex> (got: $pushed)"
digest="${pushed#*@}"

# 9. dev and prod: the same chart and digest; the values files differ only in `prod`.
for env in dev prod; do
  h upgrade --install "$RELEASE" chart/internal-service --namespace "$env" --create-namespace \
    -f "chart/values-$env.yaml" --set "hub=$HUB" --set "digest=$digest" --wait --timeout 5m
  k rollout status deployment --namespace "$env" --selector "app.kubernetes.io/instance=$RELEASE" --timeout 3m
done

# expect_env ENV JSON: the component's answer names the environment it runs in.
expect_env() {
  local env="$1" body="$2" want=false
  [[ "$env" == prod ]] && want=true
  note "expect: GET /env in $env answers \"PROD\": \"$want\", with NODE_NAME and POD_NAME"
  ((DRY_RUN)) && return 0
  python3 -c '
import json, sys
env, want, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
got = body.get("PROD")
assert got == want, f"{env}: PROD is {got!r}, expected {want!r}"
for key in ("NODE_NAME", "POD_NAME"):
    assert body.get(key), f"{env}: {key} missing from /env"
' "$env" "$want" "$body" || die "GET /env in $env: unexpected answer: $body"
}

# expect_spread ENV NODES: the release's running pods sit on different nodes (as many as there are workers).
expect_spread() {
  local env="$1" names="$2"
  note "expect: the running pods in $env are on different nodes"
  ((DRY_RUN)) && return 0
  python3 -c '
import sys
env, nodes = sys.argv[1], sys.argv[2].split()
assert nodes, f"{env}: no running pods"
assert len(set(nodes)) >= min(len(nodes), 3), f"{env}: pods share nodes: {nodes}"
' "$env" "$names" || die "pods in $env are not spread over nodes: $names"
  log "$env pods on: $names"
}

# wait_forward LOG: the local port kubectl picked, once the forward is up.
wait_forward() {
  local file="$1" port="" _
  for _ in $(seq 1 30); do
    port="$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$file" | head -n 1)"
    [[ -n "$port" ]] && { printf '%s\n' "$port"; return 0; }
    sleep 1
  done
  die "kubectl port-forward did not start: $(cat "$file")"
}

# 10. Each Service answers through a port-forward on a free local port (kubectl picks it: `:http`).
for env in dev prod; do
  capture service "service/<$RELEASE service>" kubectl --context "$KUBE_CONTEXT" --namespace "$env" \
    get service --selector "app.kubernetes.io/instance=$RELEASE" -o name
  forward=(kubectl --context "$KUBE_CONTEXT" --namespace "$env" port-forward "$service" :http --address 127.0.0.1)
  printf '%s &\n' "$(show "${forward[@]}")"
  port="<forwarded port>"
  if ! ((DRY_RUN)); then
    FORWARD_LOGS+=("$(mktemp)")
    "${forward[@]}" >"${FORWARD_LOGS[-1]}" 2>&1 &
    FORWARD_PIDS+=("$!")
    port="$(wait_forward "${FORWARD_LOGS[-1]}")"
  fi
  capture body '<json>' curl -fsS --retry 5 --retry-connrefused --retry-delay 1 "http://127.0.0.1:$port/env"
  expect_env "$env" "$body"
  capture placed '<node> <node> <node>' kubectl --context "$KUBE_CONTEXT" --namespace "$env" get pods \
    --selector "app.kubernetes.io/instance=$RELEASE" --field-selector status.phase=Running \
    -o 'jsonpath={.items[*].spec.nodeName}'
  expect_spread "$env" "$placed"
done
stop_forwards
FORWARD_PIDS=()
FORWARD_LOGS=()

# 11. The chart's own test hook pods.
for env in dev prod; do
  h test "$RELEASE" --namespace "$env" --logs
done

if ((DRY_RUN)); then
  note "dry run: nothing was executed"
else
  log "envapp runs in dev and prod on kind cluster $CLUSTER (kubectl --context $KUBE_CONTEXT get pods -A)"
fi
