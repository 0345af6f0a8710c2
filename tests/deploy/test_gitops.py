"""deploy/argocd and deploy/flux: the custom resources (no schema offline) have the right API versions, kinds and
required fields, and every chart path and values file they name exists in this repository."""

import re
import subprocess
from pathlib import PurePosixPath

import pytest
import yaml

from deploylib import DEPLOY, ROOT, deploy_yaml_files, load_all

ENVS = ("dev", "prod")
CHART = ROOT / "chart" / "internal-service"


def by_kind(directory):
    docs = [doc for path in sorted((DEPLOY / directory).glob("*.yaml")) for doc in load_all(path)]
    found = {}
    for doc in docs:
        found.setdefault(doc["kind"], []).append(doc)
    return found


def repo_file(relative, base=ROOT):
    """A path named by a manifest, resolved inside the repository (never outside it)."""
    path = (base / relative).resolve()
    assert path.is_relative_to(ROOT), f"{relative} leaves the repository"
    return path


# Argo CD


@pytest.fixture(scope="module")
def applicationset():
    (appset,) = by_kind("argocd")["ApplicationSet"]
    return appset


def render(appset, env):
    """The Application the list generator makes for one element (goTemplate `{{.env}}`)."""
    text = yaml.safe_dump(appset["spec"]["template"])
    return yaml.safe_load(re.sub(r"\{\{\s*\.env\s*\}\}", env, text))


def test_applicationset_generates_dev_and_prod(applicationset):
    assert applicationset["apiVersion"] == "argoproj.io/v1alpha1"
    assert applicationset["metadata"]["namespace"] == "argocd"
    (generator,) = applicationset["spec"]["generators"]
    assert [element["env"] for element in generator["list"]["elements"]] == list(ENVS)
    assert applicationset["spec"]["goTemplate"] is True


@pytest.mark.parametrize("env", ENVS)
def test_argocd_application_installs_the_chart_with_its_env_values(applicationset, env):
    app = render(applicationset, env)
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
    policy = render(applicationset, env)["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert "CreateNamespace=true" in policy["syncOptions"]


def test_argocd_values_are_chart_values(applicationset):
    # valuesObject keys must exist in the chart (its schema rejects unknown keys at render time anyway).
    chart_values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(applicationset["spec"]["template"]["spec"]["source"]["helm"]["valuesObject"]) <= set(chart_values)


# Flux


@pytest.fixture(scope="module")
def flux():
    return by_kind("flux")


def test_flux_git_repository(flux):
    (repo,) = flux["GitRepository"]
    assert repo["apiVersion"] == "source.toolkit.fluxcd.io/v1"
    assert repo["spec"]["url"].startswith("https://")
    assert repo["spec"]["interval"] and repo["spec"]["ref"]["branch"]
    # The artifact keeps only chart/: the chart and the values files the HelmReleases name.
    assert "!/chart/" in repo["spec"]["ignore"].split()


@pytest.mark.parametrize("env", ENVS)
def test_flux_helm_release_installs_the_chart_with_its_env_values(flux, env):
    (release,) = [r for r in flux["HelmRelease"] if r["spec"]["targetNamespace"] == env]
    (repo,) = flux["GitRepository"]
    assert release["apiVersion"] == "helm.toolkit.fluxcd.io/v2"
    spec = release["spec"]
    assert spec["interval"] and spec["releaseName"] == "envapp"
    assert spec["install"]["createNamespace"] is True
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


def test_flux_has_one_release_per_environment(flux):
    assert sorted(r["spec"]["targetNamespace"] for r in flux["HelmRelease"]) == sorted(ENVS)


# Both


def test_no_secrets_in_git():
    for path in deploy_yaml_files():
        for doc in load_all(path):
            assert doc.get("kind") != "Secret", f"{path.relative_to(ROOT)} commits a Secret"
        text = path.read_text()
        assert not re.search(r"https?://[^/\s@]+@", text), f"{path.relative_to(ROOT)} has credentials in a URL"
        assert not re.search(r"(?i)\b(password|token|private[_-]?key)\s*:", text), f"{path.relative_to(ROOT)}"


@pytest.mark.parametrize("tool", ["argocd", "flux"])
def test_kustomization_applies_every_manifest(kubectl, tool):
    result = subprocess.run([kubectl, "kustomize", str(DEPLOY / tool)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    built = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(result.stdout)}
    on_disk = {
        (d["kind"], d["metadata"]["name"])
        for path in (DEPLOY / tool).glob("*.yaml")
        if path.name != "kustomization.yaml"
        for d in load_all(path)
    }
    assert built == on_disk
