"""scripts/ and deploy/kind/: every shell script is shellcheck-clean; the kind journey's up.sh/down.sh dry runs print
the documented journey, run nothing, and a real run without docker/kind stops before touching anything."""

import json
import re
import shutil
import subprocess

import pytest

from deploylib import (
    CLUSTER_TOOLS,
    DEPLOY,
    HERE,
    KIND,
    ROOT,
    SCRIPTS,
    containerd_config_dump,
    crictl_info,
    kind_node_config,
    load_all,
)

KIND_UP_GOLDEN = HERE / "kind-up.dry-run.txt"
KIND_DOWN_GOLDEN = HERE / "kind-down.dry-run.txt"
# The dry run shown in docs/kind.md uses the publisher of a machine without Spin.
DRY_RUN_ENV = {"ENVAPP_PUSH": "image"}
KIND_DOCS = ROOT / "docs" / "kind.md"


def shell_scripts():
    """Every shell script under scripts/ and deploy/kind/, found by name or shebang, so new scripts are covered
    without edits."""
    found = []
    for path in sorted(p for folder in (SCRIPTS, KIND) for p in folder.rglob("*") if p.is_file()):
        first = path.read_text(errors="replace").split("\n", 1)[0]
        if path.suffix in (".sh", ".bash") or re.match(r"#!.*\b(ba)?sh\b", first):
            found.append(path)
    return found


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_script_is_shellcheck_clean(script):
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck not installed: apt-get install shellcheck (make setup installs it)"
    args = [shellcheck, "--external-sources", str(script.relative_to(ROOT))]
    if not script.read_text().startswith("#!"):
        # A sourced library defines names for the scripts that source it: "unused" (SC2034) is expected there.
        args.insert(1, "--exclude=SC2034")
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_all_scripts_are_found():
    names = {str(p.relative_to(ROOT)) for p in shell_scripts()}
    kind = {f"deploy/kind/{name}" for name in ("up.sh", "down.sh", "lib.sh", "e2e.sh", "diagnostics.sh")}
    assert kind | {"scripts/lib.sh"} <= names


def dry_run(sandbox, script, stubs=CLUSTER_TOOLS):
    box = sandbox(stubs)
    result = box.run(f"deploy/kind/{script}", "--dry-run", **DRY_RUN_ENV)
    assert result.returncode == 0, result.stderr
    return box, result


def test_kind_up_dry_run_prints_the_documented_journey(sandbox):
    _, result = dry_run(sandbox, "up.sh")
    assert result.stdout == KIND_UP_GOLDEN.read_text(), (
        "kind-up --dry-run changed: update tests/deploy/kind-up.dry-run.txt and the walk-through in docs/kind.md"
    )


def test_kind_up_dry_run_runs_nothing(sandbox):
    box, _ = dry_run(sandbox, "up.sh")
    assert box.calls() == []
    assert box.created_files() == []


def test_kind_up_dry_run_needs_no_tools_and_warns_what_is_missing(sandbox):
    box, result = dry_run(sandbox, "up.sh", stubs=())
    assert result.stdout == KIND_UP_GOLDEN.read_text()
    for tool in ("docker", "kind", "helm", "kubectl", "skopeo", "python3"):
        assert f"warning: missing {tool}:" in result.stderr


def commands(text):
    return [line[2:] for line in text.splitlines() if line.startswith("+ ")]


