"""envapp end to end on a real cluster: what a platform team checks before it trusts a deployment.

Read-only checks of the releases in dev and prod (as `make kind-up` or GitOps installed them), then a release of
its own in the namespace envapp-e2e, which is rolled, has a pod deleted and a node drained under steady load
through its Service (goal: no lost request), is driven past its HPA's minimum and back, and is uninstalled.
Every check is a real request; where the cluster cannot show something, the skip says which limit by name.
"""

import json
import os
import re
import subprocess
import time
import urllib.request

import pytest

from e2elib import (
    CONTEXT,
    E2E_NAMESPACE,
    E2E_RELEASE,
    ENVIRONMENTS,
    INSTANCE,
    RELEASE,
    ROOT,
    figure,
    fullname,
    helm,
    in_units,
    is_kind_cluster,
    kube_json,
    kubectl,
    poll,
    ready_replicas,
    release_values,
    running_pods,
    schedulable_nodes,
    steady_load,
)

# After a disruption settles, the load keeps running this long, so a request lost late is counted too.
SETTLE_SECONDS = 15


# --- dev and prod, as installed ------------------------------------------------------------------------------

def pod_security_level(values: dict) -> str:
    """The Pod Security level a release's namespace enforces: Spin's artifact runs as uid 0 (baseline)."""
    return "baseline" if values["imageFormat"] == "spin" else "restricted"


def reported_prod(values: dict) -> str:
    """PROD as the component reports it for a release's values."""
    return "true" if values["prod"] else "false"


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def env(request):
    namespace = request.param
    if not kubectl("get", "namespace", namespace, "--ignore-not-found", "-o", "name").strip():
        pytest.fail(f"no namespace {namespace} in {CONTEXT}: install envapp first (make kind-up, or docs/deploy.md)")
    return namespace


