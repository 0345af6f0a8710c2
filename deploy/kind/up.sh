#!/usr/bin/env bash
# From zero to curl on a wasm-enabled kind cluster (`make kind-up`, docs/kind.md):
#   local registry -> kind cluster with containerd-shim-spin (cluster.yaml) -> registry wiring -> each node's
#   containerd checked -> images you load (air-gapped) -> metrics-server (or the metrics API you serve) ->
#   RuntimeClass -> push the app -> namespaces enforcing Pod Security restricted -> helm install dev and prod, HPA at
#   minReplicas -> the end-to-end checks of this folder (e2e.sh: curl through port-forward, spread, helm test,
#   disruptions without lost requests, the HPA, uninstall).
# Safe to re-run: an existing registry, cluster and releases are reused (helm upgrade --install).
# Every step goes through run/run_stdin/capture/poll/note (lib.sh), so `--dry-run` prints exactly what a real run
# executes, in order, and needs none of the tools. Runs on bash 3.2 (macOS) and newer.
usage="usage: deploy/kind/up.sh [--dry-run]   (make kind-up, make kind-up DRY_RUN=1)
  --dry-run   print every command, one per line prefixed '+ ', as run on a machine with nothing created yet;
              run nothing (docker and kind need not be installed). '<...>' stands for values known only at run time.
  env: ENVAPP_KIND_CLUSTER (default envapp) names the kind cluster; kubectl and helm use its context kind-<name>.
       ENVAPP_PUSH=image|spin (default image: scripts/push.sh; spin: Spin's own artifact, run as uid 0) picks the
         publisher.
       Air-gapped (docs/kind.md):
       ENVAPP_KIND_IMAGES='FILE|IMAGE ...' loads each image archive (kind load image-archive) or image of your
         Docker (kind load docker-image) into every node first: metrics-server's, the helm-test image, ...
       ENVAPP_METRICS_SERVER_CHART=PATH|oci://REF installs metrics-server from that chart instead of its upstream
         repository (ENVAPP_METRICS_SERVER_VERSION sets the version of an oci:// chart)."
set -euo pipefail
# shellcheck source=deploy/kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_dry_run_arg "$usage" "$@"
cd "$ROOT"

# The metrics-server chart, pinned: 3.13.1 (2026-02-27, metrics-server 0.8.1) is the newest release in the chart's
# CHANGELOG (kubernetes-sigs/metrics-server charts/metrics-server/CHANGELOG.md). The HPA of the chart needs it.
METRICS_SERVER_REPO="https://kubernetes-sigs.github.io/metrics-server/"
METRICS_SERVER_VERSION="3.13.1"
METRICS_SERVER_CHART="${ENVAPP_METRICS_SERVER_CHART:-}"
# The API metrics-server serves; the HPA reads pods' CPU from it.
METRICS_API="v1beta1.metrics.k8s.io"
RELEASE="envapp"
SELECTOR="app.kubernetes.io/instance=$RELEASE"
# The registry as the nodes see it: hosts.toml maps localhost:5001 to kind-registry:5000 on the kind network.
HUB="localhost:$REG_PORT"
# Both images have layers that are not file system layers (the .wasm, for the shim to precompile), which containerd
# pulls from 1.7.7 on (1.6 fails with "mismatched image rootfs and manifest layers"; docs/kind.md).
MIN_CONTAINERD="1.7.7"
# Bounded wait: the HPA scales a new Deployment from 1 to minReplicas within a minute or two.
READY_WAIT_SECONDS=180

# Publishing: the daemonless image of scripts/push.sh (oci_image.py + skopeo, from the `make build` output), which
# runs read-only as uid 65534, or with ENVAPP_PUSH=spin Spin's own artifact, which runs as uid 0. Both print
# REGISTRY/envapp@sha256:<hex> as their last line, and the shim precompiles the .wasm of both once per node.
push_with="${ENVAPP_PUSH:-image}"
HINT_SPIN="install Spin (https://spinframework.dev/install)"
HINT_SKOPEO="install skopeo (Debian: apt-get install --no-install-recommends skopeo; macOS: brew install skopeo)"
case "$push_with" in
  # scripts/push.sh packs the built .wasm with scripts/oci_image.py (python3, checked below) and copies it with skopeo.
  image) push_tool="skopeo|$HINT_SKOPEO" ;;
  spin) push_tool="spin|$HINT_SPIN" ;;
  *) die "ENVAPP_PUSH must be image or spin (got: $push_with)" ;;