def test_kind_up_steps_come_in_the_documented_order():
    ordered = [
        r"^docker run -d .*-p 127\.0\.0\.1:5001:5000 .*--name kind-registry .*registry:3$",
        r"^kind create cluster --name envapp --config deploy/kind/cluster\.yaml$",
        r"^docker exec -i envapp-worker3 cp /dev/stdin /etc/containerd/certs\.d/localhost:5001/hosts\.toml < deploy/kind/hosts\.toml$",
        r"^docker exec envapp-control-plane crictl info$",
        r"^docker exec envapp-worker3 crictl info$",
        r"^docker network connect kind kind-registry$",
        r"^kubectl --context kind-envapp apply -f deploy/kind/local-registry-hosting\.yaml$",
        r"^kubectl --context kind-envapp get apiservice v1beta1\.metrics\.k8s\.io ",
        r"^helm .*upgrade --install metrics-server metrics-server .*--version \d+\.\d+\.\d+ .*'args=\{--kubelet-insecure-tls\}'",
        r"^kubectl --context kind-envapp apply -f runtime-class\.yaml$",
        r"^scripts/push\.sh localhost:5001 --insecure$",
        r"^kubectl --context kind-envapp label namespace dev --overwrite pod-security\.kubernetes\.io/enforce=restricted ",
        r"^kubectl --context kind-envapp label namespace prod --overwrite pod-security\.kubernetes\.io/enforce=restricted ",
        r"^helm .*upgrade --install envapp chart/internal-service --namespace dev -f chart/values-dev\.yaml --set hub=localhost:5001 --set 'digest=sha256:<digest>' --set imageFormat=scratch --set allowRootForSpinArtifact=false --wait",
        r"^kubectl .*--namespace dev get hpa .*jsonpath=\{\.items\[\*\]\.spec\.minReplicas\}",
        r"^kubectl .*--namespace dev get deployment .*jsonpath=\{\.items\[\*\]\.status\.readyReplicas\}",
        r"^helm .*upgrade --install envapp chart/internal-service --namespace prod -f chart/values-prod\.yaml --set hub=localhost:5001 --set 'digest=sha256:<digest>' --set imageFormat=scratch --set allowRootForSpinArtifact=false --wait",
        r"^kubectl .*--namespace prod get deployment .*jsonpath=\{\.items\[\*\]\.status\.readyReplicas\}",
        r"^deploy/kind/e2e\.sh --context kind-envapp$",
    ]
    lines = commands(KIND_UP_GOLDEN.read_text())
    position = 0
    for pattern in ordered:
        for index in range(position, len(lines)):
            if re.search(pattern, lines[index]):
                position = index + 1
                break
        else:
            pytest.fail(f"no command matching {pattern!r} after line {position} of the dry run")


def test_kind_up_ends_with_the_end_to_end_checks_of_its_own_cluster():
    lines = commands(KIND_UP_GOLDEN.read_text())
    assert lines[-1] == "deploy/kind/e2e.sh --context kind-envapp"
    for env in ("dev", "prod"):
        assert f"the HPA has brought the {env} Deployment to minReplicas ready pods" in KIND_UP_GOLDEN.read_text()


def test_kind_up_checks_every_nodes_containerd_runtimes():
    lines = KIND_UP_GOLDEN.read_text().splitlines()
    for node in ("envapp-control-plane", "envapp-worker", "envapp-worker2", "envapp-worker3"):
        at = lines.index(f"+ docker exec {node} crictl info")
        assert lines[at + 1].startswith(f"# expect: {node}'s containerd keeps kind's runtimes runc and test-handler")


def test_kind_up_publishes_after_checking_each_nodes_containerd(sandbox):
    box = sandbox()
    printed = {}
    for publisher, push in (("image", "push.sh"), ("spin", "push-spin.sh")):
        result = box.run("deploy/kind/up.sh", "--dry-run", ENVAPP_PUSH=publisher)
        assert result.returncode == 0, result.stderr
        lines = printed[publisher] = result.stdout.splitlines()
        checks = [i for i, line in enumerate(lines)
                  if re.fullmatch(r"\+ docker exec envapp-\S+ containerd --version", line)]
        assert len(checks) == 4
        assert lines.index(f"+ scripts/{push} localhost:5001 --insecure") > max(checks)
    lines = printed["spin"]
    installs = [line for line in lines if " upgrade --install envapp " in line]
    assert len(installs) == 2 and all("--set imageFormat=spin --set allowRootForSpinArtifact=true " in line for line in installs)
    # Spin's artifact runs as uid 0: the namespaces enforce baseline, not restricted.
    labels = [line for line in lines if " label namespace " in line]
    assert len(labels) == 2 and all("pod-security.kubernetes.io/enforce=baseline " in line for line in labels)


