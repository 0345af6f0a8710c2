"""Every rendered object, and runtime-class.yaml, validates against the Kubernetes OpenAPI schema, offline."""

import re

import pytest
import yaml
from chartlib import CHART, ROOT, VALUES_SPINAPP, render_text, run, tool

KUBE_VERSION_FLOOR = re.match(
    r">=\s*(\d+\.\d+\.\d+)", yaml.safe_load((CHART / "Chart.yaml").read_text())["kubeVersion"]
).group(1)
# The chart's kubeVersion floor, and the Kubernetes of the pinned kubectl (v1.35), the newest we ship with.
KUBE_VERSIONS = [KUBE_VERSION_FLOOR, "1.35.0"]


def validate(path_or_text, version: str):
    args = [tool("kubernetes-validate"), "--strict", "--quiet", "-k", version]
    if isinstance(path_or_text, str):
        return run(*args, "-", stdin=path_or_text)
    return run(*args, str(path_or_text))


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_rendered_objects_validate_strictly_against_kubernetes(rendered_files, env, version):
    result = validate(rendered_files[env], version)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_optional_objects_and_switches_validate_too(version):
    text = render_text(
        sets={
            "networkPolicy.enabled": "true",
            "autoscaling.enabled": "false",
            "podAntiAffinity": "required",
            "digest": "sha256:" + "ab" * 32,
            "imageFormat": "spin",
            "allowRootForSpinArtifact": "true",
            "otel.enabled": "true",
            "otel.endpoint": "http://collector.observability:4318",
            "podDisruptionBudget.maxUnavailable": "34%",
        },
        set_json={"env": '{"A": "1"}', "nodeSelector": '{"wasm": "true"}',
                  "tolerations": '[{"key": "wasm", "operator": "Exists", "effect": "NoSchedule"}]',
                  "hostEnv": '[{"name": "RUST_LOG", "value": "info"}, {"name": "TOKEN", "valueFrom": '
                             '{"secretKeyRef": {"name": "otel", "key": "token"}}}]',
                  "podLabels": '{"team": "platform"}',
                  "podAnnotations": '{"container.apparmor.security.beta.kubernetes.io/internal-service": "runtime/default"}'},
    )
    result = validate(text, version)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_spinapp_workload_objects_validate_too(version):
    # The SpinApp itself is checked against spin-operator's CRD in test_chart_spinapp.py.
    text = render_text(VALUES_SPINAPP, sets={"networkPolicy.enabled": "true"})
    builtin = [doc for doc in yaml.safe_load_all(text) if doc and doc["kind"] != "SpinApp"]
    assert len(builtin) == 5
    result = validate(yaml.safe_dump_all(builtin), version)
    assert result.returncode == 0, result.stdout + result.stderr


def test_validator_catches_unknown_fields():
    # Guards the guard: --strict must reject a field Kubernetes does not know.
    bad = "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80}], bogusField: 1}\n"
    assert validate(bad, KUBE_VERSION_FLOOR).returncode != 0


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_runtime_class_validates_and_names_the_charts_default(version):
    path = ROOT / "runtime-class.yaml"
    result = validate(path, version)
    assert result.returncode == 0, result.stdout + result.stderr
    runtime_class = yaml.safe_load(path.read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert runtime_class["apiVersion"] == "node.k8s.io/v1"
    assert runtime_class["metadata"]["name"] == values["runtimeClassName"] == "wasmtime-spin-v2"
    assert runtime_class["handler"] == "spin"
