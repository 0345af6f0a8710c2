"""`make push` (scripts/push.sh) against a real registry, read back with skopeo, an independent client."""

import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import tomllib

from projectenv import free_port
from publishlib import CRATE_VERSION, SPIN_TOML, last_line, run_script

def skopeo(*args: str) -> bytes:
    result = subprocess.run(["skopeo", *args], capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def test_push_prints_the_reference_with_its_digest_last(pushed_image):
    assert re.fullmatch(r"127\.0\.0\.1:\d+/team/envapp@sha256:[0-9a-f]{64}", pushed_image.reference)


WASM_LAYER = "application/vnd.wasm.content.layer.v1+wasm"


def test_pushed_image_is_a_tar_layer_and_a_wasm_layer_for_os_wasip1_arch_wasm(pushed_image):
    ref = f"docker://{pushed_image.repository}:{CRATE_VERSION}"
    raw = skopeo("inspect", "--raw", "--tls-verify=false", ref)
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == pushed_image.digest, "the tag names another manifest"
    manifest = json.loads(raw)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    # The .wasm as a layer of Spin's wasm media type, which containerd-shim-spin precompiles once per node.
    assert [layer["mediaType"] for layer in manifest["layers"]] == ["application/vnd.oci.image.layer.v1.tar+gzip",
                                                                     WASM_LAYER]

    config = json.loads(skopeo("inspect", "--config", "--raw", "--tls-verify=false", ref))
    assert (config["os"], config["architecture"]) == ("wasip1", "wasm")
    assert config["created"] == "1970-01-01T00:00:00Z"
    # Only the tar layer is a file system layer.
    assert len(config["rootfs"]["diff_ids"]) == 1


def test_layers_hold_the_locked_app_and_the_wasm_byte_for_byte(pushed_image, wasm, tmp_path):
    # Pull by digest into a plain directory: the blobs exactly as the registry serves them.
    skopeo("copy", "--src-tls-verify=false", f"docker://{pushed_image.reference}", f"dir:{tmp_path}")
    manifest = json.loads((tmp_path / "manifest.json").read_bytes())
    tar_layer, wasm_layer = manifest["layers"]
    blob = (tmp_path / tar_layer["digest"].removeprefix("sha256:")).read_bytes()
    assert (tmp_path / wasm_layer["digest"].removeprefix("sha256:")).read_bytes() == wasm.read_bytes()
    print(f"\nimage layers: {len(blob)} bytes gzipped, wasm {wasm_layer['size']} bytes")

    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        (member,) = tar.getmembers()
        assert (member.name, member.mode, member.uid, member.gid, member.mtime) == ("spin.json", 0o644, 0, 0, 0)
        locked = json.loads(tar.extractfile(member).read())
    # The locked app of spin.toml, its component's source the wasm layer, by digest.
    manifest_toml = tomllib.loads(SPIN_TOML.read_text())
    (component,) = locked["components"]
    assert component["id"] == "envapp"
    assert component["source"] == {"content_type": "application/wasm", "digest": wasm_layer["digest"]}
    assert component["config"] == manifest_toml["component"]["envapp"]["variables"]
    assert locked["variables"] == {name: {"default": v["default"]} for name, v in manifest_toml["variables"].items()}
    assert locked["triggers"] == [{"id": "envapp-http-trigger", "trigger_type": "http",
                                   "trigger_config": {"route": "/...", "component": "envapp"}}]
    assert locked["metadata"]["trigger"] == {"type": "http"} and locked["metadata"]["name"] == "envapp"


def test_pushing_the_same_build_twice_gives_the_same_digest(registry, pushed_image):
    # A second push rebuilds the image from scratch, to another repository.
    again = run_script("push.sh", "--insecure", f"{registry.host}/again")
    assert again.returncode == 0, again.stderr
    assert last_line(again.stdout) == f"{registry.host}/again/envapp@{pushed_image.digest}"


def test_push_to_a_registry_that_is_down_fails_and_prints_no_reference(wasm):
    closed = f"127.0.0.1:{free_port()}"  # nothing listens there
    result = run_script("push.sh", "--insecure", closed)
    assert result.returncode != 0
    assert f"push to {closed}/envapp:{CRATE_VERSION} failed" in result.stderr
    assert "connection refused" in result.stderr
    assert "@sha256:" not in result.stdout


def test_push_to_a_registry_that_refuses_fails_and_prints_no_reference(readonly_registry, wasm):
    result = run_script("push.sh", "--insecure", readonly_registry.host)
    assert result.returncode != 0
    assert "failed: is the registry" in result.stderr
    assert "@sha256:" not in result.stdout


def test_push_without_a_registry_argument_prints_usage():
    result = run_script("push.sh")
    assert result.returncode != 0
    assert "usage: scripts/push.sh" in result.stderr


def test_push_spin_without_spin_says_what_to_install(tmp_path):
    # A PATH with the basic tools but no spin, whatever the developer has installed.
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    result = run_script("push-spin.sh", "--insecure", "127.0.0.1:5000", env=env)
    assert result.returncode != 0
    assert "spin not found: install Spin" in result.stderr
    assert "make push" in result.stderr


def test_push_spin_passes_insecure_and_prints_the_digest_spin_reports(tmp_path, wasm):
    # A stand-in for the Spin CLI (none can be installed here): records its arguments, answers like spin 3.x.
    digest = "sha256:" + "ab" * 32
    fake = tmp_path / "bin" / "spin"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" > "{tmp_path}/args"\necho "Pushed with digest {digest}"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    result = run_script("push-spin.sh", "--insecure", "127.0.0.1:5000/team", env=env)
    assert result.returncode == 0, result.stderr
    assert last_line(result.stdout) == f"127.0.0.1:5000/team/envapp@{digest}"
    assert (tmp_path / "args").read_text().split() == [
        "registry", "push", "--from", str(SPIN_TOML), "--insecure", f"127.0.0.1:5000/team/envapp:{CRATE_VERSION}",
    ]