def test_kind_up_tells_the_chart_which_image_format_it_published():
    # The chart keeps the root writable only for Spin's artifact; its schema knows both formats.
    schema = json.loads((ROOT / "chart/internal-service/values.schema.json").read_text())
    assert {"scratch", "spin"} <= set(schema["properties"]["imageFormat"]["enum"])
    installs = [line for line in commands(KIND_UP_GOLDEN.read_text()) if " upgrade --install envapp " in line]
    assert len(installs) == 2 and all("--set imageFormat=scratch --set allowRootForSpinArtifact=false " in line for line in installs)


def test_kind_up_without_docker_and_kind_names_them_and_touches_nothing(sandbox):
    box = sandbox(stubs=[t for t in CLUSTER_TOOLS if t not in ("docker", "kind")])
    result = box.run("deploy/kind/up.sh", **DRY_RUN_ENV)
    assert result.returncode != 0
    assert "error: missing docker: install Docker Engine" in result.stderr
    assert "error: missing kind: install kind" in result.stderr
    assert "nothing was changed" in result.stderr
    assert "helm" not in result.stderr.replace("helm.sh", "")  # helm is there: only what is missing is named
    assert result.stdout == ""
    assert box.calls() == [], "a tool was run before the prerequisite check"
    assert box.created_files() == []


def test_kind_up_rejects_unknown_arguments(sandbox):
    result = sandbox().run("deploy/kind/up.sh", "--dryrun")
    assert result.returncode != 0
    assert "usage: deploy/kind/up.sh [--dry-run]" in result.stderr


def test_kind_down_dry_run_removes_the_cluster_and_only_our_registry(sandbox):
    box, result = dry_run(sandbox, "down.sh")
    assert result.stdout == KIND_DOWN_GOLDEN.read_text()
    lines = commands(result.stdout)
    assert "kind delete cluster --name envapp" in lines
    assert "docker rm -f kind-registry" in lines
    label_query = next(line for line in lines if line.startswith("docker ps"))
    assert "label=io.envapp.created-by=deploy-kind-up" in label_query
    assert box.calls() == []


def test_kind_down_without_docker_and_kind_names_them_and_touches_nothing(sandbox):
    box = sandbox(stubs=())
    result = box.run("deploy/kind/down.sh")
    assert result.returncode != 0
    assert "error: missing docker:" in result.stderr and "error: missing kind:" in result.stderr
    assert box.calls() == []


def test_registry_container_matches_the_node_registry_config():
    # kind-up's registry name and port must be what hosts.toml and the ConfigMap point at.
    lines = commands(KIND_UP_GOLDEN.read_text())
    run = next(line for line in lines if line.startswith("docker run "))
    assert "--name kind-registry" in run and "127.0.0.1:5001:5000" in run
    assert (ROOT / "deploy/kind/hosts.toml").read_text().count('[host."http://kind-registry:5000"]') == 1


def test_docs_walk_through_matches_the_dry_run():
    blocks = re.findall(r"```[a-z]*\n(.*?)```", KIND_DOCS.read_text(), re.S)
    documented = [b for b in blocks if b.lstrip().startswith("+ ")]
    assert documented, "docs/kind.md should show the `make kind-up DRY_RUN=1` output"
    assert documented[0] == KIND_UP_GOLDEN.read_text(), "docs/kind.md dry-run block differs from kind-up --dry-run"


def test_readme_links_the_kind_page():
    assert "(docs/kind.md)" in (ROOT / "README.md").read_text()