def port_forward_get(namespace: str, paths: list[str]) -> dict[str, tuple[int, bytes]]:
    """GETs through `kubectl port-forward service/...` on a free local port, as docs/kind.md tells users."""
    forward = subprocess.Popen(
        ["kubectl", "--context", CONTEXT, "--namespace", namespace, "port-forward", f"service/{fullname(RELEASE)}",
         ":http", "--address", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = forward.stdout.readline()
        assert line.startswith("Forwarding from 127.0.0.1:"), f"port-forward said: {line}{forward.stdout.read(500)}"
        port = int(line.split(":")[1].split()[0])
        answers = {}
        for path in paths:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
                answers[path] = (response.status, response.read())
        return answers
    finally:
        forward.terminate()
        forward.wait(10)


def test_env_through_port_forward_answers_prod_and_the_facts_of_the_pod_that_answered(env):
    started = time.monotonic()
    answers = port_forward_get(env, ["/env", "/env/PROD", "/healthz"])
    figure(f"{env}: first GET /env through port-forward answered in {time.monotonic() - started:.1f} s")
    status, body = answers["/env"]
    report = json.loads(body)
    want_prod = reported_prod(release_values(env))
    assert status == 200 and report["PROD"] == want_prod, report
    assert answers["/env/PROD"] == (200, json.dumps({"PROD": want_prod}, separators=(",", ":")).encode() + b"\n")
    assert answers["/healthz"] == (200, b'{"status":"ok"}\n')

    pod = kube_json("get", "pod", report["POD_NAME"], "--namespace", env)
    node = kube_json("get", "node", pod["spec"]["nodeName"])
    kubernetes = kube_json("get", "service", "kubernetes", "--namespace", "default")
    container = next(c for c in pod["spec"]["containers"] if c["name"] == "internal-service")
    requests, limits = container["resources"].get("requests", {}), container["resources"].get("limits", {})
    allocatable = node["status"]["allocatable"]
    https = next(p for p in kubernetes["spec"]["ports"] if p["name"] == "https")
    want = {
        "POD_NAME": pod["metadata"]["name"], "POD_NAMESPACE": env, "POD_UID": pod["metadata"]["uid"],
        "NODE_NAME": pod["spec"]["nodeName"], "SERVICE_ACCOUNT": pod["spec"]["serviceAccountName"],
        "POD_IP": pod["status"]["podIP"], "HOST_IP": pod["status"]["hostIP"],
        "CPU_REQUEST_MILLICORES": in_units(requests["cpu"], 1e-3),
        "CPU_LIMIT_MILLICORES": in_units(limits.get("cpu", allocatable["cpu"]), 1e-3),
        "MEMORY_REQUEST_MIB": in_units(requests["memory"], 1024**2),
        "MEMORY_LIMIT_MIB": in_units(limits.get("memory", allocatable["memory"]), 1024**2),
        # The kubelet's service variables for the API server, and the hostname containerd gives the pod.
        "KUBERNETES_SERVICE_HOST": kubernetes["spec"]["clusterIP"], "KUBERNETES_SERVICE_PORT": str(https["port"]),
        "HOSTNAME": pod["metadata"]["name"],
    }
    assert {k: report.get(k) for k in want} == want
    # The chart's env map, as written (release values), and nothing else beside the facts and PROD.
    extra = release_values(env)["env"]
    assert set(report) == set(want) | {"PROD"} | set(extra), sorted(set(report) ^ (set(want) | {"PROD"} | set(extra)))


def test_pods_run_on_distinct_nodes_and_a_disruption_budget_guards_them(env):
    nodes = schedulable_nodes()
    pods = running_pods(env, RELEASE)
    placed = sorted(p["spec"]["nodeName"] for p in pods)
    figure(f"{env}: {len(pods)} running pods on {', '.join(placed)}")
    (pdb,) = kube_json("get", "pdb", "--namespace", env, "--selector", f"{INSTANCE}={RELEASE}")["items"]
    assert pdb["spec"]["maxUnavailable"] == release_values(env)["podDisruptionBudget"]["maxUnavailable"]
    assert pdb["status"]["expectedPods"] == len(pods) and pdb["status"]["disruptionsAllowed"] >= 1, pdb["status"]
    if len(nodes) < 3:
        pytest.skip(f"environment limit: fewer than 3 schedulable nodes ({len(nodes)}): 3 pods cannot take 3 nodes")
    assert len(pods) >= 3 and len(set(placed)) >= 3, placed


def test_the_namespace_enforces_pod_security_and_admits_the_release(env):
    values = release_values(env)
    level = pod_security_level(values)
    labels = kube_json("get", "namespace", env)["metadata"].get("labels", {})
    assert labels.get("pod-security.kubernetes.io/enforce") == level, labels
    assert len(running_pods(env, RELEASE)) >= values["autoscaling"]["minReplicas"]
    # Enforced, not only labelled: the API server refuses a privileged pod here.
    privileged = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "envapp-e2e-privileged"},
                  "spec": {"containers": [{"name": "c", "image": values["test"]["image"],
                                           "securityContext": {"privileged": True}}]}}
    refused = subprocess.run(["kubectl", "--context", CONTEXT, "--namespace", env, "create", "--dry-run=server",
                              "-f", "-"], input=json.dumps(privileged), capture_output=True, text=True)
    assert refused.returncode != 0 and "violates PodSecurity" in refused.stderr, refused.stderr


def test_helm_test_passes(env):
    out = helm("test", RELEASE, "--namespace", env, "--logs", "--timeout", "5m")
    want_prod = reported_prod(release_values(env))
    assert re.search(r"Phase:\s+Succeeded", out) and f"reports PROD={want_prod}" in out, out


# --- a release of our own: disruptions, the HPA, uninstall ----------------------------------------------------

@pytest.fixture(scope="module")
def e2e_release():
    """envapp-e2e in its own namespace, as dev is (same image, format and Pod Security level), with a short HPA
    scale-down window so the scale-down check ends in minutes."""
    dev = release_values("dev")
    level = pod_security_level(dev)
    if not kubectl("get", "namespace", E2E_NAMESPACE, "--ignore-not-found", "-o", "name").strip():
        kubectl("create", "namespace", E2E_NAMESPACE)
    kubectl("label", "namespace", E2E_NAMESPACE, "--overwrite", f"pod-security.kubernetes.io/enforce={level}")
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 30}}
    helm("upgrade", "--install", E2E_RELEASE, str(ROOT / "chart/internal-service"), "--namespace", E2E_NAMESPACE,
         "-f", str(ROOT / "chart/values-dev.yaml"), "--set", f"hub={dev['hub']}", "--set", f"digest={dev['digest']}",
         "--set", f"imageFormat={dev['imageFormat']}",
         "--set", f"allowRootForSpinArtifact={str(dev['allowRootForSpinArtifact']).lower()}",
         "--set-json", f"autoscaling.behavior={json.dumps(behavior)}", "--wait", "--timeout", "5m")
    minimum = dev["autoscaling"]["minReplicas"]
    poll(f"{E2E_RELEASE} has {minimum} ready pods", lambda: ready_replicas(E2E_NAMESPACE, E2E_RELEASE) >= minimum, 300)
    yield {"image": dev["test"]["image"], "minimum": minimum}
    if helm("list", "--namespace", E2E_NAMESPACE, "--filter", f"^{E2E_RELEASE}$", "--short").strip():
        helm("uninstall", E2E_RELEASE, "--namespace", E2E_NAMESPACE, "--wait")
    kubectl("delete", "namespace", E2E_NAMESPACE, "--ignore-not-found", "--timeout=3m")


