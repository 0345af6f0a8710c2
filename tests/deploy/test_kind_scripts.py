"""scripts/: every shell script is shellcheck-clean; kind-up/kind-down dry runs print the documented journey,
run nothing, and a real run without docker/kind stops before touching anything."""

import json
import re
import shutil
import subprocess

import pytest

from deploylib import (
    CLUSTER_TOOLS,
    DEPLOY,
    HERE,
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
    """Every shell script under scripts/, found by name or shebang, so new scripts are covered without edits."""
    found = []
    for path in sorted(p for p in SCRIPTS.rglob("*") if p.is_file()):
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
    names = {p.name for p in shell_scripts()}
    assert {"kind-up.sh", "kind-down.sh", "kind-lib.sh", "lib.sh"} <= names


def dry_run(sandbox, script, stubs=CLUSTER_TOOLS):
    box = sandbox(stubs)
    result = box.run(f"scripts/{script}", "--dry-run", **DRY_RUN_ENV)
    assert result.returncode == 0, result.stderr
    return box, result


def test_kind_up_dry_run_prints_the_documented_journey(sandbox):
    _, result = dry_run(sandbox, "kind-up.sh")
    assert result.stdout == KIND_UP_GOLDEN.read_text(), (
        "kind-up --dry-run changed: update tests/deploy/kind-up.dry-run.txt and the walk-through in docs/kind.md"
    )


def test_kind_up_dry_run_runs_nothing(sandbox):
    box, _ = dry_run(sandbox, "kind-up.sh")
    assert box.calls() == []
    assert box.created_files() == []


def test_kind_up_dry_run_needs_no_tools_and_warns_what_is_missing(sandbox):
    box, result = dry_run(sandbox, "kind-up.sh", stubs=())
    assert result.stdout == KIND_UP_GOLDEN.read_text()
    for tool in ("docker", "kind", "helm", "kubectl", "skopeo", "curl", "python3"):
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
        r"^helm .*upgrade --install metrics-server metrics-server .*--version \d+\.\d+\.\d+ .*'args=\{--kubelet-insecure-tls\}'",
        r"^kubectl --context kind-envapp apply -f runtime-class\.yaml$",
        r"^scripts/push\.sh localhost:5001 --insecure$",
        r"^helm .*upgrade --install envapp chart/internal-service --namespace dev --create-namespace -f chart/values-dev\.yaml --set hub=localhost:5001 --set 'digest=sha256:<digest>' --set imageFormat=scratch --set allowRootForSpinArtifact=false --wait",
        r"^kubectl .*--namespace dev get hpa .*jsonpath=\{\.items\[\*\]\.spec\.minReplicas\}",
        r"^kubectl .*--namespace dev get deployment .*jsonpath=\{\.items\[\*\]\.status\.readyReplicas\}",
        r"^helm .*upgrade --install envapp chart/internal-service --namespace prod --create-namespace -f chart/values-prod\.yaml --set hub=localhost:5001 --set 'digest=sha256:<digest>' --set imageFormat=scratch --set allowRootForSpinArtifact=false --wait",
        r"^kubectl .*--namespace prod get deployment .*jsonpath=\{\.items\[\*\]\.status\.readyReplicas\}",
        r"^kubectl .*--namespace dev port-forward .* :http --address 127\.0\.0\.1 &$",
        r"^curl .*http://127\.0\.0\.1:<forwarded port>/env'?$",
        r"^kubectl .*--namespace dev get pods .*jsonpath=\{\.items\[\*\]\.spec\.nodeName\}",
        r"^kubectl .*--namespace prod port-forward .* :http --address 127\.0\.0\.1 &$",
        r"^kubectl .*--namespace dev get hpa .*jsonpath=\{\.items\[\*\]\.status\.currentMetrics\[\*\]\.resource\.current\.averageUtilization\}",
        r"^kubectl .*--namespace prod get hpa .*currentMetrics",
        r"^helm .*test envapp --namespace dev",
        r"^helm .*test envapp --namespace prod",
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


def test_kind_up_checks_what_each_environment_answers():
    text = KIND_UP_GOLDEN.read_text()
    assert '# expect: GET /env in dev answers "PROD": "false"' in text
    assert '# expect: GET /env in prod answers "PROD": "true"' in text
    for env in ("dev", "prod"):
        assert f"# expect: at least 3 running pods in {env}, on 3 distinct nodes" in text
        assert f"the HPA has brought the {env} Deployment to minReplicas ready pods" in text
        assert f"until the HPA in {env} reads a CPU utilization (not <unknown>" in text


def test_kind_up_checks_every_nodes_containerd_runtimes():
    lines = KIND_UP_GOLDEN.read_text().splitlines()
    for node in ("envapp-control-plane", "envapp-worker", "envapp-worker2", "envapp-worker3"):
        at = lines.index(f"+ docker exec {node} crictl info")
        assert lines[at + 1].startswith(f"# expect: {node}'s containerd keeps kind's runtimes runc and test-handler")


def test_kind_up_publishes_with_spin_when_asked_after_checking_each_nodes_containerd(sandbox):
    box = sandbox()
    result = box.run("scripts/kind-up.sh", "--dry-run", ENVAPP_PUSH="spin")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    checks = [i for i, line in enumerate(lines) if re.fullmatch(r"\+ docker exec envapp-\S+ containerd --version", line)]
    assert len(checks) == 4
    assert lines.index("+ scripts/push-spin.sh localhost:5001 --insecure") > max(checks)
    installs = [line for line in lines if " upgrade --install envapp " in line]
    assert len(installs) == 2 and all("--set imageFormat=spin --set allowRootForSpinArtifact=true " in line for line in installs)


def test_kind_up_tells_the_chart_which_image_format_it_published():
    # The chart keeps the root writable only for Spin's artifact; its schema knows both formats.
    schema = json.loads((ROOT / "chart/internal-service/values.schema.json").read_text())
    assert {"scratch", "spin"} <= set(schema["properties"]["imageFormat"]["enum"])
    installs = [line for line in commands(KIND_UP_GOLDEN.read_text()) if " upgrade --install envapp " in line]
    assert len(installs) == 2 and all("--set imageFormat=scratch --set allowRootForSpinArtifact=false " in line for line in installs)


def test_kind_up_without_docker_and_kind_names_them_and_touches_nothing(sandbox):
    box = sandbox(stubs=[t for t in CLUSTER_TOOLS if t not in ("docker", "kind")])
    result = box.run("scripts/kind-up.sh", **DRY_RUN_ENV)
    assert result.returncode != 0
    assert "error: missing docker: install Docker Engine" in result.stderr
    assert "error: missing kind: install kind" in result.stderr
    assert "nothing was changed" in result.stderr
    assert "helm" not in result.stderr.replace("helm.sh", "")  # helm is there: only what is missing is named
    assert result.stdout == ""
    assert box.calls() == [], "a tool was run before the prerequisite check"
    assert box.created_files() == []


def test_kind_up_rejects_unknown_arguments(sandbox):
    result = sandbox().run("scripts/kind-up.sh", "--dryrun")
    assert result.returncode != 0
    assert "usage: scripts/kind-up.sh [--dry-run]" in result.stderr


def test_kind_down_dry_run_removes_the_cluster_and_only_our_registry(sandbox):
    box, result = dry_run(sandbox, "kind-down.sh")
    assert result.stdout == KIND_DOWN_GOLDEN.read_text()
    lines = commands(result.stdout)
    assert "kind delete cluster --name envapp" in lines
    assert "docker rm -f kind-registry" in lines
    label_query = next(line for line in lines if line.startswith("docker ps"))
    assert "label=io.envapp.created-by=scripts/kind-up.sh" in label_query
    assert box.calls() == []


def test_kind_down_without_docker_and_kind_names_them_and_touches_nothing(sandbox):
    box = sandbox(stubs=())
    result = box.run("scripts/kind-down.sh")
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


# A real run against fake tools: no cluster can run here, but the run path (captured values, the per-node
# containerd check, the HPA waits, port-forward parsing, the /env and spread assertions, cleanup of the
# port-forwards) runs for real. Each node's `crictl info` is what a real containerd 2.x makes of
# deploy/kind/cluster.yaml's patch merged into kind's node config (test_containerd_config.py).

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
  *"get service"*) echo service/envapp-internal-service ;;
  *port-forward*) case "$*" in *prod*) p=45679 ;; *) p=45678 ;; esac
                  echo "Forwarding from 127.0.0.1:$p -> 8080"; exec sleep 3017 ;;
  *"get pods"*) echo "$FAKE_NODES" ;;
  *"get hpa"*minReplicas*) echo 3 ;;
  *"get deployment"*readyReplicas*) echo "$FAKE_READY" ;;
  *"get hpa"*currentMetrics*) echo "$FAKE_CPU" ;;