# A real run against fake tools: the run path (captured values, the per-node containerd check, the air-gapped
# choices, the HPA wait) runs for real against stand-ins that answer as a cluster would; the end-to-end checks it
# runs last (deploy/kind/e2e.sh) are replaced by a stub here and run against real clusters only. Each node's
# `crictl info` is what a real containerd 2.x makes of deploy/kind/cluster.yaml's patch merged into kind's node
# config (test_containerd_config.py).

FAKE_TOOLS = {
    "docker": """case "$1" in
  ps) [ -n "$FAKE_EXISTING" ] && echo running || echo "" ;;
  inspect) [ -n "$FAKE_EXISTING" ] && echo '{"NetworkID":"abc"}' || echo null ;;
  exec) case "$*" in
          *"crictl info") cat "$FAKE_CRICTL_INFO" ;;
          *"containerd --version") echo "containerd github.com/containerd/containerd/v2 $FAKE_CONTAINERD abcdef" ;;
          *" -i "*) cat >/dev/null ;;
        esac ;;
esac""",
    "kind": """case "$1 $2" in
  "get clusters") [ -n "$FAKE_EXISTING" ] && echo envapp ;;
  "get nodes") printf '%s\\n' envapp-control-plane envapp-worker envapp-worker2 envapp-worker3 ;;
esac""",
    "kubectl": """case "$*" in
  *"get apiservice"*) echo "$FAKE_METRICS_API" ;;
  *"get namespace"*) [ -n "$FAKE_EXISTING" ] && echo namespace/x ;;
  *"get hpa"*minReplicas*) echo 3 ;;
  *"get deployment"*readyReplicas*) echo "$FAKE_READY" ;;
esac""",
    "helm": """case "$*" in *" list "*) echo "$FAKE_METRICS_RELEASE" ;; esac""",
    "skopeo": "",
}
PUSH_SCRIPT = "#!/usr/bin/env bash\necho building >&2\necho \"$1/envapp@sha256:$(printf 'a%.0s' $(seq 64))\"\n"
E2E_SCRIPT = '#!/bin/sh\necho "e2e $*" >> "$FAKE_LOG"\nexit "${FAKE_E2E_EXIT:-0}"\n'


def node_crictl_info(patches, tmp_path):
    return json.dumps(crictl_info(containerd_config_dump(kind_node_config(patches), tmp_path)))


@pytest.fixture(scope="module")
def kind_patches():
    (cluster,) = load_all(DEPLOY / "kind" / "cluster.yaml")
    return cluster["containerdConfigPatches"]


@pytest.fixture(scope="module")
def node_info(kind_patches, tmp_path_factory):
    """`crictl info` of a node started from deploy/kind/cluster.yaml, by a real containerd's reading of it."""
    path = tmp_path_factory.mktemp("node") / "crictl-info.json"
    path.write_text(node_crictl_info(kind_patches, path.parent))
    return path


@pytest.fixture
def fake_checkout(tmp_path, node_info):
    """scripts/ and deploy/ in a scratch checkout, with push scripts that print a digest, a stub for the end-to-end
    checks, and fake cluster tools."""
    repo = tmp_path / "repo"
    shutil.copytree(SCRIPTS, repo / "scripts")
    shutil.copytree(ROOT / "deploy", repo / "deploy")
    wasm = repo / "target/wasm32-wasip1/release/envapp.wasm"
    wasm.parent.mkdir(parents=True)
    wasm.write_bytes(b"\0asm")
    for name in ("push.sh", "push-spin.sh"):
        (repo / "scripts" / name).write_text(PUSH_SCRIPT)
    (repo / "deploy/kind/e2e.sh").write_text(E2E_SCRIPT)
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()

    def fake(name, body):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "$FAKE_LOG"\n{body}\nexit 0\n')
        tool.chmod(0o755)

    for name, body in FAKE_TOOLS.items():
        fake(name, body)

    def run(spin=False, **env):
        if spin:
            fake("spin", "")
        environ = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "ENVAPP_TOOLS": str(tmp_path / "tools"),
            "ENVAPP_PUSH": "image",
            "ENVAPP_KIND_POLL_INTERVAL": "0",
            "FAKE_LOG": str(tmp_path / "calls.log"),
            "FAKE_CRICTL_INFO": str(node_info),
            "FAKE_CONTAINERD": "v2.2.0",
            "FAKE_READY": "3",
            **env,
        }
        result = subprocess.run(
            ["bash", "deploy/kind/up.sh"], cwd=repo, env=environ, capture_output=True, text=True, timeout=120
        )
        return result, (tmp_path / "calls.log").read_text().splitlines()

    return run


