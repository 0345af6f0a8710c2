#!/usr/bin/env bash
# From zero to curl on a wasm-enabled kind cluster (`make kind-up`, docs/kind.md):
#   local registry -> kind cluster with containerd-shim-spin (deploy/kind/cluster.yaml) -> registry wiring ->
#   each node's containerd checked -> metrics-server -> RuntimeClass -> push the app -> helm install dev and prod,
#   HPA at minReplicas -> port-forward + curl /env -> 3 pods on 3 nodes -> HPA reads CPU -> helm test.
# Safe to re-run: an existing registry, cluster and releases are reused (helm upgrade --install).
# Every step goes through run/run_stdin/capture/poll/note (scripts/kind-lib.sh), so `--dry-run` prints exactly what
# a real run executes, in order, and needs none of the tools. Runs on bash 3.2 (macOS) and newer.
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
SELECTOR="app.kubernetes.io/instance=$RELEASE"
# The registry as the nodes see it: hosts.toml maps localhost:5001 to kind-registry:5000 on the kind network.
HUB="localhost:$REG_PORT"
# Spin's own OCI artifact needs containerd 1.7.7 or newer on the node that pulls it (1.6 fails with "mismatched
# image rootfs and manifest layers"; docs/kind.md). The FROM scratch image of scripts/push.sh pulls everywhere.
SPIN_ARTIFACT_MIN_CONTAINERD="1.7.7"
# Bounded waits: the HPA scales a new Deployment from 1 to minReplicas within a minute or two; metrics-server
# reports a pod's CPU about a minute after it starts (two 15 s scrapes, then the HPA's 15 s sync).
READY_WAIT_SECONDS=180
METRIC_WAIT_SECONDS=300

# Publishing: Spin's own artifact when Spin is installed (the shim precompiles its wasm at pull time), otherwise
# the daemonless FROM-scratch image (scripts/push.sh: oci_image.py + skopeo, from the `make build` output). Both
# print REGISTRY/envapp@sha256:<hex> as their last line.
push_choice="${ENVAPP_PUSH:-auto}"
HINT_SPIN="install Spin (https://spinframework.dev/install)"
HINT_SKOPEO="install skopeo (Debian: apt-get install --no-install-recommends skopeo; macOS: brew install skopeo)"
case "$push_choice" in
  auto) push_with=image; command -v spin >/dev/null 2>&1 && push_with=spin ;;
  spin | image) push_with="$push_choice" ;;
  *) die "ENVAPP_PUSH must be auto, spin or image (got: $push_choice)" ;;
esac
if [[ "$push_with" == spin ]]; then
  push_tool="spin|$HINT_SPIN"
else
  # scripts/push.sh packs the built .wasm with scripts/oci_image.py (python3, checked below) and copies it with skopeo.
  push_tool="skopeo|$HINT_SKOPEO, or $HINT_SPIN"
fi

check_prereqs \
  "docker|$HINT_DOCKER" "kind|$HINT_KIND" "helm|$HINT_HELM" "kubectl|$HINT_KUBECTL" \
  "$push_tool" "curl|$HINT_CURL" "python3|$HINT_PYTHON"
if [[ ! -f "$WASM" ]]; then
  ((DRY_RUN)) || die "$WASM not found: run 'make build' first (the push scripts publish that file); nothing was changed"
  printf 'warning: %s not found: run make build before a real run\n' "$WASM" >&2
fi

k() { run kubectl --context "$KUBE_CONTEXT" "$@"; }
h() { run helm --kube-context "$KUBE_CONTEXT" "$@"; }
# The commands whose output a step reads, in full so the dry run shows them as they run.
KUBECTL=(kubectl --context "$KUBE_CONTEXT")