esac""",
    "helm": "",
    "curl": """case "$*" in *45679*) p=true ;; *) p=false ;; esac
[ -n "$FAKE_PROD_BROKEN" ] && p=false
echo "{\\"PROD\\":\\"$p\\",\\"NODE_NAME\\":\\"envapp-worker\\",\\"POD_NAME\\":\\"envapp-abc\\"}\"""",
    "skopeo": "",
}
PUSH_SCRIPT = "#!/usr/bin/env bash\necho building >&2\necho \"$1/envapp@sha256:$(printf 'a%.0s' $(seq 64))\"\n"


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
    """scripts/ and deploy/ in a scratch checkout, with push scripts that print a digest, and fake cluster tools."""
    repo = tmp_path / "repo"
    shutil.copytree(SCRIPTS, repo / "scripts")
    shutil.copytree(ROOT / "deploy", repo / "deploy")
    wasm = repo / "target/wasm32-wasip1/release/envapp.wasm"
    wasm.parent.mkdir(parents=True)
    wasm.write_bytes(b"\0asm")
    for name in ("push.sh", "push-spin.sh"):
        (repo / "scripts" / name).write_text(PUSH_SCRIPT)
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
            "FAKE_NODES": "envapp-worker envapp-worker2 envapp-worker3",
            "FAKE_CRICTL_INFO": str(node_info),
            "FAKE_CONTAINERD": "v2.2.0",
            "FAKE_READY": "3",
            "FAKE_CPU": "4",
            **env,
        }
        result = subprocess.run(
            ["bash", "scripts/kind-up.sh"], cwd=repo, env=environ, capture_output=True, text=True, timeout=120
        )
        leftover = subprocess.run(["pgrep", "-f", "sleep 3017"], capture_output=True, text=True).stdout.split()
        return result, (tmp_path / "calls.log").read_text().splitlines(), leftover

    return run


