"""Set-up that respects the user's machine, run for real against stand-in tools on PATH and an empty tool folder:
it uses the tools the machine has in their supported range, installs pinned copies only for the missing or too
old, stops before changing anything where it cannot help (saying what to install per platform), and `make test`
sets up only what the chosen suites need. Also: every make target has a help line that says what it runs."""

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from projectenv import ROOT, TOOLS

MAKEFILE = ROOT / "Makefile"


def machine_path() -> str:
    """The PATH of the machine, without the project's tool folder or the tests' venv."""
    ours = {str(TOOLS / "bin"), str(TOOLS / "venv" / "bin")}
    return os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p not in ours)


class Machine:
    """A machine whose PATH starts with stand-in tools, with an empty tool folder of its own."""

    def __init__(self, tmp_path: Path):
        self.bin = tmp_path / "stubs"
        self.bin.mkdir()
        self.tools = tmp_path / "tools"  # not created: a run that changes nothing leaves it absent
        self.calls = tmp_path / "calls.log"

    def tool(self, name: str, script: str) -> None:
        """A stand-in: records its call, then runs `script` (sh)."""
        stub = self.bin / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{self.calls}"\n{script}\n')
        stub.chmod(0o755)

    def run(self, *command: str, **env: str) -> subprocess.CompletedProcess:
        environ = {**os.environ, "PATH": f"{self.bin}{os.pathsep}{machine_path()}", "ENVAPP_TOOLS": str(self.tools)}
        environ.pop("ENVAPP_USE_PINNED", None)
        environ.update(env)
        return subprocess.run([str(ROOT / command[0]), *command[1:]], cwd=ROOT, env=environ,
                              capture_output=True, text=True, timeout=120)

    def called(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


@pytest.fixture
def machine(tmp_path) -> Machine:
    return Machine(tmp_path)


def test_tools_the_machine_has_in_range_are_used_and_nothing_is_downloaded(machine):
    machine.tool("helm", "echo v3.15.2+g1234567")
    machine.tool("kubectl", "echo 'Client Version: v1.31.4'")
    result = machine.run("scripts/setup-k8s-tools.sh", "helm", "kubectl")
    assert result.returncode == 0, result.stderr
    assert f"helm 3.15.2: {machine.bin}/helm" in result.stderr
    assert f"kubectl 1.31.4: {machine.bin}/kubectl" in result.stderr
    assert "install" not in result.stderr
    assert not machine.tools.exists()


def test_a_too_old_tool_gets_the_pinned_copy_and_the_log_says_why(machine):
    machine.tool("helm", "echo v3.10.1+gabcdef0")
    result = machine.run("scripts/setup-k8s-tools.sh", "--check", "helm")
    assert result.returncode == 0, result.stderr
    assert f"{machine.bin}/helm is 3.10.1, older than the supported 3.13.0: will install the pinned v4.1.4" \
        in result.stderr


def test_envapp_use_pinned_ignores_the_machines_tools(machine):
    machine.tool("helm", "echo v3.15.2+g1234567")
    result = machine.run("scripts/setup-k8s-tools.sh", "--check", "helm", ENVAPP_USE_PINNED="1")
    assert "ENVAPP_USE_PINNED is set: will install the pinned v4.1.4" in result.stderr


def test_a_stale_copy_of_ours_is_removed_so_the_machines_good_one_is_used(machine):
    machine.tool("helm", "echo v3.15.2+g1234567")
    (machine.tools / "bin").mkdir(parents=True)
    stale = machine.tools / "bin" / "helm"
    stale.write_text("#!/bin/sh\necho v4.0.0+gdeadbee\n")
    stale.chmod(0o755)
    result = machine.run("scripts/setup-k8s-tools.sh", "helm")
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert f"helm 3.15.2: {machine.bin}/helm" in result.stderr


@pytest.mark.parametrize("system, arch", [("Darwin", "arm64"), ("Linux", "aarch64")])
def test_where_the_pinned_download_cannot_work_setup_stops_before_changing_anything(machine, system, arch):
    # A Mac, or an arm64 Linux: a helm that does not run here (as the x86-64 pinned binary would not), so
    # set-up must neither fetch nor install anything, and must say what to install on each platform.
    machine.tool("uname", f'case "$1" in -m) echo {arch};; *) echo {system};; esac')
    machine.tool("helm", "exit 126")
    for tool in ("npm", "apt-get", "sudo", "dpkg"):
        machine.tool(tool, "exit 1")
    result = machine.run("scripts/setup.sh")
    assert result.returncode != 0
    assert "set-up stopped before changing anything" in result.stderr
    assert f"{machine.bin}/helm does not run on this machine ({system}-{arch})" in result.stderr
    assert f"the pinned copy is a Linux x86-64 binary and this machine is {system}-{arch}" in result.stderr
    for platform in ("Debian/Ubuntu: sudo snap install helm", "Fedora:        sudo dnf install helm",
                     "macOS (brew):  brew install helm"):
        assert platform in result.stderr
    assert not machine.tools.exists()
    assert [c.split()[0] for c in machine.called() if not c.startswith(("uname", "helm"))] == []


def test_a_cosign_older_than_3_gets_debian_sids_and_the_log_says_why(machine):
    machine.tool("cosign", 'echo "GitVersion:    v2.4.1"')
    machine.tool("cargo-cyclonedx", 'echo "cargo-cyclonedx-cyclonedx 0.5.9"')
    result = machine.run("scripts/setup-release-tools.sh", "--check")
    assert result.returncode == 0, result.stderr
    assert f"{machine.bin}/cosign is 2.4.1, older than the supported 3.0.0: will unpack Debian sid's cosign" in result.stderr
    assert f"cargo-cyclonedx 0.5.9: {machine.bin}/cargo-cyclonedx" in result.stderr
    assert not machine.tools.exists()


def test_debians_cosign_which_says_devel_is_known_by_its_package_version(machine, tmp_path):
    # Debian builds cosign without its version ("GitVersion: devel"); the package's changelog beside it names it.
    tree = tmp_path / "debian"
    (tree / "usr" / "bin").mkdir(parents=True)
    (tree / "usr" / "share" / "doc" / "cosign").mkdir(parents=True)
    binary = tree / "usr" / "bin" / "cosign"
    binary.write_text('#!/bin/sh\necho "GitVersion:    devel"\necho "GoVersion:     go1.27.3"\n')
    binary.chmod(0o755)
    changelog = "cosign (3.1.1-2) unstable; urgency=medium\n\n  * Team Upload\n"
    (tree / "usr" / "share" / "doc" / "cosign" / "changelog.Debian.gz").write_bytes(gzip.compress(changelog.encode()))
    (machine.bin / "cosign").symlink_to(binary)  # as our unpacked copy is linked from the tool folder
    result = machine.run("scripts/setup-release-tools.sh", "--check", "cosign")
    assert result.returncode == 0, result.stderr
    assert f"cosign 3.1.1: {machine.bin}/cosign (supported: 3.0.0 or newer)" in result.stderr


def test_one_suite_is_set_up_without_checking_unrelated_tools(machine):
    """`scripts/test.sh tests/http -k NAME`: builds the component and the dev host, checks helm (the pod test renders
    the chart) but no other chart, registry or bench tool, runs no unit tests, and hands pytest exactly the
    arguments given."""
    venv = machine.tools / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to("/bin/true")
    (venv / ".requirements").write_bytes((ROOT / "tests" / "requirements.txt").read_bytes())  # up to date
    pytest_stub = venv / "bin" / "pytest"
    pytest_stub.write_text(f'#!/bin/sh\necho "pytest $*" >> "{machine.calls}"\n')
    pytest_stub.chmod(0o755)
    for tool in ("cargo", "kubectl", "skopeo", "docker-registry", "checkov", "wrk", "npm", "apt-get"):
        machine.tool(tool, "exit 0")
    machine.tool("helm", "echo v3.15.2+g1234567")
    result = machine.run("scripts/test.sh", "tests/http", "-k", "redact")
    assert result.returncode == 0, result.stderr
    calls = [c for c in machine.called() if c != "helm version --short"]
    assert [c.split()[0] for c in calls] == ["cargo", "cargo", "pytest"], calls  # no kubectl, skopeo, checkov...
    assert "--target wasm32-wasip1" in calls[0] and "host/Cargo.toml" in calls[1]
    assert calls[2] == "pytest -q -p no:cacheprovider tests/http -k redact"
    assert f"helm 3.15.2: {machine.bin}/helm" in result.stderr


def test_make_unit_runs_the_unit_tests_of_the_component_and_the_dev_host(machine):
    machine.tool("cargo", "exit 0")
    result = machine.run("scripts/test.sh", "--unit")
    assert result.returncode == 0, result.stderr
    calls = machine.called()
    assert len(calls) == 2 and calls[0] == "cargo test --quiet", calls
    assert calls[1].startswith("cargo test") and "--manifest-path host/Cargo.toml" in calls[1]


def make_targets() -> dict[str, str]:
    """Every target with its `## help` text ('' when it has none)."""
    phony = [t for line in re.findall(r"^\.PHONY:(.*)$", MAKEFILE.read_text(), re.M) for t in line.split()]
    helps = dict(re.findall(r"^([a-z][a-z0-9-]*):[^#\n]*## (.*)$", MAKEFILE.read_text(), re.M))
    return {target: helps.get(target, "") for target in phony}


def make_n(*args: str) -> list[str]:
    out = subprocess.run(["make", "-s", "-n", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [line.strip() for line in out.splitlines()]


def test_every_make_target_has_a_help_line_and_make_help_lists_them_all():
    targets = make_targets()
    assert [t for t, h in targets.items() if not h] == [], ".PHONY targets without a `## help` line"
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = {line.split()[1] for line in out.splitlines()}
    assert sorted(listed - set(targets)) == [], "targets with a help line missing from .PHONY"
    assert listed == set(targets)


# What a help line promises, and the command its recipe must run for that promise to hold.
PROMISES = {
    "setup": ("adds what is missing", ["scripts/setup.sh"]),
    "test": ("setting up what each suite needs", ["scripts/test.sh"]),
    "unit": ("unit tests only: the component's logic and the dev host", ["scripts/test.sh --unit"]),
    "clean": ("target/, .spin/", ["cargo clean && rm -rf .spin"]),
    "push": ("without Docker", ["scripts/build.sh", 'scripts/push.sh "r.example"']),
    "push-spin": ("spin registry push", ["scripts/build.sh", 'scripts/push-spin.sh "r.example"']),
    "push-chart": ("oci://REGISTRY/charts", ['scripts/push-chart.sh "r.example"']),
}


@pytest.mark.parametrize("target", sorted(PROMISES))
def test_help_line_matches_what_the_target_runs(target):
    words, commands = PROMISES[target]
    assert words in make_targets()[target]
    assert make_n(target, "REGISTRY=r.example") == commands


def test_sign_and_verify_take_every_ref_and_the_key_or_the_repository():
    assert "SBOM" in make_targets()["sbom"] and make_n("sbom") == ["scripts/sbom.sh"]
    assert make_n("sign", "REF=r/envapp@sha256:1 r/x@sha256:2", "KEY=cosign.key") == [
        'scripts/sign.sh --key "cosign.key" r/envapp@sha256:1 r/x@sha256:2']
    assert make_n("verify", "REF=r/envapp@sha256:1", "KEY=cosign.pub") == ['scripts/verify.sh --key "cosign.pub" r/envapp@sha256:1']
    assert make_n("verify", "REF=r/envapp@sha256:1", "GITHUB_REPO=acme/envapp") == [
        'scripts/verify.sh --github "acme/envapp" r/envapp@sha256:1']


def test_setup_check_is_what_make_setup_check_runs():
    assert make_n("setup", "CHECK=1") == ["scripts/setup.sh --check"]


def test_every_make_command_the_docs_show_is_a_real_target():
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    shown = {m for doc in docs for m in re.findall(r"\bmake ([a-z][a-z0-9-]*)", doc.read_text())}
    assert shown - set(make_targets()) == set(), "docs name make targets that do not exist"


def test_gitignore_covers_build_output_and_spins_working_files():
    paths = [".spin/logs/envapp_stdout.txt", "target/x", "bench/floor/target/x", "bench/floor/.spin/x"]
    result = subprocess.run(["git", "check-ignore", *paths], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.split() == paths


def test_with_no_cluster_only_the_end_to_end_checks_skip(tmp_path):
    """`make test` hands pytest tests/ and deploy/kind/e2e together: without a cluster the e2e checks skip, saying
    why, and every other test still runs."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "ENVAPP_E2E_CONTEXT": "kind-no-such-cluster"}
    one_test = "tests/setup/test_setup.py::test_every_make_command_the_docs_show_is_a_real_target"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", one_test,
                             "deploy/kind/e2e"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b1 passed, [1-9]\d* skipped\b", result.stdout), result.stdout
    assert "deploy/kind/e2e/test_e2e.py: no cluster answers at kube context kind-no-such-cluster" in result.stdout