def settled(release: dict) -> None:
    """Until the release is back at its minimum of ready pods and no pod of it is stopping, then SETTLE_SECONDS."""
    def back():
        pods = kube_json("get", "pods", "--namespace", E2E_NAMESPACE, "--selector", f"{INSTANCE}={E2E_RELEASE}")
        stopping = [p for p in pods["items"] if p["metadata"].get("deletionTimestamp")]
        return not stopping and ready_replicas(E2E_NAMESPACE, E2E_RELEASE) >= release["minimum"]
    poll("the release is back at its minimum, no pod stopping", back, 300)
    time.sleep(SETTLE_SECONDS)


def report_loss(what: str, load: dict, seconds: float) -> None:
    total = load["answered"] + load["lost"]
    figure(f"{what}: {load['lost']} of {total:,} requests lost over {seconds:.0f} s {load['reasons'] or ''}".rstrip())
    assert load["lost"] == 0, f"{what} lost {load['lost']} of {total} requests: {load['reasons']}"


def test_a_rolling_upgrade_loses_no_request(e2e_release):
    started = time.monotonic()
    with steady_load(E2E_NAMESPACE, E2E_RELEASE, e2e_release["image"], "load-rollout") as load:
        helm("upgrade", E2E_RELEASE, str(ROOT / "chart/internal-service"), "--namespace", E2E_NAMESPACE,
             "--reuse-values", "--set-string", f"podAnnotations.envapp-e2e/rollout={int(time.time())}",
             "--wait", "--timeout", "5m")
        kubectl("rollout", "status", f"deployment/{fullname(E2E_RELEASE)}", "--namespace", E2E_NAMESPACE,
                "--timeout", "5m")
        settled(e2e_release)
    report_loss("rolling upgrade", load, time.monotonic() - started)


def test_a_deleted_pod_loses_no_request(e2e_release):
    started = time.monotonic()
    with steady_load(E2E_NAMESPACE, E2E_RELEASE, e2e_release["image"], "load-delete") as load:
        victim = running_pods(E2E_NAMESPACE, E2E_RELEASE)[0]["metadata"]["name"]
        kubectl("delete", "pod", victim, "--namespace", E2E_NAMESPACE, "--wait=false")
        poll(f"pod {victim} is gone", lambda: not kubectl("get", "pod", victim, "--namespace", E2E_NAMESPACE,
                                                           "--ignore-not-found", "-o", "name").strip(), 180)
        settled(e2e_release)
    report_loss("deleted pod", load, time.monotonic() - started)


def test_a_drained_node_loses_no_request(e2e_release):
    if len(schedulable_nodes()) < 2:
        pytest.skip("environment limit: one schedulable node: a drained node's pods have nowhere to go")
    if not is_kind_cluster() and os.environ.get("ENVAPP_E2E_DRAIN") != "1":
        pytest.skip("not a kind cluster: draining one of your nodes needs ENVAPP_E2E_DRAIN=1")
    node = running_pods(E2E_NAMESPACE, E2E_RELEASE)[0]["spec"]["nodeName"]
    started = time.monotonic()
    with steady_load(E2E_NAMESPACE, E2E_RELEASE, e2e_release["image"], "load-drain") as load:
        try:
            # Cordoned, and only this release's pods evicted (through its PodDisruptionBudget): other workloads
            # on the node are left alone.
            kubectl("drain", node, "--pod-selector", f"{INSTANCE}={E2E_RELEASE}", "--ignore-daemonsets",
                    "--delete-emptydir-data", "--timeout", "5m")
            settled(e2e_release)
            assert node not in {p["spec"]["nodeName"] for p in running_pods(E2E_NAMESPACE, E2E_RELEASE)}
        finally:
            kubectl("uncordon", node)
    report_loss(f"drained node {node}", load, time.monotonic() - started)


