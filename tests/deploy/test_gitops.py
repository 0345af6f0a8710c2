"""deploy/argocd and deploy/flux as the cluster gets them (`kubectl kustomize`, offline): every custom resource
valid against its upstream CRD (strictly: an unknown field is an error), the right chart path and values file per
environment, and the CHANGE markers docs/gitops.md tells users to edit."""

import re
import shutil
import subprocess
from pathlib import PurePosixPath

import pytest
import yaml
from crdschema import crd_errors, has_crd

from deploylib import DEPLOY, ROOT, deploy_yaml_files, load_all

ENVS = ("dev", "prod")
CHART = ROOT / "chart" / "internal-service"
GITOPS_DOCS = ROOT / "docs" / "gitops.md"


def kustomize(kubectl, directory):
    """The objects `kubectl apply -k DIRECTORY` would send."""
    result = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered(kubectl):
    return {tool: kustomize(kubectl, DEPLOY / tool) for tool in ("argocd", "flux")}


def by_kind(docs, kind):
    return [doc for doc in docs if doc["kind"] == kind]


def repo_file(relative, base=ROOT):
    """A path named by a manifest, resolved inside the repository (never outside it)."""
    path = (base / relative).resolve()
    assert path.is_relative_to(ROOT), f"{relative} leaves the repository"
    return path


# Both, as rendered


@pytest.mark.parametrize("tool", ["argocd", "flux"])
def test_every_rendered_object_is_valid_against_its_crd(rendered, tool):
    assert rendered[tool]
    for doc in rendered[tool]:
        assert has_crd(doc), f"{doc['kind']} has no CRD in ../shared/crds to check it against"
        assert crd_errors(doc) == []


# A typo in a field name, planted in the source file: the rendered object must fail the CRD check, naming it.
PLANTED_TYPOS = [
    ("argocd/applicationset.yaml", "        syncOptions:", "        syncOption:", "syncOption"),
    ("argocd/applicationset.yaml", "  goTemplate: true", "  goTemplate: yes-please", "goTemplate"),
    ("flux/base/helmrelease.yaml", "      reconcileStrategy: Revision", "      reconcileStrategy: Revisoin", "reconcileStrategy"),
    ("flux/base/helmrelease.yaml", "  releaseName: envapp", "  releseName: envapp", "releseName"),
    ("flux/gitrepository.yaml", "  interval: 1m", "  intervall: 1m", "intervall"),
]


@pytest.mark.parametrize("path, line, typo, named", PLANTED_TYPOS, ids=[t[3] for t in PLANTED_TYPOS])
def test_a_planted_typo_fails_the_crd_check(kubectl, tmp_path, path, line, typo, named):
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    source = copy / path
    text = source.read_text()
    assert text.count(line + "\n") == 1, f"{path} no longer has {line.strip()!r}: update this test"
    source.write_text(text.replace(line + "\n", typo + "\n"))
    errors = [e for doc in kustomize(kubectl, copy / path.split("/")[0]) for e in crd_errors(doc)]
    assert any(named in e for e in errors), errors


def test_no_secrets_in_git():
    for path in deploy_yaml_files():
        for doc in load_all(path):
            assert doc.get("kind") != "Secret", f"{path.relative_to(ROOT)} commits a Secret"
        text = path.read_text()
        assert not re.search(r"https?://[^/\s@]+@", text), f"{path.relative_to(ROOT)} has credentials in a URL"
        assert not re.search(r"(?i)\b(password|token|private[_-]?key)\s*:", text), f"{path.relative_to(ROOT)}"


def change_markers(tool):
    """The value lines marked `# CHANGE` (a marker ends a line that sets something, not a comment line)."""
    return [
        f"{path.relative_to(DEPLOY)}: {line.strip()}"
        for path in sorted((DEPLOY / tool).rglob("*.yaml"))
        for line in path.read_text().splitlines()
        if re.match(r"\s*[^#\s].*#\s*CHANGE\b", line)
    ]


@pytest.mark.parametrize("tool", ["argocd", "flux"])
def test_docs_name_as_many_change_lines_as_each_tool_has(tool):
    # docs/gitops.md: "change the two lines marked `CHANGE`": the repository URL and the registry, once each.
    numbers = {"one": 1, "two": 2, "three": 3, "four": 4}
    said = re.findall(r"change the (\w+) lines marked `CHANGE`", GITOPS_DOCS.read_text())
    assert said, "docs/gitops.md no longer says how many lines to change"
    markers = change_markers(tool)
    assert {numbers[word] for word in said} == {len(markers)}, markers
    assert any("your-org/envapp" in m for m in markers) and any("hub: ghcr.io/your-org" in m for m in markers)


def test_readme_links_the_gitops_page():
    assert "(docs/gitops.md)" in (ROOT / "README.md").read_text()


# Argo CD


@pytest.fixture(scope="module")
def applicationset(rendered):
    (appset,) = by_kind(rendered["argocd"], "ApplicationSet")
    return appset


def render_application(appset, env):
    """The Application the list generator makes for one element (goTemplate `{{.env}}`)."""
    text = yaml.safe_dump(appset["spec"]["template"])
    return yaml.safe_load(re.sub(r"\{\{\s*\.env\s*\}\}", env, text))


