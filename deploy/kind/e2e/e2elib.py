"""What the end-to-end checks share: the cluster they talk to, kubectl and helm on it, steady load through a
Service from inside the cluster, and the figures they report at the end.

The cluster is the kube context ENVAPP_E2E_CONTEXT (deploy/kind/e2e.sh sets it: --context, else kubectl's current
context).
"""

import json
import math
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))
from projectenv import use_project_tools  # noqa: E402

use_project_tools()

CONTEXT = os.environ.get("ENVAPP_E2E_CONTEXT", "")
RELEASE = "envapp"
ENVIRONMENTS = ("dev", "prod")
# The release the disruption checks install, upgrade, drain and uninstall: never dev's or prod's.
E2E_RELEASE = "envapp-e2e"
E2E_NAMESPACE = "envapp-e2e"
INSTANCE = "app.kubernetes.io/instance"
# What the checks measured, printed at the end of the run (lost requests, times, the HPA's readings).
FIGURES: list[str] = []


def figure(line: str) -> None:
    FIGURES.append(line)


def cluster_answers() -> str:
    """Why no check can run here, or "" when the cluster of CONTEXT answers."""
    if not CONTEXT:
        return "no kube context given (deploy/kind/e2e.sh --context, or ENVAPP_E2E_CONTEXT)"
    try:
        result = subprocess.run(["kubectl", "--context", CONTEXT, "--request-timeout=5s", "get", "--raw", "/readyz"],
                                capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"no cluster answers at kube context {CONTEXT}: {err}"
    if result.returncode != 0:
        return f"no cluster answers at kube context {CONTEXT}: {result.stderr.strip().splitlines()[-1:]}"
    return ""


# --- kubectl and helm on the cluster ------------------------------------------------------------------------

def run(*argv: str, stdin: str | None = None, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def kubectl(*args: str, **kwargs) -> str:
    return run("kubectl", "--context", CONTEXT, *args, **kwargs).stdout


def kube_json(*args: str) -> dict:
    return json.loads(kubectl(*args, "-o", "json"))


def helm(*args: str, **kwargs) -> str:
    return run("helm", "--kube-context", CONTEXT, *args, **kwargs).stdout


def poll(what: str, probe, seconds: float, interval: float = 3):
    """probe() until it returns something truthy; that value, or AssertionError naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s (last: {value!r})")
        time.sleep(interval)


def release_values(namespace: str, release: str = RELEASE) -> dict:
    """The values a release was installed with, defaults included."""
    return json.loads(helm("get", "values", release, "--namespace", namespace, "--all", "--output", "json"))


def fullname(release: str) -> str:
    return release if "internal-service" in release else f"{release}-internal-service"


def running_pods(namespace: str, release: str) -> list[dict]:
    pods = kube_json("get", "pods", "--namespace", namespace, "--selector",
                     f"{INSTANCE}={release},app.kubernetes.io/name=internal-service")["items"]
    return [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def ready_replicas(namespace: str, release: str) -> int:
    deployment = kube_json("get", "deployment", fullname(release), "--namespace", namespace)
    return deployment["status"].get("readyReplicas") or 0


def schedulable_nodes() -> list[dict]:
    """Nodes an app pod can land on: not cordoned, no NoSchedule or NoExecute taint."""
    nodes = kube_json("get", "nodes")["items"]
    return [n for n in nodes if not n["spec"].get("unschedulable")
            and not any(t["effect"] in ("NoSchedule", "NoExecute") for t in n["spec"].get("taints", []))]


def is_kind_cluster() -> bool:
    return all(n["spec"].get("providerID", "").startswith("kind://") for n in kube_json("get", "nodes")["items"])


# --- Quantities, as the downward API turns them into numbers --------------------------------------------------

_SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3,
           "Ti": 1024**4}


def quantity(text: str) -> float:
    number, suffix = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text)).groups()
    return float(number) * _SUFFIX[suffix]


def in_units(text: str, divisor: float) -> str:
    """A resourceFieldRef's value: the quantity over the divisor, rounded up (Kubernetes ExtractResourceValueByContainer)."""
    return str(math.ceil(quantity(text) / divisor - 1e-9))


# --- Steady load through a Service, from inside the cluster --------------------------------------------------

# PARALLEL loops, each sending GET requests one after the other, a new connection each (curl's --parallel mixes up
# sockets when servers close connections under it, curl 8.11); after every batch a loop prints one line: `batch
# ANSWERED LOST` and what happened to the first lost ones (`000` and curl's error when no answer came).
LOAD_SCRIPT = r"""
end=$(( $(date +%s) + DURATION ))
loop() {
  while [ "$(date +%s)" -lt "$end" ]; do
    out=$(curl -s -o /dev/null -w '%{http_code} %{errormsg}\n' -H 'Connection: close' --connect-timeout 3 \
      --max-time 5 "$URL?n=[1-50]")
    lost=$(printf '%s\n' "$out" | grep -v '^200 ' | grep -c .)
    echo "batch $(printf '%s\n' "$out" | grep -c '^200 ') $lost $(printf '%s\n' "$out" | grep -v '^200 ' | head -n 3 | tr '\n' ';')"
  done
}
i=0
while [ "$i" -lt "$PARALLEL" ]; do loop & i=$((i + 1)); done
wait
echo LOAD-DONE
"""


class Load:
    """A pod that sends GET /env through a Service, PARALLEL at a time, a new connection per request, and logs each
    answer. The pod runs the release's own helm-test image and is admitted where Pod Security is restricted."""

    def __init__(self, namespace: str, name: str, service: str, image: str, parallel: int, duration: int = 1800):
        self.namespace, self.name = namespace, name
        container_security = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                              "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                              "runAsUser": 65534, "runAsGroup": 65534, "seccompProfile": {"type": "RuntimeDefault"}}
        self.manifest = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": "envapp-e2e-load"}},
            "spec": {
                "restartPolicy": "Never", "automountServiceAccountToken": False,
                "terminationGracePeriodSeconds": 1,
                "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": "load", "image": image, "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/sh", "-c", LOAD_SCRIPT],
                    "env": [{"name": "URL", "value": f"http://{service}.{namespace}.svc/env"},
                            {"name": "PARALLEL", "value": str(parallel)}, {"name": "DURATION", "value": str(duration)}],
                    "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
                    "securityContext": container_security,
                }],
            },
        }

    def start(self) -> None:
        kubectl("apply", "-f", "-", stdin=json.dumps(self.manifest))
        poll(f"load pod {self.name} answers", lambda: self.counts()[0] > 0, 120)

    def counts(self) -> tuple[int, int, dict[str, int]]:
        """Requests answered 200, requests lost, and the first lost ones of each batch by what happened."""
        logs = kubectl("logs", self.name, "--namespace", self.namespace, check=False)
        answered = lost = 0
        reasons: dict[str, int] = {}
        for line in logs.splitlines()[:-1]:  # the last line may still be being written
            fields = line.split(" ", 3)
            if fields[0] != "batch" or len(fields) < 3:
                continue
            answered, lost = answered + int(fields[1]), lost + int(fields[2])
            for reason in filter(None, (fields[3] if len(fields) > 3 else "").split(";")):
                reason = re.sub(r"\d+ (ms|milliseconds)", r"N \1", reason.strip())  # one key per kind of failure
                reasons[reason] = reasons.get(reason, 0) + 1
        return answered, lost, reasons

    def stop(self) -> None:
        kubectl("delete", "pod", self.name, "--namespace", self.namespace, "--grace-period=0", "--wait=false",
                "--ignore-not-found")


@contextmanager
def steady_load(namespace: str, release: str, image: str, name: str, parallel: int = 4):
    """Load through the release's Service while the body runs; yields a dict that holds, after it, `answered`,
    `lost` and `reasons`."""
    load = Load(namespace, name, fullname(release), image, parallel)
    result: dict = {}
    load.start()
    try:
        yield result
    finally:
        answered, lost, reasons = load.counts()
        load.stop()
        result.update(answered=answered, lost=lost, reasons=reasons)
