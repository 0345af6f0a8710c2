"""Helpers for the chart tests (one place for the plumbing; tests read as the scenario): the real helm, kubernetes-validate and checkov from the project's tool folder.

Tools live where scripts/lib.sh puts them ($ENVAPP_TOOLS, else $XDG_CACHE_HOME/envapp, else ~/.cache/envapp);
`make setup` (scripts/setup-k8s-tools.sh) installs them. Nothing here writes into the repository.
"""

import shutil
import subprocess

import pytest
import yaml

from projectenv import ROOT, TOOLS  # PATH and HELM_* come from tests/conftest.py

CHART = ROOT / "chart" / "internal-service"
VALUES_DEV = ROOT / "chart" / "values-dev.yaml"
VALUES_PROD = ROOT / "chart" / "values-prod.yaml"
RELEASE = "envapp"


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


def _template_args(values=(), sets=None, set_json=None, extra=()):
    args = ["template", RELEASE, str(CHART), *extra]
    for path in values:
        args += ["-f", str(path)]
    for key, value in (sets or {}).items():
        args += ["--set", f"{key}={value}"]
    for key, value in (set_json or {}).items():
        args += ["--set-json", f"{key}={value}"]
    return args


def render_text(*values, sets=None, set_json=None, extra=()) -> str:
    """`helm template` output for the given values files and overrides; fails the test if helm fails."""
    result = helm(*_template_args(values, sets, set_json, extra))
    assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
    return result.stdout


def render(*values, sets=None, set_json=None, extra=()) -> list[dict]:
    """The rendered Kubernetes objects, parsed."""
    text = render_text(*values, sets=sets, set_json=set_json, extra=extra)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render_error(*values, sets=None, set_json=None) -> str:
    """helm's error message for values that must be rejected; fails the test if helm renders them."""
    result = helm(*_template_args(values, sets, set_json))
    assert result.returncode != 0, f"helm accepted values it should reject: sets={sets} set_json={set_json}"
    return result.stderr


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