# Port-forwards run in the background; they are always stopped, whatever happens.
FORWARD_PIDS=""
FORWARD_DIR=""
stop_forwards() {
  local pid
  for pid in $FORWARD_PIDS; do kill "$pid" 2>/dev/null || true; done
  for pid in $FORWARD_PIDS; do wait "$pid" 2>/dev/null || true; done
  FORWARD_PIDS=""
  [[ -z "$FORWARD_DIR" ]] || rm -rf "$FORWARD_DIR"
  FORWARD_DIR=""
}
trap stop_forwards EXIT

# Values that steps below capture at run time (a dry run shows placeholders).
state="" nodes="" cri="" version="" network="" pushed="" minimum="" ready="" service="" body="" placed="" cpu=""

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
capture nodes "$DRY_RUN_NODES" kind get nodes --name "$CLUSTER"
[[ -n "$nodes" ]] || die "kind reports no nodes for cluster $CLUSTER"
for node in $nodes; do
  run docker exec "$node" mkdir -p "/etc/containerd/certs.d/$HUB"
  run_stdin deploy/kind/hosts.toml docker exec -i "$node" cp /dev/stdin "/etc/containerd/certs.d/$HUB/hosts.toml"
done

# expect_cri NODE JSON: the node's containerd, as it runs (the CRI plugin's effective config from `crictl info`),
# kept the runtimes kind's node config sets (kind images/base/files/etc/containerd/config.toml: runc, the default,
# and test-handler, both runc v2 with kind's base spec and the systemd cgroup driver its kubelet uses) and added
# spin as deploy/kind/cluster.yaml asks. A patch in the wrong config version's names loses some of them silently.
expect_cri() {
  local node="$1" info="$2"
  note "expect: $node's containerd keeps kind's runtimes runc and test-handler and runs spin as io.containerd.spin.v2 with SystemdCgroup = true"
  ((DRY_RUN)) && return 0
  python3 -c '
import json, sys
node, info = sys.argv[1], json.loads(sys.argv[2])
runtimes = info.get("config", {}).get("containerd", {}).get("runtimes", {})
wanted = {
    "runc": ("io.containerd.runc.v2", "/etc/containerd/cri-base.json"),
    "test-handler": ("io.containerd.runc.v2", "/etc/containerd/cri-base.json"),
    "spin": ("io.containerd.spin.v2", ""),
}
problems = []
for name, (runtime_type, base_spec) in wanted.items():
    runtime = runtimes.get(name)
    if runtime is None:
        problems.append(f"runtime {name} is missing")
        continue
    got_type, got_spec = runtime.get("runtimeType"), runtime.get("baseRuntimeSpec")
    if got_type != runtime_type:
        problems.append(f"{name}: runtime_type is {got_type!r}, expected {runtime_type!r}")
    if base_spec and got_spec != base_spec:
        problems.append(f"{name}: base_runtime_spec is {got_spec!r}, expected {base_spec!r}")
    if (runtime.get("options") or {}).get("SystemdCgroup") is not True:
        problems.append(f"{name}: SystemdCgroup is not true")
if problems:
    sys.exit(f"{node}: " + "; ".join(problems))
' "$node" "$info" \
    || die "containerd on node $node does not run the runtimes deploy/kind/cluster.yaml expects (is containerdConfigPatches written for the node's config version? docs/kind.md)"
}

# 4. Each node's containerd, as it runs: kind's runtimes intact, spin added (crictl ships in kind's node images).
for node in $nodes; do
  capture cri '<crictl info>' docker exec "$node" crictl info
  expect_cri "$node" "$cri"
done

# 5. The registry joins the kind network, once (guide, step 4).
capture network null docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$REG_NAME"
if [[ "$network" == null ]]; then
  run docker network connect kind "$REG_NAME"
fi

# 6. Document the registry in-cluster (guide, step 5; KEP-1755).
k apply -f deploy/kind/local-registry-hosting.yaml

# 7. metrics-server: the HPA's CPU source. kind's kubelets serve self-signed certificates, hence
# --kubelet-insecure-tls (kind's metrics-server example; the chart's `args` value adds to its defaultArgs).
h upgrade --install metrics-server metrics-server --repo "$METRICS_SERVER_REPO" --version "$METRICS_SERVER_VERSION" \
  --namespace kube-system --set 'args={--kubelet-insecure-tls}' --wait --timeout 5m

