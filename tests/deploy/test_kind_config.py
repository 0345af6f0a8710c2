"""deploy/kind: the wasm-enabled kind cluster config and the local-registry wiring, checked statically (the
containerd patch: test_containerd_config.py)."""

import re
import tomllib

import kubernetes_validate
import pytest
import yaml

from deploylib import DEPLOY, ROOT, deploy_yaml_files, load_all

KIND = DEPLOY / "kind"
# A release tag of the shim's kind node image: vMAJOR.MINOR.PATCH, never latest, never missing.
PINNED_NODE_IMAGE = re.compile(r"^ghcr\.io/spinframework/containerd-shim-spin/kind:v\d+\.\d+\.\d+$")
# The kind node image (FROM kindest/node:v1.35.0) and the oldest version our manifests must stay valid for.
KUBERNETES_VERSIONS = ("1.30.0", "1.35.0")


@pytest.fixture(scope="module")
def cluster():
    (doc,) = load_all(KIND / "cluster.yaml")
    return doc


def test_every_yaml_under_deploy_parses():
    files = deploy_yaml_files()
    assert files, "no YAML under deploy/"
    for path in files:
        assert load_all(path), f"{path.relative_to(ROOT)} holds no YAML document"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_builtin_kinds_under_deploy_validate_strictly_offline(version):
    checked = 0
    for path in deploy_yaml_files():
        for doc in load_all(path):
            if "apiVersion" not in doc or doc["apiVersion"].startswith("kind.x-k8s.io/") or doc.get("kind") == "Kustomization":
                continue
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                continue  # Argo CD / Flux custom resources: test_gitops.py asserts their shape
            checked += 1
    assert checked >= 1, "expected at least the local-registry-hosting ConfigMap to be validated"


def test_strict_validation_rejects_an_unknown_field():
    # Proves the check above can fail: a typo in a built-in kind is an error, not a warning.
    (configmap,) = load_all(KIND / "local-registry-hosting.yaml")
    broken = dict(configmap, datta={"x": "y"})
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_cluster_has_one_control_plane_and_three_workers(cluster):
    assert cluster["kind"] == "Cluster"
    assert cluster["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    roles = [node["role"] for node in cluster["nodes"]]
    assert roles.count("control-plane") == 1
    assert roles.count("worker") == 3


def test_every_node_runs_the_pinned_shim_kind_image(cluster):
    images = {node.get("image") for node in cluster["nodes"]}
    assert len(images) == 1, f"all nodes must run the same image: {images}"
    (image,) = images
    assert image and PINNED_NODE_IMAGE.match(image), f"not a pinned release tag of the shim kind image: {image}"


def test_node_hosts_toml_sends_localhost_5001_to_the_registry_container():
    hosts = tomllib.loads((KIND / "hosts.toml").read_text())
    assert list(hosts["host"]) == ["http://kind-registry:5000"]


def test_local_registry_configmap_documents_localhost_5001():
    (configmap,) = load_all(KIND / "local-registry-hosting.yaml")
    assert (configmap["metadata"]["name"], configmap["metadata"]["namespace"]) == (
        "local-registry-hosting",
        "kube-public",
    )
    hosting = yaml.safe_load(configmap["data"]["localRegistryHosting.v1"])
    assert hosting["host"] == "localhost:5001"