def hpa(release: str) -> dict:
    return kube_json("get", "hpa", fullname(release), "--namespace", E2E_NAMESPACE)


def cpu_utilization(status: dict) -> int | None:
    for metric in status.get("currentMetrics") or []:
        value = metric.get("resource", {}).get("current", {}).get("averageUtilization")
        if value is not None:
            return value
    return None


def at_minimum(minimum: int) -> bool:
    return hpa(E2E_RELEASE)["status"].get("currentReplicas") == minimum and \
        ready_replicas(E2E_NAMESPACE, E2E_RELEASE) == minimum


def test_the_hpa_reads_cpu_and_scales_past_its_minimum_under_load_and_back(e2e_release):
    if not kubectl("get", "apiservice", "v1beta1.metrics.k8s.io", "--ignore-not-found", "-o", "name").strip():
        pytest.skip("environment limit: no metrics API (v1beta1.metrics.k8s.io) in this cluster: install "
                    "metrics-server (make kind-up does)")
    minimum = e2e_release["minimum"]
    poll("the HPA reads the pods' CPU (not <unknown>; the nodes' spin runtime must use the kubelet's cgroup driver, "
         "cgroupfs on cgroup v1: docs/kind.md, The HPA on wasm pods)",
         lambda: cpu_utilization(hpa(E2E_RELEASE)["status"]) is not None, 300, 5)
    # The load of the checks before may have scaled it out: from its minimum, at rest.
    poll(f"the HPA is at its minimum of {minimum} pods", lambda: at_minimum(minimum), 420, 5)
    figure(f"HPA at rest: {cpu_utilization(hpa(E2E_RELEASE)['status'])}% of the CPU requests, {minimum} pods")

    def wanted_past_minimum() -> int:
        wanted = hpa(E2E_RELEASE)["status"].get("desiredReplicas", 0)
        return wanted if wanted > minimum else 0

    started = time.monotonic()
    with steady_load(E2E_NAMESPACE, E2E_RELEASE, e2e_release["image"], "load-hpa", parallel=8) as load:
        peak = poll(f"the HPA scales past {minimum} pods under load", wanted_past_minimum, 420, 5)
        busy = cpu_utilization(hpa(E2E_RELEASE)["status"])
        figure(f"HPA under load: {busy}% of the CPU requests, {peak} pods wanted {time.monotonic() - started:.0f} s "
               "after the load began")
        settled(e2e_release)
    report_loss("HPA scale-out", load, time.monotonic() - started)
    started = time.monotonic()
    poll(f"the HPA scales back to {minimum} pods", lambda: at_minimum(minimum), 420, 5)
    figure(f"HPA back at {minimum} pods {time.monotonic() - started:.0f} s after the load stopped")


def test_helm_uninstall_leaves_nothing_of_the_release(e2e_release):
    helm("uninstall", E2E_RELEASE, "--namespace", E2E_NAMESPACE, "--wait", "--timeout", "5m")
    kinds = "all,hpa,pdb,serviceaccount,networkpolicy,configmap,secret,endpointslice,ingress,role,rolebinding"

    def left() -> str:
        by_label = kubectl("get", kinds, "--namespace", E2E_NAMESPACE, "--selector", f"{INSTANCE}={E2E_RELEASE}",
                           "-o", "name").split()
        # helm's release records, and the Service's EndpointSlices (labelled with the Service's name).
        by_label += kubectl("get", "secret,configmap", "--namespace", E2E_NAMESPACE, "--selector",
                            f"owner=helm,name={E2E_RELEASE}", "-o", "name").split()
        by_label += kubectl("get", "endpointslice", "--namespace", E2E_NAMESPACE, "--selector",
                            f"kubernetes.io/service-name={fullname(E2E_RELEASE)}", "-o", "name").split()
        return " ".join(by_label)

    try:
        poll("nothing of the release is left", lambda: not left(), 120)
    except AssertionError:
        raise AssertionError(f"left behind by helm uninstall: {left()}") from None