# 8. The RuntimeClass the chart's pods name (wasmtime-spin-v2 -> handler spin -> the spin runtime of step 2).
k apply -f runtime-class.yaml

# 9. Publish the app to the local registry; the last line of the push is REF@sha256:<hex>. Spin's artifact only
# when every node's containerd can pull it.
if [[ "$push_with" == spin ]]; then
  note "expect: every node's containerd is $SPIN_ARTIFACT_MIN_CONTAINERD or newer, as Spin's OCI artifact needs"
  for node in $nodes; do
    capture version "containerd $SPIN_ARTIFACT_MIN_CONTAINERD" docker exec "$node" containerd --version
    version="$(printf '%s\n' "$version" | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)"
    version_ge "${version:-0}" "$SPIN_ARTIFACT_MIN_CONTAINERD" && continue
    reason="node $node runs containerd ${version:-(unknown)}; Spin's OCI artifact needs $SPIN_ARTIFACT_MIN_CONTAINERD or newer"
    [[ "$push_choice" == auto ]] || die "$reason: use ENVAPP_PUSH=image (the FROM scratch image pulls on any containerd)"
    command -v skopeo >/dev/null 2>&1 || die "$reason, and the FROM scratch image needs skopeo: $HINT_SKOPEO"
    log "$reason: publishing the FROM scratch image instead"
    push_with=image
    break
  done
fi
# The chart's imageFormat follows the publisher: the FROM scratch image runs read-only as uid 65534 (Pod Security
# restricted); Spin's artifact needs uid 0, the owner of the image's root, where the shim writes /spin.json
# (allowRootForSpinArtifact, Pod Security baseline; chart/internal-service/values.yaml).
if [[ "$push_with" == spin ]]; then
  capture pushed "$HUB/envapp@sha256:<digest>" scripts/push-spin.sh "$HUB" --insecure
  image_format=spin allow_root=true
else
  capture pushed "$HUB/envapp@sha256:<digest>" scripts/push.sh "$HUB" --insecure
  image_format=scratch allow_root=false
fi
pushed="${pushed##*$'\n'}"
[[ "$pushed" == "$HUB/envapp@sha256:"* ]] || die "push did not end with $HUB/envapp@sha256:<hex> (got: $pushed)"
digest="${pushed#*@}"

# at_least_minimum N: N ready pods reach the HPA's minReplicas (the HPA may already have scaled past it).
at_least_minimum() { [[ "$1" =~ ^[0-9]+$ ]] && (($1 >= minimum)); }

# 10. dev and prod: the same chart and digest; the values files differ only in `prod`. With autoscaling on, the
# Deployment has no `replicas` and starts with one pod: wait until the HPA has brought it to minReplicas ready pods.
for env in dev prod; do
  h upgrade --install "$RELEASE" chart/internal-service --namespace "$env" --create-namespace \
    -f "chart/values-$env.yaml" --set "hub=$HUB" --set "digest=$digest" --set "imageFormat=$image_format" \
    --set "allowRootForSpinArtifact=$allow_root" --wait --timeout 5m
  k rollout status deployment --namespace "$env" --selector "$SELECTOR" --timeout 3m
  capture minimum '<minReplicas>' "${KUBECTL[@]}" --namespace "$env" get hpa --selector "$SELECTOR" \
    -o 'jsonpath={.items[*].spec.minReplicas}'
  ((DRY_RUN)) || [[ "$minimum" =~ ^[0-9]+$ ]] \
    || die "$env: expected one HorizontalPodAutoscaler for release $RELEASE, found minReplicas '$minimum'"
  note "wait: up to $READY_WAIT_SECONDS s until the HPA has brought the $env Deployment to minReplicas ready pods"
  poll ready '<ready pods>' "$READY_WAIT_SECONDS" at_least_minimum \
    "${KUBECTL[@]}" --namespace "$env" get deployment --selector "$SELECTOR" -o 'jsonpath={.items[*].status.readyReplicas}' \
    || die "$env: ${ready:-0} ready pods after ${READY_WAIT_SECONDS}s, the HPA's minReplicas is $minimum (kubectl --context $KUBE_CONTEXT -n $env describe hpa,deployment)"
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