esac

check_prereqs \
  "docker|$HINT_DOCKER" "kind|$HINT_KIND" "helm|$HINT_HELM" "kubectl|$HINT_KUBECTL" \
  "$push_tool" "python3|$HINT_PYTHON"
if [[ ! -f "$WASM" ]]; then
  ((DRY_RUN)) || die "$WASM not found: run 'make build' first (the push scripts publish that file); nothing was changed"
  printf 'warning: %s not found: run make build before a real run\n' "$WASM" >&2
fi

k() { run kubectl --context "$KUBE_CONTEXT" "$@"; }
h() { run helm --kube-context "$KUBE_CONTEXT" "$@"; }
# The commands whose output a step reads, in full so the dry run shows them as they run.
KUBECTL=(kubectl --context "$KUBE_CONTEXT")

# Values that steps below capture at run time (a dry run shows placeholders).
state="" nodes="" cri="" version="" network="" served="" ours="" pushed="" minimum="" ready=""

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
# and test-handler, both runc v2 with kind's base spec) and added spin as deploy/kind/cluster.yaml asks, every one
# with the cgroupfs driver the kubelet is given there (SystemdCgroup = false). A patch in the wrong config version's
# names loses some of them silently; a runtime left on systemd cgroups hides wasm pods' CPU from the HPA.
expect_cri() {
  local node="$1" info="$2"
  note "expect: $node's containerd keeps kind's runtimes runc and test-handler and runs spin as io.containerd.spin.v2, all with SystemdCgroup = false (cgroupfs, as the kubelet)"
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
    if (runtime.get("options") or {}).get("SystemdCgroup") is not False:
        problems.append(f"{name}: SystemdCgroup is not false")
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

# 7. Images the nodes cannot pull, loaded from what you have (air-gapped: docs/kind.md): image archives
# (`docker save`, `skopeo copy ... docker-archive:`) or images of your Docker. An unset list is said, not skipped.
if [[ -z "${ENVAPP_KIND_IMAGES:-}" ]]; then
  note "no ENVAPP_KIND_IMAGES: the nodes pull metrics-server's image and the helm-test image themselves"
else
  for image in $ENVAPP_KIND_IMAGES; do
    if [[ -f "$image" ]]; then
      run kind load image-archive "$image" --name "$CLUSTER"
    else
      run kind load docker-image "$image" --name "$CLUSTER"
    fi
  done
fi

# api_available TEXT: the Available condition of the metrics APIService is True.
api_available() { [[ "$1" == True ]]; }

# 8. metrics-server, the HPA's CPU source: an already served metrics API is used as it is; otherwise metrics-server
# from its upstream chart repository, or from the chart you name (a path or an oci:// reference). kind's kubelets
# serve self-signed certificates, hence --kubelet-insecure-tls (kind's metrics-server example; the chart's `args`
# value adds to its defaultArgs).
capture served '' "${KUBECTL[@]}" get apiservice "$METRICS_API" --ignore-not-found \
  -o 'jsonpath={.status.conditions[?(@.type=="Available")].status}'
capture ours '' helm --kube-context "$KUBE_CONTEXT" list --namespace kube-system --filter '^metrics-server$' --short
if api_available "$served" && [[ -z "$ours" ]]; then
  log "the metrics API ($METRICS_API) is already served in $KUBE_CONTEXT: using it, not installing metrics-server"
else
  chart=(metrics-server --repo "$METRICS_SERVER_REPO" --version "$METRICS_SERVER_VERSION")
  case "$METRICS_SERVER_CHART" in
    "") ;;
    oci://*) chart=("$METRICS_SERVER_CHART" --version "${ENVAPP_METRICS_SERVER_VERSION:-$METRICS_SERVER_VERSION}") ;;
    *)
      [[ -e "$METRICS_SERVER_CHART" ]] || ((DRY_RUN)) \
        || die "ENVAPP_METRICS_SERVER_CHART=$METRICS_SERVER_CHART: no such chart (a directory, a .tgz or oci://...)"
      chart=("$METRICS_SERVER_CHART") ;;
  esac
  h upgrade --install metrics-server "${chart[@]}" --namespace kube-system --set 'args={--kubelet-insecure-tls}' \
    --wait --timeout 5m