def placeholders(text):
    """The dry run's commands with the run-time values a fake run produced replaced by its placeholders."""
    text = re.sub(r"sha256:a{64}", "'digest=sha256:<digest>'", text).replace("digest='digest=", "'digest=")
    text = text.replace("service/envapp-internal-service", "'service/<envapp service>'")
    text = re.sub(r"http://127\.0\.0\.1:4567[89]/env", "'http://127.0.0.1:<forwarded port>/env'", text)
    return commands(text)


def test_kind_up_real_run_executes_what_the_dry_run_prints(fake_checkout):
    result, calls, leftover = fake_checkout()
    assert result.returncode == 0, result.stderr
    assert placeholders(result.stdout) == commands(KIND_UP_GOLDEN.read_text()) and commands(result.stdout)
    assert any(call.startswith("kubectl ") and "port-forward" in call for call in calls)
    assert "==> dev HPA reads CPU: 4%" in result.stderr
    assert leftover == [], "port-forwards left running"


def test_kind_up_rerun_reuses_the_registry_and_cluster(fake_checkout):
    result, calls, _ = fake_checkout(FAKE_EXISTING="1")
    assert result.returncode == 0, result.stderr
    assert not [c for c in calls if c.startswith(("docker run", "docker start", "kind create", "docker network connect"))]
    assert any(c.startswith("helm --kube-context kind-envapp upgrade --install envapp") for c in calls)


def test_kind_up_fails_when_prod_does_not_report_prod_and_stops_port_forwards(fake_checkout):
    result, _, leftover = fake_checkout(FAKE_PROD_BROKEN="1")
    assert result.returncode != 0
    assert "GET /env in prod: unexpected answer" in result.stderr
    assert leftover == []