def placeholders(text):
    """The dry run's commands with the run-time values a fake run produced replaced by its placeholders."""
    text = re.sub(r"sha256:a{64}", "'digest=sha256:<digest>'", text).replace("digest='digest=", "'digest=")
    return commands(text)


def test_kind_up_real_run_executes_what_the_dry_run_prints(fake_checkout):
    result, calls = fake_checkout()
    assert result.returncode == 0, result.stderr
    assert placeholders(result.stdout) == commands(KIND_UP_GOLDEN.read_text()) and commands(result.stdout)
    assert calls[-1] == "e2e --context kind-envapp"


def test_kind_up_fails_when_the_end_to_end_checks_fail(fake_checkout):
    result, _ = fake_checkout(FAKE_E2E_EXIT="1")
    assert result.returncode != 0
    assert "envapp runs in dev and prod" not in result.stderr


def test_kind_up_rerun_reuses_the_registry_cluster_and_namespaces(fake_checkout):
    result, calls = fake_checkout(FAKE_EXISTING="1")
    assert result.returncode == 0, result.stderr
    assert not [c for c in calls if c.startswith(("docker run", "docker start", "kind create", "docker network connect"))]
    assert not [c for c in calls if "create namespace" in c]
    assert any(c.startswith("helm --kube-context kind-envapp upgrade --install envapp") for c in calls)


def test_kind_up_loads_the_images_you_name_into_the_nodes(fake_checkout, tmp_path):
    archive = tmp_path / "metrics-server.tar"
    archive.write_bytes(b"not really a tar: kind is a stand-in")
    result, calls = fake_checkout(ENVAPP_KIND_IMAGES=f"{archive} curlimages/curl:8.11.1")
    assert result.returncode == 0, result.stderr
    loads = [c for c in calls if c.startswith("kind load")]
    assert loads == [f"kind load image-archive {archive} --name envapp",
                     "kind load docker-image curlimages/curl:8.11.1 --name envapp"]
    # Loaded before anything that pulls them starts.
    assert calls.index(loads[-1]) < next(i for i, c in enumerate(calls) if "upgrade --install metrics-server" in c)


def test_kind_up_installs_metrics_server_from_the_chart_you_name(fake_checkout, tmp_path):
    chart = tmp_path / "metrics-server-3.13.1.tgz"
    chart.write_bytes(b"")
    result, calls = fake_checkout(ENVAPP_METRICS_SERVER_CHART=str(chart))
    assert result.returncode == 0, result.stderr
    (install,) = [c for c in calls if "upgrade --install metrics-server" in c]
    assert f"upgrade --install metrics-server {chart} --namespace kube-system" in install and "--repo" not in install

    result, calls = fake_checkout(ENVAPP_METRICS_SERVER_CHART="oci://localhost:5001/charts/metrics-server")
    (install,) = [c for c in calls if "upgrade --install metrics-server" in c][-1:]
    assert "upgrade --install metrics-server oci://localhost:5001/charts/metrics-server --version 3.13.1 " in install


def test_kind_up_refuses_a_metrics_server_chart_that_is_not_there(fake_checkout, tmp_path):
    result, calls = fake_checkout(ENVAPP_METRICS_SERVER_CHART=str(tmp_path / "nope.tgz"))
    assert result.returncode != 0
    assert f"ENVAPP_METRICS_SERVER_CHART={tmp_path / 'nope.tgz'}: no such chart" in result.stderr
    assert not [c for c in calls if "upgrade --install" in c]


