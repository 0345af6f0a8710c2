"""Shared helpers for the deploy checks (imported as deploylib, so it cannot clash with the other suites' conftest): the repository paths, YAML loading, and running the kind scripts
against a PATH of our choosing (stub tools that record every call, so a test can prove nothing was run)."""

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
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
