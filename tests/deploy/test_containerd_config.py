"""deploy/kind/cluster.yaml's containerd patch, as a kind node runs it: merged into kind's own node config
(../shared/kind/containerd-config.toml) the way kind merges it, then loaded by a real containerd 2.x
(`containerd --config FILE config dump`). kind's runtimes must come out as kind set them but for the cgroup driver,
which every runtime and the kubelet share (cgroupfs), plus `spin`."""

import copy
import tomllib

import pytest
import yaml

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


def load_all_text(text):
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


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


def test_patch_keeps_every_runtime_kind_sets_but_for_the_cgroup_driver(effective):
    kind_runtimes = cri_runtimes(effective["kind"])
    # What kind sets and this test protects (a sanity check that the comparison below is about something).
    assert {"runc", "test-handler"} <= set(kind_runtimes)
    assert kind_runtimes["runc"]["options"]["SystemdCgroup"] is True
    assert kind_runtimes["runc"]["base_runtime_spec"] == "/etc/containerd/cri-base.json"
    changed = copy.deepcopy(changed_runtimes(effective["kind"], effective["patched"]))
    assert set(changed) == {"runc", "test-handler"}
    for name, runtime in changed.items():
        assert runtime["options"].pop("SystemdCgroup") is False, name
        kind_runtime = copy.deepcopy(kind_runtimes[name])
        kind_runtime["options"].pop("SystemdCgroup")
        assert runtime == kind_runtime, name


def test_patch_adds_the_spin_runtime_on_the_kubelets_cgroup_driver(effective):
    spin = cri_runtimes(effective["patched"])["spin"]
    # runtime-class.yaml's handler `spin` selects it; io.containerd.spin.v2 starts containerd-shim-spin-v2.
    assert spin["runtime_type"] == "io.containerd.spin.v2"
    # cgroupfs: the shim then makes the container's cgroup under its pod's, where the kubelet finds its CPU.
    assert spin["options"]["SystemdCgroup"] is False


def test_the_kubelet_and_every_runtime_use_the_same_cgroup_driver(effective):
    (cluster,) = load_all(DEPLOY / "kind" / "cluster.yaml")
    kubelet = [doc for patch in cluster["kubeadmConfigPatches"] for doc in load_all_text(patch)
               if doc.get("kind") == "KubeletConfiguration"]
    assert [doc["cgroupDriver"] for doc in kubelet] == ["cgroupfs"]
    systemd = {name: r["options"].get("SystemdCgroup") for name, r in cri_runtimes(effective["patched"]).items()}
    assert systemd == {"runc": False, "test-handler": False, "spin": False}


def test_patch_changes_nothing_else_but_the_registry_config_path(effective):
    kind, patched = copy.deepcopy(effective["kind"]), copy.deepcopy(effective["patched"])
    assert patched["plugins"]["io.containerd.cri.v1.images"]["registry"]["config_path"] == "/etc/containerd/certs.d"
    for config in (kind, patched):
        config["plugins"]["io.containerd.cri.v1.images"]["registry"].pop("config_path")
        cri_runtimes(config).pop("spin", None)
        for runtime in cri_runtimes(config).values():
            runtime["options"].pop("SystemdCgroup", None)
    assert patched == kind


def test_runtime_class_handler_is_a_runtime_of_the_nodes(effective):
    (runtime_class,) = load_all(ROOT / "runtime-class.yaml")
    assert runtime_class["handler"] in cri_runtimes(effective["patched"])


def test_version_3_names_in_kinds_version_2_file_break_kinds_runtimes(patches, effective, tmp_path):
    # Proves the check above can fail, with the mistake this patch once had (and containerd-shim-spin's kind
    # README has): containerd 2's own section names in a version-2 file. Its migration then skips kind's whole
    # `containerd` table: runc loses its base_runtime_spec, test-handler its runtime type (dropped whole when the
    # patch names no option of it).
    v3 = [
        p.replace('"io.containerd.grpc.v1.cri".containerd', '"io.containerd.cri.v1.runtime".containerd')
        .replace('"io.containerd.grpc.v1.cri".registry', '"io.containerd.cri.v1.images".registry')
        for p in patches
    ]
    assert v3 != patches
    broken = containerd_config_dump(kind_node_config(v3), tmp_path)
    changed = changed_runtimes(effective["kind"], broken)
    # test-handler keeps only what the patch says of it: no runtime type, no base spec.
    assert not (changed["test-handler"] or {}).get("runtime_type"), "test-handler should lose its runtime type"
    assert not changed["runc"].get("base_runtime_spec"), "runc should lose its base spec"