def test_kind_up_uses_a_metrics_api_the_cluster_already_serves(fake_checkout):
    result, calls = fake_checkout(FAKE_METRICS_API="True")
    assert result.returncode == 0, result.stderr
    assert "the metrics API (v1beta1.metrics.k8s.io) is already served in kind-envapp: using it" in result.stderr
    assert not [c for c in calls if "upgrade --install metrics-server" in c]
    # Its own metrics-server from an earlier run is upgraded as usual.
    result, calls = fake_checkout(FAKE_METRICS_API="True", FAKE_METRICS_RELEASE="metrics-server")
    assert [c for c in calls if "upgrade --install metrics-server" in c]


def test_kind_up_waits_for_the_hpa_minimum_and_gives_up_in_bounded_time(fake_checkout):
    # With autoscaling the Deployment starts with one pod; kind-up waits for minReplicas ready pods, then stops.
    result, calls = fake_checkout(FAKE_READY="1")
    assert result.returncode != 0
    assert "dev: 1 ready pods after 180s, the HPA's minReplicas is 3" in result.stderr
    tries = [c for c in calls if "get deployment" in c and "--namespace dev" in c]
    assert len(tries) == 180 // 5 + 1
    assert not [c for c in calls if c.startswith("e2e")], "checks ran before the pods were ready"


def test_kind_up_fails_naming_the_node_whose_containerd_lost_kinds_runtimes(fake_checkout, kind_patches, tmp_path):
    # The live check rejects what containerd makes of version-3 section names in kind's version-2 file.
    broken = [p.replace('"io.containerd.grpc.v1.cri".containerd', '"io.containerd.cri.v1.runtime".containerd') for p in kind_patches]
    info = tmp_path / "broken-crictl-info.json"
    info.write_text(node_crictl_info(broken, tmp_path))
    result, calls = fake_checkout(FAKE_CRICTL_INFO=str(info))
    assert result.returncode != 0
    assert "error: containerd on node envapp-control-plane does not run the runtimes" in result.stderr
    (reason,) = [line for line in result.stderr.splitlines() if line.startswith("envapp-control-plane: ")]
    assert "runc: base_runtime_spec is '', expected '/etc/containerd/cri-base.json'" in reason
    assert "test-handler: runtime_type is '', expected 'io.containerd.runc.v2'" in reason
    assert not [c for c in calls if c.startswith(("helm", "kubectl"))], "went on after a failed node check"


@pytest.mark.parametrize("publisher", ["image", "spin"])
def test_kind_up_refuses_nodes_whose_containerd_cannot_pull_envapps_images(fake_checkout, publisher):
    # Both images carry the .wasm as a layer of its own, which containerd 1.6 cannot pull.
    result, calls = fake_checkout(spin=True, ENVAPP_PUSH=publisher, FAKE_CONTAINERD="1.7.6")
    assert result.returncode != 0
    assert "node envapp-control-plane runs containerd 1.7.6; envapp's images need 1.7.7 or newer" in result.stderr
    assert not [c for c in calls if "push" in c]


def test_kind_up_publishes_with_push_sh_unless_spin_is_asked_for(fake_checkout):
    result, _ = fake_checkout(spin=True, ENVAPP_PUSH="", FAKE_CONTAINERD="1.7.7")
    assert result.returncode == 0, result.stderr
    assert "+ scripts/push.sh localhost:5001 --insecure" in result.stdout.splitlines()
    result, _ = fake_checkout(spin=True, ENVAPP_PUSH="spin", FAKE_CONTAINERD="1.7.7")
    assert result.returncode == 0, result.stderr
    assert "+ scripts/push-spin.sh localhost:5001 --insecure" in result.stdout.splitlines()
