"""Shared helpers for the deploy checks (imported as deploylib, so it cannot clash with the other suites' conftest):
the repository paths, YAML loading, running the kind scripts against a PATH of our choosing (stub tools that record
every call, so a test can prove nothing was run), and a kind node's containerd config as kind writes it and
containerd 2.x reads it."""

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from projectenv import ROOT, TOOLS, shared_file

DEPLOY = ROOT / "deploy"
KIND = DEPLOY / "kind"
SCRIPTS = ROOT / "scripts"
HERE = Path(__file__).resolve().parent

# The tools the kind scripts drive. A stub of each records its arguments in $STUB_LOG and fails.
CLUSTER_TOOLS = ("docker", "kind", "helm", "kubectl", "curl", "python3", "skopeo", "spin")
# What bash needs to get from the top of the scripts to their prerequisite check.
BASE_TOOLS = ("bash", "env", "dirname", "cat", "grep", "sed", "head", "mkdir", "rm", "mktemp", "seq")


def load_all(path):
    """Every YAML document of a file, empty ones dropped."""
    with open(path, encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def deploy_yaml_files():
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))


class Sandbox:
    """A PATH holding only the base tools plus stubs of the tools named, and empty HOME and tool folders."""

    def __init__(self, tmp_path, stubs):
        self.bin = tmp_path / "bin"
        self.home = tmp_path / "home"
        self.tools = tmp_path / "tools"
        self.log = tmp_path / "stub-calls.log"
        for d in (self.bin, self.home, self.tools):
            d.mkdir()
        for name in BASE_TOOLS:
            found = shutil.which(name)
            assert found, f"{name} is needed to run the scripts"
            (self.bin / name).symlink_to(found)
        for name in stubs:
            stub = self.bin / name
            stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "$STUB_LOG"\nexit 97\n')
            stub.chmod(0o755)

    def run(self, *args, **env):
        environ = {
            "PATH": str(self.bin),
            "HOME": str(self.home),
            "ENVAPP_TOOLS": str(self.tools),
            "STUB_LOG": str(self.log),
            "LC_ALL": "C",
        }
        environ.update(env)
        return subprocess.run(
            [str(self.bin / "bash"), *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
        )

    def calls(self):
        return self.log.read_text().splitlines() if self.log.exists() else []

    def created_files(self):
        return [p for d in (self.home, self.tools) for p in d.rglob("*")]


# A kind node's containerd config. kind writes kind's base file (../shared/kind/containerd-config.toml) with the
# cluster's containerdConfigPatches merged in (kubernetes-sigs/kind pkg/internal/patch/toml.go: the TOML read as
# JSON, each patch applied as an RFC 7386 merge patch, a patch that declares another `version` than the file's
# skipped); containerd reads that file, migrating a version-2 file to version 3 on the way.

CONTAINERD = TOOLS / "containerd2" / "usr" / "bin" / "containerd"
CRI_RUNTIME = "io.containerd.cri.v1.runtime"  # containerd 2's (config version 3) CRI runtime plugin


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch: tables merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def kind_node_config(patches, base=None):
    """The config.toml kind writes on a node: `base` (kind's file by default) with `patches` merged, as kind does."""
    config = tomllib.loads(base if base is not None else shared_file("kind/containerd-config.toml").read_text())
    for text in patches:
        patch = tomllib.loads(text)
        if patch.get("version", config["version"]) != config["version"]:
            continue  # kind v0.32.0+: a patch for another config version is skipped
        config = merge_patch(config, patch)
    return config


def _toml_key(key):
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string: JSON's escapes are valid TOML
    if isinstance(value, list) and not any(isinstance(v, dict) for v in value):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r} in this writer")


def to_toml(table, path=()):
    """A TOML document for a table of scalars, arrays and tables (what containerd configs hold)."""
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    lines = [f"[{'.'.join(map(_toml_key, path))}]"] if path and (scalars or not tables) else []
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items()]
    for key, sub in tables.items():
        lines.append(to_toml(sub, path + (key,)))
    return "\n".join(lines)


def containerd_config_dump(config, tmp_path):
    """What containerd 2.x makes of a config.toml (`containerd --config FILE config dump`), parsed."""
    if not CONTAINERD.is_file():
        pytest.fail(f"{CONTAINERD} missing: run scripts/setup-deploy-tools.sh (Debian sid's containerd 2.x, unpacked)")
    path = tmp_path / "config.toml"
    path.write_text(to_toml(config) + "\n")
    result = subprocess.run([str(CONTAINERD), "--config", str(path), "config", "dump"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return tomllib.loads(result.stdout)


def cri_runtimes(dump):
    """The CRI runtimes of a `config dump`: name -> runtime table."""
    return dump["plugins"][CRI_RUNTIME]["containerd"]["runtimes"]


def crictl_info(dump):
    """`crictl info` on a node running that config: the CRI plugin's config as JSON, as containerd 2 reports it
    (internal/cri/config/config.go json tags: runtimeType, baseRuntimeSpec, options)."""
    runtimes = {
        name: {
            "runtimeType": runtime.get("runtime_type", ""),
            "baseRuntimeSpec": runtime.get("base_runtime_spec", ""),
            "options": runtime.get("options", {}),
        }
        for name, runtime in cri_runtimes(dump).items()
    }
    return {"config": {"containerd": {"runtimes": runtimes}}}