def test_argocd_renders_only_the_applicationset(rendered):
    assert [(d["kind"], d["metadata"]["name"]) for d in rendered["argocd"]] == [("ApplicationSet", "envapp")]


def test_applicationset_generates_dev_and_prod(applicationset):
    assert applicationset["apiVersion"] == "argoproj.io/v1alpha1"
    assert applicationset["metadata"]["namespace"] == "argocd"
    (generator,) = applicationset["spec"]["generators"]
    assert [element["env"] for element in generator["list"]["elements"]] == list(ENVS)
    assert applicationset["spec"]["goTemplate"] is True


@pytest.mark.parametrize("env", ENVS)
def test_argocd_application_installs_the_chart_with_its_env_values(applicationset, env):
    app = render_application(applicationset, env)
    assert app["metadata"]["name"] == f"envapp-{env}"
    source = app["spec"]["source"]
    chart_dir = repo_file(source["path"])
    assert chart_dir == CHART.resolve() and (chart_dir / "Chart.yaml").is_file()
    # Argo CD resolves valueFiles from the chart directory and refuses paths outside the repository.
    (values,) = source["helm"]["valueFiles"]
    assert repo_file(values, base=chart_dir) == (ROOT / "chart" / f"values-{env}.yaml").resolve()
    assert (ROOT / "chart" / f"values-{env}.yaml").is_file()
    assert source["helm"]["releaseName"] == "envapp"
    assert app["spec"]["destination"]["namespace"] == env


@pytest.mark.parametrize("env", ENVS)
def test_argocd_syncs_automatically_with_prune_and_self_heal(applicationset, env):
    policy = render_application(applicationset, env)["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert "CreateNamespace=true" in policy["syncOptions"]


def test_argocd_values_are_chart_values(applicationset):
    # valuesObject keys must exist in the chart (its schema rejects unknown keys at render time anyway).
    chart_values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(applicationset["spec"]["template"]["spec"]["source"]["helm"]["valuesObject"]) <= set(chart_values)


# Flux


def test_flux_renders_one_source_and_one_release_per_environment(rendered):
    assert sorted((d["kind"], d["metadata"]["name"]) for d in rendered["flux"]) == [
        ("GitRepository", "envapp"),
        ("HelmRelease", "envapp-dev"),
        ("HelmRelease", "envapp-prod"),
    ]


def test_flux_keeps_one_helmrelease_in_git():
    # One HelmRelease, patched per environment: no near-copies to drift apart.
    releases = [p for p in deploy_yaml_files() if any(d.get("kind") == "HelmRelease" for d in load_all(p))]
    assert [p.relative_to(DEPLOY).as_posix() for p in releases] == ["flux/base/helmrelease.yaml"]


def test_flux_git_repository(rendered):
    (repo,) = by_kind(rendered["flux"], "GitRepository")
    assert repo["apiVersion"] == "source.toolkit.fluxcd.io/v1"
    assert repo["spec"]["url"].startswith("https://")
    assert repo["spec"]["interval"] and repo["spec"]["ref"]["branch"]
    # The artifact keeps only chart/: the chart and the values files the HelmReleases name.
    assert "!/chart/" in repo["spec"]["ignore"].split()


@pytest.mark.parametrize("env", ENVS)
def test_flux_helm_release_installs_the_chart_with_its_env_values(rendered, env):
    (release,) = [r for r in by_kind(rendered["flux"], "HelmRelease") if r["metadata"]["name"] == f"envapp-{env}"]
    (repo,) = by_kind(rendered["flux"], "GitRepository")
    assert release["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
    spec = release["spec"]
    assert spec["interval"] and spec["releaseName"] == "envapp"
    assert spec["targetNamespace"] == spec["storageNamespace"] == env
    assert spec["install"]["createNamespace"] is True
    assert spec["test"]["enable"] is True
    chart = spec["chart"]["spec"]
    assert chart["sourceRef"] == {"kind": "GitRepository", "name": repo["metadata"]["name"]}
    assert release["metadata"]["namespace"] == repo["metadata"]["namespace"]
    assert repo_file(chart["chart"]) == CHART.resolve()
    assert chart["reconcileStrategy"] == "Revision"
    # HelmChart valuesFiles replace the chart's values.yaml: it must come first, the env file last.
    files = [repo_file(f) for f in chart["valuesFiles"]]
    assert files == [(CHART / "values.yaml").resolve(), (ROOT / "chart" / f"values-{env}.yaml").resolve()]
    assert all(f.is_file() for f in files)
    for name in chart["valuesFiles"]:
        assert PurePosixPath(name).parts[0] == "chart", f"{name} is outside the GitRepository's chart/ artifact"


def test_flux_environments_differ_only_in_name_namespace_and_values_file(rendered):
    dev, prod = (
        yaml.safe_dump(r).replace(f"-{env}", "-ENV").replace(f"values-{env}", "values-ENV").replace(f": {env}\n", ": ENV\n")
        for env, r in zip(ENVS, sorted(by_kind(rendered["flux"], "HelmRelease"), key=lambda r: r["metadata"]["name"]))
    )
    assert dev == prod