fi

# 9. The RuntimeClass the chart's pods name (wasmtime-spin-v2 -> handler spin -> the spin runtime of step 2).
k apply -f runtime-class.yaml

# 10. Publish the app to the local registry, once every node's containerd can pull it; the last line of the push
# is REF@sha256:<hex>.
note "expect: every node's containerd is $MIN_CONTAINERD or newer, as envapp's images need"
for node in $nodes; do
  capture version "containerd $MIN_CONTAINERD" docker exec "$node" containerd --version
  version="$(printf '%s\n' "$version" | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)"
  version_ge "${version:-0}" "$MIN_CONTAINERD" \
    || die "node $node runs containerd ${version:-(unknown)}; envapp's images need $MIN_CONTAINERD or newer (docs/kind.md)"
done
# The chart's imageFormat follows the publisher: scripts/push.sh's image runs read-only as uid 65534 (Pod Security
# restricted); Spin's artifact needs uid 0, the owner of the image's root, where the shim writes /spin.json
# (allowRootForSpinArtifact, Pod Security baseline; chart/internal-service/values.yaml).
if [[ "$push_with" == spin ]]; then
  capture pushed "$HUB/envapp@sha256:<digest>" scripts/push-spin.sh "$HUB" --insecure
  image_format=spin allow_root=true level=baseline
else
  capture pushed "$HUB/envapp@sha256:<digest>" scripts/push.sh "$HUB" --insecure
  image_format=scratch allow_root=false level=restricted
fi
pushed="${pushed##*$'\n'}"
[[ "$pushed" == "$HUB/envapp@sha256:"* ]] || die "push did not end with $HUB/envapp@sha256:<hex> (got: $pushed)"
digest="${pushed#*@}"

# 11. dev and prod namespaces that enforce Pod Security: restricted for scripts/push.sh's image, baseline for Spin's
# artifact (it runs as uid 0). The API server refuses any pod of the release that breaks the level.
for env in dev prod; do
  capture state '' "${KUBECTL[@]}" get namespace "$env" --ignore-not-found -o name
  [[ -n "$state" ]] || k create namespace "$env"
  k label namespace "$env" --overwrite "pod-security.kubernetes.io/enforce=$level" \
    "pod-security.kubernetes.io/warn=$level" "pod-security.kubernetes.io/audit=$level"
done

# at_least_minimum N: N ready pods reach the HPA's minReplicas (the HPA may already have scaled past it).
at_least_minimum() { [[ "$1" =~ ^[0-9]+$ ]] && (($1 >= minimum)); }

# 12. dev and prod: the same chart and digest; the values files differ only in `prod`. With autoscaling on, the
# Deployment has no `replicas` and starts with one pod: wait until the HPA has brought it to minReplicas ready pods.
for env in dev prod; do
  h upgrade --install "$RELEASE" chart/internal-service --namespace "$env" \
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

# 13. The end-to-end checks against this cluster (deploy/kind/e2e: make e2e).
run deploy/kind/e2e.sh --context "$KUBE_CONTEXT"

if ((DRY_RUN)); then
  note "dry run: nothing was executed"
else
  log "envapp runs in dev and prod on kind cluster $CLUSTER (kubectl --context $KUBE_CONTEXT get pods -A)"
fi
