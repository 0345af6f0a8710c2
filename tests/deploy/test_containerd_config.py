"""deploy/kind/cluster.yaml's containerd patch, as a kind node runs it: merged into kind's own node config
(../shared/kind/containerd-config.toml) the way kind merges it, then loaded by a real containerd 2.x
(`containerd --config FILE config dump`). kind's runtimes must come out exactly as kind set them, plus `spin`."""

import copy
import tomllib

import pytest

from deploylib import DEPLOY, ROOT, containerd_config_dump, cri_runtimes, kind_node_config, load_all, shared_file


@pytest.fixture(scope="module")
def patches():
    (cluster,) = load_all(DEPLOY / "kind" / "cluster.yaml")
    return cluster["containerdConfigPatches"]


@pytest.fixture(scope="module")
def effective(patches, tmp_path_factory):
    """containerd's reading of kind's file alone and of kind's file with our patches."""
    tmp = tmp_path_factory.mktemp("containerd")
    (tmp / "kind").mkdir()
    (tmp / "patched").mkdir()
    return {
        "kind": containerd_config_dump(kind_node_config([]), tmp / "kind"),
        "patched": containerd_config_dump(kind_node_config(patches), tmp / "patched"),
    }


def changed_runtimes(kind, patched):
    """Each runtime kind's own file sets that the patched config lost or changed, with what it became."""
    before, after = cri_runtimes(kind), cri_runtimes(patched)
    return {name: after.get(name) for name, runtime in before.items() if after.get(name) != runtime}


def test_kind_node_config_is_the_version_2_file_kind_ships():
    # The premise of the section names below: kind's base file (unchanged upstream copy) declares version 2.
    assert tomllib.loads(shared_file("kind/containerd-config.toml").read_text())["version"] == 2


def test_every_patch_declares_the_config_version_of_kinds_file(patches):
    # kind v0.32.0+ applies a patch only to a file of the version it declares: if kind's file moves to version 3,
    # this fails here instead of the patch being skipped on the nodes.
    kind_version = tomllib.loads(shared_file("kind/containerd-config.toml").read_text())["version"]
    assert [tomllib.loads(p).get("version") for p in patches] == [kind_version] * len(patches)


def test_patch_keeps_every_runtime_kind_sets(effective):
    kind_runtimes = cri_runtimes(effective["kind"])
    # What kind sets and this test protects (a sanity check that the comparison below is about something).
    assert {"runc", "test-handler"} <= set(kind_runtimes)
    assert kind_runtimes["runc"]["options"]["SystemdCgroup"] is True
    assert kind_runtimes["runc"]["base_runtime_spec"] == "/etc/containerd/cri-base.json"
    assert changed_runtimes(effective["kind"], effective["patched"]) == {}


def test_patch_adds_the_spin_runtime_with_systemd_cgroup(effective):
    spin = cri_runtimes(effective["patched"])["spin"]
    # runtime-class.yaml's handler `spin` selects it; io.containerd.spin.v2 starts containerd-shim-spin-v2.
    assert spin["runtime_type"] == "io.containerd.spin.v2"
    # Without it metrics-server reads no CPU for wasm pods and the HPA never scales (containerd-shim-spin#180).
    assert spin["options"]["SystemdCgroup"] is True


def test_patch_changes_nothing_else_but_the_registry_config_path(effective):
    kind, patched = copy.deepcopy(effective["kind"]), copy.deepcopy(effective["patched"])
    assert patched["plugins"]["io.containerd.cri.v1.images"]["registry"]["config_path"] == "/etc/containerd/certs.d"
    for config in (kind, patched):
        config["plugins"]["io.containerd.cri.v1.images"]["registry"].pop("config_path")
        cri_runtimes(config).pop("spin", None)
    assert patched == kind


def test_runtime_class_handler_is_a_runtime_of_the_nodes(effective):
    (runtime_class,) = load_all(ROOT / "runtime-class.yaml")
    assert runtime_class["handler"] in cri_runtimes(effective["patched"])


def test_version_3_names_in_kinds_version_2_file_break_kinds_runtimes(patches, effective, tmp_path):
    # Proves the check above can fail, with the mistake this patch once had (and containerd-shim-spin's kind
    # README has): containerd 2's own section names in a version-2 file. Its migration then skips kind's whole
    # `containerd` table: runc loses SystemdCgroup and base_runtime_spec, test-handler is dropped.
    v3 = [
        p.replace('"io.containerd.grpc.v1.cri".containerd', '"io.containerd.cri.v1.runtime".containerd')
        .replace('"io.containerd.grpc.v1.cri".registry', '"io.containerd.cri.v1.images".registry')
        for p in patches
    ]
    assert v3 != patches
    broken = containerd_config_dump(kind_node_config(v3), tmp_path)
    changed = changed_runtimes(effective["kind"], broken)
    assert changed.get("test-handler", "kept") is None, "test-handler should be dropped"
    assert changed["runc"]["options"].get("SystemdCgroup") is not True
    assert "base_runtime_spec" not in changed["runc"] or not changed["runc"]["base_runtime_spec"]