def test_kind_up_fails_when_pods_share_a_node(fake_checkout):
    result, _, leftover = fake_checkout(FAKE_NODES="envapp-worker envapp-worker envapp-worker3")
    assert result.returncode != 0
    assert "pods in dev are not spread over nodes: 3 running pods on 2 distinct nodes" in result.stderr
    assert leftover == []


def test_kind_up_fails_with_fewer_than_three_running_pods(fake_checkout):
    # Two pods on two nodes are "spread", but not what minReplicas 3 on 3 workers promises.
    result, _, _ = fake_checkout(FAKE_NODES="envapp-worker envapp-worker2")
    assert result.returncode != 0
    assert "pods in dev are not spread over nodes: 2 running pods on 2 distinct nodes" in result.stderr


def test_kind_up_waits_for_the_hpa_minimum_and_gives_up_in_bounded_time(fake_checkout):
    # With autoscaling the Deployment starts with one pod; kind-up waits for minReplicas ready pods, then stops.
    result, calls, leftover = fake_checkout(FAKE_READY="1")
    assert result.returncode != 0
    assert "dev: 1 ready pods after 180s, the HPA's minReplicas is 3" in result.stderr
    tries = [c for c in calls if "get deployment" in c and "--namespace dev" in c]
    assert len(tries) == 180 // 5 + 1
    assert not [c for c in calls if "port-forward" in c], "checks ran before the pods were ready"
    assert leftover == []


def test_kind_up_fails_when_the_hpa_reads_no_cpu(fake_checkout):
    # containerd-shim-spin#180: the HPA shows <unknown> (no currentMetrics) when wasm pods report no CPU.
    result, _, _ = fake_checkout(FAKE_CPU="")
    assert result.returncode != 0
    assert "dev: the HPA has read no CPU metric after 300s" in result.stderr


def test_kind_up_fails_naming_the_node_whose_containerd_lost_kinds_runtimes(fake_checkout, kind_patches, tmp_path):
    # The live check rejects what containerd makes of version-3 section names in kind's version-2 file.
    broken = [p.replace('"io.containerd.grpc.v1.cri".containerd', '"io.containerd.cri.v1.runtime".containerd') for p in kind_patches]
    info = tmp_path / "broken-crictl-info.json"
    info.write_text(node_crictl_info(broken, tmp_path))
    result, calls, _ = fake_checkout(FAKE_CRICTL_INFO=str(info))
    assert result.returncode != 0
    assert "error: containerd on node envapp-control-plane does not run the runtimes" in result.stderr
    (reason,) = [line for line in result.stderr.splitlines() if line.startswith("envapp-control-plane: ")]
    assert "runc: base_runtime_spec is '', expected '/etc/containerd/cri-base.json'" in reason
    assert "runc: SystemdCgroup is not true" in reason
    assert "runtime test-handler is missing" in reason
    assert not [c for c in calls if c.startswith(("helm", "kubectl"))], "went on after a failed node check"


def test_kind_up_with_spin_refuses_nodes_whose_containerd_cannot_pull_its_artifact(fake_checkout):
    result, _, _ = fake_checkout(spin=True, ENVAPP_PUSH="spin", FAKE_CONTAINERD="1.6.20")
    assert result.returncode != 0
    assert "node envapp-control-plane runs containerd 1.6.20; Spin's OCI artifact needs 1.7.7 or newer" in result.stderr
    assert "use ENVAPP_PUSH=image" in result.stderr


def test_kind_up_auto_publishes_the_scratch_image_to_old_containerd(fake_checkout):
    result, _, _ = fake_checkout(spin=True, ENVAPP_PUSH="auto", FAKE_CONTAINERD="1.7.6")
    assert result.returncode == 0, result.stderr
    assert "publishing the FROM scratch image instead" in result.stderr
    assert "+ scripts/push.sh localhost:5001 --insecure" in result.stdout.splitlines()


def test_kind_up_auto_publishes_spins_artifact_to_new_containerd(fake_checkout):
    result, _, _ = fake_checkout(spin=True, ENVAPP_PUSH="auto", FAKE_CONTAINERD="1.7.7")
    assert result.returncode == 0, result.stderr
    assert "+ scripts/push-spin.sh localhost:5001 --insecure" in result.stdout.splitlines()