# expect_spread ENV NODES: at least 3 running pods, on at least 3 distinct nodes (one per worker).
expect_spread() {
  local env="$1" names="$2" node pods=0 distinct
  note "expect: at least 3 running pods in $env, on 3 distinct nodes"
  ((DRY_RUN)) && return 0
  for node in $names; do pods=$((pods + 1)); done
  distinct="$(printf '%s\n' "$names" | tr ' ' '\n' | sort -u | grep -c .)" || true
  ((pods >= 3 && distinct >= 3)) \
    || die "pods in $env are not spread over nodes: $pods running pods on $distinct distinct nodes (${names:-none})"
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

# 11. Each Service answers through a port-forward on a free local port (kubectl picks it: `:http`), and the
# release's pods are spread over the workers.
for env in dev prod; do
  capture service "service/<$RELEASE service>" "${KUBECTL[@]}" --namespace "$env" \
    get service --selector "$SELECTOR" -o name
  forward=("${KUBECTL[@]}" --namespace "$env" port-forward "$service" :http --address 127.0.0.1)
  printf '%s &\n' "$(show "${forward[@]}")"
  port="<forwarded port>"
  if ! ((DRY_RUN)); then
    [[ -n "$FORWARD_DIR" ]] || FORWARD_DIR="$(mktemp -d)"
    "${forward[@]}" >"$FORWARD_DIR/$env.log" 2>&1 &
    FORWARD_PIDS="$FORWARD_PIDS $!"
    port="$(wait_forward "$FORWARD_DIR/$env.log")"
  fi
  capture body '<json>' curl -fsS --retry 5 --retry-connrefused --retry-delay 1 "http://127.0.0.1:$port/env"
  expect_env "$env" "$body"
  capture placed '<node> <node> <node>' "${KUBECTL[@]}" --namespace "$env" get pods \
    --selector "$SELECTOR" --field-selector status.phase=Running \
    -o 'jsonpath={.items[*].spec.nodeName}'
  expect_spread "$env" "$placed"
done
stop_forwards

# a_number TEXT: TEXT is a CPU utilization in percent (kubectl shows <unknown> while the HPA has none).
a_number() { [[ "$1" =~ ^[0-9]+$ ]]; }

# 12. The HPA reads the pods' CPU: without the spin runtime's SystemdCgroup = true, the kubelet finds no pod-level
# stats for wasm pods, metrics-server reports none and the HPA shows <unknown> forever (containerd-shim-spin#180).
for env in dev prod; do
  note "wait: up to $METRIC_WAIT_SECONDS s until the HPA in $env reads a CPU utilization (not <unknown>: containerd-shim-spin#180)"
  poll cpu '<percent>' "$METRIC_WAIT_SECONDS" a_number "${KUBECTL[@]}" --namespace "$env" get hpa --selector "$SELECTOR" \
    -o 'jsonpath={.items[*].status.currentMetrics[*].resource.current.averageUtilization}' \
    || die "$env: the HPA has read no CPU metric after ${METRIC_WAIT_SECONDS}s (kubectl --context $KUBE_CONTEXT top pods -n $env; docs/kind.md)"
  ((DRY_RUN)) || log "$env HPA reads CPU: $cpu%"
done

# 13. The chart's own test hook pods.
for env in dev prod; do
  h test "$RELEASE" --namespace "$env" --logs
done

if ((DRY_RUN)); then
  note "dry run: nothing was executed"
else
  log "envapp runs in dev and prod on kind cluster $CLUSTER (kubectl --context $KUBE_CONTEXT get pods -A)"
fi
