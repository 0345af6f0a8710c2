"""Helpers for the chart tests (one place for the plumbing; tests read as the scenario): the real helm, kubernetes-validate and checkov from the project's tool folder.

Tools live where scripts/lib.sh puts them ($ENVAPP_TOOLS, else $XDG_CACHE_HOME/envapp, else ~/.cache/envapp);
`make setup` (scripts/setup-k8s-tools.sh) installs them. Nothing here writes into the repository.
"""

import json
import shutil
import subprocess
import tomllib
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from kubelet import container_env
from projectenv import ROOT, TOOLS  # PATH and HELM_* come from tests/conftest.py

CHART = ROOT / "chart" / "internal-service"
VALUES_DEV = ROOT / "chart" / "values-dev.yaml"
VALUES_PROD = ROOT / "chart" / "values-prod.yaml"
VALUES_SPINAPP = ROOT / "chart" / "values-spinapp.yaml"
RELEASE = "envapp"
FULLNAME = f"{RELEASE}-internal-service"
SELECTOR = {"app.kubernetes.io/name": "internal-service", "app.kubernetes.io/instance": RELEASE}
# The pod facts the chart hands the component (env in a Deployment, lower-case variables in a SpinApp).
POD_FACTS = {
    "POD_NAME": {"fieldRef": {"fieldPath": "metadata.name"}},
    "POD_NAMESPACE": {"fieldRef": {"fieldPath": "metadata.namespace"}},
    "POD_UID": {"fieldRef": {"fieldPath": "metadata.uid"}},
    "NODE_NAME": {"fieldRef": {"fieldPath": "spec.nodeName"}},
    "SERVICE_ACCOUNT": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}},
    "POD_IP": {"fieldRef": {"fieldPath": "status.podIP"}},
    "HOST_IP": {"fieldRef": {"fieldPath": "status.hostIP"}},
    "CPU_REQUEST_MILLICORES": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}},
    "CPU_LIMIT_MILLICORES": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}},
    "MEMORY_REQUEST_MIB": {"resourceFieldRef": {"resource": "requests.memory", "divisor": "1Mi"}},
    "MEMORY_LIMIT_MIB": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}},
}


def spin_variables() -> list[str]:
    """The Spin variables spin.toml declares: all the component can be handed."""
    return list(tomllib.loads((ROOT / "spin.toml").read_text())["variables"])


def tool(name: str) -> str:
    """The path of a tool on the tools PATH, or a test failure saying how to install it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found in {TOOLS}/bin or on PATH: run `make setup` (scripts/setup-k8s-tools.sh)")
    return path


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=300)


def run_script(script: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a pod's shell script on this machine (sh, curl, grep) with only the given env and PATH."""
    return subprocess.run(
        ["/bin/sh", "-c", script],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def helm(*args: str) -> subprocess.CompletedProcess:
    return run(tool("helm"), *args)


def _value_args(values=(), sets=None, set_json=None) -> list[str]:
    args = []
    for path in values:
        args += ["-f", str(path)]
    for key, value in (sets or {}).items():
        args += ["--set", f"{key}={value}"]
    for key, value in (set_json or {}).items():
        args += ["--set-json", f"{key}={value}"]
    return args


def _template_args(values=(), sets=None, set_json=None, extra=()):
    return ["template", RELEASE, str(CHART), *extra, *_value_args(values, sets, set_json)]


def render_text(*values, sets=None, set_json=None, extra=()) -> str:
    """`helm template` output for the given values files and overrides; fails the test if helm fails."""
    result = helm(*_template_args(values, sets, set_json, extra))
    assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
    return result.stdout


def render(*values, sets=None, set_json=None, extra=()) -> list[dict]:
    """The rendered Kubernetes objects, parsed."""
    text = render_text(*values, sets=sets, set_json=set_json, extra=extra)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def refusals(*values, sets=None, set_json=None) -> dict[str, str]:
    """What `helm template`, `helm install` (client-side dry run: no cluster) and `helm lint --strict` say about
    values they must all refuse, by command; fails the test if any of them accepts the values."""
    value_args = _value_args(values, sets, set_json)
    commands = {
        "template": ["template", RELEASE, str(CHART), *value_args],
        "install": ["install", RELEASE, str(CHART), "--dry-run=client", *value_args],
        "lint --strict": ["lint", "--strict", str(CHART), *value_args],
    }
    with ThreadPoolExecutor(len(commands)) as pool:
        results = dict(zip(commands, pool.map(lambda args: helm(*args), commands.values())))
    accepted = [name for name, result in results.items() if result.returncode == 0]
    assert not accepted, f"helm {', '.join(accepted)} accepted values it should refuse: {value_args}"
    return {name: result.stdout + result.stderr for name, result in results.items()}


def one(docs: list[dict], kind: str) -> dict:
    """The only object of a kind among the rendered ones."""
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}: {[d['kind'] for d in docs]}"
    return found[0]


def kinds(docs: list[dict]) -> list[str]:
    return sorted(d["kind"] for d in docs)


def app_pod(docs: list[dict]) -> dict:
    """The pod spec of the Deployment."""
    return one(docs, "Deployment")["spec"]["template"]["spec"]


def app_container(docs: list[dict]) -> dict:
    (container,) = app_pod(docs)["containers"]
    return container


def hook_pod(docs: list[dict]) -> dict:
    """The `helm test` hook pod."""
    return one(docs, "Pod")


def env_of(container: dict) -> dict[str, dict]:
    """A container's env entries by name."""
    return {e["name"]: e for e in container.get("env", [])}


# A pod the rendered env is resolved in: what the downward API gives each fact, and the kubelet's service env.
POD = {
    "POD_NAME": "envapp-7d9f-abc", "POD_NAMESPACE": "dev", "POD_UID": "6f1c2a9e-5b7d-4c1e-9a3f-2d8e7b6a5c4d",
    "NODE_NAME": "worker2", "SERVICE_ACCOUNT": "envapp-internal-service", "POD_IP": "10.244.1.7",
    "HOST_IP": "172.18.0.3", "CPU_REQUEST_MILLICORES": "100", "CPU_LIMIT_MILLICORES": "1000",
    "MEMORY_REQUEST_MIB": "160", "MEMORY_LIMIT_MIB": "256",
}
SERVICE_ENV = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def pod_variables(container: dict) -> dict[str, str]:
    """The pod_variables object the component reads in POD, once the kubelet has expanded the container's env."""
    return json.loads(container_env(container, POD, SERVICE_ENV)["POD_VARIABLES"])


def spinapp_pod_variables(spinapp: dict) -> dict[str, str]:
    """The same for a SpinApp: spin-operator sets each variable as env SPIN_VARIABLE_<NAME>, in order."""
    env = [{**v, "name": f"SPIN_VARIABLE_{v['name'].upper()}"} for v in spinapp["spec"]["variables"]]
    downward = {f"SPIN_VARIABLE_{name}": value for name, value in POD.items()}
    return json.loads(container_env({"env": env}, downward, SERVICE_ENV)["SPIN_VARIABLE_POD_VARIABLES"])
