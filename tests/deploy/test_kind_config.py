"""deploy/kind: the wasm-enabled kind cluster config and the local-registry wiring, checked statically."""

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


@pytest.fixture(scope="module")
def containerd_patch(cluster):
    """All containerdConfigPatches merged into one TOML table (each must parse on its own, as kind merges them)."""
    merged = {}
    for patch in cluster["containerdConfigPatches"]:
        table = tomllib.loads(patch)
        for plugin, conf in table.get("plugins", {}).items():
            merged.setdefault(plugin, {}).update(conf)
    return merged


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


def test_containerd_registers_spin_runtime_with_systemd_cgroup(containerd_patch):
    # containerd 2.x (the image is FROM kindest/node:v1.35.0) reads the CRI runtime under io.containerd.cri.v1.runtime.
    runtime = containerd_patch["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]["spin"]
    assert runtime["runtime_type"] == "io.containerd.spin.v2"
    # Without it metrics-server reports 0 CPU for wasm pods and the HPA never scales (containerd-shim-spin#180).
    assert runtime["options"]["SystemdCgroup"] is True


def test_containerd_reads_registry_hosts_from_certs_d(containerd_patch):
    registry = containerd_patch["io.containerd.cri.v1.images"]["registry"]
    assert registry["config_path"] == "/etc/containerd/certs.d"


def test_no_containerd_1_plugin_names_in_a_containerd_2_config(containerd_patch):
    # io.containerd.grpc.v1.cri runtime/registry sections are containerd 1.x; mixed in, they would be ignored or
    # break the CRI plugin on a containerd 2 node.
    assert "io.containerd.grpc.v1.cri" not in containerd_patch


def test_runtime_class_handler_names_the_spin_runtime(containerd_patch):
    path = ROOT / "runtime-class.yaml"
    if not path.exists():
        pytest.fail("runtime-class.yaml (the chart issue's RuntimeClass) is missing at the repository root")
    (runtime_class,) = load_all(path)
    runtimes = containerd_patch["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]
    assert runtime_class["handler"] in runtimes


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
